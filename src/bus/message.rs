//! The message that carries one entry from the event store to the read model, and the
//! outbox rows that hold messages until the bus has them.

use crate::ledger::record::EntryRecord;
use crate::ledger::transitions::Listed;
use entity::{allocation, app_event, entry, hold, lot, outbox, posting, reversal};
use serde::{Deserialize, Serialize};

/// An entry as one transaction left it: its row, its transitions so far, and the postings
/// it wrote. An async entry yields two messages (`received`, then its terminal state); the
/// projector keeps the one with more transitions. Written by the outbox ([`Wire`]) and
/// read by [`EntryMessage::decode`]; serialized as it is, it is a message of the form
/// before transitions were listed (whole models), as tests need one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryMessage {
    /// When the writing transaction was about to commit (µs); projection lag counts from
    /// here.
    pub committed_at: i64,
    #[serde(flatten)]
    pub record: EntryRecord,
}

/// Most messages in one outbox row (a `CREDIT_ADD` entry's message is about 2 KB).
pub const MESSAGES_PER_ROW: usize = 256;

/// What an `EntryMessage` is on the wire, borrowing its record (the write path encodes
/// every recorded entry, and need not copy it to do so): the record's fields, with its
/// transitions as a list holds them (`ledger::transitions`), not as whole models, each of
/// which repeated the entry's id and its field names.
#[derive(Serialize)]
struct Wire<'a> {
    committed_at: i64,
    entry: &'a entry::Model,
    events: Vec<Listed>,
    postings: &'a [posting::Model],
    lots: &'a [lot::Model],
    allocations: &'a [allocation::Model],
    holds: &'a [hold::Model],
    reversals: &'a [reversal::Model],
    app_events: &'a [app_event::Model],
}

impl<'a> Wire<'a> {
    fn of(record: &'a EntryRecord, committed_at: i64) -> Wire<'a> {
        Wire {
            committed_at,
            entry: &record.entry,
            events: record.events.iter().map(Listed::of).collect(),
            postings: &record.postings,
            lots: &record.lots,
            allocations: &record.allocations,
            holds: &record.holds,
            reversals: &record.reversals,
            app_events: &record.app_events,
        }
    }
}

/// A message's record as decoded: [`Wire`]'s fields, or those of a message written before
/// it (its transitions as whole models, which a list reads too).
#[derive(Deserialize)]
struct Decoded {
    entry: entry::Model,
    events: Vec<Listed>,
    postings: Vec<posting::Model>,
    #[serde(default)]
    lots: Vec<lot::Model>,
    #[serde(default)]
    allocations: Vec<allocation::Model>,
    #[serde(default)]
    holds: Vec<hold::Model>,
    #[serde(default)]
    reversals: Vec<reversal::Model>,
    #[serde(default)]
    app_events: Vec<app_event::Model>,
}

impl Decoded {
    fn into_record(self) -> EntryRecord {
        let id = self.entry.id;
        EntryRecord {
            events: self.events.into_iter().map(|e| e.into_model(id)).collect(),
            entry: self.entry,
            postings: self.postings,
            lots: self.lots,
            allocations: self.allocations,
            holds: self.holds,
            reversals: self.reversals,
            app_events: self.app_events,
        }
    }
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
                    payload.push_str(&serde_json::to_string(&Wire::of(record, committed_at))?);
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

    /// The messages of an outbox row, as `(Nats-Msg-Id, JSON)`.
    pub fn split(row: &outbox::Model) -> Vec<(&str, &str)> {
        Self::split_payload(&row.id, &row.payload)
    }

    /// The messages of a payload named `id` (an outbox row's, or a bus message's that
    /// carries some of a row's). Compact JSON holds no raw tab or newline (JSON escapes
    /// them inside strings), so the split is exact. A payload of one message's JSON (a row
    /// written before rows carried several messages, a bus message published before bus
    /// messages carried several) is that message, under `id`; so is a line without a tab,
    /// which then fails to decode and is parked, not lost.
    pub fn split_payload<'a>(id: &'a str, payload: &'a str) -> Vec<(&'a str, &'a str)> {
        if payload.starts_with('{') {
            return vec![(id, payload)];
        }
        payload
            .lines()
            .map(|line| line.split_once('\t').unwrap_or((id, line)))
            .collect()
    }

    /// The bus messages that carry an outbox row, as `(Nats-Msg-Id, payload)`: the whole
    /// row when it fits in `max_bytes`, else runs of its lines that do (a line longer than
    /// that alone). Each is named for its first message, so a re-publish of the row has
    /// the same names and the bus drops it. One bus message per row rather than per entry:
    /// the bus, the relay and the consumer then work (publish, store, deliver, acknowledge)
    /// once per batch.
    pub fn carriers(row: &outbox::Model, max_bytes: usize) -> Vec<(&str, &str)> {
        let payload = row.payload.as_str();
        if payload.len() <= max_bytes || payload.starts_with('{') {
            return vec![(row.id.as_str(), payload)];
        }
        let mut carriers = Vec::new();
        let (mut start, mut end) = (0, 0);
        for line in payload.split_inclusive('\n') {
            if end > start && end + line.len() - start > max_bytes {
                carriers.push(&payload[start..end]);
                start = end;
            }
            end += line.len();
        }
        carriers.push(&payload[start..end]);
        carriers
            .into_iter()
            .map(|c| (c.split_once('\t').map_or(row.id.as_str(), |(id, _)| id), c))
            .collect()
    }

    /// Decodes a message in two passes: its record (which ignores `committed_at`), and
    /// `committed_at` alone, skimming the rest. `#[serde(flatten)]` would first copy the
    /// whole message into serde's intermediate tree; both passes cost about three quarters
    /// of that (BENCHMARKS.md, session 22).
    pub fn decode(payload: &[u8]) -> Result<EntryMessage, serde_json::Error> {
        #[derive(Deserialize)]
        struct CommittedAt {
            committed_at: i64,
        }
        let CommittedAt { committed_at } = serde_json::from_slice(payload)?;
        let decoded: Decoded = serde_json::from_slice(payload)?;
        Ok(EntryMessage {
            committed_at,
            record: decoded.into_record(),
        })
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
        let row = entry::Model {
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
            state: None,
            events: None,
        };
        let received = entry_event::Model {
            entry_id: id,
            seq: 0,
            state: "received".into(),
            at: 1,
            failure_code: None,
            failure_detail: None,
            earlier: None,
        };
        EntryRecord::new(row, vec![received])
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
    fn a_message_written_before_transitions_were_listed_decodes_the_same() {
        let message = EntryMessage {
            committed_at: 7,
            record: record(1),
        };
        let before = serde_json::to_string(&message).expect("whole models");
        assert!(before.contains("\"entry_id\""), "{before}");
        let decoded = EntryMessage::decode(before.as_bytes()).expect("decode");
        assert_eq!(decoded, message);
        let rows = EntryMessage::outbox_rows([&message.record], 7).expect("encode");
        let (_, now) = EntryMessage::split(&rows[0])[0];
        assert!(now.len() < before.len(), "{now}");
        assert_eq!(
            EntryMessage::decode(now.as_bytes()).expect("decode"),
            message
        );
    }

    #[test]
    fn a_row_is_one_bus_message_when_it_fits_and_runs_of_its_lines_when_not() {
        let records: Vec<EntryRecord> = (0..10).map(record).collect();
        let rows = EntryMessage::outbox_rows(&records, 7).expect("encode");
        let row = &rows[0];
        let whole = EntryMessage::carriers(row, row.payload.len());
        assert_eq!(whole, vec![(row.id.as_str(), row.payload.as_str())]);

        let line = row.payload.lines().map(str::len).max().expect("lines") + 1;
        let carriers = EntryMessage::carriers(row, 3 * line);
        assert!(carriers.len() >= 4, "{} bus messages", carriers.len());
        assert_eq!(carriers[0].0, row.id, "the first is named for the row");
        let mut messages = Vec::new();
        for (id, payload) in &carriers {
            assert!(payload.len() <= 3 * line);
            let split = EntryMessage::split_payload(id, payload);
            assert_eq!(*id, split[0].0, "each is named for its first message");
            messages.extend(split);
        }
        assert_eq!(
            messages,
            EntryMessage::split(row),
            "every line once, in order"
        );
        assert_eq!(
            EntryMessage::carriers(row, 3 * line),
            carriers,
            "a re-publish has the same names"
        );

        let alone = EntryMessage::carriers(row, 10);
        assert_eq!(alone.len(), 10, "a line longer than the limit goes alone");
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
