//! Holds as projected: one by id with the entry that placed it, and an owner's holds. A
//! hold that is not projected yet is read from the event store, so an id a write answered
//! is never a 404.

use super::{Queries, QueryError, ReadModel};
use crate::ledger::command::{OwnerId, account_id};
use crate::ledger::record::EntryRecord;
use entity::hold;
use entity::read::hold as rm_hold;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// A hold as it stands, and the entry that placed it (its first transitions).
#[derive(Debug, Clone)]
pub struct HoldRecord {
    pub hold: hold::Model,
    pub placed: EntryRecord,
}

impl ReadModel {
    /// Up to `limit` holds of account `account`, newest first; with `open_only`, those not
    /// closed (some may have run out).
    async fn holds_of(
        &self,
        account: Uuid,
        open_only: bool,
        limit: u64,
    ) -> Result<Vec<hold::Model>, QueryError> {
        let mut query = rm_hold::Entity::find().filter(rm_hold::Column::AccountId.eq(account));
        if open_only {
            query = query.filter(rm_hold::Column::Status.eq("held"));
        }
        Ok(query
            .order_by_desc(rm_hold::Column::CreatedAt)
            .order_by_desc(rm_hold::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

impl Queries {
    /// An app's hold: from the read model, or from the event store when it is not
    /// projected yet. `None` if it does not exist or belongs to another app.
    pub async fn hold(&self, app_id: Uuid, id: Uuid) -> Result<Option<HoldRecord>, QueryError> {
        let projected = rm_hold::Entity::find_by_id(id)
            .one(self.read.conn())
            .await?
            .filter(|h| h.app_id == app_id);
        let hold = match projected {
            Some(row) => row.into(),
            None => match self.store.hold(app_id, id).await? {
                Some(row) => row,
                None => return Ok(None),
            },
        };
        let Some(placed) = self.entry(app_id, id).await? else {
            return Err(QueryError::Corrupt(format!(
                "hold {id} has no placing entry"
            )));
        };
        Ok(Some(HoldRecord { hold, placed }))
    }

    /// An app's hold row as the event store holds it now (what a capture or void acts on).
    pub async fn stored_hold_row(
        &self,
        app_id: Uuid,
        id: Uuid,
    ) -> Result<Option<hold::Model>, QueryError> {
        Ok(self.store.hold(app_id, id).await?)
    }

    /// An app's hold as the event store holds it now, with its placing entry (what the
    /// answer to a capture or void shows).
    pub async fn stored_hold(
        &self,
        app_id: Uuid,
        id: Uuid,
    ) -> Result<Option<HoldRecord>, QueryError> {
        let Some(hold) = self.store.hold(app_id, id).await? else {
            return Ok(None);
        };
        let Some(placed) = self.store.entry(app_id, id).await? else {
            return Err(QueryError::Corrupt(format!(
                "hold {id} has no placing entry"
            )));
        };
        Ok(Some(HoldRecord { hold, placed }))
    }

    /// Up to `limit` holds of `(app, owner, asset)` as projected, newest first, with the
    /// entries that placed them; with `open_only`, only those not closed.
    pub async fn owner_holds(
        &self,
        app_id: Uuid,
        owner: &OwnerId,
        asset: &str,
        open_only: bool,
        limit: u64,
    ) -> Result<Vec<HoldRecord>, QueryError> {
        let account = account_id(app_id, owner.as_str(), asset);
        let holds = self.read.holds_of(account, open_only, limit).await?;
        let ids: Vec<Uuid> = holds.iter().map(|h| h.id).collect();
        let mut placed = self.read.entries(&ids).await?;
        // A hold's end can be projected before its placement (a bus may reorder them); such
        // a hold is listed once its placement is projected too.
        Ok(holds
            .into_iter()
            .filter_map(|hold| {
                let placed = placed.remove(&hold.id)?;
                Some(HoldRecord { hold, placed })
            })
            .collect())
    }
}
