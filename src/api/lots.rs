//! `POST /v1/lots/{id}/void`.

use super::Ctx;
use super::auth::{AppKey, admit};
use super::entries::{PostEntryResponse, first_answer_or, settled_answer};
use super::problem::ApiProblem;
use super::text::Text;
use crate::ledger::closing;
use crate::ledger::request::app_nonce;
use crate::time::now_micros;
use crate::workflow::Settled;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use std::sync::Arc;
use uuid::Uuid;

pub struct LotsApi {
    pub ctx: Arc<Ctx>,
}

/// A void of what is left of a lot.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewVoid {
    /// Unique per app, as for entries: the same nonce and request replay the first answer.
    pub nonce: Text,
    /// Why, kept as the entry's metadata (at most 500 characters, no control characters).
    pub reason: Option<Text>,
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Lots")]
impl LotsApi {
    /// Void a lot
    ///
    /// Records a `LOT_VOID` entry that moves the lot's unspent remainder back to the
    /// account the credit came from; what was spent stays spent. 201 with the entry; 409
    /// `lot_closed` (recorded, and replayed under the same nonce) when the lot is already
    /// spent, expired or voided; 404 when the app has no such lot.
    #[oai(path = "/lots/:id/void", method = "post")]
    async fn void(
        &self,
        auth: AppKey,
        id: Path<Uuid>,
        body: Json<NewVoid>,
    ) -> Result<PostEntryResponse, ApiProblem> {
        let app = auth.live(&self.ctx).await?;
        let limited = admit(&self.ctx, app).await.err();
        let nonce = app_nonce(body.0.nonce.0)?;
        // Another app's lot is as absent as one that does not exist.
        let lot = self.ctx.queries.lot(app.id, id.0).await?;
        let (lot, account) = lot.ok_or_else(|| ApiProblem::not_found("the lot"))?;
        let reason = body.0.reason.map(|r| r.0);
        let cmd = closing::void(&lot, &account, nonce, reason.as_deref(), now_micros())?;
        if let Some(limited) = limited {
            return first_answer_or(&self.ctx, &cmd, limited).await;
        }
        let settled = self.ctx.workflow.submit(cmd).await?;
        if let Settled::Recorded(record) = &settled
            && record.failure_code().is_none()
        {
            self.ctx.metrics.lots_voided.inc();
        }
        settled_answer(settled)
    }
}
