//! The projector's side of JetStream: a durable pull consumer, batches of messages applied
//! in one read-model transaction, each message acknowledged only after that commit.

use super::EntryMessage;
use super::apply::{Delivered, Projector, Verdict};
use crate::bus::{BusError, Nats};
use async_nats::jetstream::{AckKind, Message};
use futures::{FutureExt, StreamExt};
use std::time::Duration;

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
    while let Some(first) = messages.next().await {
        let mut batch = vec![first.map_err(BusError::new)?];
        // Take whatever else has already arrived, without waiting for it.
        while batch.len() < BATCH {
            match messages.next().now_or_never() {
                Some(Some(Ok(m))) => batch.push(m),
                Some(Some(Err(e))) => {
                    handle(projector, batch).await;
                    return Err(BusError::new(e));
                }
                _ => break,
            }
        }
        handle(projector, batch).await;
    }
    Ok(())
}

/// Applies a batch and answers every message: ack once applied (or parked), nak with a
/// delay when it waits for an earlier version or the read model failed.
async fn handle(projector: &Projector, batch: Vec<Message>) {
    let mut decoded = Vec::with_capacity(batch.len());
    let mut carriers = Vec::with_capacity(batch.len());
    for m in batch {
        let (position, delivered) = m
            .info()
            .map(|i| (i.stream_sequence, i.delivered))
            .unwrap_or((0, 1));
        match EntryMessage::decode(&m.payload) {
            Ok(message) => {
                decoded.push(Delivered { message, position });
                carriers.push((m, delivered));
            }
            Err(e) => {
                let id = message_id(&m);
                let reason = format!("undecodable: {e}");
                match projector.park(&id, position, &m.payload, &reason).await {
                    Ok(()) => answer(&m, AckKind::Ack).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot park a message; it comes back");
                        answer(&m, AckKind::Nak(Some(Duration::from_secs(1)))).await;
                    }
                }
            }
        }
    }
    if decoded.is_empty() {
        return;
    }
    match projector.apply(&decoded).await {
        Ok(verdicts) => {
            for ((m, delivered), verdict) in carriers.iter().zip(verdicts) {
                match verdict {
                    Verdict::Applied => answer(m, AckKind::Ack).await,
                    Verdict::Waiting => {
                        if delivered % 20 == 0 {
                            tracing::warn!(id = %message_id(m), delivered, "message still waits for an earlier version");
                        }
                        answer(m, AckKind::Nak(Some(retry_delay(*delivered)))).await;
                    }
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, size = carriers.len(), "read model write failed; the batch comes back");
            for (m, delivered) in &carriers {
                answer(m, AckKind::Nak(Some(retry_delay(*delivered)))).await;
            }
        }
    }
}

/// Grows with each delivery, from 50 ms to 5 s.
fn retry_delay(delivered: i64) -> Duration {
    Duration::from_millis((50 * delivered.max(1) as u64).min(5_000))
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
