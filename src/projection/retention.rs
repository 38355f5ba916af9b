//! The retention of apps' events: what occurred longer ago than the retention is deleted
//! from the event store and the read model, hourly, with the finished webhook deliveries of
//! those events. An app's events are pruned up to a number, and the read model's floor for
//! the app moves to it, so the feed starts after the floor and still never sees a gap
//! (`query::feed`).

use crate::query::ReadModel;
use crate::store::{Store, StoreError};
use crate::time::now_micros;
use entity::read::{app_event, event_floor};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use std::time::Duration;

/// How often the retention is applied.
const EVERY: Duration = Duration::from_secs(3600);

/// Applies the retention now and then every hour, for as long as the process runs.
pub fn start(store: Store, read: ReadModel, retention: Duration) {
    tokio::spawn(async move {
        loop {
            let cutoff = now_micros() - i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
            if let Err(e) = prune(&store, &read, cutoff).await {
                tracing::warn!(error = %e, "pruning apps' events failed; again in an hour");
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}

/// Deletes every app's events that occurred before `cutoff` (µs), from the read model
/// first (its floor moves with it), then from the event store, and the finished webhook
/// deliveries of those events. Returns how many events the event store deleted.
pub async fn prune(store: &Store, read: &ReadModel, cutoff: i64) -> Result<u64, StoreError> {
    let mut pruned = 0;
    for (app, seq) in store.app_events_before(cutoff).await? {
        let floor = event_floor::Model { app_id: app, seq };
        // A floor only rises: another instance's prune may have raised it further.
        let higher = OnConflict::column(event_floor::Column::AppId)
            .update_column(event_floor::Column::Seq)
            .action_and_where(
                Expr::col((event_floor::Entity, event_floor::Column::Seq)).lt(Expr::col((
                    Alias::new("excluded"),
                    event_floor::Column::Seq,
                ))),
            )
            .to_owned();
        event_floor::Entity::insert(floor.into_active_model())
            .on_conflict(higher)
            .exec_without_returning(read.conn())
            .await?;
        // Sharing the event store's database, the read model's events are the event
        // store's, pruned below.
        if !read.shares_store() {
            app_event::Entity::delete_many()
                .filter(app_event::Column::AppId.eq(app))
                .filter(app_event::Column::Seq.lte(seq))
                .exec(read.conn())
                .await?;
        }
        pruned += store.prune_app_events(app, seq).await?;
        crate::webhooks::retention::prune_finished(store, app, seq).await?;
    }
    Ok(pruned)
}
