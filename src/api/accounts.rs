//! `GET /v1/accounts/{owner_id}` (now or at a past time) and the owner's entry history.

use super::Ctx;
use super::auth::AppKey;
use super::model::{AccountBalance, Entry, EntryList};
use super::problem::ApiProblem;
use crate::apps::App;
use crate::query::PageCursor;
use crate::store::Balance;
use crate::time::{parse_rfc3339, to_rfc3339};
use crate::workflow::request::MAX_ID_LEN;
use poem::http::StatusCode;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use std::sync::Arc;

pub struct AccountsApi {
    pub ctx: Arc<Ctx>,
}

/// Largest page of entries.
pub const MAX_PAGE: u64 = 200;

fn check_owner(owner: &str) -> Result<(), ApiProblem> {
    if owner.is_empty() || owner.len() > MAX_ID_LEN || owner.chars().any(char::is_control) {
        return Err(ApiProblem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
            format!("owner_id must be 1 to {MAX_ID_LEN} bytes without control characters"),
        ));
    }
    Ok(())
}

/// The asset's scale in the app's catalog, or `unknown_asset`.
fn scale_of(app: &App, asset: &str) -> Result<u32, ApiProblem> {
    app.catalog.asset(asset).map(|a| a.scale).ok_or_else(|| {
        ApiProblem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_asset",
            format!("this app's catalog has no asset {asset:?}"),
        )
    })
}

impl AccountsApi {
    /// The projected balance, once it has `min_version` if one is asked for.
    async fn current(
        &self,
        app: &App,
        owner: &str,
        asset: &str,
        min_version: Option<i64>,
    ) -> Result<Balance, ApiProblem> {
        let read = &self.ctx.read;
        Ok(match min_version {
            None => read.balance(app.id, owner, asset).await?,
            Some(v) => {
                read.balance_at_least(app.id, owner, asset, v, self.ctx.read_wait)
                    .await?
            }
        })
    }
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Accounts")]
impl AccountsApi {
    /// Get a balance
    ///
    /// The owner's balance and account version as projected into the read model, or with
    /// `at` (RFC 3339) the balance at that moment, from the event store: the balance after
    /// the last posting recorded at or before it. System accounts (`@system:…`) can be read
    /// too. To read your own write, pass the `version` the write answered as `min_version`:
    /// the read waits until the read model has it, or answers 503 `read_model_behind`.
    #[oai(path = "/accounts/:owner_id", method = "get")]
    async fn balance(
        &self,
        auth: AppKey,
        owner_id: Path<String>,
        /// The asset; `CREDIT` when left out.
        asset: Query<Option<String>>,
        /// An RFC 3339 time, e.g. `2026-11-21T12:00:00Z`.
        at: Query<Option<String>>,
        /// Wait until the account has at least this version (ignored with `at`, which
        /// reads the event store).
        min_version: Query<Option<i64>>,
    ) -> Result<Json<AccountBalance>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        check_owner(&owner_id)?;
        let asset = asset.0.unwrap_or_else(|| "CREDIT".to_owned());
        let scale = scale_of(app, &asset)?;
        let at = match at.0.as_deref() {
            None => None,
            Some(text) => Some(parse_rfc3339(text).ok_or_else(|| {
                ApiProblem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_time",
                    "at must be an RFC 3339 time such as 2026-11-21T12:00:00Z",
                )
            })?),
        };
        let found = match at {
            None => self.current(app, &owner_id, &asset, min_version.0).await?,
            Some(at) => {
                self.ctx
                    .store
                    .balance_at(app.id, &owner_id, &asset, at)
                    .await?
            }
        };
        let mut balance = found.balance;
        balance.rescale(scale);
        Ok(Json(AccountBalance {
            owner_id: owner_id.0,
            asset,
            balance: balance.to_string(),
            version: found.version,
            at: at.map(to_rfc3339),
        }))
    }

    /// List an owner's entries
    ///
    /// Entries the owner posted or received (as a transfer's counterparty), newest first.
    #[oai(path = "/accounts/:owner_id/entries", method = "get")]
    async fn entries(
        &self,
        auth: AppKey,
        owner_id: Path<String>,
        /// Page size, 1 to 200; 50 when left out.
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the owner's CREDIT account has at least this version.
        min_version: Query<Option<i64>>,
    ) -> Result<Json<EntryList>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        check_owner(&owner_id)?;
        let limit = limit.0.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiProblem::new(
                StatusCode::BAD_REQUEST,
                "invalid_limit",
                format!("limit must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = match cursor.0.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<PageCursor>().map_err(|_| {
                ApiProblem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_cursor",
                    "cursor must be a next_cursor value from a previous page",
                )
            })?),
        };
        self.current(app, &owner_id, "CREDIT", min_version.0)
            .await?;
        let page = self
            .ctx
            .read
            .owner_entries(app.id, &owner_id, after, limit)
            .await?;
        Ok(Json(EntryList {
            entries: page.entries.iter().map(Entry::from).collect(),
            next_cursor: page.next.map(|c| c.to_string()),
        }))
    }
}
