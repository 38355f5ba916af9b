//! The lots' part of `verify`, on the event store's snapshot:
//! - every owner account's lots (open ones, and what holds keep of expired ones), less its
//!   shortfall, hold its balance;
//! - no lot is below zero, and each lot's remaining is what it granted less what its
//!   allocations took;
//! - no lot's expiry is recorded twice;
//! - the read model's lots of each account it has at the event store's version are the
//!   event store's.

use super::Report;
use crate::decimal::stored_decimal;
use entity::{account, allocation, entry, lot, read};
use operations::EXPIRY;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// The event store's lots, by id.
pub(super) type Lots = BTreeMap<Uuid, lot::Model>;

pub(super) async fn store_lots(db: &DatabaseTransaction) -> Result<Lots, DbErr> {
    Ok(lot::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect())
}

/// The read model's lots, by id.
pub(super) async fn read_lots(db: &DatabaseTransaction) -> Result<Lots, DbErr> {
    Ok(read::lot::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l.into()))
        .collect())
}

fn decimal(text: &str) -> Result<Decimal, DbErr> {
    stored_decimal(text).map_err(DbErr::Custom)
}

/// Checks the event store's lots against its heads (`accounts`) and allocations.
pub(super) async fn check(
    db: &DatabaseTransaction,
    lots: &Lots,
    accounts: &[account::Model],
    report: &mut Report,
) -> Result<(), DbErr> {
    let allocations: Vec<(Uuid, Uuid, String)> = allocation::Entity::find()
        .select_only()
        .columns([
            allocation::Column::EntryId,
            allocation::Column::LotId,
            allocation::Column::Amount,
        ])
        .into_tuple()
        .all(db)
        .await?;
    let mut taken: HashMap<Uuid, Decimal> = HashMap::new();
    for (_, lot_id, amount) in &allocations {
        *taken.entry(*lot_id).or_default() += decimal(amount)?;
    }
    let mut open: HashMap<Uuid, Decimal> = HashMap::new();
    for lot in lots.values() {
        let remaining = decimal(&lot.remaining)?;
        let left = decimal(&lot.amount)? - taken.get(&lot.id).copied().unwrap_or_default();
        if remaining < Decimal::ZERO || remaining != left {
            report.differ(format!(
                "event store: lot {} holds {remaining}, but granted {} less its allocations is {left}",
                lot.id, lot.amount
            ));
        }
        // Spent and voided lots hold nothing; an expired one holds what open holds kept
        // of it.
        *open.entry(lot.account_id).or_default() += remaining;
    }
    for a in accounts.iter().filter(|a| !a.owner_id.starts_with('@')) {
        let held = open.get(&a.id).copied().unwrap_or_default() - decimal(&a.shortfall)?;
        if held != decimal(&a.balance)? {
            report.differ(format!(
                "event store: the lots of {} ({}) less its shortfall {} hold {held}, not its balance {}",
                a.owner_id, a.asset, a.shortfall, a.balance
            ));
        }
    }
    expiries_once(db, &allocations, report).await
}

/// Reports every lot whose expiry was recorded more than once.
async fn expiries_once(
    db: &DatabaseTransaction,
    allocations: &[(Uuid, Uuid, String)],
    report: &mut Report,
) -> Result<(), DbErr> {
    let expiries: Vec<Uuid> = entry::Entity::find()
        .select_only()
        .column(entry::Column::Id)
        .filter(entry::Column::Operation.eq(EXPIRY))
        .into_tuple()
        .all(db)
        .await?;
    let expiries: HashSet<Uuid> = expiries.into_iter().collect();
    let mut counted: HashMap<Uuid, u32> = HashMap::new();
    for (entry_id, lot_id, _) in allocations {
        if expiries.contains(entry_id) {
            *counted.entry(*lot_id).or_default() += 1;
        }
    }
    for (lot, n) in counted.into_iter().filter(|(_, n)| *n > 1) {
        report.differ(format!(
            "event store: the expiry of lot {lot} is recorded {n} times"
        ));
    }
    Ok(())
}

/// The read model's lots of up-to-date accounts against the event store's.
pub(super) fn compare(store: &Lots, read: &Lots, current: &HashSet<Uuid>, report: &mut Report) {
    for lot in store.values().filter(|l| current.contains(&l.account_id)) {
        match read.get(&lot.id) {
            Some(projected) if projected == lot => {}
            Some(projected) => report.differ(format!(
                "read model: lot {} is {} with {} left; the event store has {} with {}",
                lot.id, projected.status, projected.remaining, lot.status, lot.remaining
            )),
            None => report.differ(format!("read model: lot {} is missing", lot.id)),
        }
    }
    for id in read.keys().filter(|id| !store.contains_key(id)) {
        report.differ(format!("read model: lot {id} is not in the event store"));
    }
}
