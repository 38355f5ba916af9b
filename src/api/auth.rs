//! Bearer API keys. Every endpoint under /v1 takes one; the app it names is the only app
//! whose data the request can see.

use super::Ctx;
use super::problem::ApiProblem;
use crate::apps::{App, Identified, Limited};
use crate::ledger::Code;
use poem::Request;
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
    App(Identified),
    Unavailable,
}

async fn check_key(req: &Request, bearer: Bearer) -> Option<Authenticated> {
    let ctx = req.data::<Arc<Ctx>>()?;
    match ctx.apps.identify(&bearer.token).await {
        Ok(Some(app)) => Some(Authenticated::App(app)),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "API key check failed");
            Some(Authenticated::Unavailable)
        }
    }
}

impl AppKey {
    /// The request's app, its key checked against revocation now, within the app's rate
    /// limit (429 past it).
    pub async fn app(&self, ctx: &Ctx) -> Result<&Arc<App>, ApiProblem> {
        let app = self.live(ctx).await?;
        admit(ctx, app).await?;
        Ok(app)
    }

    /// The request's app, its key checked against revocation now; its rate not counted.
    /// Only for writes, which count it themselves: a write over the rate whose nonce is
    /// recorded still gets its first answer.
    pub async fn live(&self, ctx: &Ctx) -> Result<&Arc<App>, ApiProblem> {
        let found = self.identified()?;
        if !found.checked {
            match ctx.apps.key_live(found.key_id).await {
                Ok(true) => {}
                Ok(false) => return Err(ApiProblem::unauthorized()),
                Err(e) => {
                    tracing::error!(error = %e, "API key check failed");
                    return Err(unavailable());
                }
            }
        }
        Ok(&found.app)
    }

    /// The request's app and key, the key not yet checked against revocation: only for a
    /// sync write, whose batch checks it (`Command::key_id`).
    pub fn unchecked(&self) -> Result<&Identified, ApiProblem> {
        self.identified()
    }

    fn identified(&self) -> Result<&Identified, ApiProblem> {
        match &self.0 {
            Authenticated::App(found) => Ok(found),
            Authenticated::Unavailable => Err(unavailable()),
        }
    }
}

/// Counts one request against the app's rate limit: 429 past it.
pub async fn admit(ctx: &Ctx, app: &App) -> Result<(), ApiProblem> {
    ctx.rates
        .admit(app.id, app.rate)
        .await
        .map_err(|Limited(wait)| ApiProblem::rate_limited(wait))
}

fn unavailable() -> ApiProblem {
    ApiProblem::new(
        Code::AppsUnavailable,
        "the API key could not be checked; retry later",
    )
}
