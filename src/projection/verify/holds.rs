//! The holds' part of `verify`, on the event store's snapshot:
//! - each hold's shares sum to its amount, and its state is one a hold can be in;
//! - what open holds reserve of a lot is within what the lot holds, and each head counts
//!   its account's open holds;
//! - each ended hold names the entry that ended it, and that entry names the hold (and
//!   every entry that names a hold is the one that ended it, or failed);
//! - the read model's holds are the event store's, once it has every entry.

use super::Report;
use crate::ledger::holds::Hold;
use crate::ledger::state::EntryState;
use crate::store::events;
use entity::{account, entry, hold, lot, read};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Holds by id.
pub(super) type Holds = BTreeMap<Uuid, hold::Model>;

pub(super) async fn store_holds(db: &DatabaseTransaction) -> Result<Holds, DbErr> {
    Ok(hold::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect())
}

pub(super) async fn read_holds(db: &DatabaseTransaction) -> Result<Holds, DbErr> {
    Ok(read::hold::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|h| (h.id, h.into()))
        .collect())
}

/// Checks the event store's holds against themselves, `lots` and the entries that end them.
pub(super) async fn check(
    db: &DatabaseTransaction,
    holds: &Holds,
    (lots, accounts): (&BTreeMap<Uuid, lot::Model>, &[account::Model]),
    report: &mut Report,
) -> Result<(), DbErr> {
    let mut open: HashMap<Uuid, i32> = HashMap::new();
    for h in holds
        .values()
        .filter(|h| h.status == EntryState::Held.as_str())
    {
        *open.entry(h.account_id).or_default() += 1;
    }
    for a in accounts {
        let counted = open.get(&a.id).copied().unwrap_or(0);
        if a.open_holds != counted {
            report.differ(format!(
                "event store: the head of {} ({}) counts {} open holds; there are {counted}",
                a.owner_id, a.asset, a.open_holds
            ));
        }
    }
    let mut reserved: HashMap<Uuid, Decimal> = HashMap::new();
    for row in holds.values() {
        let hold = match Hold::from_row(row) {
            Ok(hold) => hold,
            Err(e) => {
                report.differ(format!("event store: {e}"));
                continue;
            }
        };
        let shares: Decimal = hold.shares.iter().map(|s| s.amount).sum();
        if shares != hold.amount {
            report.differ(format!(
                "event store: hold {} reserves {shares} in its shares, not its amount {}",
                hold.id, hold.amount
            ));
        }
        if hold.is_open() {
            for s in &hold.shares {
                *reserved.entry(s.lot_id).or_default() += s.amount;
            }
        }
    }
    for (lot_id, held) in reserved {
        let remaining = lots.get(&lot_id).map(|l| l.remaining.parse::<Decimal>());
        if !matches!(remaining, Some(Ok(r)) if r >= held) {
            report.differ(format!(
                "event store: open holds reserve {held} of lot {lot_id}, which holds {remaining:?}"
            ));
        }
    }
    check_links(db, holds, report).await
}

/// Every ended hold and the entry that ended it name each other; every entry that names a
/// hold ended it or failed.
async fn check_links(
    db: &DatabaseTransaction,
    holds: &Holds,
    report: &mut Report,
) -> Result<(), DbErr> {
    let naming: Vec<entry::Model> = entry::Entity::find()
        .filter(entry::Column::HoldId.is_not_null())
        .all(db)
        .await?;
    let ids: Vec<Uuid> = naming.iter().map(|e| e.id).collect();
    let failed = events::entries_reached(db, EntryState::Failed.as_str(), &ids).await?;
    for e in &naming {
        let ended = e
            .hold_id
            .and_then(|id| holds.get(&id))
            .is_some_and(|h| h.closed_by == Some(e.id));
        if !ended && !failed.contains(&e.id) {
            report.differ(format!(
                "event store: entry {} names hold {:?}, which it did not end",
                e.id, e.hold_id
            ));
        }
    }
    for h in holds
        .values()
        .filter(|h| h.status != EntryState::Held.as_str())
    {
        let by = h
            .closed_by
            .and_then(|id| naming.iter().find(|e| e.id == id));
        if by.is_none_or(|e| e.hold_id != Some(h.id)) {
            report.differ(format!(
                "event store: hold {} is {} but names no entry that ended it",
                h.id, h.status
            ));
        }
    }
    Ok(())
}

/// The read model's holds against the event store's.
pub(super) fn compare(store: &Holds, read: &Holds, report: &mut Report) {
    for hold in store.values() {
        match read.get(&hold.id) {
            Some(projected) if projected == hold => {}
            Some(projected) => report.differ(format!(
                "read model: hold {} is {}; the event store has {}",
                hold.id, projected.status, hold.status
            )),
            None => report.differ(format!("read model: hold {} is missing", hold.id)),
        }
    }
    for id in read.keys().filter(|id| !store.contains_key(id)) {
        report.differ(format!("read model: hold {id} is not in the event store"));
    }
}
