//! Balances as projected, optionally once the read model has reached a version.

use super::wake::wait_for_change;
use super::{QueryError, ReadModel};
use crate::decimal::stored_decimal;
use crate::ledger::command::account_id;
use crate::store::Balance;
use crate::time::now_micros;
use entity::read::account;
use sea_orm::EntityTrait;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

impl ReadModel {
    /// The balance and version of account `(app, owner, asset)` as projected, less what
    /// expiries due by now but not recorded yet will move out, and what its open holds
    /// hold now.
    pub(super) async fn balance(
        &self,
        app_id: Uuid,
        owner: &str,
        asset: &str,
    ) -> Result<Balance, QueryError> {
        let id = account_id(app_id, owner, asset);
        let row = account::Entity::find_by_id(id).one(self.conn()).await?;
        let Some(a) = row else {
            return Ok(Balance::default());
        };
        let posted = stored_decimal(&a.balance).map_err(QueryError::Corrupt)?;
        let (gone, held) = self.gone_and_held(id, now_micros()).await?;
        Ok(Balance {
            balance: posted - gone,
            version: a.version,
            held,
        })
    }

    /// The balance once the read model has applied at least `min_version` of the account,
    /// waiting up to `wait` for it (read-your-writes: pass the version a write answered).
    pub(super) async fn balance_at_least(
        &self,
        app_id: Uuid,
        owner: &str,
        asset: &str,
        min_version: i64,
        wait: Duration,
    ) -> Result<Balance, QueryError> {
        let deadline = Instant::now() + wait;
        // Subscribed before the first look, so that a projection between the look and the
        // wait is not missed.
        let mut changes = self.changes();
        loop {
            let found = self.balance(app_id, owner, asset).await?;
            if found.version >= min_version {
                return Ok(found);
            }
            if Instant::now() >= deadline {
                return Err(QueryError::Behind {
                    want: min_version,
                    have: found.version,
                });
            }
            wait_for_change(&mut changes, deadline).await;
        }
    }
}
