//! `GET /healthz`.

use super::Ctx;
use super::model::Health;
use super::problem::ApiProblem;
use crate::ledger::Code;
use poem_openapi::OpenApi;
use poem_openapi::payload::Json;
use std::sync::Arc;

pub struct HealthApi {
    pub ctx: Arc<Ctx>,
}

#[OpenApi(tag = "super::Tag::System")]
impl HealthApi {
    /// Health
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
}
