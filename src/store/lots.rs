//! The event store's lots: one by id (what a void acts on), what lots whose expiry is not
//! recorded held at a time, and the lots whose expiry is due (for the recorder).

use super::{Store, StoreError};
use crate::decimal::stored_decimal;
use crate::ledger::lots::Status;
use entity::{lot, posting};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

impl Store {
    /// The lot `id` as it stands now, if it belongs to `app_id`.
    pub async fn lot(&self, app_id: Uuid, id: Uuid) -> Result<Option<lot::Model>, StoreError> {
        Ok(lot::Entity::find_by_id(id)
            .one(self.conn())
            .await?
            .filter(|l| l.app_id == app_id))
    }

    /// What the lots of `last`'s account that expired at or before `at` still held in the
    /// posted balance at `at`: their expiry was not recorded by then. A lot cannot be drawn
    /// from after its expiry, so what it held then is what it holds now, if it is still
    /// open, or what its expiry moved out.
    pub(super) async fn expired_unrecorded(
        &self,
        last: &posting::Model,
        at: i64,
    ) -> Result<Decimal, StoreError> {
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
        let mut held = Decimal::ZERO;
        for lot in lots {
            let text = match lot.closed_amount {
                Some(moved) if lot.status == Status::Expired.as_str() => moved,
                _ => lot.remaining,
            };
            held += stored_decimal(&text).map_err(StoreError::Corrupt)?;
        }
        Ok(held)
    }

    /// Up to `limit` open lots whose expiry instant is at or before `now`, earliest first.
    pub async fn due_lots(&self, now: i64, limit: u64) -> Result<Vec<lot::Model>, StoreError> {
        Ok(lot::Entity::find()
            .filter(lot::Column::Status.eq(Status::Open.as_str()))
            .filter(lot::Column::ExpiresAt.is_not_null())
            .filter(lot::Column::ExpiresAt.lte(now))
            .order_by_asc(lot::Column::ExpiresAt)
            .limit(limit)
            .all(self.conn())
            .await?)
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
