//! Bearer API keys. Every endpoint under /v1 takes one; the app it names is the only app
//! whose data the request can see.

use super::Ctx;
use super::problem::ApiProblem;
use crate::apps::App;
use poem::Request;
use poem::http::StatusCode;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use std::sync::Arc;

/// `Authorization: Bearer <API key>`, as printed by `ledgerflow apps create`.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "lf_<64 hex digits>",
    checker = "check_key"
)]
pub struct AppKey(Authenticated);

/// What the key check found. A failing store is not a wrong key: it must not turn into a
/// 401, so it travels to the handler, which answers 503.
pub enum Authenticated {
    App(Arc<App>),
    Unavailable,
}

async fn check_key(req: &Request, bearer: Bearer) -> Option<Authenticated> {
    let ctx = req.data::<Arc<Ctx>>()?;
    match ctx.apps.authenticate(&bearer.token).await {
        Ok(Some(app)) => Some(Authenticated::App(app)),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "API key check failed");
            Some(Authenticated::Unavailable)
        }
    }
}

impl AppKey {
    pub fn app(&self) -> Result<&Arc<App>, ApiProblem> {
        match &self.0 {
            Authenticated::App(app) => Ok(app),
            Authenticated::Unavailable => Err(ApiProblem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "apps_unavailable",
                "the API key could not be checked; retry later",
            )),
        }
    }
}
