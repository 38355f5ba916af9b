//! The projector's side of JetStream: a durable pull consumer, batches of messages applied
//! in one read-model transaction, each message acknowledged only after that commit.

use super::projector::{Delivered, Projector, Verdict};
use crate::bus::{BusError, EntryMessage, Nats};
use async_nats::jetstream::{AckKind, Message};
use futures::{FutureExt, StreamExt};
use std::time::Duration;
use tokio::time::Instant;

/// Most messages applied in one read-model transaction.
const BATCH: usize = 512;

/// Consumes until the process ends, recreating the consumer after any error (the server
/// restarted, the consumer was deleted, the connection dropped).
pub async fn run(nats: Nats, projector: Projector) {
    loop {
        if let Err(e) = consume(&nats, &projector).await {
            tracing::warn!(error = %e, "projector consumer stopped; starting it again");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// How long a message that waits for an earlier version is held here (unacknowledged, so
/// JetStream does not redeliver it: under `ACK_WAIT`) before it is handed back with a nak.
const HOLD: Duration = Duration::from_secs(5);

/// How often held messages are tried again when nothing new arrives. Their predecessor may
/// come from another instance's projector, so an arrival here is not the only progress.
const RECHECK: Duration = Duration::from_millis(25);

/// A message waiting for an earlier version of one of its accounts.
struct Held {
    carrier: Message,
    message: EntryMessage,
    position: u64,
    since: Instant,
}

async fn consume(nats: &Nats, projector: &Projector) -> Result<(), BusError> {
    nats.ensure_stream().await?;
    let consumer = nats.consumer().await?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(BATCH)
        .heartbeat(Duration::from_secs(5))
        .messages()
        .await
        .map_err(BusError::new)?;
    // Messages that arrive before their predecessors are held and tried again with every
    // batch, instead of each going back to the stream on its own timer: a chain of versions
    // delivered out of order (two projectors sharing the consumer, a redelivery after a
    // crash) then applies as soon as its first link does.
    let mut held: Vec<Held> = Vec::new();
    loop {
        let next = if held.is_empty() {
            messages.next().await
        } else {
            match tokio::time::timeout(RECHECK, messages.next()).await {
                Ok(next) => next,
                Err(_) => {
                    held = handle(projector, held, Vec::new()).await;
                    continue;
                }
            }
        };
        let Some(first) = next else {
            // The stream ended; what is held comes back after the ack wait.
            return Ok(());
        };
        let mut batch = vec![first.map_err(BusError::new)?];
        // Take whatever else has already arrived, without waiting for it.
        while batch.len() + held.len() < BATCH {
            match messages.next().now_or_never() {
                Some(Some(Ok(m))) => batch.push(m),
                Some(Some(Err(e))) => {
                    handle(projector, held, batch).await;
                    return Err(BusError::new(e));
                }
                _ => break,
            }
        }
        held = handle(projector, held, batch).await;
    }
}

/// Applies the held and the new messages together and answers every message it is done
/// with: ack once applied (or parked), nak with a delay when the read model failed or a
/// message waited longer than `HOLD`. Returns the messages to hold on to.
async fn handle(projector: &Projector, held: Vec<Held>, fresh: Vec<Message>) -> Vec<Held> {
    let now = Instant::now();
    let mut pending = held;
    for m in fresh {
        let position = m.info().map(|i| i.stream_sequence).unwrap_or(0);
        match projector
            .decode_or_park(&message_id(&m), position, &m.payload)
            .await
        {
            Ok(Some(message)) => pending.push(Held {
                carrier: m,
                message,
                position,
                since: now,
            }),
            Ok(None) => answer(&m, AckKind::Ack).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot park a message; it comes back");
                answer(&m, AckKind::Nak(Some(Duration::from_secs(1)))).await;
            }
        }
    }
    if pending.is_empty() {
        return pending;
    }
    let batch: Vec<Delivered> = pending
        .iter()
        .map(|h| Delivered::of(&h.message, h.position))
        .collect();
    let verdicts = match projector.apply(&batch).await {
        Ok(verdicts) => verdicts,
        Err(e) => {
            tracing::warn!(error = %e, size = pending.len(), "read model write failed; the batch comes back");
            for h in &pending {
                answer(&h.carrier, AckKind::Nak(Some(retry_delay(&h.carrier)))).await;
            }
            return Vec::new();
        }
    };
    let mut keep = Vec::new();
    for (h, verdict) in pending.into_iter().zip(verdicts) {
        match verdict {
            Verdict::Applied => answer(&h.carrier, AckKind::Ack).await,
            Verdict::Waiting if h.since.elapsed() < HOLD => keep.push(h),
            Verdict::Waiting => {
                tracing::warn!(id = %message_id(&h.carrier), "message still waits for an earlier version; handed back");
                answer(&h.carrier, AckKind::Nak(Some(retry_delay(&h.carrier)))).await;
            }
        }
    }
    keep
}

/// Grows with each delivery of the message, from 50 ms to 5 s.
fn retry_delay(m: &Message) -> Duration {
    let delivered = m.info().map_or(1, |i| i.delivered).max(1) as u64;
    Duration::from_millis((50 * delivered).min(5_000))
}

fn message_id(m: &Message) -> String {
    m.headers
        .as_ref()
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default()
}

async fn answer(m: &Message, kind: AckKind) {
    // A lost ack only means a redelivery, which the projector finds already applied.
    if let Err(e) = m.ack_with(kind).await {
        tracing::debug!(error = %e, "ack not sent");
    }
}
