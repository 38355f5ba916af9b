//! A recorded entry as stored: its row, its transitions and its postings.

use super::state::EntryState;
use entity::{allocation, app_event, entry, entry_event, hold, lot, posting, reversal};

/// Everything stored about one entry. Responses, replays and `GET /v1/entries/{id}` are all
/// built from this, so a replay answers with exactly what the first response said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EntryRecord {
    pub entry: entry::Model,
    /// Ordered by `seq`.
    pub events: Vec<entry_event::Model>,
    /// The owner's leg first, then the other side's.
    pub postings: Vec<posting::Model>,
    /// The lots the entry opened or drew from, as it left them.
    pub lots: Vec<lot::Model>,
    /// What the entry drew from lots, in drawdown order.
    pub allocations: Vec<allocation::Model>,
    /// The hold the entry placed, or the one it captured, voided or expired, as it left it.
    pub holds: Vec<hold::Model>,
    /// What has been reversed of the entry: for a reversal, of the entry it reverses as it
    /// left it; for another entry, all of its reversals so far (reads only).
    pub reversals: Vec<reversal::Model>,
    /// The events its transaction wrote for the app, in `seq` order.
    pub app_events: Vec<app_event::Model>,
}

impl EntryRecord {
    /// An entry's record with its row and transitions alone: no postings, lots,
    /// allocations, holds, reversals or events yet.
    pub fn new(entry: entry::Model, events: Vec<entry_event::Model>) -> EntryRecord {
        EntryRecord {
            entry,
            events,
            postings: Vec::new(),
            lots: Vec::new(),
            allocations: Vec::new(),
            holds: Vec::new(),
            reversals: Vec::new(),
            app_events: Vec::new(),
        }
    }

    pub fn state(&self) -> EntryState {
        self.events
            .last()
            .and_then(|e| e.state.parse().ok())
            .unwrap_or(EntryState::Received)
    }

    /// The seq of the last transition recorded (0: only `received`).
    pub fn last_seq(&self) -> i32 {
        self.events.last().map_or(0, |e| e.seq)
    }

    fn terminal(&self) -> Option<&entry_event::Model> {
        self.events.last().filter(|_| self.state().is_terminal())
    }

    pub fn failure_code(&self) -> Option<&str> {
        self.terminal().and_then(|e| e.failure_code.as_deref())
    }

    pub fn failure_detail(&self) -> Option<&str> {
        self.terminal().and_then(|e| e.failure_detail.as_deref())
    }

    /// Puts the owner's leg first, as the workflow writes them.
    pub fn order_postings(&mut self) {
        let owner = &self.entry.owner_id;
        self.postings.sort_by_key(|p| p.owner_id != *owner);
    }

    /// The owner's posting, present once the entry completed.
    pub fn owner_posting(&self) -> Option<&posting::Model> {
        self.postings
            .iter()
            .find(|p| p.owner_id == self.entry.owner_id)
    }
}
