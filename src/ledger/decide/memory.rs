//! The event store's rows in memory, loaded as the event store loads them (`Wanted` →
//! `Loaded`) and written back as the batch transaction writes them: the store the
//! decision's property tests decide against.

use super::*;
use crate::ledger::command::account_id;
use crate::ledger::holds::Hold;
use crate::ledger::limits::Usage;
use crate::ledger::lots::Lot;
use std::collections::HashMap;
use std::collections::{BTreeMap, HashSet};

/// The event store's rows, as far as a batch reads and writes them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Stored {
    pub nonces: HashMap<(Uuid, String), (Uuid, String)>,
    pub heads: BTreeMap<Uuid, account::Model>,
    pub usage: HashMap<UsageKey, Usage>,
    pub postings: BTreeMap<(Uuid, i64), posting::Model>,
    pub lots: BTreeMap<Uuid, lot::Model>,
    pub holds: BTreeMap<Uuid, hold::Model>,
    pub reversed: BTreeMap<Uuid, reversal::Model>,
    /// Every recorded entry, as its batch recorded it.
    pub records: BTreeMap<Uuid, EntryRecord>,
    /// Each app's last event `seq`, and every event written.
    pub event_seqs: BTreeMap<Uuid, i64>,
    pub app_events: BTreeMap<(Uuid, i64), app_event::Model>,
}

impl Stored {
    pub fn load(&self, wanted: &Wanted) -> Loaded {
        let mut loaded = Loaded::default();
        for key in &wanted.nonces {
            if let Some(found) = self.nonces.get(key) {
                loaded.nonces.insert(key.clone(), found.clone());
            }
        }
        for id in &wanted.accounts {
            if let Some(a) = self.heads.get(id) {
                let head = Head {
                    app_id: a.app_id,
                    owner_id: a.owner_id.clone(),
                    asset: a.asset.clone(),
                    balance: a.balance.parse().expect("a stored balance"),
                    version: a.version,
                    updated_at: a.updated_at,
                    hash: a.hash.clone(),
                    shortfall: a.shortfall.parse().expect("a stored shortfall"),
                    status: a.status.parse().expect("a stored status"),
                    open_holds: a.open_holds,
                    monitors: a.monitors,
                };
                loaded.heads.insert(*id, head);
            }
        }
        for row in self.holds.values() {
            let open = wanted.lot_accounts.contains(&row.account_id) && row.status == "held";
            if open || wanted.holds.contains(&row.id) {
                let hold = Hold::from_row(row).expect("a stored hold");
                loaded.holds.push((hold, row.clone()));
            }
        }
        let reserved: HashSet<Uuid> = loaded
            .holds
            .iter()
            .flat_map(|(h, _)| h.shares.iter().map(|s| s.lot_id))
            .collect();
        for row in self.lots.values() {
            let open = wanted.lot_accounts.contains(&row.account_id) && row.status == "open";
            if open || reserved.contains(&row.id) || wanted.lots.contains(&row.id) {
                let lot = Lot::from_row(row).expect("a stored lot");
                loaded.lots.push((lot, row.clone()));
            }
        }
        for id in &wanted.reversals {
            if let Some(r) = self.reversed.get(id) {
                loaded.reversed.insert(*id, r.clone());
            }
        }
        for app in &wanted.apps {
            if let Some(seq) = self.event_seqs.get(app) {
                loaded.event_seqs.insert(*app, *seq);
            }
        }
        for ((app, op, window), owners) in &wanted.usage {
            for owner in owners {
                let key = (*app, owner.clone(), op.clone(), window.clone());
                if let Some(u) = self.usage.get(&key) {
                    loaded.usage.insert(key, u.clone());
                }
            }
        }
        loaded
    }

    pub fn write(&mut self, plan: &Plan) {
        for e in &plan.entries {
            let key = (e.app_id, e.nonce.clone());
            assert!(
                self.nonces
                    .insert(key, (e.id, e.request_hash.clone()))
                    .is_none()
            );
        }
        for p in &plan.postings {
            let at = (p.account_id, p.version);
            assert!(
                self.postings.insert(at, p.clone()).is_none(),
                "version {at:?} twice"
            );
        }
        for h in &plan.heads {
            self.heads.insert(h.id, h.clone());
        }
        for l in &plan.lots {
            self.lots.insert(l.id, l.clone());
        }
        for h in &plan.holds {
            self.holds.insert(h.id, h.clone());
        }
        for r in &plan.reversals {
            self.reversed.insert(r.entry_id, r.clone());
        }
        for r in plan.recorded() {
            self.records.insert(r.entry.id, r.clone());
        }
        for s in &plan.event_seqs {
            self.event_seqs.insert(s.app_id, s.seq);
        }
        for e in &plan.app_events {
            let at = (e.app_id, e.seq);
            assert!(
                self.app_events.insert(at, e.clone()).is_none(),
                "event {at:?} twice"
            );
        }
        for u in &plan.usage {
            let key = (
                u.app_id,
                u.owner_id.clone(),
                u.operation.clone(),
                u.window.clone(),
            );
            let total = u.total.parse().expect("a stored total");
            let (count, last_at) = (u.count, u.last_at);
            self.usage.insert(
                key,
                Usage {
                    count,
                    total,
                    last_at,
                },
            );
        }
    }
}

impl Stored {
    /// The balance of `owner`'s `asset` account of `app`.
    pub fn balance(&self, app: Uuid, owner: &str, asset: &str) -> Decimal {
        self.heads
            .get(&account_id(app, owner, asset))
            .map_or(Decimal::ZERO, |h| h.balance.parse().expect("a balance"))
    }
}
