//! `GET /healthz` (liveness) and `GET /readyz` (readiness), for orchestrators.

use super::Ctx;
use super::model::{Health, Readiness};
use super::problem::ApiProblem;
use crate::ledger::Code;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use std::sync::Arc;
use std::time::Duration;

pub struct HealthApi {
    pub ctx: Arc<Ctx>,
}

/// Whether this instance can take writes; the body says the same in both cases.
#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The event store answers, its migrations are applied and the writer runs.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// One of those does not hold; route writes elsewhere.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

/// An error as a readiness field: its first line, short.
fn down(e: impl std::fmt::Display) -> String {
    let text = e.to_string();
    let first: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    format!("unavailable: {first}")
}

/// How long readiness, or a scrape's backlog gauges, wait for one part. A database or a
/// bus that is down would otherwise hold the probe for its own timeout (the pool's acquire,
/// the bus request's), longer than probes, scrapers and the dashboard wait.
pub(super) const CHECK_WITHIN: Duration = Duration::from_secs(2);

/// A part's check, or why it is unavailable, within `CHECK_WITHIN`.
async fn within<T, E: std::fmt::Display>(
    check: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(CHECK_WITHIN, check).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(e)) => Err(down(e)),
        Err(_) => Err(down(format!(
            "no answer within {} s",
            CHECK_WITHIN.as_secs()
        ))),
    }
}

#[OpenApi(tag = "super::Tag::System")]
impl HealthApi {
    /// Liveness
    ///
    /// `ok` when the event store answers.
    #[oai(path = "/healthz", method = "get")]
    async fn health(&self) -> Result<Json<Health>, ApiProblem> {
        self.ctx.queries.ping().await.map_err(|e| {
            tracing::warn!(error = %e, "health check failed");
            ApiProblem::new(Code::StoreUnavailable, "the event store does not answer")
        })?;
        Ok(Json(Health {
            status: "ok".to_owned(),
        }))
    }

    /// Readiness
    ///
    /// 200 when this instance can take writes: the event store answers, its migrations are
    /// all applied, and the batch writer runs; else 503. The read model and the bus are
    /// reported but do not decide it: writes go on while either is down (the outbox holds
    /// what the read model has not got).
    #[oai(path = "/readyz", method = "get")]
    async fn ready(&self) -> ReadyResponse {
        let queries = &self.ctx.queries;
        let (event_store, migrations) = match within(queries.event_store_pending()).await {
            Ok(0) => ("ok".to_owned(), "current".to_owned()),
            Ok(n) => ("ok".to_owned(), format!("{n} pending")),
            Err(e) => (e, "unknown".to_owned()),
        };
        let writer = if self.ctx.workflow.is_running() {
            "running"
        } else {
            "stopped"
        };
        let read_model = match within(queries.read_model_pending()).await {
            Ok(0) => "ok".to_owned(),
            Ok(n) => format!("{n} migrations pending"),
            Err(e) => e,
        };
        let ready = event_store == "ok" && migrations == "current" && writer == "running";
        let body = Json(Readiness {
            ready,
            event_store,
            migrations,
            writer: writer.to_owned(),
            read_model,
            bus: self.ctx.projection.bus_state().to_owned(),
        });
        if ready {
            ReadyResponse::Ready(body)
        } else {
            ReadyResponse::NotReady(body)
        }
    }
}
