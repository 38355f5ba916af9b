//! The events an app is told of: what each recorded entry announces, as plain data. The
//! batch decision numbers them per app and writes them with the entry (`decide`), the
//! projector copies them to the read model, and the feed, the stream and webhooks send
//! them as [`wire`] makes them.
//!
//! Which entry announces what ([`announced`]):
//! - a failed entry: `entry.failed`, whatever its operation;
//! - a hold's placement: `hold.held`; its capture: `entry.completed` (it is the app's debit)
//!   and `hold.captured`; its void and expiry: `hold.voided`, `hold.expired`;
//! - a lot's recorded expiry or void: `lot.expired` / `lot.voided`, one per lot;
//! - an account control: `account.frozen`, `account.unfrozen`, `account.closed`;
//! - any other completed entry (the app's own operations, reversals): `entry.completed`.
//!
//! `balance.low` and `balance.recovered` come from monitors (`ledger::monitors`).

mod data;

use super::codes::{Code, Refusal};
use super::record::EntryRecord;
use super::state::EntryState;
use crate::time::to_rfc3339;
use operations as system;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Every type of event, and its name on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    EntryCompleted,
    EntryFailed,
    HoldHeld,
    HoldCaptured,
    HoldVoided,
    HoldExpired,
    LotExpired,
    LotVoided,
    AccountFrozen,
    AccountUnfrozen,
    AccountClosed,
    BalanceLow,
    BalanceRecovered,
}

impl EventType {
    pub const ALL: [EventType; 13] = [
        EventType::EntryCompleted,
        EventType::EntryFailed,
        EventType::HoldHeld,
        EventType::HoldCaptured,
        EventType::HoldVoided,
        EventType::HoldExpired,
        EventType::LotExpired,
        EventType::LotVoided,
        EventType::AccountFrozen,
        EventType::AccountUnfrozen,
        EventType::AccountClosed,
        EventType::BalanceLow,
        EventType::BalanceRecovered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::EntryCompleted => "entry.completed",
            EventType::EntryFailed => "entry.failed",
            EventType::HoldHeld => "hold.held",
            EventType::HoldCaptured => "hold.captured",
            EventType::HoldVoided => "hold.voided",
            EventType::HoldExpired => "hold.expired",
            EventType::LotExpired => "lot.expired",
            EventType::LotVoided => "lot.voided",
            EventType::AccountFrozen => "account.frozen",
            EventType::AccountUnfrozen => "account.unfrozen",
            EventType::AccountClosed => "account.closed",
            EventType::BalanceLow => "balance.low",
            EventType::BalanceRecovered => "balance.recovered",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown event type {s:?}"))
    }
}

/// Event type names as a client sends them (a webhook's list, a feed's filter): each
/// known, without repeats, in [`EventType::ALL`]'s order.
pub fn parse_types<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<EventType>, Refusal> {
    let mut types = Vec::new();
    for name in names {
        let parsed: EventType = name.parse().map_err(|_| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            let shown: String = name.chars().take(64).collect();
            Refusal::new(
                Code::UnknownEventType,
                format!("unknown event type {shown:?}; known: {}", known.join(", ")),
            )
        })?;
        types.push(parsed);
    }
    types.sort();
    types.dedup();
    Ok(types)
}

/// An event before it is numbered: its type, the owner it is about, and its data (`None`
/// for an event of its entry, whose data is not stored: see [`entry_data`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    pub event_type: EventType,
    pub owner_id: String,
    pub data: Option<Value>,
}

impl Announcement {
    pub fn new(event_type: EventType, owner_id: &str, data: Value) -> Announcement {
        Announcement {
            event_type,
            owner_id: owner_id.to_owned(),
            data: Some(data),
        }
    }

    /// An `entry.completed` or `entry.failed` event of `record`'s entry.
    fn of_entry(event_type: EventType, record: &EntryRecord) -> Announcement {
        Announcement {
            event_type,
            owner_id: record.entry.owner_id.clone(),
            data: None,
        }
    }
}

/// The data of an event of its entry (`entry.completed`, `entry.failed`), built from the
/// entry's record when the event is read.
///
/// Such an event is stored with empty `data` ([`is_of_entry`]): its data is the entry's
/// own view, every field of which the entry's row and its owner's posting hold already,
/// and neither changes once the entry reached `completed` or `failed` (both final): stored,
/// each of them was written twice. Events stored before this carry their data.
pub fn entry_data(record: &EntryRecord) -> String {
    data::entry(record).to_string()
}

/// Whether a stored event's `data` is its entry's view, to be built by [`entry_data`].
pub fn is_of_entry(data: &str) -> bool {
    data.is_empty()
}

/// Fills in the data of the events of their entries, from `records` (by entry id), and
/// answers the entries missing from `records`, whose events keep their empty data.
pub fn fill_entry_data<'a>(
    events: impl IntoIterator<Item = (&'a mut String, Uuid)>,
    records: &HashMap<Uuid, EntryRecord>,
) -> Vec<Uuid> {
    let mut missing = Vec::new();
    for (data, entry_id) in events {
        match records.get(&entry_id) {
            Some(record) if is_of_entry(data) => *data = entry_data(record),
            None if is_of_entry(data) => missing.push(entry_id),
            _ => {}
        }
    }
    missing
}

/// What `record`, as its transaction leaves it, announces (in this order).
pub fn announced(record: &EntryRecord) -> Vec<Announcement> {
    let entry = &record.entry;
    let of_entry = |t| Announcement::of_entry(t, record);
    match record.state() {
        EntryState::Failed => return vec![of_entry(EventType::EntryFailed)],
        EntryState::Held => return holds(record, EventType::HoldHeld),
        EntryState::Completed => {}
        _ => return Vec::new(),
    }
    match entry.operation.as_str() {
        system::EXPIRY => lots(record, EventType::LotExpired),
        system::LOT_VOID => lots(record, EventType::LotVoided),
        system::HOLD_VOID => holds(record, EventType::HoldVoided),
        system::HOLD_EXPIRY => holds(record, EventType::HoldExpired),
        system::ACCOUNT_FREEZE => vec![account(record, EventType::AccountFrozen)],
        system::ACCOUNT_UNFREEZE => vec![account(record, EventType::AccountUnfrozen)],
        system::ACCOUNT_CLOSE => vec![account(record, EventType::AccountClosed)],
        _ if entry.hold_id.is_some() => {
            let mut all = vec![of_entry(EventType::EntryCompleted)];
            all.extend(holds(record, EventType::HoldCaptured));
            all
        }
        _ => vec![of_entry(EventType::EntryCompleted)],
    }
}

/// One event per hold the entry placed or ended.
fn holds(record: &EntryRecord, event_type: EventType) -> Vec<Announcement> {
    record
        .holds
        .iter()
        .map(|h| Announcement::new(event_type, &h.owner_id, data::hold(h, record)))
        .collect()
}

/// One event per lot the entry closed.
fn lots(record: &EntryRecord, event_type: EventType) -> Vec<Announcement> {
    let entry = &record.entry;
    record
        .lots
        .iter()
        .filter(|l| l.closed_by == Some(entry.id))
        .map(|l| Announcement::new(event_type, &entry.owner_id, data::lot(l, entry)))
        .collect()
}

fn account(record: &EntryRecord, event_type: EventType) -> Announcement {
    let entry = &record.entry;
    Announcement::new(event_type, &entry.owner_id, data::account(entry))
}

/// An event as apps receive it: `{id, seq, type, app_id, owner_id, occurred_at, data}`, the
/// data as its change left it (an entry event's filled in first: [`fill_entry_data`]).
pub fn wire(row: &entity::app_event::Model) -> Result<Value, String> {
    let data: Value = serde_json::from_str(&row.data)
        .map_err(|e| format!("stored event {}: data is not JSON: {e}", row.id))?;
    Ok(serde_json::json!({
        "id": row.id,
        "seq": row.seq,
        "type": row.event_type,
        "app_id": row.app_id,
        "owner_id": row.owner_id,
        "occurred_at": to_rfc3339(row.occurred_at),
        "data": data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::entry;

    #[test]
    fn an_entry_event_gets_its_entrys_view_and_an_entry_not_found_is_named() {
        let row = entry::Model {
            id: Uuid::now_v7(),
            owner_id: "amy".into(),
            amount: "5.00".into(),
            ..Default::default()
        };
        let record = EntryRecord::new(row, Vec::new());
        let (id, lost) = (record.entry.id, Uuid::now_v7());
        let records = HashMap::from([(id, record.clone())]);
        let mut events = [
            (String::new(), id),
            (r#"{"kept":true}"#.to_owned(), id),
            (String::new(), lost),
        ];
        let slots = events.iter_mut().map(|(data, id)| (data, *id));
        assert_eq!(fill_entry_data(slots, &records), [lost]);
        assert_eq!(events[0].0, entry_data(&record));
        assert!(
            events[0].0.contains(r#""amount":"5.00""#),
            "{}",
            events[0].0
        );
        assert_eq!(events[1].0, r#"{"kept":true}"#, "stored data is kept");
        assert!(is_of_entry(&events[2].0), "left for the caller to report");
    }
}
