//! One attempt to deliver an event, and what it leaves in the delivery's row: delivered on
//! a 2xx; otherwise pending again after a backoff, or, once the give-up window has passed,
//! failed, and the webhook disabled with the reason.

use super::Backoff;
use super::policy::literal_refused;
use super::registry::{ACTIVE, DISABLED, DeliveryStatus};
use super::signature;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::time::now_micros;
use entity::{webhook, webhook_delivery};
use reqwest::Client;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use std::time::{Duration, Instant};

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered { status: u16, latency: Duration },
    /// The receiver answered, not 2xx (a redirect too: they are not followed).
    Rejected { status: u16, latency: Duration },
    /// No answer within the request timeout.
    Timeout { latency: Duration },
    /// No connection: refused, reset, no address, or an address webhooks may not reach.
    Unreachable { error: String },
}

impl Outcome {
    /// The label of the attempts counter.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Delivered { .. } => "delivered",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Timeout { .. } => "timeout",
            Outcome::Unreachable { .. } => "unreachable",
        }
    }

    fn status(&self) -> Option<i32> {
        match self {
            Outcome::Delivered { status, .. } | Outcome::Rejected { status, .. } => {
                Some(i32::from(*status))
            }
            _ => None,
        }
    }

    fn latency_ms(&self) -> Option<i64> {
        match self {
            Outcome::Delivered { latency, .. }
            | Outcome::Rejected { latency, .. }
            | Outcome::Timeout { latency } => i64::try_from(latency.as_millis()).ok(),
            Outcome::Unreachable { .. } => None,
        }
    }

    fn error(&self) -> Option<String> {
        match self {
            Outcome::Delivered { .. } => None,
            Outcome::Rejected { status, .. } => Some(format!("the receiver answered {status}")),
            Outcome::Timeout { latency } => {
                Some(format!("no answer within {} s", latency.as_secs()))
            }
            Outcome::Unreachable { error } => Some(error.chars().take(500).collect()),
        }
    }
}

/// The full text of an error and its sources (reqwest's own message hides the cause).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends `delivery` to `hook` once, signed now.
pub async fn send(
    client: &Client,
    hook: &webhook::Model,
    delivery: &webhook_delivery::Model,
    allow_private: bool,
) -> Outcome {
    let url = match reqwest::Url::parse(&hook.url) {
        Ok(url) => url,
        Err(e) => {
            return Outcome::Unreachable {
                error: format!("the URL is invalid: {e}"),
            };
        }
    };
    // The resolver guards names; an address written in the URL never reaches it.
    if !allow_private && let Some(ip) = literal_refused(&url) {
        let error = format!("{ip} is not an address webhooks are sent to");
        return Outcome::Unreachable { error };
    }
    let t = now_micros().div_euclid(1_000_000);
    let body = delivery.body.clone().into_bytes();
    let signed = signature::header(&hook.secret, t, &body);
    let started = Instant::now();
    let sent = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("Ledgerflow-Event-Id", delivery.event_id.to_string())
        .header("Ledgerflow-Event-Type", &delivery.event_type)
        .header("Ledgerflow-Signature", signed)
        .body(body)
        .send()
        .await;
    let latency = started.elapsed();
    match sent {
        Ok(answer) if answer.status().is_success() => Outcome::Delivered {
            status: answer.status().as_u16(),
            latency,
        },
        Ok(answer) => Outcome::Rejected {
            status: answer.status().as_u16(),
            latency,
        },
        Err(e) if e.is_timeout() => Outcome::Timeout { latency },
        Err(e) => Outcome::Unreachable { error: chain(&e) },
    }
}

/// What became of the delivery after recording an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Delivered,
    /// Pending, next tried at this instant (µs).
    Again(i64),
    /// Given up: the webhook is disabled.
    GaveUp,
    /// The row changed meanwhile (deleted, or attempted by another instance): nothing written.
    Stale,
}

/// Writes the outcomes of a wave's attempts (each on its delivery as read before the
/// attempt) in one transaction, and counts them. One transaction per wave, not per attempt:
/// on SQLite every write transaction waits its turn behind the entries' batch writer.
pub async fn record_all(
    store: &Store,
    attempts: &[(webhook_delivery::Model, Outcome)],
    backoff: &Backoff,
    metrics: &Metrics,
) -> Result<Vec<Recorded>, DbErr> {
    let now = now_micros();
    let txn = store.begin_write().await?;
    let mut recorded = Vec::with_capacity(attempts.len());
    for (delivery, outcome) in attempts {
        recorded.push(record_in(&txn, delivery, outcome, backoff, now).await?);
    }
    txn.commit().await?;
    for ((delivery, outcome), recorded) in attempts.iter().zip(&recorded) {
        if *recorded == Recorded::Stale {
            continue;
        }
        let label = [("outcome", outcome.label())];
        metrics.webhook_attempts.get_or_create(&label).inc();
        if *recorded == Recorded::Delivered {
            let lag = now.saturating_sub(delivery.occurred_at).max(0) as f64 / 1e6;
            metrics.webhook_lag.observe(lag);
        }
    }
    Ok(recorded)
}

/// Writes `outcome` of an attempt on `delivery` in `txn`, at `now`.
async fn record_in(
    txn: &sea_orm::DatabaseTransaction,
    delivery: &webhook_delivery::Model,
    outcome: &Outcome,
    backoff: &Backoff,
    now: i64,
) -> Result<Recorded, DbErr> {
    use webhook_delivery::Column as D;
    let attempts = delivery.attempts.saturating_add(1);
    let first = delivery.first_attempt_at.unwrap_or(now);
    let (status, next, recorded) = match outcome {
        Outcome::Delivered { .. } => (DeliveryStatus::Delivered, now, Recorded::Delivered),
        _ if backoff.gives_up(first, now) => (DeliveryStatus::Failed, now, Recorded::GaveUp),
        _ => {
            let wait = backoff.wait(u32::try_from(attempts).unwrap_or(u32::MAX));
            let next = now.saturating_add(i64::try_from(wait.as_micros()).unwrap_or(i64::MAX));
            (DeliveryStatus::Pending, next, Recorded::Again(next))
        }
    };
    let delivered_at = (status == DeliveryStatus::Delivered).then_some(now);
    let changed = webhook_delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value(status.as_str()))
        .col_expr(D::Attempts, Expr::value(attempts))
        .col_expr(D::NextAttemptAt, Expr::value(next))
        .col_expr(D::FirstAttemptAt, Expr::value(Some(first)))
        .col_expr(D::LastAttemptAt, Expr::value(Some(now)))
        .col_expr(D::LastStatus, Expr::value(outcome.status()))
        .col_expr(D::LastError, Expr::value(outcome.error()))
        .col_expr(D::LastLatencyMs, Expr::value(outcome.latency_ms()))
        .col_expr(D::DeliveredAt, Expr::value(delivered_at))
        .filter(D::WebhookId.eq(delivery.webhook_id))
        .filter(D::Seq.eq(delivery.seq))
        .filter(D::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(D::Attempts.eq(delivery.attempts))
        .exec(txn)
        .await?;
    if changed.rows_affected != 1 {
        return Ok(Recorded::Stale);
    }
    if recorded == Recorded::GaveUp {
        disable(txn, delivery, backoff, outcome, now).await?;
    }
    Ok(recorded)
}

/// Disables the webhook of `delivery`, which was given up, and says why.
async fn disable(
    txn: &sea_orm::DatabaseTransaction,
    delivery: &webhook_delivery::Model,
    backoff: &Backoff,
    outcome: &Outcome,
    now: i64,
) -> Result<(), DbErr> {
    use webhook::Column as W;
    let reason = format!(
        "event {} (seq {}) was not delivered within {} s of its first attempt; last: {}",
        delivery.event_id,
        delivery.seq,
        backoff.give_up.as_secs(),
        outcome.error().unwrap_or_default()
    );
    tracing::warn!(webhook = %delivery.webhook_id, %reason, "webhooks: disabled");
    webhook::Entity::update_many()
        .col_expr(W::State, Expr::value(DISABLED))
        .col_expr(W::DisabledAt, Expr::value(Some(now)))
        .col_expr(W::DisabledReason, Expr::value(Some(reason)))
        .filter(W::Id.eq(delivery.webhook_id))
        .filter(W::State.eq(ACTIVE))
        .exec(txn)
        .await?;
    Ok(())
}
