//! `GET /v1/operations`.

use super::Ctx;
use super::auth::AppKey;
use super::model::OperationView;
use super::problem::ApiProblem;
use poem_openapi::OpenApi;
use poem_openapi::payload::Json;
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
}
