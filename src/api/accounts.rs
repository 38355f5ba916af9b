//! `GET /v1/accounts/{owner_id}` (now or at a past time), the owner's lots, and its entry
//! history (a system account's too).

use super::Ctx;
use super::auth::AppKey;
use super::body::JsonBody;
use super::model::{AccountBalance, Entry, EntryList, LotList, LotView};
use super::problem::ApiProblem;
use crate::apps::App;
use crate::ledger::Code;
use crate::ledger::command::OwnerId;
use crate::query::{EntryPage, HistoryCursor, Queries};
use crate::time::{now_micros, parse_rfc3339, to_rfc3339};
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use std::fmt;
use std::sync::Arc;

pub struct AccountsApi {
    pub ctx: Arc<Ctx>,
}

/// Largest page of entries.
pub const MAX_PAGE: u64 = 200;

/// The path's owner; a system account (`@system:…`) may be read too.
pub(super) fn owner(path: String) -> Result<OwnerId, ApiProblem> {
    Ok(OwnerId::parse("owner_id", path)?)
}

impl AccountsApi {
    async fn lot_views(
        &self,
        app: &App,
        owner: &OwnerId,
        asset: &str,
        closed: bool,
    ) -> Result<Vec<LotView>, ApiProblem> {
        let rows = self.ctx.queries.lots(app.id, owner, asset, closed).await?;
        let now = now_micros();
        Ok(rows
            .iter()
            .map(|row| LotView::at(row, owner.as_str(), asset, now))
            .collect())
    }
}

/// The asset's scale in the app's catalog, or `unknown_asset`.
pub(super) fn scale_of(app: &App, asset: &str) -> Result<u32, ApiProblem> {
    app.catalog.asset(asset).map(|a| a.scale).ok_or_else(|| {
        ApiProblem::new(
            Code::UnknownAsset,
            format!("this app's catalog has no asset {asset:?}"),
        )
    })
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Accounts")]
impl AccountsApi {
    /// Get a balance
    ///
    /// The owner's balance, what open holds hold of it and what is available (`balance −
    /// held`), with the account version, as projected into the read model; or with `at`
    /// (RFC 3339) all three at that moment, from the event store. Expiries of lots and
    /// holds count from their instant, to the microsecond, recorded or not. System accounts (`@system:…`) can be read
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
    ) -> Result<JsonBody<AccountBalance>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let owner = owner(owner_id.0)?;
        let asset = asset.0.unwrap_or_else(|| "CREDIT".to_owned());
        let scale = scale_of(app, &asset)?;
        let at = match at.0.as_deref() {
            None => None,
            Some(text) => Some(parse_rfc3339(text).ok_or_else(|| {
                ApiProblem::new(
                    Code::InvalidTime,
                    "at must be an RFC 3339 time such as 2026-11-21T12:00:00Z",
                )
            })?),
        };
        let queries = &self.ctx.queries;
        let found = match at {
            None => {
                queries
                    .balance(app.id, &owner, &asset, min_version.0)
                    .await?
            }
            Some(at) => queries.balance_at(app.id, &owner, &asset, at).await?,
        };
        let mut balance = found.balance;
        balance.rescale(scale);
        let mut held = found.held;
        held.rescale(scale);
        let mut available = balance - held;
        available.rescale(scale);
        let (lots, status) = match at {
            Some(_) => (None, None),
            None => (
                Some(self.lot_views(app, &owner, &asset, false).await?),
                Some(queries.account_status(app.id, &owner, &asset).await?),
            ),
        };
        Ok(JsonBody(AccountBalance {
            owner_id: owner.as_str().to_owned(),
            asset,
            balance: balance.to_string(),
            held: held.to_string(),
            available: available.to_string(),
            status,
            version: found.version,
            at: at.map(to_rfc3339),
            lots,
        }))
    }

    /// List an owner's lots
    ///
    /// The open lots in the order debits draw from them: priority ascending, then
    /// `expires_at` ascending (never-expiring last), promotional before paid, older before
    /// newer, then lot id. A lot stops counting at its expiry instant, to the microsecond,
    /// whether or not its expiry is recorded yet. `include=closed` adds spent, expired and
    /// voided lots.
    #[oai(path = "/accounts/:owner_id/lots", method = "get")]
    async fn lots(
        &self,
        auth: AppKey,
        owner_id: Path<String>,
        /// The asset; `CREDIT` when left out.
        asset: Query<Option<String>>,
        /// `closed` to list closed lots too.
        include: Query<Option<String>>,
    ) -> Result<JsonBody<LotList>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let owner = owner(owner_id.0)?;
        let asset = asset.0.unwrap_or_else(|| "CREDIT".to_owned());
        scale_of(app, &asset)?;
        let closed = match include.0.as_deref() {
            None | Some("open") => false,
            Some("closed") => true,
            Some(_) => {
                return Err(ApiProblem::new(
                    Code::InvalidRequest,
                    "include must be \"closed\" (or left out)",
                ));
            }
        };
        let lots = self.lot_views(app, &owner, &asset, closed).await?;
        Ok(JsonBody(LotList { lots }))
    }

    /// List an owner's entries
    ///
    /// An owner's history: the entries the owner posted or received (as a transfer's
    /// counterparty), newest first; of every asset, or of `asset` only when it is given.
    ///
    /// A system account's history (`@system:…`, the counter account of the catalog's
    /// operations, which is never an entry's owner or counterparty): the entries that posted
    /// to its account in `asset` (`CREDIT` when left out), newest first by the account's
    /// posting version, each entry once however many times it posted there. They are full
    /// entries, whose `postings` include the system account's.
    ///
    /// Pass `next_cursor` as `cursor` for the next page. The two histories page by
    /// different positions, so each has cursors of its own (an owner's
    /// `{microseconds}_{entry id}`, a system account's `v{version}`); a cursor of the other
    /// kind is 400 `invalid_cursor`.
    #[oai(path = "/accounts/:owner_id/entries", method = "get")]
    async fn entries(
        &self,
        auth: AppKey,
        owner_id: Path<String>,
        /// A system account's asset, `CREDIT` when left out; for an owner, only this asset's
        /// entries (all when left out).
        asset: Query<Option<String>>,
        /// Page size, 1 to 200; 50 when left out.
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page of this history.
        cursor: Query<Option<String>>,
        /// Wait until the account (in `asset`, `CREDIT` when left out) has at least this
        /// version.
        min_version: Query<Option<i64>>,
    ) -> Result<JsonBody<EntryList>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let owner = owner(owner_id.0)?;
        let asset = asset.0;
        if let Some(asset) = &asset {
            scale_of(app, asset)?;
        }
        let limit = limit.0.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiProblem::new(
                Code::InvalidLimit,
                format!("limit must be between 1 and {MAX_PAGE}"),
            ));
        }
        let cursor = match cursor.0.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<HistoryCursor>().map_err(|_| {
                ApiProblem::new(
                    Code::InvalidCursor,
                    "cursor must be a next_cursor value from a previous page",
                )
            })?),
        };
        let queries = &self.ctx.queries;
        if min_version.0.is_some() {
            let account = asset.as_deref().unwrap_or("CREDIT");
            queries
                .balance(app.id, &owner, account, min_version.0)
                .await?;
        }
        let list = history(queries, app, &owner, asset.as_deref(), cursor, limit).await?;
        Ok(JsonBody(list))
    }
}

/// Up to `limit` entries of `owner`'s history from `cursor`: a system account's from its
/// postings in `asset`, an owner's from its entries (of `asset` only, if given).
async fn history(
    queries: &Queries,
    app: &App,
    owner: &OwnerId,
    asset: Option<&str>,
    cursor: Option<HistoryCursor>,
    limit: u64,
) -> Result<EntryList, ApiProblem> {
    if owner.is_system() {
        let from = match cursor {
            None => None,
            Some(HistoryCursor::System(c)) => Some(c),
            Some(HistoryCursor::Owner(_)) => return Err(other_kind("an owner's")),
        };
        let asset = asset.unwrap_or("CREDIT");
        let found = queries
            .account_entries(app.id, owner, asset, from, limit)
            .await?;
        return Ok(listed(found));
    }
    let after = match cursor {
        None => None,
        Some(HistoryCursor::Owner(c)) => Some(c),
        Some(HistoryCursor::System(_)) => return Err(other_kind("a system account's")),
    };
    let found = queries
        .owner_entries(app.id, owner, asset, after, limit)
        .await?;
    Ok(listed(found))
}

/// A cursor of a page of `whose` history, given to the other kind of history.
fn other_kind(whose: &str) -> ApiProblem {
    ApiProblem::new(
        Code::InvalidCursor,
        format!("this cursor is from {whose} history; pass the next_cursor of this account's"),
    )
}

/// A page as the API shows it, whichever kind of cursor it ends with.
fn listed<C: fmt::Display>(page: EntryPage<C>) -> EntryList {
    EntryList {
        entries: page.entries.iter().map(Entry::from).collect(),
        next_cursor: page.next.map(|c| c.to_string()),
    }
}
