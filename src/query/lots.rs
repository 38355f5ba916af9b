//! Lots as projected: an owner's lots in drawdown order, and what lots whose expiry is not
//! recorded yet still hold in a projected balance.

use super::{QueryError, ReadModel};
use crate::decimal::stored_decimal;
use crate::ledger::command::account_id;
use crate::ledger::lots::{Lot, Status};
use entity::read::lot;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

impl ReadModel {
    /// The lots of account `(app, owner, asset)`: the open ones in drawdown order, then,
    /// with `closed`, the spent, expired and voided ones, newest first. A lot whose expiry
    /// instant has passed at `now` is not open, whether or not its expiry is recorded.
    pub(super) async fn lots(
        &self,
        app_id: Uuid,
        owner: &str,
        asset: &str,
        closed: bool,
        now: i64,
    ) -> Result<Vec<entity::lot::Model>, QueryError> {
        let mut query =
            lot::Entity::find().filter(lot::Column::AccountId.eq(account_id(app_id, owner, asset)));
        if !closed {
            query = query.filter(lot::Column::Status.eq(Status::Open.as_str()));
        }
        let mut open = Vec::new();
        let mut rest = Vec::new();
        for row in query.all(self.conn()).await? {
            let row: entity::lot::Model = row.into();
            let lot = Lot::from_row(&row).map_err(QueryError::Corrupt)?;
            if row.status == Status::Open.as_str() && lot.counts_at(now) {
                open.push((lot.drawdown_key(), row));
            } else if closed {
                rest.push(row);
            }
        }
        open.sort_by_key(|(key, _)| *key);
        rest.sort_by_key(|row| {
            std::cmp::Reverse((row.closed_at.unwrap_or(row.created_at), row.id))
        });
        Ok(open.into_iter().map(|(_, row)| row).chain(rest).collect())
    }

    /// What the open lots of `account` that expired at or before `now` hold: counted in
    /// the posted balance until their expiry is recorded, and in no balance read at `now`.
    pub(super) async fn expired_unrecorded(
        &self,
        account: Uuid,
        now: i64,
    ) -> Result<Decimal, QueryError> {
        let lots = lot::Entity::find()
            .filter(lot::Column::AccountId.eq(account))
            .filter(lot::Column::Status.eq(Status::Open.as_str()))
            .filter(lot::Column::ExpiresAt.lte(now))
            .all(self.conn())
            .await?;
        let mut held = Decimal::ZERO;
        for lot in lots {
            held += stored_decimal(&lot.remaining).map_err(QueryError::Corrupt)?;
        }
        Ok(held)
    }
}
