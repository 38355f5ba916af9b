//! `GET /v1/accounts/{owner_id}/audit`: an account's posting hash chain re-computed from the
//! event store, as `ledgerflow verify` checks it, for one account and through the API.

use super::Ctx;
use super::accounts::{owner, scale_of};
use super::auth::AppKey;
use super::problem::ApiProblem;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use std::sync::Arc;

pub struct AuditApi {
    pub ctx: Arc<Ctx>,
}

/// What re-computing an account's hash chain found.
#[derive(Debug, Object)]
pub struct AuditReport {
    pub owner_id: String,
    pub asset: String,
    /// Every posting links to the one before and matches its content, with no version
    /// missing.
    pub intact: bool,
    /// Postings walked.
    pub postings: u64,
    /// The hash of the last posting (64 zeros when there is none).
    pub head_hash: String,
    /// The first version that does not follow the one before, when the chain is broken.
    #[oai(skip_serializing_if_is_none)]
    pub broken_at: Option<i64>,
    /// How it differs.
    #[oai(skip_serializing_if_is_none)]
    pub differs: Option<String>,
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Accounts")]
impl AuditApi {
    /// Audit an account's hash chain
    ///
    /// Re-computes the hash chain of the owner's postings from the event store: each
    /// posting must link to the one before (`prev_hash`) and hash to its own `hash`, with
    /// no version missing. System accounts (`@system:…`) can be audited too. A chain that
    /// was edited answers `intact: false` with the first version that breaks and how.
    #[oai(path = "/accounts/:owner_id/audit", method = "get")]
    async fn audit(
        &self,
        auth: AppKey,
        owner_id: Path<String>,
        /// The asset; `CREDIT` when left out.
        asset: Query<Option<String>>,
    ) -> Result<Json<AuditReport>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let owner = owner(owner_id.0)?;
        let asset = asset.0.unwrap_or_else(|| "CREDIT".to_owned());
        scale_of(app, &asset)?;
        let walk = self.ctx.queries.audit(app.id, &owner, &asset).await?;
        let (broken_at, differs) = walk.broken.unzip();
        Ok(Json(AuditReport {
            owner_id: owner.as_str().to_owned(),
            asset,
            intact: broken_at.is_none(),
            postings: walk.postings,
            head_hash: walk.head_hash,
            broken_at,
            differs,
        }))
    }
}
