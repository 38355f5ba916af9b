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

use entity::outbox;
use std::sync::Mutex;
use tokio::sync::Notify;

/// The most rows kept for the relay (each carries a batch's messages): beyond it a commit's
/// rows are left to the relay's reads of the table, so a stalled bus costs no memory here.
const MOST: usize = 64;

/// Rows committed and not yet taken by the relay.
#[derive(Debug, Default)]
pub(crate) struct Handoff {
    state: Mutex<Handed>,
    /// Woken by every commit that wrote outbox rows.
    written: Notify,
}

/// What the relay takes: the rows handed since it last took them, and whether any were
/// dropped meanwhile (then it reads the table).
#[derive(Debug, Default)]
pub struct Handed {
    pub rows: Vec<outbox::Model>,
    pub dropped: bool,
}

impl Handoff {
    /// Called once `rows` are committed.
    pub(crate) fn hand(&self, rows: Vec<outbox::Model>) {
        {
            let mut handed = self.lock();
            if handed.rows.len() + rows.len() > MOST {
                handed.dropped = true;
            } else {
                handed.rows.extend(rows);
            }
        }
        self.written.notify_one();
    }

    pub(crate) fn take(&self) -> Handed {
        std::mem::take(&mut *self.lock())
    }

    pub(crate) async fn written(&self) {
        self.written.notified().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Handed> {
        // Nothing under the lock can panic.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str) -> outbox::Model {
        outbox::Model {
            id: id.to_owned(),
            payload: String::new(),
            created_at: 0,
            messages: 1,
        }
    }

    #[test]
    fn the_relay_takes_what_was_handed_once() {
        let handoff = Handoff::default();
        handoff.hand(vec![row("a"), row("b")]);
        handoff.hand(vec![row("c")]);
        let taken = handoff.take();
        let ids: Vec<&str> = taken.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(!taken.dropped);
        assert!(handoff.take().rows.is_empty());
    }

    #[test]
    fn rows_beyond_the_limit_are_left_to_the_table_and_say_so() {
        let handoff = Handoff::default();
        handoff.hand((0..MOST).map(|i| row(&i.to_string())).collect());
        handoff.hand(vec![row("over")]);
        let taken = handoff.take();
        assert_eq!(taken.rows.len(), MOST);
        assert!(taken.rows.iter().all(|r| r.id != "over"));
        assert!(
            taken.dropped,
            "the relay must read the table for the dropped row"
        );
        assert!(!handoff.take().dropped, "said once");
    }
}
