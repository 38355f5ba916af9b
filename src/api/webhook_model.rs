//! The JSON shapes of webhooks and their deliveries.

use super::text::Text;
use crate::time::to_rfc3339;
use crate::webhooks::registry::event_types;
use entity::{webhook, webhook_delivery};
use poem_openapi::Object;
use uuid::Uuid;

/// A webhook to register.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where events are POSTed: an `http` or `https` URL whose host is a public address
    /// (loopback, private and link-local ones are refused unless the operator allows them).
    pub url: Text,
    /// The event types to send, e.g. `["entry.completed", "balance.low"]`; at least one.
    pub event_types: Vec<Text>,
}

/// A change of a webhook; the fields left out stay as they are.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct WebhookChange {
    pub url: Option<Text>,
    pub event_types: Option<Vec<Text>>,
    /// `active` re-enables a disabled webhook (its pending deliveries resume, with a new
    /// give-up window); `disabled` pauses it.
    pub state: Option<Text>,
}

/// A webhook, without its secret.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    /// `active`, or `disabled` (by the app, or because a delivery was given up).
    pub state: String,
    pub created_at: String,
    pub disabled_at: Option<String>,
    /// Why it is disabled.
    pub disabled_reason: Option<String>,
}

impl From<&webhook::Model> for WebhookView {
    fn from(row: &webhook::Model) -> WebhookView {
        WebhookView {
            id: row.id,
            url: row.url.clone(),
            event_types: event_types(row),
            state: row.state.clone(),
            created_at: to_rfc3339(row.created_at),
            disabled_at: row.disabled_at.map(to_rfc3339),
            disabled_reason: row.disabled_reason.clone(),
        }
    }
}

/// A webhook with its secret: answered only when it is created and when the secret is
/// rotated.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookWithSecret {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub state: String,
    pub created_at: String,
    /// `whsec_` and 64 hex digits: the HMAC-SHA256 key of `Ledgerflow-Signature` (the whole
    /// text, as bytes). Shown only now.
    pub secret: String,
}

impl From<&webhook::Model> for WebhookWithSecret {
    fn from(row: &webhook::Model) -> WebhookWithSecret {
        WebhookWithSecret {
            id: row.id,
            url: row.url.clone(),
            event_types: event_types(row),
            state: row.state.clone(),
            created_at: to_rfc3339(row.created_at),
            secret: row.secret.clone(),
        }
    }
}

/// The app's webhooks, oldest first.
#[derive(Debug, Object)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// One event's delivery to a webhook.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeliveryView {
    pub event_id: Uuid,
    /// The event's number in the app's events.
    pub seq: i64,
    pub event_type: String,
    pub owner_id: String,
    /// `pending` (to be sent or sent again), `delivered` (a 2xx came) or `failed` (given
    /// up after the retry window).
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<String>,
    pub last_attempt_at: Option<String>,
    /// The receiver's HTTP status at the last attempt, if it answered.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// How long the receiver took to answer the last attempt.
    pub last_latency_ms: Option<i64>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

impl From<&webhook_delivery::Model> for DeliveryView {
    fn from(row: &webhook_delivery::Model) -> DeliveryView {
        let pending = row.status == "pending";
        DeliveryView {
            event_id: row.event_id,
            seq: row.seq,
            event_type: row.event_type.clone(),
            owner_id: row.owner_id.clone(),
            status: row.status.clone(),
            attempts: row.attempts,
            next_attempt_at: pending.then(|| to_rfc3339(row.next_attempt_at)),
            last_attempt_at: row.last_attempt_at.map(to_rfc3339),
            last_status: row.last_status,
            last_error: row.last_error.clone(),
            last_latency_ms: row.last_latency_ms,
            created_at: to_rfc3339(row.created_at),
            delivered_at: row.delivered_at.map(to_rfc3339),
        }
    }
}

/// A page of a webhook's deliveries, newest event first (by `seq`, descending).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeliveryList {
    /// The webhook's state: a `disabled` one sends nothing until re-enabled.
    pub webhook_state: String,
    /// Why the webhook is disabled (which delivery was given up).
    pub disabled_reason: Option<String>,
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<i64>,
}
