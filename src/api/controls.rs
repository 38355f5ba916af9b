//! `POST /v1/accounts/{owner_id}/freeze`, `/unfreeze` and `/close`.

use super::Ctx;
use super::accounts::scale_of;
use super::auth::{AppKey, admit};
use super::entries::{PostEntryResponse, first_answer_or, settled_answer};
use super::problem::ApiProblem;
use super::text::Text;
use crate::ledger::account;
use crate::ledger::closing::check_reason;
use crate::ledger::command::Control;
use crate::ledger::request::{app_nonce, posting_owner};
use crate::time::now_micros;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use std::sync::Arc;

pub struct ControlsApi {
    pub ctx: Arc<Ctx>,
}

/// A change of an account's status.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewControl {
    /// Unique per app, as for entries: the same nonce and request replay the first answer.
    pub nonce: Text,
    /// Why, kept with the entry's metadata with the API key that asked (at most 500
    /// characters, no control characters).
    pub reason: Option<Text>,
    /// The asset; `CREDIT` when left out.
    pub asset: Option<Text>,
}

impl ControlsApi {
    async fn control(
        &self,
        auth: AppKey,
        owner_id: String,
        body: NewControl,
        control: Control,
    ) -> Result<PostEntryResponse, ApiProblem> {
        let key = auth.unchecked()?;
        let app = auth.live(&self.ctx).await?;
        let limited = admit(&self.ctx, app).await.err();
        // A system account's status is the ledger's, not an app's to change.
        let owner = posting_owner("owner_id", &owner_id)?;
        let asset = body.asset.map_or_else(|| "CREDIT".to_owned(), |a| a.0);
        scale_of(app, &asset)?;
        let nonce = app_nonce(body.nonce.0)?;
        let reason = body.reason.map(|r| r.0);
        check_reason(reason.as_deref())?;
        let asked = (key.key_id, reason.as_deref());
        let cmd = account::command(
            (app.id, owner, &asset),
            control,
            nonce,
            (Some(asked.0), asked.1),
            now_micros(),
        );
        if let Some(limited) = limited {
            return first_answer_or(&self.ctx, &cmd, limited).await;
        }
        settled_answer(self.ctx.workflow.submit(cmd).await?)
    }
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Accounts")]
impl ControlsApi {
    /// Freeze an account
    ///
    /// Records an `ACCOUNT_FREEZE` entry (who and why in its metadata): from then on the
    /// owner's debits, transfers out and new holds fail with 422 `account_frozen`. Credits,
    /// and captures and voids of holds placed before, still go through. 201 with the entry;
    /// 409 `account_status_conflict` when it is frozen or closed already.
    #[oai(path = "/accounts/:owner_id/freeze", method = "post")]
    async fn freeze(
        &self,
        auth: AppKey,
        owner_id: Path<String>,
        body: Json<NewControl>,
    ) -> Result<PostEntryResponse, ApiProblem> {
        self.control(auth, owner_id.0, body.0, Control::Freeze)
            .await
    }

    /// Unfreeze an account
    ///
    /// Records an `ACCOUNT_UNFREEZE` entry. 201 with the entry; 409 `account_status_conflict`
    /// when it is not frozen.
    #[oai(path = "/accounts/:owner_id/unfreeze", method = "post")]
    async fn unfreeze(
        &self,
        auth: AppKey,
        owner_id: Path<String>,
        body: Json<NewControl>,
    ) -> Result<PostEntryResponse, ApiProblem> {
        self.control(auth, owner_id.0, body.0, Control::Unfreeze)
            .await
    }

    /// Close an account
    ///
    /// Records an `ACCOUNT_CLOSE` entry; a closed account accepts nothing, for good. Closing
    /// needs a zero balance and no open hold (422 `account_not_empty`). 201 with the entry.
    #[oai(path = "/accounts/:owner_id/close", method = "post")]
    async fn close(
        &self,
        auth: AppKey,
        owner_id: Path<String>,
        body: Json<NewControl>,
    ) -> Result<PostEntryResponse, ApiProblem> {
        self.control(auth, owner_id.0, body.0, Control::Close).await
    }
}
