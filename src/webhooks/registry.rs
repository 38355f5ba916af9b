//! The webhooks an app registers, changes and removes, and their deliveries as the API
//! shows them. Every question names the app: another app's webhook is as absent as one that
//! never existed.

use super::policy::check_url;
use super::signature::new_secret;
use super::{WebhookError, Webhooks, parse_event_types};
use crate::ledger::app_events::EventType;
use crate::ledger::{Code, Refusal};
use crate::time::now_micros;
use entity::{event_seq, webhook, webhook_delivery};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use uuid::Uuid;

/// A delivery's state: waiting for a 2xx, answered with one, or given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// What a `PATCH` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `Some(true)` re-enables a disabled webhook, `Some(false)` disables it.
    pub active: Option<bool>,
}

pub const ACTIVE: &str = "active";
pub const DISABLED: &str = "disabled";

/// The stored form of a webhook's event types: a JSON array of their names.
fn stored_types(types: &[EventType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    serde_json::Value::from(names).to_string()
}

/// A webhook's event types as stored (names this code does not know are dropped).
pub fn event_types(row: &webhook::Model) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(&row.event_types).unwrap_or_default()
}

fn not_found() -> WebhookError {
    WebhookError::Refused(Refusal::new(
        Code::WebhookNotFound,
        "this app has no such webhook",
    ))
}

impl Webhooks {
    /// Registers a webhook of `app_id`: its URL checked, a new secret, and events from
    /// now on (its cursor starts at the app's last event number).
    pub async fn create(
        &self,
        app_id: Uuid,
        url: &str,
        types: &[String],
    ) -> Result<webhook::Model, WebhookError> {
        let types = parse_event_types(types)?;
        let url = check_url(url, self.config.allow_private).await?;
        let db = self.store.conn();
        let last = event_seq::Entity::find_by_id(app_id).one(db).await?;
        let row = webhook::Model {
            id: Uuid::now_v7(),
            app_id,
            url: url.to_string(),
            event_types: stored_types(&types),
            secret: new_secret(),
            state: ACTIVE.to_owned(),
            disabled_at: None,
            disabled_reason: None,
            cursor: last.map_or(0, |l| l.seq),
            lease_owner: None,
            lease_until: 0,
            created_at: now_micros(),
        };
        webhook::Entity::insert(row.clone().into_active_model())
            .exec_without_returning(db)
            .await?;
        self.wake();
        Ok(row)
    }

    /// The app's webhooks, oldest first.
    pub async fn list(&self, app_id: Uuid) -> Result<Vec<webhook::Model>, WebhookError> {
        Ok(webhook::Entity::find()
            .filter(webhook::Column::AppId.eq(app_id))
            .order_by_asc(webhook::Column::CreatedAt)
            .order_by_asc(webhook::Column::Id)
            .all(self.store.conn())
            .await?)
    }

    /// The app's webhook `id`; `webhook_not_found` if it has none.
    pub async fn get(&self, app_id: Uuid, id: Uuid) -> Result<webhook::Model, WebhookError> {
        let found = webhook::Entity::find_by_id(id)
            .one(self.store.conn())
            .await?;
        found.filter(|w| w.app_id == app_id).ok_or_else(not_found)
    }

    /// Changes the URL, the event types or the state. Re-enabling gives the deliveries
    /// still pending a new give-up window, starting at their next attempt, now.
    pub async fn update(
        &self,
        app_id: Uuid,
        id: Uuid,
        patch: WebhookPatch,
    ) -> Result<webhook::Model, WebhookError> {
        let types = patch
            .event_types
            .as_deref()
            .map(parse_event_types)
            .transpose()?;
        let url = match &patch.url {
            Some(url) => Some(check_url(url, self.config.allow_private).await?),
            None => None,
        };
        let row = self.get(app_id, id).await?;
        let reenable = patch.active == Some(true) && row.state == DISABLED;
        let mut model = row.into_active_model();
        if let Some(url) = url {
            model.url = Set(url.to_string());
        }
        if let Some(types) = types {
            model.event_types = Set(stored_types(&types));
        }
        let now = now_micros();
        match patch.active {
            Some(true) => {
                model.state = Set(ACTIVE.to_owned());
                model.disabled_at = Set(None);
                model.disabled_reason = Set(None);
            }
            Some(false) => {
                model.state = Set(DISABLED.to_owned());
                model.disabled_at = Set(Some(now));
                model.disabled_reason = Set(Some("disabled by the app".to_owned()));
            }
            None => {}
        }
        let txn = self.store.conn().begin().await?;
        let row = model.update(&txn).await?;
        if reenable {
            webhook_delivery::Entity::update_many()
                .col_expr(
                    webhook_delivery::Column::FirstAttemptAt,
                    Expr::value(None::<i64>),
                )
                .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
                .filter(webhook_delivery::Column::WebhookId.eq(id))
                .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        self.wake();
        Ok(row)
    }

    /// Removes the webhook and its deliveries; nothing more is sent to it.
    pub async fn delete(&self, app_id: Uuid, id: Uuid) -> Result<(), WebhookError> {
        self.get(app_id, id).await?;
        let txn = self.store.conn().begin().await?;
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::WebhookId.eq(id))
            .exec(&txn)
            .await?;
        webhook::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Gives the webhook a new secret; the old one no longer signs from the next attempt.
    pub async fn rotate_secret(
        &self,
        app_id: Uuid,
        id: Uuid,
    ) -> Result<webhook::Model, WebhookError> {
        let row = self.get(app_id, id).await?;
        let mut model = row.into_active_model();
        model.secret = Set(new_secret());
        Ok(model.update(self.store.conn()).await?)
    }

    /// A page of the webhook's deliveries, newest event first: those with `seq` below
    /// `before` when given, of `status` when given.
    pub async fn deliveries(
        &self,
        app_id: Uuid,
        id: Uuid,
        status: Option<DeliveryStatus>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<(webhook::Model, Vec<webhook_delivery::Model>), WebhookError> {
        use webhook_delivery::Column as D;
        let row = self.get(app_id, id).await?;
        let mut query = webhook_delivery::Entity::find().filter(D::WebhookId.eq(id));
        if let Some(status) = status {
            query = query.filter(D::Status.eq(status.as_str()));
        }
        if let Some(before) = before {
            query = query.filter(D::Seq.lt(before));
        }
        let page = query
            .order_by_desc(D::Seq)
            .limit(limit)
            .all(self.store.conn())
            .await?;
        Ok((row, page))
    }

    /// Makes the delivery of `event_id` pending again, due now, with a new give-up window:
    /// it is sent again however it ended. `webhook_disabled` on a disabled webhook.
    pub async fn retry(
        &self,
        app_id: Uuid,
        id: Uuid,
        event_id: Uuid,
    ) -> Result<webhook_delivery::Model, WebhookError> {
        use webhook_delivery::Column as D;
        let row = self.get(app_id, id).await?;
        if row.state != ACTIVE {
            return Err(WebhookError::Refused(Refusal::new(
                Code::WebhookDisabled,
                "the webhook is disabled; re-enable it with PATCH {\"state\": \"active\"} first",
            )));
        }
        let db = self.store.conn();
        let found = webhook_delivery::Entity::find()
            .filter(D::WebhookId.eq(id))
            .filter(D::EventId.eq(event_id))
            .one(db)
            .await?;
        let Some(delivery) = found else {
            return Err(WebhookError::Refused(Refusal::new(
                Code::DeliveryNotFound,
                "this webhook has no delivery of that event",
            )));
        };
        let mut model = delivery.into_active_model();
        model.status = Set(DeliveryStatus::Pending.as_str().to_owned());
        model.next_attempt_at = Set(now_micros());
        model.first_attempt_at = Set(None);
        model.delivered_at = Set(None);
        let delivery = model.update(db).await?;
        self.wake();
        Ok(delivery)
    }
}
