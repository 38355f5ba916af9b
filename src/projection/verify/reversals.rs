//! The reversals' part of `verify`, on the event store's snapshot: what an entry's
//! reversals took back is the sum of the completed reversal entries that name it, never
//! more than it moved, and both sides name each other; the read model's rows are the event
//! store's once it has every entry.

use super::Report;
use crate::decimal::stored_decimal;
use crate::ledger::state::EntryState;
use crate::store::events;
use entity::{entry, read, reversal};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// Reversal rows by reversed entry.
pub(super) type Reversals = BTreeMap<Uuid, reversal::Model>;

pub(super) async fn store_reversals(db: &DatabaseTransaction) -> Result<Reversals, DbErr> {
    Ok(reversal::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.entry_id, r))
        .collect())
}

pub(super) async fn read_reversals(db: &DatabaseTransaction) -> Result<Reversals, DbErr> {
    Ok(read::reversal::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.entry_id, r.into()))
        .collect())
}

fn decimal(text: &str) -> Result<Decimal, DbErr> {
    stored_decimal(text).map_err(DbErr::Custom)
}

/// Checks the rows against the reversal entries and the entries they reverse.
pub(super) async fn check(
    db: &DatabaseTransaction,
    rows: &Reversals,
    report: &mut Report,
) -> Result<(), DbErr> {
    let reversals: Vec<entry::Model> = entry::Entity::find()
        .filter(entry::Column::Reverses.is_not_null())
        .all(db)
        .await?;
    let ids: Vec<Uuid> = reversals.iter().map(|e| e.id).collect();
    let completed = events::entries_reached(db, EntryState::Completed.as_str(), &ids).await?;
    let mut taken: HashMap<Uuid, (Decimal, HashSet<Uuid>)> = HashMap::new();
    for e in reversals.iter().filter(|e| completed.contains(&e.id)) {
        let Some(original) = e.reverses else { continue };
        let entry = taken.entry(original).or_default();
        entry.0 += decimal(&e.amount)?;
        entry.1.insert(e.id);
    }
    let originals: HashMap<Uuid, entry::Model> = entry::Entity::find()
        .filter(entry::Column::Id.is_in(taken.keys().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    for (original, (sum, ids)) in &taken {
        let row = rows.get(original);
        let listed: HashSet<Uuid> = row
            .and_then(|r| serde_json::from_str::<Vec<Uuid>>(&r.reversal_ids).ok())
            .unwrap_or_default()
            .into_iter()
            .collect();
        let recorded = row.map(|r| decimal(&r.reversed)).transpose()?;
        if recorded != Some(*sum) || &listed != ids {
            report.differ(format!(
                "event store: the reversals of {original} sum to {sum} ({} entries), but its row says {recorded:?} ({} listed)",
                ids.len(),
                listed.len()
            ));
        }
        let moved = originals
            .get(original)
            .map(|e| decimal(&e.amount))
            .transpose()?;
        if moved.is_none_or(|m| *sum > m) {
            report.differ(format!(
                "event store: the reversals of {original} take back {sum}, more than it moved ({moved:?})"
            ));
        }
    }
    for id in rows.keys().filter(|id| !taken.contains_key(id)) {
        report.differ(format!(
            "event store: entry {id} has a reversal row but no reversal"
        ));
    }
    Ok(())
}

/// The read model's rows against the event store's.
pub(super) fn compare(store: &Reversals, read: &Reversals, report: &mut Report) {
    for (id, row) in store {
        if read.get(id) != Some(row) {
            report.differ(format!(
                "read model: what has been reversed of {id} differs from the event store's"
            ));
        }
    }
    for id in read.keys().filter(|id| !store.contains_key(id)) {
        report.differ(format!(
            "read model: entry {id} has a reversal row the event store lacks"
        ));
    }
}
