//! The deliveries of pruned events: once finished, they go with their events.

use super::registry::DeliveryStatus;
use crate::store::Store;
use entity::{webhook, webhook_delivery};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Deletes the finished deliveries (delivered, or given up) of app `app_id`'s webhooks
/// whose event is at or below `seq`: their event's retention ended, and the events
/// themselves are pruned with it (`projection::retention`). A pending one stays: it is work
/// yet to do. One statement: ranges of the `(webhook_id, status, seq)` index, per webhook
/// of the app and status. Returns how many it deleted.
pub async fn prune_finished(store: &Store, app_id: Uuid, seq: i64) -> Result<u64, DbErr> {
    use webhook_delivery::Column as D;
    let hooks = Query::select()
        .column(webhook::Column::Id)
        .from(webhook::Entity)
        .and_where(webhook::Column::AppId.eq(app_id))
        .to_owned();
    let finished = [DeliveryStatus::Delivered, DeliveryStatus::Failed].map(|s| s.as_str());
    let deleted = webhook_delivery::Entity::delete_many()
        .filter(Expr::col(D::WebhookId).in_subquery(hooks))
        .filter(D::Status.is_in(finished))
        .filter(D::Seq.lte(seq))
        .exec(store.conn())
        .await?;
    Ok(deleted.rows_affected)
}
