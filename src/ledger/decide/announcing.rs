//! The events a batch's entries announce: each recorded entry's own ([`announced`]), then
//! the `balance.*` events of the monitors of the accounts it changed, numbered per app in
//! the order they are decided.
//!
//! Invariant enforced here: **`seq` is gap-free per app**. The batch reads each app's last
//! `seq` in its transaction and writes the new last one there, so two writers of one app
//! serialize on that row, and the numbers follow the commits.

use super::{Deciding, Touched};
use crate::ledger::app_events::{Announcement, EventType, announced};
use crate::ledger::monitors::Monitor;
use crate::ledger::record::EntryRecord;
use entity::{app_event, event_seq, monitor};
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// Event numbers and monitors, as the batch has moved them.
#[derive(Debug, Default)]
pub struct Announcing {
    seqs: HashMap<Uuid, i64>,
    apps: Touched<Uuid>,
    monitors: Vec<(Monitor, monitor::Model)>,
    /// Indexes into `monitors` of those whose side the batch set or changed.
    moved: Touched<usize>,
}

impl Announcing {
    /// Takes the event numbers and monitors out of what the batch loaded.
    pub fn new(loaded: &mut super::Loaded) -> Announcing {
        Announcing {
            seqs: std::mem::take(&mut loaded.event_seqs),
            monitors: std::mem::take(&mut loaded.monitors),
            ..Announcing::default()
        }
    }

    /// The rows to write: each app's last `seq`, and the monitors that moved.
    pub fn into_rows(self) -> (Vec<event_seq::Model>, Vec<monitor::Model>) {
        let seqs = self
            .apps
            .order
            .iter()
            .map(|app| event_seq::Model {
                app_id: *app,
                seq: self.seqs[app],
            })
            .collect();
        let monitors = self
            .moved
            .order
            .iter()
            .map(|&i| {
                let (monitor, row) = &self.monitors[i];
                monitor::Model {
                    state: monitor.side.map(|s| s.as_str().to_owned()),
                    ..row.clone()
                }
            })
            .collect();
        (seqs, monitors)
    }
}

impl Deciding {
    /// Lets every monitor that has not seen its account yet see it as the batch finds it,
    /// before any of the batch's entries.
    pub(super) fn first_sight(&mut self) {
        for i in 0..self.announcing.monitors.len() {
            if self.announcing.monitors[i].0.side.is_none() {
                let available = self.available(self.announcing.monitors[i].0.account_id);
                self.announcing.monitors[i].0.observe(available);
                self.announcing.moved.touch(&i);
            }
        }
    }

    /// Numbers and attaches to `record` what it announces, its monitors' events last.
    pub(super) fn announce(&mut self, record: &mut EntryRecord) {
        let mut all = announced(record);
        all.extend(self.monitors_moved_by(record));
        let app = record.entry.app_id;
        for announcement in all {
            let seq = self.announcing.seqs.entry(app).or_insert(0);
            *seq += 1;
            record.app_events.push(app_event::Model {
                app_id: app,
                seq: *seq,
                id: Uuid::now_v7(),
                event_type: announcement.event_type.as_str().to_owned(),
                owner_id: announcement.owner_id,
                occurred_at: self.now,
                entry_id: record.entry.id,
                data: announcement.data.map(|d| d.to_string()).unwrap_or_default(),
            });
            self.announcing.apps.touch(&app);
        }
    }

    /// The `balance.*` events of the monitors of the accounts `record` changed.
    fn monitors_moved_by(&mut self, record: &EntryRecord) -> Vec<Announcement> {
        if self.announcing.monitors.is_empty() {
            return Vec::new();
        }
        let changed: BTreeSet<Uuid> = record
            .postings
            .iter()
            .map(|p| p.account_id)
            .chain(record.holds.iter().map(|h| h.account_id))
            .collect();
        let mut fired = Vec::new();
        for i in 0..self.announcing.monitors.len() {
            let account = self.announcing.monitors[i].0.account_id;
            if !changed.contains(&account) {
                continue;
            }
            let available = self.available(account);
            let (monitor, row) = &mut self.announcing.monitors[i];
            let Some(event_type) = monitor.observe(available) else {
                continue;
            };
            self.announcing.moved.touch(&i);
            fired.push(balance(event_type, row, available, record.entry.id));
        }
        fired
    }

    /// `account`'s available balance as recorded: its posted balance less what its holds
    /// not closed yet hold.
    fn available(&self, account: Uuid) -> Decimal {
        let balance = self
            .loaded
            .heads
            .get(&account)
            .map_or(Decimal::ZERO, |h| h.balance);
        balance - self.book.held_open(account)
    }
}

fn balance(
    event_type: EventType,
    row: &monitor::Model,
    available: Decimal,
    entry_id: Uuid,
) -> Announcement {
    let data = json!({
        "monitor_id": row.id,
        "owner_id": row.owner_id,
        "asset": row.asset,
        "below": row.below,
        "available": available.to_string(),
        "entry_id": entry_id,
    });
    Announcement::new(event_type, &row.owner_id, data)
}
