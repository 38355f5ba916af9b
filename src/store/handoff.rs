//! Outbox rows handed from the commit that wrote them to this process's relay, so that the
//! relay publishes them without reading them back from the outbox table.
//!
//! The table stays the record of what is still to publish: a row is deleted there only once
//! the bus has it, whichever way the relay got it. What the hand-off misses (another
//! instance's rows, rows written before a restart, rows kept after a failed publish, rows
//! dropped here because the relay fell behind) the relay finds by reading the table, which
//! it does whenever nothing was handed, whenever something was dropped here, and at least
//! every [`crate::projection::relay`] idle period. A row both handed and read is published
//! twice under one message id, which the bus drops as a duplicate.
//!
//! Rows are kept only once a relay has taken from here: a process that runs none (its
//! `LEDGERFLOW_PROJECTOR` off) keeps nothing.

use entity::outbox;
use std::sync::Mutex;
use tokio::sync::Notify;

/// The most payload kept for the relay, in bytes (a batch of 32 `CREDIT_ADD`s writes about
/// 100 KB): beyond it a commit's rows are left to the relay's reads of the table, so a
/// stalled bus costs little memory here.
const MOST: usize = 4 << 20;

/// Rows committed and not yet taken by the relay.
#[derive(Debug, Default)]
pub(crate) struct Handoff {
    state: Mutex<State>,
    /// Woken by every commit that wrote outbox rows.
    written: Notify,
}

#[derive(Debug, Default)]
struct State {
    handed: Handed,
    /// Whether a relay has taken from here: until then nothing is kept.
    relaying: bool,
}

/// What the relay takes: the rows handed since it last took them, and whether any were
/// dropped meanwhile (then it reads the table).
#[derive(Debug, Default)]
pub(crate) struct Handed {
    pub rows: Vec<outbox::Model>,
    pub dropped: bool,
}

impl Handoff {
    /// Called once `rows` are committed.
    pub(crate) fn hand(&self, rows: Vec<outbox::Model>) {
        let mut state = self.lock();
        if state.relaying {
            let handed = &mut state.handed;
            if payload(&handed.rows) + payload(&rows) > MOST {
                handed.dropped = true;
            } else {
                handed.rows.extend(rows);
            }
        }
        drop(state);
        self.written.notify_one();
    }

    /// What was handed since the last call; from the first call on, commits keep their rows
    /// here.
    pub(crate) fn take(&self) -> Handed {
        let mut state = self.lock();
        state.relaying = true;
        std::mem::take(&mut state.handed)
    }

    pub(crate) async fn written(&self) {
        self.written.notified().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing under the lock can panic.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The payload bytes of `rows`, summed again at each commit: the rows kept here are few
/// while the relay keeps up (a batch's row or two), and never more than [`MOST`] holds.
fn payload(rows: &[outbox::Model]) -> usize {
    rows.iter().map(|r| r.payload.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str) -> outbox::Model {
        outbox::Model {
            id: id.to_owned(),
            payload: "x".repeat(1 << 20),
            created_at: 0,
            messages: 1,
        }
    }

    /// A handoff whose relay has started.
    fn relaying() -> Handoff {
        let handoff = Handoff::default();
        handoff.take();
        handoff
    }

    #[test]
    fn the_relay_takes_what_was_handed_once() {
        let handoff = relaying();
        handoff.hand(vec![row("a"), row("b")]);
        handoff.hand(vec![row("c")]);
        let taken = handoff.take();
        let ids: Vec<&str> = taken.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(!taken.dropped);
        assert!(handoff.take().rows.is_empty());
    }

    #[test]
    fn nothing_is_kept_before_a_relay_takes() {
        let handoff = Handoff::default();
        handoff.hand(vec![row("a")]);
        let taken = handoff.take();
        assert!(taken.rows.is_empty() && !taken.dropped);
        handoff.hand(vec![row("b")]);
        assert_eq!(handoff.take().rows.len(), 1, "kept once a relay took");
    }

    #[test]
    fn rows_beyond_the_limit_are_left_to_the_table_and_say_so() {
        let handoff = relaying();
        let most = MOST / (1 << 20);
        handoff.hand((0..most).map(|i| row(&i.to_string())).collect());
        handoff.hand(vec![row("over")]);
        let taken = handoff.take();
        assert_eq!(taken.rows.len(), most);
        assert!(taken.rows.iter().all(|r| r.id != "over"));
        assert!(
            taken.dropped,
            "the relay must read the table for the dropped row"
        );
        assert!(!handoff.take().dropped, "said once");
        handoff.hand(vec![row("again")]);
        assert_eq!(handoff.take().rows.len(), 1, "the room is back once taken");
    }
}
