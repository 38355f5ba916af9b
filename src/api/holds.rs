//! `POST /v1/holds`, `GET /v1/holds/{id}`, `POST /v1/holds/{id}/capture`,
//! `POST /v1/holds/{id}/void` and `GET /v1/accounts/{owner_id}/holds`.

use super::Ctx;
use super::accounts::{MAX_PAGE, owner, scale_of};
use super::auth::{AppKey, admit};
use super::entries::settled_answer;
use super::hold_model::{HoldList, HoldView, NewCapture, NewHold, NewHoldVoid};
use super::problem::ApiProblem;
use crate::apps::App;
use crate::ledger::command::Command;
use crate::ledger::hold_request::{self, HoldRequest};
use crate::ledger::record::EntryRecord;
use crate::ledger::request::app_nonce;
use crate::ledger::{Code, Refusal};
use crate::time::now_micros;
use crate::workflow::Settled;
use entity::hold;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use std::sync::Arc;
use uuid::Uuid;

pub struct HoldsApi {
    pub ctx: Arc<Ctx>,
}

/// A placed hold.
#[derive(ApiResponse)]
pub enum PlacedResponse {
    /// The hold is placed: its amount is reserved until it is captured, voided or expires.
    #[oai(status = 201)]
    Created(
        Json<HoldView>,
        /// `true` when this answers a repeated nonce.
        #[oai(header = "Idempotent-Replay")]
        Option<String>,
    ),
}

/// A captured or voided hold.
#[derive(ApiResponse)]
pub enum EndedResponse {
    /// The hold as the capture or void left it.
    #[oai(status = 200)]
    Ok(
        Json<HoldView>,
        /// `true` when this answers a repeated nonce.
        #[oai(header = "Idempotent-Replay")]
        Option<String>,
    ),
}

/// The entry a hold command recorded, or the problem it settled as. `Ok((record, replay))`
/// only for a command that went through.
fn recorded(settled: Settled) -> Result<(EntryRecord, bool), ApiProblem> {
    let (record, replay) = match settled {
        Settled::Recorded(record) => (record, false),
        Settled::Replay(record) => (record, true),
        other => {
            return match settled_answer(other) {
                Err(problem) => Err(problem),
                Ok(_) => Err(ApiProblem::new(Code::Unavailable, "no entry was recorded")),
            };
        }
    };
    if record.failure_code().is_some() {
        return Err(ApiProblem::failed_entry(&record, replay));
    }
    Ok((record, replay))
}

impl HoldsApi {
    /// Runs a capture or void of `id` (made by `make` from the hold as it stands) and
    /// answers with the hold as it left it.
    async fn end(
        &self,
        auth: AppKey,
        id: Uuid,
        make: impl FnOnce(&App, &hold::Model) -> Result<Command, Refusal>,
    ) -> Result<EndedResponse, ApiProblem> {
        let app = auth.live(&self.ctx).await?;
        let limited = admit(&self.ctx, app).await.err();
        let queries = &self.ctx.queries;
        // Another app's hold is as absent as one that does not exist.
        let hold = queries.stored_hold_row(app.id, id).await?;
        let hold = hold.ok_or_else(|| ApiProblem::not_found("the hold"))?;
        let cmd = make(app, &hold)?;
        let settled = match limited {
            None => self.ctx.workflow.submit(cmd).await?,
            Some(limited) => self.ctx.workflow.answered(&cmd).await?.ok_or(limited)?,
        };
        let (_, replay) = recorded(settled)?;
        let hold = queries.stored_hold(app.id, id).await?;
        let hold = hold.ok_or_else(|| ApiProblem::not_found("the hold"))?;
        let view = HoldView::at(&hold.placed, &hold.hold, now_micros());
        Ok(EndedResponse::Ok(Json(view), replay.then(|| "true".into())))
    }
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Holds")]
impl HoldsApi {
    /// Place a hold
    ///
    /// Reserves `amount` of the owner's credits for a debit operation until it is
    /// captured, voided or expires (`expires_in_seconds` or `expires_at`, at most the
    /// operation's `max_hold_seconds`). It runs the workflow like an entry: validating,
    /// nonce check, balance check against the available balance, then `held`. 201 with the
    /// hold; 422 `insufficient_balance` (recorded as failed) when the available balance
    /// does not cover it.
    #[oai(path = "/holds", method = "post")]
    async fn place(&self, auth: AppKey, body: Json<NewHold>) -> Result<PlacedResponse, ApiProblem> {
        let body = body.0;
        let request = HoldRequest {
            operation: body.operation.0,
            owner_id: body.owner_id.0,
            nonce: body.nonce.0,
            amount: body.amount.map(|a| a.0),
            expires_in_seconds: body.expires_in_seconds,
            expires_at: body.expires_at.map(|t| t.0),
            metadata: body.metadata,
        };
        let key = auth.unchecked()?;
        let limited = admit(&self.ctx, &key.app).await.err();
        let validated = request.validate(key.app.id, &key.app.catalog, now_micros());
        if validated.is_err() || limited.is_some() {
            // No batch checks this request's key: checked here (see `POST /v1/entries`).
            auth.live(&self.ctx).await?;
        }
        let mut cmd = validated?;
        let settled = match limited {
            Some(limited) => self.ctx.workflow.answered(&cmd).await?.ok_or(limited)?,
            None => {
                cmd.key_id = Some(key.key_id);
                self.ctx.workflow.submit(cmd).await?
            }
        };
        let (record, replay) = recorded(settled)?;
        let hold = record
            .holds
            .first()
            .ok_or_else(|| ApiProblem::new(Code::Unavailable, "the hold's entry names no hold"))?;
        let view = HoldView::at(&record, hold, now_micros());
        Ok(PlacedResponse::Created(
            Json(view),
            replay.then(|| "true".into()),
        ))
    }

    /// Get a hold
    ///
    /// The hold with its state and every transition it took, from the read model (a hold
    /// not projected yet is read from the event store). A hold is `expired` from its
    /// expiry instant on, to the microsecond, whether or not its expiry is recorded yet.
    #[oai(path = "/holds/:id", method = "get")]
    async fn get(&self, auth: AppKey, id: Path<Uuid>) -> Result<Json<HoldView>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let found = self.ctx.queries.hold(app.id, id.0).await?;
        let found = found.ok_or_else(|| ApiProblem::not_found("the hold"))?;
        Ok(Json(HoldView::at(&found.placed, &found.hold, now_micros())))
    }

    /// Capture a hold
    ///
    /// Records the hold's debit as an entry with `hold_id`: `amount` (all of the hold when
    /// left out; more gives 422 `amount_exceeds_hold`), drawn from the lots the hold
    /// reserved, even one that expired meanwhile; the rest is released. Limits and
    /// cooldowns count here. 200 with the hold, `captured`. The same nonce replays the
    /// first answer; another capture or void gives 409 `hold_not_open`, and one at or after
    /// the hold's expiry 409 `hold_expired`.
    #[oai(path = "/holds/:id/capture", method = "post")]
    async fn capture(
        &self,
        auth: AppKey,
        id: Path<Uuid>,
        body: Json<NewCapture>,
    ) -> Result<EndedResponse, ApiProblem> {
        let body = body.0;
        self.end(auth, id.0, |app, hold| {
            let nonce = app_nonce(body.nonce.0)?;
            let op = app.catalog.get(&hold.operation).ok_or_else(|| {
                Refusal::new(
                    Code::UnknownOperation,
                    format!("this app's catalog no longer has {}", hold.operation),
                )
            })?;
            let scale = app.catalog.asset(&op.asset).map_or(0, |a| a.scale);
            let amount = body.amount.map(|a| a.0);
            hold_request::capture(hold, (op, scale), nonce, amount.as_deref(), now_micros())
        })
        .await
    }

    /// Void a hold
    ///
    /// Releases all of the hold. 200 with the hold, `voided`. The same nonce replays the
    /// first answer; another capture or void gives 409 `hold_not_open`, and one at or
    /// after the hold's expiry 409 `hold_expired`.
    #[oai(path = "/holds/:id/void", method = "post")]
    async fn void(
        &self,
        auth: AppKey,
        id: Path<Uuid>,
        body: Json<NewHoldVoid>,
    ) -> Result<EndedResponse, ApiProblem> {
        let body = body.0;
        self.end(auth, id.0, |_, hold| {
            let nonce = app_nonce(body.nonce.0)?;
            hold_request::void(hold, nonce, now_micros())
        })
        .await
    }

    /// List an owner's holds
    ///
    /// Newest first, from the read model. `state` narrows the list: `held` (holding now),
    /// `captured`, `voided` or `expired` (a hold is expired from its instant on, recorded
    /// or not).
    #[oai(path = "/accounts/:owner_id/holds", method = "get")]
    async fn list(
        &self,
        auth: AppKey,
        owner_id: Path<String>,
        /// `held`, `captured`, `voided` or `expired`.
        state: Query<Option<String>>,
        /// The asset; `CREDIT` when left out.
        asset: Query<Option<String>>,
        /// At most this many, 1 to 200; 100 when left out.
        limit: Query<Option<u64>>,
    ) -> Result<Json<HoldList>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let owner = owner(owner_id.0)?;
        let asset = asset.0.unwrap_or_else(|| "CREDIT".to_owned());
        scale_of(app, &asset)?;
        let state = state.0;
        if let Some(s) = state.as_deref()
            && !["held", "captured", "voided", "expired"].contains(&s)
        {
            return Err(ApiProblem::new(
                Code::InvalidRequest,
                "state must be held, captured, voided or expired",
            ));
        }
        let limit = limit.0.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiProblem::new(
                Code::InvalidLimit,
                format!("limit must be between 1 and {MAX_PAGE}"),
            ));
        }
        let open_only = state.as_deref() == Some("held");
        let found = self
            .ctx
            .queries
            .owner_holds(app.id, &owner, &asset, open_only, limit)
            .await?;
        let now = now_micros();
        let holds = found
            .iter()
            .map(|h| HoldView::at(&h.placed, &h.hold, now))
            .filter(|v| state.as_deref().is_none_or(|s| v.state == s))
            .collect();
        Ok(Json(HoldList { holds }))
    }
}
