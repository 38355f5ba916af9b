//! The event store's lots: those of an entry (opened and drawn from), one by id (what a
//! void acts on), what lots whose expiry is not
//! recorded held at a time, and the lots whose expiry is due (for the recorder).

use super::{Store, StoreError};
use crate::decimal::stored_decimal;
use crate::ledger::command::owner_accounts;
use crate::ledger::holds::{self, Hold};
use crate::ledger::lots::{self, Status};
use crate::ledger::record::EntryRecord;
use crate::ledger::state::EntryState;
use entity::{account, allocation, hold, lot, posting};
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Adds to `records` (the entries `ids`) the lots each opened, as opened, and the lots
/// each drew from, as it left them, with its allocations.
pub(super) async fn add_lots(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    records: &mut HashMap<Uuid, EntryRecord>,
) -> Result<(), StoreError> {
    // Found through the accounts the entries credited, whose index the lots have anyway.
    let credited: Vec<Uuid> = records
        .values()
        .flat_map(|r| {
            let e = &r.entry;
            owner_accounts(
                e.app_id,
                &e.owner_id,
                e.counterparty_id.as_deref(),
                &e.asset,
            )
        })
        .collect();
    let opened = lot::Entity::find()
        .filter(lot::Column::AccountId.is_in(credited))
        .filter(lot::Column::EntryId.is_in(ids.to_vec()))
        .order_by_asc(lot::Column::Id)
        .all(db)
        .await?;
    for lot in opened {
        if let Some(r) = lot.entry_id.and_then(|id| records.get_mut(&id)) {
            r.lots.push(lots::as_opened(lot));
        }
    }
    let allocations = allocation::Entity::find()
        .filter(allocation::Column::EntryId.is_in(ids.to_vec()))
        .order_by_asc(allocation::Column::Seq)
        .all(db)
        .await?;
    if allocations.is_empty() {
        return Ok(());
    }
    let drawn: HashMap<Uuid, lot::Model> = lot::Entity::find()
        .filter(lot::Column::Id.is_in(allocations.iter().map(|a| a.lot_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    for a in allocations {
        if let Some(r) = records.get_mut(&a.entry_id) {
            let row = drawn.get(&a.lot_id).ok_or_else(|| {
                StoreError::Corrupt(format!("allocation of {} names no lot", a.entry_id))
            })?;
            r.lots.push(left_by(r, row, &a)?);
            r.allocations.push(a);
        }
    }
    Ok(())
}

impl Store {
    /// The lot `id` as it stands now, with the head of its account, if it belongs to
    /// `app_id`.
    pub async fn lot(
        &self,
        app_id: Uuid,
        id: Uuid,
    ) -> Result<Option<(lot::Model, account::Model)>, StoreError> {
        let found = lot::Entity::find_by_id(id).all(self.conn()).await?;
        Ok(self
            .with_accounts(found)
            .await?
            .pop()
            .filter(|(_, account)| account.app_id == app_id))
    }

    /// What `last`'s account's posted balance at `at` still counted that was gone by then
    /// (`ledger::holds::gone_at`), and what its holds held at `at`. A lot cannot be drawn
    /// from after its expiry but by a hold's capture from the share it kept, so what its
    /// expiry moves is what it holds now less what open holds keep, or what its recorded
    /// expiry moved.
    pub(super) async fn gone_and_held(
        &self,
        last: &posting::Model,
        at: i64,
    ) -> Result<(Decimal, Decimal), StoreError> {
        let lots = lot::Entity::find()
            .filter(lot::Column::AccountId.eq(last.account_id))
            .filter(lot::Column::ExpiresAt.lte(at))
            .filter(lot::Column::CreatedAt.lte(at))
            .filter(
                Condition::any()
                    .add(lot::Column::Status.eq(Status::Open.as_str()))
                    .add(
                        Condition::all()
                            .add(lot::Column::Status.eq(Status::Expired.as_str()))
                            .add(lot::Column::ClosedAt.gt(at)),
                    ),
            )
            .all(self.conn())
            .await?;
        let holds = hold::Entity::find()
            .filter(hold::Column::AccountId.eq(last.account_id))
            .filter(hold::Column::CreatedAt.lte(at))
            .filter(
                Condition::any()
                    .add(hold::Column::Status.eq(EntryState::Held.as_str()))
                    .add(hold::Column::ClosedAt.gt(at)),
            )
            .all(self.conn())
            .await?
            .iter()
            .map(Hold::from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::Corrupt)?;
        let gone = holds::gone_at(at, &lots, &holds).map_err(StoreError::Corrupt)?;
        Ok((gone, holds::held_at(&holds, at)))
    }

    /// Up to `limit` open lots whose expiry instant is at or before `now`, earliest first.
    /// Each with the head of its account.
    pub async fn due_lots(
        &self,
        now: i64,
        limit: u64,
    ) -> Result<Vec<(lot::Model, account::Model)>, StoreError> {
        let due = lot::Entity::find()
            .filter(lot::Column::Status.eq(Status::Open.as_str()))
            .filter(lot::Column::ExpiresAt.is_not_null())
            .filter(lot::Column::ExpiresAt.lte(now))
            .order_by_asc(lot::Column::ExpiresAt)
            .limit(limit)
            .all(self.conn())
            .await?;
        self.with_accounts(due).await
    }

    /// Each of `lots` with the head of its account (which names its app, owner and asset).
    async fn with_accounts(
        &self,
        lots: Vec<lot::Model>,
    ) -> Result<Vec<(lot::Model, account::Model)>, StoreError> {
        if lots.is_empty() {
            return Ok(Vec::new());
        }
        let accounts: HashMap<Uuid, account::Model> = account::Entity::find()
            .filter(account::Column::Id.is_in(lots.iter().map(|l| l.account_id)))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        lots.into_iter()
            .map(|lot| match accounts.get(&lot.account_id) {
                Some(account) => Ok((lot, account.clone())),
                None => Err(StoreError::Corrupt(format!(
                    "lot {} has no account",
                    lot.id
                ))),
            })
            .collect()
    }

    /// The earliest expiry instant of an open lot after `now`, if any.
    pub async fn next_expiry(&self, now: i64) -> Result<Option<i64>, StoreError> {
        let next: Option<Option<i64>> = lot::Entity::find()
            .select_only()
            .column(lot::Column::ExpiresAt)
            .filter(lot::Column::Status.eq(Status::Open.as_str()))
            .filter(lot::Column::ExpiresAt.gt(now))
            .order_by_asc(lot::Column::ExpiresAt)
            .limit(1)
            .into_tuple()
            .one(self.conn())
            .await?;
        Ok(next.flatten())
    }
}

/// Lot `row` as allocation `a` of `record` left it.
fn left_by(
    record: &EntryRecord,
    row: &lot::Model,
    a: &allocation::Model,
) -> Result<lot::Model, StoreError> {
    let recorded_at = record
        .postings
        .iter()
        .find(|p| p.account_id == a.account_id)
        .map_or(record.entry.created_at, |p| p.recorded_at);
    Ok(lots::after_draw(
        row,
        a.entry_id,
        &record.entry.operation,
        stored_decimal(&a.amount).map_err(StoreError::Corrupt)?,
        stored_decimal(&a.remaining_after).map_err(StoreError::Corrupt)?,
        recorded_at,
    ))
}
