//! The outbox relay: moves outbox rows onto the bus and deletes them once the bus has them.
//!
//! A row is deleted only after the bus acknowledged it: a crash between the two publishes
//! it again, which the bus drops as a duplicate (same `Nats-Msg-Id`) or the projector
//! finds already applied. Several instances may relay the same rows at once for the same
//! reason. With the in-process bus, "the bus has it" means the projector applied it.
//!
//! The rows this process commits are handed to it by the commit (`store::handoff`), so
//! under load it publishes them without reading them back: a read of the outbox was a
//! round trip, and the payloads' decompression and transfer, before every publish. It reads
//! the table when nothing was handed, when the hand-off dropped rows, and at least once
//! every `IDLE`, so rows the hand-off never had (another instance's, a restart's, a failed
//! publish's) wait no longer than that under load.

use super::projector::{Delivered, Projector, Verdict};
use crate::bus::{EntryMessage, Nats};
use crate::store::Store;
use entity::outbox;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::time::Duration;
use tokio::time::Instant;

/// Rows moved per round (each carries up to `MESSAGES_PER_ROW` messages).
const ROUND: u64 = 16;

/// How long the relay sleeps when there is nothing it can move (a commit wakes it sooner),
/// and the longest it goes without reading the outbox table.
const IDLE: Duration = Duration::from_millis(250);

/// Where relayed messages go.
#[derive(Clone)]
pub enum Sink {
    /// JetStream; the projector consumes them from there.
    Nats(Box<Nats>),
    /// The projector, in this process.
    InProcess(Projector),
}

/// Relays until the process ends.
pub async fn run(store: Store, sink: Sink) {
    if let Sink::Nats(nats) = &sink {
        while let Err(e) = nats.ensure_stream().await {
            tracing::warn!(error = %e, "cannot create the stream yet; the outbox holds the entries");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let mut last_read = Instant::now();
    loop {
        let handed = store.handed_outbox();
        let round = if handed.rows.is_empty() || handed.dropped || last_read.elapsed() >= IDLE {
            // The table holds what was handed too (a row is deleted only once relayed).
            last_read = Instant::now();
            relay_once(&store, &sink).await
        } else {
            relay_rows(&store, &sink, handed.rows).await
        };
        match round {
            // A full round moved: more may wait. A round that found fewer rows took all
            // there were, and another read now would most often find none (one empty read
            // per batch under load); a commit since this round's read has woken the wait
            // below already.
            Ok(round) if round.read == ROUND as usize && round.moved == round.read => continue,
            Ok(round) => {
                if round.moved < round.read {
                    tracing::debug!(
                        stuck = round.read - round.moved,
                        "outbox rows kept for later"
                    );
                }
                // A commit since the last round wakes the relay at once.
                let _ = tokio::time::timeout(IDLE, store.outbox_written()).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay round failed");
                tokio::time::sleep(IDLE).await;
            }
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub read: usize,
    pub moved: usize,
}

/// Moves up to one round of the oldest outbox rows onto the bus.
pub async fn relay_once(store: &Store, sink: &Sink) -> Result<Round, DbErr> {
    let rows = oldest(store, ROUND).await?;
    relay_rows(store, sink, rows).await
}

/// Moves `rows`, committed outbox rows, onto the bus, and deletes those it has.
async fn relay_rows(store: &Store, sink: &Sink, rows: Vec<outbox::Model>) -> Result<Round, DbErr> {
    let done = match sink {
        Sink::Nats(nats) => publish(nats, &rows).await,
        Sink::InProcess(projector) => hand_over(projector, &rows).await?,
    };
    if !done.is_empty() {
        outbox::Entity::delete_many()
            .filter(outbox::Column::Id.is_in(done.iter().cloned()))
            .exec(store.conn())
            .await?;
    }
    Ok(Round {
        read: rows.len(),
        moved: done.len(),
    })
}

/// The oldest outbox rows.
pub async fn oldest(store: &Store, limit: u64) -> Result<Vec<outbox::Model>, DbErr> {
    outbox::Entity::find()
        .order_by_asc(outbox::Column::CreatedAt)
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(store.conn())
        .await
}

/// Publishes the rows, one bus message each where it fits (`EntryMessage::carriers`).
/// Returns the ids of the rows the bus has whole; the rest stay in the outbox for the next
/// round.
async fn publish(nats: &Nats, rows: &[outbox::Model]) -> Vec<String> {
    let most = nats.max_payload();
    let per_row: Vec<Vec<(&str, &str)>> = rows
        .iter()
        .map(|row| EntryMessage::carriers(row, most))
        .collect();
    let messages: Vec<(&str, &str)> = per_row.iter().flatten().copied().collect();
    let acked = nats.publish(&messages).await;
    let mut done = Vec::new();
    let mut first = 0;
    for (row, messages) in rows.iter().zip(&per_row) {
        let next = first + messages.len();
        if acked[first..next].iter().all(|a| *a) {
            done.push(row.id.clone());
        }
        first = next;
    }
    done
}

/// The in-process bus: the projector applies the rows' messages directly. Returns the ids
/// of the rows whose every message it applied or parked; a row with a message that must
/// wait is handed over again later (applying a message twice changes nothing).
async fn hand_over(projector: &Projector, rows: &[outbox::Model]) -> Result<Vec<String>, DbErr> {
    let mut messages = Vec::new();
    // Per row: whether every message so far is done (applied or parked).
    let mut done = vec![true; rows.len()];
    let mut row_of = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for (id, body) in EntryMessage::split(row) {
            if let Some(message) = projector.decode_or_park(id, 0, body.as_bytes()).await? {
                messages.push(message);
                row_of.push(r);
            }
        }
    }
    let batch: Vec<Delivered> = messages.iter().map(|m| Delivered::of(m, 0)).collect();
    if !batch.is_empty() {
        for (r, verdict) in row_of.into_iter().zip(projector.apply(&batch).await?) {
            done[r] &= verdict == Verdict::Applied;
        }
    }
    Ok(rows
        .iter()
        .zip(done)
        .filter(|(_, done)| *done)
        .map(|(row, _)| row.id.clone())
        .collect())
}

/// Messages in the outbox, not yet moved.
pub async fn backlog(store: &Store) -> Result<u64, DbErr> {
    let messages: Option<i64> = outbox::Entity::find()
        .select_only()
        .column_as(outbox::Column::Messages.sum(), "messages")
        .into_tuple()
        .one(store.conn())
        .await?
        .flatten();
    Ok(messages.unwrap_or(0).max(0) as u64)
}
