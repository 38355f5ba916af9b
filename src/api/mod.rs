//! The HTTP API: poem-openapi endpoints under /v1, the spec at /openapi.json and Swagger UI
//! at /docs. Errors are problem details, built in `problem`.

// Handlers return `Result<_, ApiProblem>`: the error *is* the HTTP response, made once per
// failed request, so its size costs nothing worth a Box.
#![allow(clippy::result_large_err)]

mod accounts;
mod auth;
mod catalog;
mod entries;
pub mod model;
pub mod problem;
mod text;

use crate::apps::Apps;
use crate::metrics::Metrics;
use crate::projection::Projection;
use crate::query::ReadModel;
use crate::store::Store;
use crate::workflow::{Command, Workflow};
use poem::http::StatusCode;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{OpenApiService, Tags};
use std::sync::Arc;
use std::time::Duration;

/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler works with.
pub struct Ctx {
    pub store: Store,
    pub read: ReadModel,
    pub workflow: Workflow,
    pub apps: Apps,
    pub projection: Projection,
    pub metrics: Arc<Metrics>,
    /// Longest a read with `min_version` waits for the read model.
    pub read_wait: Duration,
}

impl Ctx {
    /// Finishes an async entry (already stored as `received`) in the background. If this
    /// does not get through, the entry stays pending and is resumed at the next start.
    pub fn finish_async(&self, mut cmd: Command) {
        cmd.stored = true;
        let workflow = self.workflow.clone();
        tokio::spawn(async move {
            let id = cmd.entry_id;
            if let Err(e) = workflow.submit(cmd).await {
                tracing::warn!(entry_id = %id, error = %e, "async entry left pending");
            }
        });
    }
}

#[derive(Tags)]
enum Tag {
    /// Post entries and read them back.
    Entries,
    /// Balances, now and in the past, and an owner's history.
    Accounts,
    /// The app's operation catalog.
    Catalog,
    /// Service health.
    System,
}

/// The OpenAPI service, for the routes and for printing the spec.
pub fn service(
    ctx: Arc<Ctx>,
) -> OpenApiService<
    (
        entries::EntriesApi,
        accounts::AccountsApi,
        catalog::CatalogApi,
    ),
    (),
> {
    OpenApiService::new(
        (
            entries::EntriesApi { ctx: ctx.clone() },
            accounts::AccountsApi { ctx: ctx.clone() },
            catalog::CatalogApi { ctx },
        ),
        "ledgerflow",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A credit ledger: entries run through an explicit workflow, are idempotent by \
         nonce and are stored as immutable events. Amounts are decimal strings. \
         Authenticate with `Authorization: Bearer <API key>` (`ledgerflow apps create NAME`).",
    )
}

/// The whole HTTP application.
pub fn routes(ctx: Arc<Ctx>) -> impl Endpoint {
    let api = service(ctx.clone());
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .nest("/", api)
        .at("/openapi.json", poem::get(spec))
        .at("/metrics", poem::get(metrics))
        .nest("/docs", docs)
        .around(limit_body)
        .data(ctx)
        .catch_all_error(problem::any_error)
}

/// Reads at most `MAX_BODY_BYTES` of a request body, whether it declares its length or is
/// chunked; a larger body is a 413 before any handler sees it.
async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let too_large = || {
        poem::Error::from_string(
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let body = req
        .take_body()
        .into_bytes_limit(MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => too_large(),
            other => poem::Error::from_string(other.to_string(), StatusCode::BAD_REQUEST),
        })?;
    req.set_body(body);
    Ok(next.call(req).await?.into_response())
}

/// `GET /metrics`: Prometheus metrics, with the backlog gauges measured now.
#[poem::handler]
async fn metrics(ctx: poem::web::Data<&Arc<Ctx>>) -> Response {
    if let Err(e) = ctx.projection.backlog().await {
        // The gauges keep their last values; the scrape itself still succeeds.
        tracing::warn!(error = %e, "cannot measure the projection backlog");
    }
    Response::builder()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(ctx.metrics.encode())
}
