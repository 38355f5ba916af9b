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

/// What an `EntryMessage` is on the wire, borrowing its record: the write path encodes
/// every recorded entry, and need not copy it to do so.
#[derive(Serialize)]
struct Wire<'a> {
    committed_at: i64,
    #[serde(flatten)]
    record: &'a EntryRecord,
}

impl EntryMessage {
    /// `<entry id>.<last seq>`: the same for every publish of this message, so that the bus
    /// drops a re-publish (`Nats-Msg-Id`), and different for the two messages of an entry.
    pub fn id(&self) -> String {
        id(&self.record)
    }

    /// The outbox row of `record`'s message, written in the transaction that records it.
    pub fn outbox_row(
        record: &EntryRecord,
        committed_at: i64,
    ) -> Result<outbox::Model, serde_json::Error> {
        Ok(outbox::Model {
            id: id(record),
            payload: serde_json::to_string(&Wire {
                committed_at,
                record,
            })?,
            created_at: committed_at,
        })
    }

    pub fn decode(payload: &[u8]) -> Result<EntryMessage, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}

fn id(record: &EntryRecord) -> String {
    format!("{}.{}", record.entry.id, record.last_seq())
}
