//! `GET /v1/operations` and `GET /healthz`.

use super::Ctx;
use super::auth::AppKey;
use super::model::{Health, OperationView};
use super::problem::ApiProblem;
use poem::http::StatusCode;
use poem_openapi::OpenApi;
use poem_openapi::payload::Json;
use sea_orm::ConnectionTrait;
use std::sync::Arc;

pub struct CatalogApi {
    pub ctx: Arc<Ctx>,
}

#[OpenApi(tag = "super::Tag::Catalog")]
impl CatalogApi {
    /// List operations
    ///
    /// The app's effective catalog: the base operations, the service's extensions and the
    /// app's own, with overrides applied.
    #[oai(path = "/v1/operations", method = "get")]
    async fn operations(&self, auth: AppKey) -> Result<Json<Vec<OperationView>>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        Ok(Json(
            app.catalog
                .operations()
                .map(|op| OperationView::new(op, &app.catalog))
                .collect(),
        ))
    }

    /// Health
    ///
    /// `ok` when the event store answers.
    #[oai(path = "/healthz", method = "get", tag = "super::Tag::System")]
    async fn health(&self) -> Result<Json<Health>, ApiProblem> {
        self.ctx
            .store
            .conn()
            .execute_unprepared("SELECT 1")
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "health check failed");
                ApiProblem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the event store does not answer",
                )
            })?;
        Ok(Json(Health {
            status: "ok".to_owned(),
        }))
    }
}
