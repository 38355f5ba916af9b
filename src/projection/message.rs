//! The message that carries one entry from the event store to the read model.

use crate::workflow::EntryRecord;
use entity::outbox;
use serde::{Deserialize, Serialize};

/// An entry as one transaction left it: its row, its transitions so far, and the postings
/// it wrote. An async entry yields two messages (`received`, then its terminal state); the
/// projector keeps the one with more transitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMessage {
    /// When the writing transaction was about to commit (µs); projection lag counts from
    /// here.
    pub committed_at: i64,
    #[serde(flatten)]
    pub record: EntryRecord,
}

impl EntryMessage {
    pub fn new(record: &EntryRecord, committed_at: i64) -> EntryMessage {
        EntryMessage {
            committed_at,
            record: record.clone(),
        }
    }

    /// The seq of the last transition carried.
    pub fn last_seq(&self) -> i32 {
        self.record.events.last().map_or(0, |e| e.seq)
    }

    /// `<entry id>.<last seq>`: the same for every publish of this message, so that the bus
    /// drops a re-publish (`Nats-Msg-Id`), and different for the two messages of an entry.
    pub fn id(&self) -> String {
        format!("{}.{}", self.record.entry.id, self.last_seq())
    }

    pub fn outbox_row(&self) -> Result<outbox::Model, serde_json::Error> {
        Ok(outbox::Model {
            id: self.id(),
            payload: serde_json::to_string(self)?,
            created_at: self.committed_at,
        })
    }

    pub fn decode(payload: &[u8]) -> Result<EntryMessage, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}
