//! Lots as projected: an owner's lots in drawdown order, and what lots whose expiry is not
//! recorded yet still hold in a projected balance.

use super::{QueryError, ReadModel};
use crate::ledger::command::account_id;
use crate::ledger::holds::{self, Hold};
use crate::ledger::lots::{Lot, Status};
use crate::ledger::state::EntryState;
use entity::read::{hold, lot};
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

    /// What `account`'s projected balance still counts at `now` that is gone by then
    /// (`ledger::holds::gone_at`), and what its open holds hold at `now`.
    pub(super) async fn gone_and_held(
        &self,
        account: Uuid,
        now: i64,
    ) -> Result<(Decimal, Decimal), QueryError> {
        let lots: Vec<entity::lot::Model> = lot::Entity::find()
            .filter(lot::Column::AccountId.eq(account))
            .filter(lot::Column::Status.eq(Status::Open.as_str()))
            .filter(lot::Column::ExpiresAt.lte(now))
            .all(self.conn())
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        let holds = self.open_holds(account).await?;
        let gone = holds::gone_at(now, &lots, &holds).map_err(QueryError::Corrupt)?;
        Ok((gone, holds::held_at(&holds, now)))
    }

    /// The holds of `account` that are not closed (some may have run out).
    async fn open_holds(&self, account: Uuid) -> Result<Vec<Hold>, QueryError> {
        hold::Entity::find()
            .filter(hold::Column::AccountId.eq(account))
            .filter(hold::Column::Status.eq(EntryState::Held.as_str()))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|h| Hold::from_row(&h.into()).map_err(QueryError::Corrupt))
            .collect()
    }
}
