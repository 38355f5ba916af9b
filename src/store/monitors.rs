//! The event store's balance monitors: added and removed with the count on their account's
//! head in one transaction (a batch reads monitors only for heads that count some), and
//! listed.

use super::{Store, StoreError, retrying};
use crate::ledger::decide::Head;
use entity::{account, monitor};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

impl Store {
    /// Stores `row` and counts it on its account's head (created empty if the account has
    /// none yet).
    pub async fn add_monitor(&self, row: &monitor::Model) -> Result<(), StoreError> {
        retrying(|| async {
            let txn = self.begin_write().await?;
            monitor::Entity::insert(row.clone().into_active_model())
                .exec_without_returning(&txn)
                .await?;
            let mut head = Head::empty(row.app_id, &row.owner_id, &row.asset).row(row.account_id);
            head.monitors = 1;
            let count = OnConflict::column(account::Column::Id)
                .value(account::Column::Monitors, counted(1))
                .to_owned();
            account::Entity::insert(head.into_active_model())
                .on_conflict(count)
                .exec_without_returning(&txn)
                .await?;
            txn.commit().await?;
            Ok(())
        })
        .await
    }

    /// Removes `app`'s monitor `id`; false if it has none such.
    pub async fn remove_monitor(&self, app: Uuid, id: Uuid) -> Result<bool, StoreError> {
        retrying(|| async {
            let txn = self.begin_write().await?;
            let Some(row) = find(&txn, app, id).await? else {
                return Ok(false);
            };
            monitor::Entity::delete_by_id(id).exec(&txn).await?;
            account::Entity::update_many()
                .col_expr(account::Column::Monitors, counted(-1))
                .filter(account::Column::Id.eq(row.account_id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
            Ok(true)
        })
        .await
    }

    /// `app`'s monitors, of `owner` only if given, oldest first, at most `limit`.
    pub async fn monitors(
        &self,
        app: Uuid,
        owner: Option<&str>,
        limit: u64,
    ) -> Result<Vec<monitor::Model>, StoreError> {
        let mut query = monitor::Entity::find().filter(monitor::Column::AppId.eq(app));
        if let Some(owner) = owner {
            query = query.filter(monitor::Column::OwnerId.eq(owner));
        }
        Ok(query
            .order_by_asc(monitor::Column::CreatedAt)
            .order_by_asc(monitor::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?)
    }

    /// `app`'s monitor `id`, as it stands.
    pub async fn monitor(&self, app: Uuid, id: Uuid) -> Result<Option<monitor::Model>, StoreError> {
        find(self.conn(), app, id).await
    }
}

async fn find(
    db: &impl ConnectionTrait,
    app: Uuid,
    id: Uuid,
) -> Result<Option<monitor::Model>, StoreError> {
    Ok(monitor::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|m| m.app_id == app))
}

/// The head's monitor count moved by `by`.
fn counted(by: i32) -> sea_orm::sea_query::SimpleExpr {
    Expr::col((account::Entity, account::Column::Monitors)).add(by)
}
