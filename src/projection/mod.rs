//! Projection: every committed entry reaches the read model, exactly once in effect.
//!
//! ```text
//! event store ──(outbox rows, same transaction as the events)──▶ relay ──▶ bus ──▶ projector ──▶ read model
//! ```
//! - [`relay`]: publishes outbox rows, waits for the bus's ack, then deletes them.
//! - bus: NATS JetStream (`crate::bus`) when `LEDGERFLOW_NATS_URL` is set, else in process:
//!   the relay hands rows straight to the projector and deletes them once applied. In
//!   process with the read model in the event store's database, the write path projects
//!   each batch itself, in its transaction (`Projector::apply_in`); the outbox then carries
//!   only what must wait for an earlier message.
//! - [`consumer`]: the JetStream side of the projector (durable pull consumer).
//! - [`projector`]: the projector itself, the same code for both buses.
//! - [`rebuild`] and [`verify`]: drop and rebuild the read model; compare it with the store.
//! - [`retention`]: apps' events older than the retention are pruned, hourly.

mod consumer;
pub mod projector;
pub mod rebuild;
pub mod relay;
pub mod retention;
mod rows;
pub mod verify;

pub use projector::{Delivered, Projector, Verdict};

use crate::bus::{BusError, Nats};
use crate::metrics::Metrics;
use crate::query::ReadModel;
use crate::store::Store;
use relay::Sink;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What is still on its way to the read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Messages in the outbox, not yet on the bus.
    pub outbox: u64,
    /// Messages of the consumer not yet applied (always 0 with the in-process bus, where
    /// a row leaves the outbox only once applied).
    pub pending: u64,
}

impl Backlog {
    pub fn is_empty(&self) -> bool {
        self.outbox == 0 && self.pending == 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("event store: {0}")]
    Store(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("the projection did not catch up within {0:?}; last seen: {1}")]
    Timeout(Duration, String),
}

/// The relay and projector of this instance. Cheap to clone.
#[derive(Clone)]
pub struct Projection {
    store: Store,
    nats: Option<Nats>,
    projector: Projector,
    metrics: Arc<Metrics>,
}

impl Projection {
    /// `nats` `None` selects the in-process bus.
    pub fn new(store: Store, read: ReadModel, nats: Option<Nats>, metrics: Arc<Metrics>) -> Self {
        let name = nats
            .as_ref()
            .map_or("in-process".to_owned(), |n| n.config().consumer.clone());
        Projection {
            projector: Projector::new(read, metrics.clone(), &name),
            store,
            nats,
            metrics,
        }
    }

    /// Starts the relay and, with NATS, the consumer, as background tasks of this process.
    pub fn start(&self) {
        match &self.nats {
            Some(nats) => {
                tokio::spawn(relay::run(
                    self.store.clone(),
                    Sink::Nats(Box::new(nats.clone())),
                ));
                tokio::spawn(consumer::run(nats.clone(), self.projector.clone()));
            }
            None => {
                let sink = Sink::InProcess(self.projector.clone());
                tokio::spawn(relay::run(self.store.clone(), sink));
            }
        }
    }

    /// The bus as this instance sees it: `in-process`, or NATS's connection state.
    pub fn bus_state(&self) -> &'static str {
        self.nats.as_ref().map_or("in-process", Nats::state)
    }

    /// The projector of this instance's read model.
    pub fn projector(&self) -> Projector {
        self.projector.clone()
    }

    /// Measures the backlog now and records it in the metrics. The outbox is counted
    /// before the consumer is asked, so an empty result means every entry committed before
    /// the call is in the read model.
    pub async fn backlog(&self) -> Result<Backlog, ProjectionError> {
        let outbox = relay::backlog(&self.store).await?;
        self.metrics.outbox_backlog.set(outbox as i64);
        let pending = match &self.nats {
            Some(nats) => nats.pending().await?,
            None => 0,
        };
        self.metrics.consumer_pending.set(pending as i64);
        Ok(Backlog { outbox, pending })
    }

    /// Hands the outbox to the bus (or, in process, to the projector) until it is empty, the
    /// bus takes nothing more, or `within` is over; returns the messages left in it. For a
    /// stop: the next start (of any instance) relays what is left.
    pub async fn flush(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        let sink = match &self.nats {
            Some(nats) => Sink::Nats(Box::new(nats.clone())),
            None => Sink::InProcess(self.projector.clone()),
        };
        while Instant::now() < deadline {
            let round = tokio::time::timeout_at(deadline, relay::relay_once(&self.store, &sink));
            match round.await {
                Ok(Ok(round)) if round.read > 0 && round.moved > 0 => continue,
                Ok(Err(e)) => tracing::warn!(error = %e, "outbox not flushed"),
                _ => {}
            }
            break;
        }
        relay::backlog(&self.store).await.unwrap_or(0)
    }

    /// Waits until everything committed so far is in the read model.
    pub async fn caught_up(&self, within: Duration) -> Result<(), ProjectionError> {
        let deadline = Instant::now() + within;
        loop {
            // An error (NATS not reachable yet, the consumer not created yet) is "not yet".
            let seen = match self.backlog().await {
                Ok(backlog) if backlog.is_empty() => return Ok(()),
                Ok(backlog) => format!("{backlog:?}"),
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                return Err(ProjectionError::Timeout(within, seen));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
