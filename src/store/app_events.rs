//! The event store's app events past the retention: pruned per app up to a number, never
//! around one, so that what is kept of an app's events stays a run without a gap.

use super::{Store, StoreError};
use entity::app_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

impl Store {
    /// Per app, the last `seq` of its events that occurred before `cutoff` (µs).
    pub async fn app_events_before(&self, cutoff: i64) -> Result<Vec<(Uuid, i64)>, StoreError> {
        Ok(app_event::Entity::find()
            .select_only()
            .column(app_event::Column::AppId)
            .column_as(app_event::Column::Seq.max(), "seq")
            .filter(app_event::Column::OccurredAt.lt(cutoff))
            .group_by(app_event::Column::AppId)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Per app, the `seq` of its oldest kept event.
    pub async fn oldest_app_events(&self) -> Result<Vec<(Uuid, i64)>, StoreError> {
        Ok(app_event::Entity::find()
            .select_only()
            .column(app_event::Column::AppId)
            .column_as(app_event::Column::Seq.min(), "seq")
            .group_by(app_event::Column::AppId)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Deletes `app`'s events up to `seq`.
    pub async fn prune_app_events(&self, app: Uuid, seq: i64) -> Result<u64, StoreError> {
        Ok(app_event::Entity::delete_many()
            .filter(app_event::Column::AppId.eq(app))
            .filter(app_event::Column::Seq.lte(seq))
            .exec(self.conn())
            .await?
            .rows_affected)
    }
}
