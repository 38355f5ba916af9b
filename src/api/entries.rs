//! `POST /v1/entries`, `GET /v1/entries/{id}`.

use super::Ctx;
use super::auth::{AppKey, admit};
use super::body::JsonBody;
use super::model::{Entry, NewEntry};
use super::problem::ApiProblem;
use crate::ledger::command::Command;
use crate::ledger::{Code, EntryRecord, EntryRequest, EntryState};
use crate::time::now_micros;
use crate::workflow::Settled;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use std::sync::Arc;
use uuid::Uuid;

pub struct EntriesApi {
    pub ctx: Arc<Ctx>,
}

/// A successful answer to a posted entry.
#[derive(ApiResponse)]
pub enum PostEntryResponse {
    /// The entry completed.
    #[oai(status = 201)]
    Created(
        JsonBody<Entry>,
        /// `true` when this answers a repeated nonce.
        #[oai(header = "Idempotent-Replay")]
        Option<String>,
    ),
    /// Accepted with `Prefer: respond-async`: durably `received`; the workflow finishes it.
    #[oai(status = 202)]
    Accepted(
        JsonBody<Entry>,
        /// `true` when this answers a repeated nonce.
        #[oai(header = "Idempotent-Replay")]
        Option<String>,
    ),
}

/// The answer for an entry in its current state. A replay answers the same way, so the
/// same nonce and request always get the same status and body back (an async entry's
/// replay shows how far it has come).
fn answer(record: &EntryRecord, replay: bool) -> Result<PostEntryResponse, ApiProblem> {
    let header = replay.then(|| "true".to_owned());
    match record.state() {
        EntryState::Completed => Ok(PostEntryResponse::Created(JsonBody(record.into()), header)),
        EntryState::Failed => Err(ApiProblem::failed_entry(record, replay)),
        _ => Ok(PostEntryResponse::Accepted(JsonBody(record.into()), header)),
    }
}

/// A write over its app's rate: the first answer its nonce got, when the nonce is
/// recorded (a retry must learn its outcome), else `limited` (429).
pub(super) async fn first_answer_or(
    ctx: &Ctx,
    cmd: &Command,
    limited: ApiProblem,
) -> Result<PostEntryResponse, ApiProblem> {
    // Boxed: the read is kilobytes of future, and only a limited write awaits it.
    match Box::pin(ctx.workflow.answered(cmd)).await? {
        Some(settled) => settled_answer(settled),
        None => Err(limited),
    }
}

/// The answer to a write the workflow settled: the entry, its replay, or a problem.
pub(super) fn settled_answer(settled: Settled) -> Result<PostEntryResponse, ApiProblem> {
    match settled {
        Settled::Recorded(record) => answer(&record, false),
        Settled::Replay(record) => answer(&record, true),
        Settled::NonceReused(entry_id) => Err(ApiProblem::nonce_reused(entry_id)),
        Settled::KeyRevoked => Err(ApiProblem::unauthorized()),
        // Only the ledger's own expiries can be early; no request of an app is one.
        Settled::NotDue => Err(ApiProblem::new(Code::Unavailable, "not due yet")),
    }
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Entries")]
impl EntriesApi {
    /// Post an entry
    ///
    /// Runs the entry through the workflow: validating (catalog, amount, limits), nonce
    /// check, balance check, processing. Answers 201 with the completed entry, 422 with a
    /// problem when it was recorded as failed (`entry_id` set) or refused before recording,
    /// 409 when the nonce belongs to another request. With `Prefer: respond-async` it
    /// answers 202 once the entry is durably received.
    #[oai(path = "/entries", method = "post")]
    async fn post(
        &self,
        auth: AppKey,
        /// `respond-async` to get 202 as soon as the entry is durably received.
        #[oai(name = "Prefer")]
        prefer: Header<Option<String>>,
        body: Json<NewEntry>,
    ) -> Result<PostEntryResponse, ApiProblem> {
        let is_async = prefer.0.as_deref().is_some_and(|p| {
            p.split([',', ';'])
                .any(|t| t.trim().eq_ignore_ascii_case("respond-async"))
        });
        let body = body.0;
        let request = EntryRequest {
            operation: body.operation.0,
            owner_id: body.owner_id.0,
            nonce: body.nonce.0,
            amount: body.amount.map(|a| a.0),
            counterparty_id: body.counterparty_id.map(|c| c.0),
            metadata: body.metadata,
            expires_at: body.expires_at.map(|t| t.0),
            priority: body.priority,
        };
        let settled = if is_async {
            let app = auth.live(&self.ctx).await?;
            let limited = admit(&self.ctx, app).await.err();
            let cmd = request.validate(app.id, &app.catalog, now_micros(), true)?;
            if let Some(limited) = limited {
                return first_answer_or(&self.ctx, &cmd, limited).await;
            }
            // Boxed: the claim's write is kilobytes of future, and inline it would be part
            // of every request's, which poem's layers move into boxes of their own.
            Box::pin(self.ctx.workflow.receive(cmd)).await?
        } else {
            let key = auth.unchecked()?;
            let limited = admit(&self.ctx, &key.app).await.err();
            let validated = request.validate(key.app.id, &key.app.catalog, now_micros(), false);
            if validated.is_err() || limited.is_some() {
                // This request reaches no batch, so no batch checks its key: checked here,
                // so that a revoked key learns nothing, not even what the catalog holds.
                auth.live(&self.ctx).await?;
            }
            let mut cmd = validated?;
            if let Some(limited) = limited {
                return first_answer_or(&self.ctx, &cmd, limited).await;
            }
            cmd.key_id = Some(key.key_id);
            self.ctx.workflow.submit(cmd).await?
        };
        settled_answer(settled)
    }

    /// Get an entry
    ///
    /// The entry with its state, postings and every transition it took, from the read
    /// model; an entry recorded but not projected yet is read from the event store, so an
    /// id a write answered is never a 404.
    #[oai(path = "/entries/:id", method = "get")]
    async fn get(&self, auth: AppKey, id: Path<Uuid>) -> Result<JsonBody<Entry>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let record = self.ctx.queries.entry(app.id, id.0).await?;
        // Another app's entry is as absent as one that does not exist.
        let record = record.ok_or_else(|| ApiProblem::not_found("the entry"))?;
        Ok(JsonBody(Entry::from(&record)))
    }
}
