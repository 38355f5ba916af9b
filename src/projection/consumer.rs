//! The projector's side of JetStream: a durable pull consumer, batches of messages applied
//! in one read-model transaction, each message acknowledged only after that commit. The
//! next batch is taken from the stream and decoded while a transaction runs.

use super::projector::{Delivered, Projector, Verdict};
use crate::bus::{BusError, EntryMessage, Nats};
use async_nats::jetstream::{AckKind, Message};
use futures::{FutureExt, StreamExt};
use sea_orm::DbErr;
use std::time::Duration;
use tokio::time::Instant;

/// Most bus messages applied in one read-model transaction (each carries a batch's
/// entries, up to `MESSAGES_PER_ROW`).
const BATCH: usize = 16;

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

/// A bus message (it carries a batch's entry messages, `EntryMessage::carriers`) with
/// entries that wait for an earlier version of one of their accounts.
struct Held {
    carrier: Message,
    /// Its entry messages not applied yet.
    messages: Vec<EntryMessage>,
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
    // Messages taken and decoded while the transaction before ran, for the next one, and
    // those that did not decode whole: parking writes to the read model, so they are
    // unpacked once the transaction is done.
    let mut ready: Vec<Held> = Vec::new();
    let mut undecoded: Vec<Message> = Vec::new();
    loop {
        for m in undecoded.drain(..) {
            ready.extend(take(projector, m).await);
        }
        if ready.is_empty() {
            let next = if held.is_empty() {
                messages.next().await
            } else {
                match tokio::time::timeout(RECHECK, messages.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        held = apply(projector, held).await;
                        continue;
                    }
                }
            };
            let Some(first) = next else {
                // The stream ended; what is held comes back after the ack wait.
                return Ok(());
            };
            ready.extend(take(projector, first.map_err(BusError::new)?).await);
        }
        // Take whatever else has already arrived, without waiting for it.
        while ready.len() + held.len() < BATCH {
            match messages.next().now_or_never() {
                Some(Some(Ok(m))) => ready.extend(take(projector, m).await),
                Some(Some(Err(e))) => {
                    held.append(&mut ready);
                    apply(projector, held).await;
                    return Err(BusError::new(e));
                }
                _ => break,
            }
        }
        held.append(&mut ready);
        // While a transaction runs, what arrives is taken and decoded for the next one:
        // the consumer's one transaction at a time is the bus mode's queue.
        let run = apply(projector, std::mem::take(&mut held));
        tokio::pin!(run);
        held = loop {
            tokio::select! {
                biased;
                kept = &mut run => break kept,
                next = messages.next(), if ready.len() < BATCH => {
                    let Some(Ok(m)) = next else {
                        // The stream failed or ended: the transaction finishes, and what
                        // was taken for the next one, unacknowledged, comes back after
                        // the ack wait, as held messages do.
                        run.await;
                        return match next {
                            Some(Err(e)) => Err(BusError::new(e)),
                            _ => Ok(()),
                        };
                    };
                    match decode_whole(&m) {
                        Some(messages) => ready.extend(hold(m, messages).await),
                        None => undecoded.push(m),
                    }
                }
            }
        };
    }
}

/// A bus message taken from the stream, unpacked (what does not decode is parked).
async fn take(projector: &Projector, m: Message) -> Option<Held> {
    match unpack(projector, &m, position(&m)).await {
        Ok(messages) => hold(m, messages).await,
        Err(e) => {
            tracing::warn!(error = %e, "cannot park a message; it comes back");
            answer(&m, AckKind::Nak(Some(Duration::from_secs(1)))).await;
            None
        }
    }
}

/// A bus message's entry messages, if each of them decodes: nothing to park.
fn decode_whole(m: &Message) -> Option<Vec<EntryMessage>> {
    let payload = std::str::from_utf8(&m.payload).ok()?;
    let id = message_id(m);
    (EntryMessage::split_payload(&id, payload).into_iter())
        .map(|(_, body)| EntryMessage::decode(body.as_bytes()).ok())
        .collect()
}

/// A bus message held until its entries are applied; one with none to apply is
/// acknowledged at once.
async fn hold(m: Message, messages: Vec<EntryMessage>) -> Option<Held> {
    if messages.is_empty() {
        answer(&m, AckKind::Ack).await;
        return None;
    }
    Some(Held {
        position: position(&m),
        carrier: m,
        messages,
        since: Instant::now(),
    })
}

/// Where `m` is in the stream (0 if the bus did not say).
fn position(m: &Message) -> u64 {
    m.info().map_or(0, |i| i.stream_sequence)
}

/// Applies the pending bus messages' entries together and answers every bus message it
/// is done with: ack once all its entries are applied (or parked), nak with a delay when
/// the read model failed or an entry waited longer than `HOLD` (a redelivery applies again
/// what was applied, which changes nothing). Returns what to hold on to.
async fn apply(projector: &Projector, pending: Vec<Held>) -> Vec<Held> {
    if pending.is_empty() {
        return pending;
    }
    let batch: Vec<Delivered> = pending
        .iter()
        .flat_map(|h| h.messages.iter().map(|m| Delivered::of(m, h.position)))
        .collect();
    let verdicts = match projector.apply(&batch).await {
        Ok(verdicts) => verdicts,
        Err(e) => {
            tracing::warn!(error = %e, size = batch.len(), "read model write failed; the batch comes back");
            for h in &pending {
                answer(&h.carrier, AckKind::Nak(Some(retry_delay(&h.carrier)))).await;
            }
            return Vec::new();
        }
    };
    let mut verdicts = verdicts.into_iter();
    let mut keep = Vec::new();
    for mut h in pending {
        // `zip` takes as many verdicts as the bus message has entries.
        h.messages = std::mem::take(&mut h.messages)
            .into_iter()
            .zip(verdicts.by_ref())
            .filter_map(|(m, v)| (v == Verdict::Waiting).then_some(m))
            .collect();
        if h.messages.is_empty() {
            answer(&h.carrier, AckKind::Ack).await;
        } else if h.since.elapsed() < HOLD {
            keep.push(h);
        } else {
            tracing::warn!(id = %message_id(&h.carrier), "message still waits for an earlier version; handed back");
            answer(&h.carrier, AckKind::Nak(Some(retry_delay(&h.carrier)))).await;
        }
    }
    keep
}

/// The entry messages a bus message (at `position` in the stream) carries; those that do
/// not decode are parked.
async fn unpack(
    projector: &Projector,
    m: &Message,
    position: u64,
) -> Result<Vec<EntryMessage>, DbErr> {
    let id = message_id(m);
    let Ok(payload) = std::str::from_utf8(&m.payload) else {
        // Not text: parked whole, under the bus message's name.
        return (projector.decode_or_park(&id, position, &m.payload).await)
            .map(|decoded| decoded.into_iter().collect());
    };
    let mut messages = Vec::new();
    for (id, body) in EntryMessage::split_payload(&id, payload) {
        if let Some(message) = projector
            .decode_or_park(id, position, body.as_bytes())
            .await?
        {
            messages.push(message);
        }
    }
    Ok(messages)
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
