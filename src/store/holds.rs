//! The event store's holds: one by id (what a capture or void acts on, and what its answer
//! shows), those of the entries read back, and the holds whose expiry is due (for the
//! recorder).

use super::{Store, StoreError};
use crate::ledger::holds;
use crate::ledger::record::EntryRecord;
use crate::ledger::state::EntryState;
use entity::hold;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use uuid::Uuid;

impl Store {
    /// Hold `id` as it stands now, if it belongs to `app_id`.
    pub async fn hold(&self, app_id: Uuid, id: Uuid) -> Result<Option<hold::Model>, StoreError> {
        Ok(hold::Entity::find_by_id(id)
            .one(self.conn())
            .await?
            .filter(|h| h.app_id == app_id))
    }

    /// Up to `limit` open holds whose expiry instant is at or before `now`, earliest first.
    pub async fn due_holds(&self, now: i64, limit: u64) -> Result<Vec<hold::Model>, StoreError> {
        Ok(hold::Entity::find()
            .filter(hold::Column::Status.eq(EntryState::Held.as_str()))
            .filter(hold::Column::ExpiresAt.lte(now))
            .order_by_asc(hold::Column::ExpiresAt)
            .limit(limit)
            .all(self.conn())
            .await?)
    }

    /// The earliest expiry instant of an open hold after `now`, if any.
    pub async fn next_hold_expiry(&self, now: i64) -> Result<Option<i64>, StoreError> {
        Ok(hold::Entity::find()
            .select_only()
            .column(hold::Column::ExpiresAt)
            .filter(hold::Column::Status.eq(EntryState::Held.as_str()))
            .filter(hold::Column::ExpiresAt.gt(now))
            .order_by_asc(hold::Column::ExpiresAt)
            .limit(1)
            .into_tuple()
            .one(self.conn())
            .await?)
    }
}

/// Adds to `records` the hold each placed or ended, as it left it.
pub(super) async fn add_holds(
    db: &impl ConnectionTrait,
    records: &mut HashMap<Uuid, EntryRecord>,
) -> Result<(), StoreError> {
    let found: HashMap<Uuid, hold::Model> = hold::Entity::find()
        .filter(hold::Column::Id.is_in(holds::ids_of(records)))
        .all(db)
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    holds::attach(records, &found);
    Ok(())
}
