//! Which instance delivers a webhook's events: the one holding its lease (`lease_owner`,
//! `lease_until` in µs on the webhook's row). A lease is taken and renewed in a write
//! transaction (SERIALIZABLE on PostgreSQL and CockroachDB, IMMEDIATE on SQLite) that reads
//! the row and writes it only if the lease is this instance's or has lapsed, so two
//! instances taking at once cannot both win. An instance sends only while its lease has
//! time left (`dispatch` cuts a round of attempts before the lease ends), so no two
//! instances send a webhook's deliveries at once, clocks apart by less than the margin.

use super::registry::ACTIVE;
use crate::store::{Store, StoreError, retrying};
use crate::time::now_micros;
use entity::webhook;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set,
};
use std::time::Duration;
use uuid::Uuid;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// The active webhooks this instance may take: their lease is its own or has lapsed.
pub async fn takeable(store: &Store, instance: Uuid) -> Result<Vec<Uuid>, StoreError> {
    use webhook::Column as W;
    let free = Condition::any()
        .add(W::LeaseOwner.eq(instance))
        .add(W::LeaseUntil.lte(now_micros()));
    Ok(webhook::Entity::find()
        .select_only()
        .column(W::Id)
        .filter(W::State.eq(ACTIVE))
        .filter(free)
        .into_tuple()
        .all(store.conn())
        .await?)
}

/// Takes or renews the lease of webhook `id` for `length` from now; the webhook as it is
/// then, or `None` if it is gone, disabled or leased by another instance.
pub async fn take(
    store: &Store,
    id: Uuid,
    instance: Uuid,
    length: Duration,
) -> Result<Option<webhook::Model>, StoreError> {
    retrying(|| async {
        let txn = store.begin_write().await?;
        let found = webhook::Entity::find_by_id(id).one(&txn).await?;
        let now = now_micros();
        let Some(row) = found else {
            return Ok(None);
        };
        let mine = row.lease_owner == Some(instance) || row.lease_until <= now;
        if row.state != ACTIVE || !mine {
            return Ok(None);
        }
        let mut model = row.into_active_model();
        model.lease_owner = Set(Some(instance));
        model.lease_until = Set(now.saturating_add(micros(length)));
        let row = model.update(&txn).await?;
        txn.commit().await?;
        Ok(Some(row))
    })
    .await
}

/// Gives the lease of `id` up, if this instance holds it, so that another instance may
/// take the webhook at once.
pub async fn release(store: &Store, id: Uuid, instance: Uuid) -> Result<(), StoreError> {
    use webhook::Column as W;
    webhook::Entity::update_many()
        .col_expr(W::LeaseUntil, Expr::value(0i64))
        .col_expr(W::LeaseOwner, Expr::value(None::<Uuid>))
        .filter(W::Id.eq(id))
        .filter(W::LeaseOwner.eq(instance))
        .exec(store.conn())
        .await?;
    Ok(())
}
