//! The expiry recorder: on each instance, a task that records each lot's expiry as an
//! `EXPIRY` entry, and each hold's as a `HOLD_EXPIRY` entry, as soon as its instant has come
//! (reads and decisions never wait for it: they leave out an expired lot or hold whether or
//! not its expiry is recorded).
//!
//! Exactly once: an expiry's nonce is derived from its lot or hold (`Nonce::of_expiry`,
//! `Nonce::of_hold_expiry`), so the unique `(app, nonce)` index lets one entry through
//! however many instances, restarts or retries ask; the others are replays. Promptness: the
//! recorder sleeps until the next expiry instant it knows of, and looks again at least
//! every [`LOOK_EVERY`], which also catches lots and holds opened by other instances.

use super::{Settled, Workflow, processor};
use crate::ledger::command::Command;
use crate::ledger::{closing, hold_request};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::time::now_micros;
use prometheus_client::metrics::counter::Counter;
use std::sync::Arc;
use std::time::Duration;

/// Longest sleep between two looks for due expiries.
pub const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Most expiries of each kind submitted per look.
const PER_LOOK: u64 = 512;

/// Starts the recorder. It stops when the workflow's processor does (every other handle
/// to it dropped).
pub fn start(workflow: &Workflow, metrics: Arc<Metrics>) {
    let queue = workflow.queue.downgrade();
    let store = workflow.store.clone();
    tokio::spawn(async move {
        loop {
            let Some(queue) = queue.upgrade() else {
                return;
            };
            let (mut wait, mut backlog) = (LOOK_EVERY, 0);
            for kind in [Kind::Lot, Kind::Hold] {
                match record_due(kind, &store, &queue, &metrics).await {
                    Ok((until, due)) => (wait, backlog) = (wait.min(until), backlog + due),
                    Err(e) => tracing::warn!(error = %e, "expiry recorder: will look again"),
                }
            }
            metrics.expiry_backlog.set(backlog as i64);
            drop(queue);
            tokio::time::sleep(wait).await;
        }
    });
}

/// What expires.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Lot,
    Hold,
}

impl Kind {
    /// The expiry commands of up to [`PER_LOOK`] open lots or holds due at `now`, and how
    /// many were due.
    async fn due(self, store: &Store, now: i64) -> Result<(Vec<Command>, usize), String> {
        let commands: Vec<Result<Command, String>> = match self {
            Kind::Lot => store
                .due_lots(now, PER_LOOK)
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .map(|(lot, account)| closing::expiry(lot, account))
                .collect(),
            Kind::Hold => store
                .due_holds(now, PER_LOOK)
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .map(|hold| hold_request::expiry(hold).map_err(|r| r.to_string()))
                .collect(),
        };
        let due = commands.len();
        let made = commands
            .into_iter()
            .filter_map(|made| {
                made.map_err(|e| tracing::error!(kind = ?self, error = %e, "cannot expire"))
                    .ok()
            })
            .collect();
        Ok((made, due))
    }

    /// The earliest expiry instant after `now` of an open lot or hold.
    async fn next(self, store: &Store, now: i64) -> Result<Option<i64>, String> {
        match self {
            Kind::Lot => store.next_expiry(now).await,
            Kind::Hold => store.next_hold_expiry(now).await,
        }
        .map_err(|e| e.to_string())
    }

    fn counter(self, metrics: &Metrics) -> &Counter {
        match self {
            Kind::Lot => &metrics.lots_expired,
            Kind::Hold => &metrics.holds_expired,
        }
    }
}

/// Records every due expiry of `kind`; returns how long to sleep before the next look, and
/// how many were due at the last look.
async fn record_due(
    kind: Kind,
    store: &Store,
    queue: &processor::Queue,
    metrics: &Metrics,
) -> Result<(Duration, usize), String> {
    loop {
        let now = now_micros();
        let (commands, due) = kind.due(store, now).await?;
        if due == 0 {
            let next = kind.next(store, now).await?;
            let until = next.map_or(LOOK_EVERY, |at| {
                Duration::from_micros(u64::try_from(at - now).unwrap_or(0))
            });
            return Ok((until.min(LOOK_EVERY), 0));
        }
        let submits = commands
            .into_iter()
            .map(|cmd| processor::submit(queue, cmd));
        let mut recorded = 0;
        for settled in futures::future::join_all(submits).await {
            match settled.map_err(|e| e.to_string())? {
                Settled::Recorded(record) if record.failure_code().is_none() => {
                    kind.counter(metrics).inc();
                    recorded += 1;
                }
                Settled::Recorded(record) => tracing::error!(
                    entry_id = %record.entry.id,
                    code = record.failure_code(),
                    "an expiry was recorded as failed"
                ),
                Settled::Replay(_)
                | Settled::NonceReused(_)
                | Settled::KeyRevoked
                | Settled::NotDue => {}
            }
        }
        if recorded == 0 {
            // Only replays: another instance records these (or one failed, which leaves
            // its lot or hold open and would be asked for again and again); look again
            // later.
            return Ok((LOOK_EVERY, due));
        }
    }
}
