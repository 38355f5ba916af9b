//! The HTTP API, and nothing else: poem-openapi endpoints under /v1, the spec at
//! /openapi.json and Swagger UI at /docs. Writes go through the workflow, reads through the
//! queries; errors become problem details in `problem`, the one place where a code gets
//! its HTTP status.

// Handlers return `Result<_, ApiProblem>`: the error *is* the HTTP response, made once per
// failed request, so its size costs nothing worth a Box.
#![allow(clippy::result_large_err)]

mod accounts;
mod audit;
mod auth;
mod body;
mod catalog;
mod controls;
mod entries;
mod events;
mod health;
mod hold_model;
mod holds;
mod limits;
pub mod listener;
mod lots;
pub mod model;
mod monitors;
pub mod problem;
mod protocol;
mod reversals;
mod spec;
mod text;
mod webhook_model;
mod webhooks;

use crate::apps::{Apps, RateLimits};
use crate::metrics::Metrics;
use crate::projection::Projection;
use crate::query::Queries;
use crate::webhooks::Webhooks;
use crate::workflow::Workflow;
use poem::web::Html;
use poem::{Endpoint, EndpointExt, Response, Route};
use poem_openapi::{OpenApiService, Tags};
use std::sync::Arc;

/// What every handler works with.
pub struct Ctx {
    pub workflow: Workflow,
    pub queries: Queries,
    pub apps: Arc<Apps>,
    pub rates: RateLimits,
    pub projection: Projection,
    pub metrics: Arc<Metrics>,
    pub webhooks: Arc<Webhooks>,
}

#[derive(Tags)]
enum Tag {
    /// Post entries and read them back.
    Entries,
    /// Balances, now and in the past, an owner's history and lots.
    Accounts,
    /// Credit lots: voiding what is left of one.
    Lots,
    /// Holds: reserve credits, then capture or void them, or let them expire.
    Holds,
    /// The app's events: a resumable feed, a live stream, and balance monitors.
    Events,
    /// The app's operation catalog.
    Catalog,
    /// Webhooks: the app's events, signed, sent to its endpoints.
    Webhooks,
    /// Service health.
    System,
}

/// Every group of endpoints, in the order the document lists them.
type Apis = (
    entries::EntriesApi,
    reversals::ReversalsApi,
    accounts::AccountsApi,
    controls::ControlsApi,
    audit::AuditApi,
    lots::LotsApi,
    holds::HoldsApi,
    events::EventsApi,
    monitors::MonitorsApi,
    catalog::CatalogApi,
    webhooks::WebhooksApi,
    health::HealthApi,
);

/// The OpenAPI service, for the routes and for printing the spec.
pub fn service(ctx: Arc<Ctx>) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            entries::EntriesApi { ctx: ctx.clone() },
            reversals::ReversalsApi { ctx: ctx.clone() },
            accounts::AccountsApi { ctx: ctx.clone() },
            controls::ControlsApi { ctx: ctx.clone() },
            audit::AuditApi { ctx: ctx.clone() },
            lots::LotsApi { ctx: ctx.clone() },
            holds::HoldsApi { ctx: ctx.clone() },
            events::EventsApi { ctx: ctx.clone() },
            monitors::MonitorsApi { ctx: ctx.clone() },
            catalog::CatalogApi { ctx: ctx.clone() },
            webhooks::WebhooksApi { ctx: ctx.clone() },
            health::HealthApi { ctx },
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
    let generated = api.spec();
    let extra = [
        &["/openapi.json", "/metrics", "/docs"],
        crate::dashboard::PATHS,
    ]
    .concat();
    let allowed = Arc::new(protocol::Allowed::from_spec(&generated, &extra));
    let document = spec::document(&generated).unwrap_or_else(|e| {
        // Only a poem-openapi bug makes its own document unreadable: serve it unchanged.
        tracing::error!(error = %e, "the OpenAPI document cannot be completed");
        generated.clone()
    });
    // Swagger UI's page holds the document as it is inlined there by poem-openapi.
    let docs_page = api.swagger_ui_html().replace(&generated, &document);
    Route::new()
        .nest("/", api)
        .at("/openapi.json", poem::get(spec_json(document)))
        .at("/metrics", poem::get(metrics))
        .nest("/dashboard", crate::dashboard::routes())
        .nest(
            "/docs",
            poem::get(poem::endpoint::make_sync(move |_| Html(docs_page.clone()))),
        )
        .around(protocol::unambiguous)
        .around(limits::limit_body)
        .data(ctx)
        .catch_all_error(problem::any_error)
        .around(move |next, req| {
            let allowed = allowed.clone();
            async move { protocol::answer_headers(next, req, &allowed).await }
        })
        .around(limits::in_span)
}

/// `GET /openapi.json`.
fn spec_json(document: String) -> impl Endpoint {
    poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type("application/json")
            .body(document.clone())
    })
}

/// `GET /metrics`: Prometheus metrics, with the backlog gauges measured now.
#[poem::handler]
async fn metrics(ctx: poem::web::Data<&Arc<Ctx>>) -> Response {
    // Past the limit, the gauges not yet measured keep their last values and the scrape
    // still answers.
    match tokio::time::timeout(health::CHECK_WITHIN, ctx.projection.backlog()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot measure the projection backlog"),
        Err(_) => tracing::warn!("the projection backlog was not measured in time"),
    }
    Response::builder()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(ctx.metrics.encode())
}
