//! The expiry recorder: on each instance, a task that records each lot's expiry as an
//! `EXPIRY` entry as soon as its instant has come (reads never wait for it: they leave
//! out an expired lot whether or not its expiry is recorded).
//!
//! Exactly once: an expiry's nonce is derived from its lot (`Nonce::of_expiry`), so the
//! unique `(app, nonce)` index lets one entry through however many instances, restarts or
//! retries ask; the others are replays. Promptness: the recorder sleeps until the next
//! expiry instant it knows of, and looks again at least every [`LOOK_EVERY`], which also
//! catches lots opened by other instances.

use super::{Settled, Workflow, processor};
use crate::ledger::closing;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::time::now_micros;
use std::sync::Arc;
use std::time::Duration;

/// Longest sleep between two looks for due expiries.
pub const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Most expiries submitted per look.
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
            let wait = match record_due(&store, &queue, &metrics).await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::warn!(error = %e, "expiry recorder: will look again");
                    LOOK_EVERY
                }
            };
            drop(queue);
            tokio::time::sleep(wait).await;
        }
    });
}

/// Records every due expiry; returns how long to sleep before the next look.
async fn record_due(
    store: &Store,
    queue: &processor::Queue,
    metrics: &Metrics,
) -> Result<Duration, String> {
    loop {
        let now = now_micros();
        let due = store
            .due_lots(now, PER_LOOK)
            .await
            .map_err(|e| e.to_string())?;
        metrics.expiry_backlog.set(due.len() as i64);
        if due.is_empty() {
            let next = store.next_expiry(now).await.map_err(|e| e.to_string())?;
            let until = next.map_or(LOOK_EVERY, |at| {
                Duration::from_micros(u64::try_from(at - now).unwrap_or(0))
            });
            return Ok(until.min(LOOK_EVERY));
        }
        let submits = due
            .iter()
            .filter_map(|(lot, account)| match closing::expiry(lot, account) {
                Ok(cmd) => Some(processor::submit(queue, cmd)),
                Err(e) => {
                    tracing::error!(lot = %lot.id, error = %e, "cannot expire a lot");
                    None
                }
            });
        let mut recorded = 0;
        for settled in futures::future::join_all(submits).await {
            match settled.map_err(|e| e.to_string())? {
                Settled::Recorded(record) if record.failure_code().is_none() => {
                    metrics.lots_expired.inc();
                    recorded += 1;
                }
                Settled::Recorded(record) => tracing::error!(
                    entry_id = %record.entry.id,
                    code = record.failure_code(),
                    "an expiry was recorded as failed"
                ),
                Settled::Replay(_) | Settled::NonceReused(_) | Settled::KeyRevoked => {}
            }
        }
        if recorded == 0 {
            // Only replays: another instance records these (or one failed, which leaves
            // its lot open and would be asked for again and again); look again later.
            return Ok(LOOK_EVERY);
        }
    }
}
