//! The event store's reversal bookkeeping: what has been reversed of the entries read back.

use super::StoreError;
use crate::ledger::record::EntryRecord;
use entity::reversal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use uuid::Uuid;

/// Adds to `records` what has been reversed of each, if anything.
pub(super) async fn add_reversals(
    db: &impl ConnectionTrait,
    records: &mut HashMap<Uuid, EntryRecord>,
) -> Result<(), StoreError> {
    let ids: Vec<Uuid> = records.keys().copied().collect();
    for row in reversal::Entity::find()
        .filter(reversal::Column::EntryId.is_in(ids))
        .all(db)
        .await?
    {
        if let Some(r) = records.get_mut(&row.entry_id) {
            r.reversals.push(row);
        }
    }
    Ok(())
}
