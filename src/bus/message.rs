//! The message that carries one entry from the event store to the read model, and the
//! outbox rows that hold messages until the bus has them.

use crate::ledger::record::EntryRecord;
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

/// Most messages in one outbox row (a message is about 1.5 KB).
pub const MESSAGES_PER_ROW: usize = 256;

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

    /// The outbox rows of `records`' messages, written in the transaction that records
    /// them: one row per `MESSAGES_PER_ROW`, so that a batch costs the outbox a row or two
    /// instead of a row per entry.
    pub fn outbox_rows<'a>(
        records: impl IntoIterator<Item = &'a EntryRecord>,
        committed_at: i64,
    ) -> Result<Vec<outbox::Model>, serde_json::Error> {
        let records: Vec<&EntryRecord> = records.into_iter().collect();
        records
            .chunks(MESSAGES_PER_ROW)
            .map(|chunk| {
                let mut payload = String::with_capacity(chunk.len() * 1600);
                for record in chunk {
                    payload.push_str(&id(record));
                    payload.push('\t');
                    payload.push_str(&serde_json::to_string(&Wire {
                        committed_at,
                        record,
                    })?);
                    payload.push('\n');
                }
                Ok(outbox::Model {
                    id: id(chunk[0]),
                    payload,
                    created_at: committed_at,
                    messages: chunk.len() as i32,
                })
            })
            .collect()
    }

    /// The messages of an outbox row, as `(Nats-Msg-Id, JSON)`. Compact JSON holds no raw
    /// tab or newline (JSON escapes them inside strings), so the split is exact. A row
    /// written before rows carried several messages is one message's JSON, under the row's
    /// id; so is a line without a tab, which then fails to decode and is parked, not lost.
    pub fn split(row: &outbox::Model) -> Vec<(&str, &str)> {
        if row.payload.starts_with('{') {
            return vec![(row.id.as_str(), row.payload.as_str())];
        }
        row.payload
            .lines()
            .map(|line| line.split_once('\t').unwrap_or((row.id.as_str(), line)))
            .collect()
    }

    pub fn decode(payload: &[u8]) -> Result<EntryMessage, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}

fn id(record: &EntryRecord) -> String {
    format!("{}.{}", record.entry.id, record.last_seq())
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::{entry, entry_event};
    use uuid::Uuid;

    fn record(n: usize) -> EntryRecord {
        let id = Uuid::now_v7();
        EntryRecord {
            entry: entry::Model {
                id,
                app_id: Uuid::nil(),
                nonce: format!("n{n}"),
                request_hash: String::new(),
                operation: "CREDIT_ADD".into(),
                owner_id: "u".into(),
                counterparty_id: None,
                asset: "CREDIT".into(),
                amount: "1.00".into(),
                // Raw tab and newline inside a value: the JSON escapes them, so they cannot
                // break a row's lines.
                metadata: Some("{\"note\":\"a\tb\nc\"}".into()),
                is_async: false,
                created_at: 1,
                lot_expires_at: None,
                lot_priority: None,
                hold_id: None,
                reverses: None,
            },
            events: vec![entry_event::Model {
                entry_id: id,
                seq: 0,
                state: "received".into(),
                at: 1,
                failure_code: None,
                failure_detail: None,
                earlier: None,
            }],
            postings: vec![],
            lots: vec![],
            allocations: vec![],
            holds: vec![],
            reversals: vec![],
            app_events: Vec::new(),
        }
    }

    #[test]
    fn outbox_rows_carry_every_message_and_split_back_exactly() {
        let records: Vec<EntryRecord> = (0..MESSAGES_PER_ROW + 3).map(record).collect();
        let rows = EntryMessage::outbox_rows(&records, 7).expect("encode");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].messages as usize, MESSAGES_PER_ROW);
        assert_eq!(rows[1].messages, 3);
        let mut decoded = Vec::new();
        for row in &rows {
            let messages = EntryMessage::split(row);
            assert_eq!(messages.len(), row.messages as usize);
            assert_eq!(
                messages[0].0, row.id,
                "a row is named for its first message"
            );
            for (id, body) in messages {
                let message = EntryMessage::decode(body.as_bytes()).expect("decode");
                assert_eq!(id, message.id());
                assert_eq!(message.committed_at, 7);
                decoded.push(message.record);
            }
        }
        assert_eq!(decoded, records);
    }

    #[test]
    fn a_row_written_before_batching_is_one_message() {
        let r = record(0);
        let body = serde_json::to_string(&EntryMessage {
            committed_at: 1,
            record: r.clone(),
        })
        .expect("json");
        let row = outbox::Model {
            id: "legacy".into(),
            payload: body.clone(),
            created_at: 1,
            messages: 1,
        };
        assert_eq!(EntryMessage::split(&row), vec![("legacy", body.as_str())]);
    }
}
