//! `POST /v1/entries/{id}/reversals`.

use super::Ctx;
use super::auth::{AppKey, admit};
use super::entries::{PostEntryResponse, first_answer_or, settled_answer};
use super::problem::ApiProblem;
use super::text::{AmountText, Text};
use crate::ledger::request::app_nonce;
use crate::ledger::reversal;
use crate::time::now_micros;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use std::sync::Arc;
use uuid::Uuid;

pub struct ReversalsApi {
    pub ctx: Arc<Ctx>,
}

/// A reversal of an entry.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewReversal {
    /// Unique per app, as for entries: the same nonce and request replay the first answer.
    pub nonce: Text,
    /// What to take back, at most what is not reversed yet; all of that when left out.
    pub amount: Option<AmountText>,
    /// Why, kept as the reversal's metadata (at most 500 characters, no control characters).
    pub reason: Option<Text>,
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Entries")]
impl ReversalsApi {
    /// Reverse an entry
    ///
    /// Records a `REVERSAL` entry that moves all or part of a completed entry back, linked
    /// both ways (`reverses` on it; `reversed_amount` and `reversals` on the original). A
    /// spend's value returns to the lots it was drawn from, in reverse drawdown order, with
    /// their terms (a share of a lot that has expired since expires again at once); a
    /// credit's is taken out of the lot it opened (422 `insufficient_balance` when it is
    /// spent, unless the operation lets reversals overdraw); a transfer is reversed on both
    /// sides. 201 with the reversal; 409 `reversal_exceeds_original` when the reversals would
    /// exceed the entry; 422 `not_reversible` for a failed entry, a reversal, the ledger's own
    /// entries, or an operation the catalog declares not reversible (or past its window).
    #[oai(path = "/entries/:id/reversals", method = "post")]
    async fn reverse(
        &self,
        auth: AppKey,
        id: Path<Uuid>,
        body: Json<NewReversal>,
    ) -> Result<PostEntryResponse, ApiProblem> {
        let app = auth.live(&self.ctx).await?;
        let limited = admit(&self.ctx, app).await.err();
        let body = body.0;
        let nonce = app_nonce(body.nonce.0)?;
        // The event store's record: the read model may not have the entry yet. Another app's
        // entry is as absent as one that does not exist.
        let original = self.ctx.queries.stored_entry(app.id, id.0).await?;
        let original = original.ok_or_else(|| ApiProblem::not_found("the entry"))?;
        let op = app.catalog.get(&original.entry.operation);
        let scale = app
            .catalog
            .asset(&original.entry.asset)
            .map_or(0, |a| a.scale);
        let amount = body.amount.map(|a| a.0);
        let reason = body.reason.map(|r| r.0);
        let asked = (nonce, amount.as_deref(), reason.as_deref());
        let cmd = reversal::command(&original, op, asked, scale, now_micros())?;
        if let Some(limited) = limited {
            return first_answer_or(&self.ctx, &cmd, limited).await;
        }
        settled_answer(self.ctx.workflow.submit(cmd).await?)
    }
}
