//! The outbox relay: moves outbox rows onto the bus and deletes them once the bus has them.
//!
//! A row is deleted only after the bus acknowledged it: a crash between the two publishes
//! it again, which the bus drops as a duplicate (same `Nats-Msg-Id`) or the projector
//! finds already applied. Several instances may relay the same rows at once for the same
//! reason. With the in-process bus, "the bus has it" means the projector applied it.

use super::apply::{Delivered, Projector, Verdict};
use crate::bus::Nats;
use crate::store::Store;
use entity::outbox;
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::time::Duration;

/// Rows moved per round.
const ROUND: u64 = 512;

/// How long the relay sleeps when there is nothing it can move; a commit wakes it sooner.
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
    loop {
        match relay_once(&store, &sink).await {
            Ok(round) if round.moved > 0 && round.moved == round.read => continue,
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
    let done = match sink {
        Sink::Nats(nats) => nats.publish(&rows).await,
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

/// The in-process bus: the projector applies the rows directly. Returns the ids of the rows
/// it applied or parked.
async fn hand_over(projector: &Projector, rows: &[outbox::Model]) -> Result<Vec<String>, DbErr> {
    let mut done = Vec::new();
    let mut batch = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        match projector
            .decode_or_park(&row.id, 0, row.payload.as_bytes())
            .await?
        {
            Some(message) => {
                batch.push(Delivered {
                    message,
                    position: 0,
                });
                ids.push(row.id.clone());
            }
            None => done.push(row.id.clone()),
        }
    }
    if batch.is_empty() {
        return Ok(done);
    }
    let verdicts = projector.apply(&batch).await?;
    done.extend(
        ids.into_iter()
            .zip(verdicts)
            .filter(|(_, v)| *v == Verdict::Applied)
            .map(|(id, _)| id),
    );
    Ok(done)
}

/// Outbox rows not yet moved.
pub async fn backlog(store: &Store) -> Result<u64, DbErr> {
    outbox::Entity::find().count(store.conn()).await
}
