//! `POST /v1/monitors`, `GET /v1/monitors`, `GET /v1/monitors/{id}` and
//! `DELETE /v1/monitors/{id}`: balance monitors, which fire `balance.low` and
//! `balance.recovered` events in the transaction of the change that crossed their line.

use super::Ctx;
use super::accounts::{owner, scale_of};
use super::auth::{AppKey, admit};
use super::problem::ApiProblem;
use super::text::{AmountText, Text};
use crate::ledger::command::{Amount, account_id};
use crate::ledger::{Code, Refusal};
use crate::query::QueryError;
use crate::time::{now_micros, to_rfc3339};
use entity::monitor;
use operations::AmountRule;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use rust_decimal::Decimal;
use std::sync::Arc;
use uuid::Uuid;

pub struct MonitorsApi {
    pub ctx: Arc<Ctx>,
}

/// Most monitors one list answers.
const MAX_LIST: u64 = 1_000;

/// A monitor to add.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewMonitor {
    pub owner_id: Text,
    /// The asset; `CREDIT` when left out.
    pub asset: Option<Text>,
    /// The threshold: `balance.low` when the available balance falls below it,
    /// `balance.recovered` when it is back at or above it. 0 or more, at the asset's scale.
    pub below: AmountText,
}

/// A balance monitor.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MonitorView {
    pub id: Uuid,
    pub owner_id: String,
    pub asset: String,
    pub below: String,
    /// `above` (at or above the threshold) or `below`, as last seen; absent until the
    /// first entry of the account after the monitor was added.
    pub state: Option<String>,
    pub created_at: String,
}

impl From<monitor::Model> for MonitorView {
    fn from(m: monitor::Model) -> MonitorView {
        MonitorView {
            id: m.id,
            owner_id: m.owner_id,
            asset: m.asset,
            below: m.below,
            state: m.state,
            created_at: to_rfc3339(m.created_at),
        }
    }
}

/// An app's monitors.
#[derive(Debug, Object)]
pub struct MonitorList {
    pub monitors: Vec<MonitorView>,
}

#[derive(ApiResponse)]
pub enum CreatedResponse {
    /// The monitor watches the account from the next entry on.
    #[oai(status = 201)]
    Created(Json<MonitorView>),
}

#[derive(ApiResponse)]
pub enum DeletedResponse {
    /// The monitor is gone: it fires nothing more.
    #[oai(status = 204)]
    Deleted,
}

fn not_found(id: Uuid) -> ApiProblem {
    ApiProblem::new(Code::NotFound, format!("this app has no monitor {id}"))
}

/// The threshold: a decimal, 0 or more, no finer than the asset's scale, at that scale
/// (the catalog's own rule for an amount in a range).
fn threshold(text: &str, scale: u32) -> Result<Decimal, ApiProblem> {
    let below = Amount::parse_text(text)?;
    if below.is_sign_negative() && !below.is_zero() {
        return Err(Refusal::new(Code::InvalidAmount, "below must be 0 or more").into());
    }
    let any = AmountRule::Range {
        min: None,
        max: None,
    };
    Ok(any
        .resolve(Some(below), scale, true)
        .map_err(Refusal::from)?)
}

#[OpenApi(prefix_path = "/v1", tag = "super::Tag::Events")]
impl MonitorsApi {
    /// Add a balance monitor
    ///
    /// Watches the owner's available balance (`balance − held`, as recorded) in the asset:
    /// `balance.low` fires once when it falls from at or above `below` to under it, and
    /// `balance.recovered` once when it climbs back, each decided in the transaction of the
    /// entry, hold or expiry that crossed the line.
    #[oai(path = "/monitors", method = "post")]
    async fn create(
        &self,
        auth: AppKey,
        body: Json<NewMonitor>,
    ) -> Result<CreatedResponse, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        admit(&self.ctx, app).await?;
        let owner = owner(body.0.owner_id.0)?;
        let asset = body.0.asset.map_or_else(|| "CREDIT".to_owned(), |a| a.0);
        let below = threshold(&body.0.below.0, scale_of(app, &asset)?)?;
        let row = monitor::Model {
            id: Uuid::now_v7(),
            app_id: app.id,
            account_id: account_id(app.id, owner.as_str(), &asset),
            owner_id: owner.as_str().to_owned(),
            asset,
            below: below.to_string(),
            state: None,
            created_at: now_micros(),
        };
        self.ctx
            .workflow
            .add_monitor(&row)
            .await
            .map_err(QueryError::from)?;
        Ok(CreatedResponse::Created(Json(row.into())))
    }

    /// List balance monitors
    ///
    /// The app's monitors, oldest first; with `owner_id`, that owner's only.
    #[oai(path = "/monitors", method = "get")]
    async fn list(
        &self,
        auth: AppKey,
        owner_id: Query<Option<String>>,
    ) -> Result<Json<MonitorList>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let owner = owner_id.0.map(owner).transpose()?;
        let rows = self
            .ctx
            .queries
            .monitors(app.id, owner.as_ref().map(|o| o.as_str()), MAX_LIST)
            .await?;
        Ok(Json(MonitorList {
            monitors: rows.into_iter().map(MonitorView::from).collect(),
        }))
    }

    /// Get a balance monitor
    #[oai(path = "/monitors/:id", method = "get")]
    async fn get(&self, auth: AppKey, id: Path<Uuid>) -> Result<Json<MonitorView>, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        let found = self.ctx.queries.monitor(app.id, id.0).await?;
        Ok(Json(found.ok_or_else(|| not_found(id.0))?.into()))
    }

    /// Delete a balance monitor
    #[oai(path = "/monitors/:id", method = "delete")]
    async fn delete(&self, auth: AppKey, id: Path<Uuid>) -> Result<DeletedResponse, ApiProblem> {
        let app = auth.app(&self.ctx).await?;
        admit(&self.ctx, app).await?;
        let removed = self
            .ctx
            .workflow
            .remove_monitor(app.id, id.0)
            .await
            .map_err(QueryError::from)?;
        match removed {
            true => Ok(DeletedResponse::Deleted),
            false => Err(not_found(id.0)),
        }
    }
}
