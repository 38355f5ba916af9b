//! The app's events become a webhook's deliveries. Each webhook keeps a cursor: the last of
//! its app's event numbers it has looked at. Events commit in `seq` order per app, so
//! reading `seq > cursor` in order never skips one; the deliveries of a page and the
//! cursor's move are one transaction, and the move is a compare-and-set on the cursor read,
//! so two instances fanning out at once (a lease just changing hands) write each delivery
//! once (the primary key `(webhook_id, seq)` would refuse a second anyway).

use super::registry::{DeliveryStatus, event_types};
use crate::ledger::app_events::{fill_entry_data, is_of_entry, wire};
use crate::store::{Store, entry_records};
use crate::time::now_micros;
use entity::{app_event, webhook, webhook_delivery};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

/// Events read per transaction.
const PAGE: u64 = 500;

/// The delivery of `event` to `webhook_id`, pending and due now; `None` for an event whose
/// stored data cannot be rendered (logged: it can never be sent).
fn delivery(webhook_id: uuid::Uuid, event: &app_event::Model) -> Option<webhook_delivery::Model> {
    let body = match wire(event) {
        Ok(body) => body.to_string(),
        Err(error) => {
            tracing::error!(%error, "webhooks: an event cannot be rendered; it is skipped");
            return None;
        }
    };
    let now = now_micros();
    Some(webhook_delivery::Model {
        webhook_id,
        seq: event.seq,
        event_id: event.id,
        event_type: event.event_type.clone(),
        owner_id: event.owner_id.clone(),
        occurred_at: event.occurred_at,
        body,
        status: DeliveryStatus::Pending.as_str().to_owned(),
        attempts: 0,
        next_attempt_at: now,
        first_attempt_at: None,
        last_attempt_at: None,
        last_status: None,
        last_error: None,
        last_latency_ms: None,
        created_at: now,
        delivered_at: None,
    })
}

/// Turns one page of the app's events after the webhook's cursor into deliveries of the
/// types it asks for, and moves the cursor past the page. How many events it read.
pub async fn fan_out(store: &Store, hook: &webhook::Model) -> Result<usize, DbErr> {
    use app_event::Column as E;
    let db = store.conn();
    let events = app_event::Entity::find()
        .filter(E::AppId.eq(hook.app_id))
        .filter(E::Seq.gt(hook.cursor))
        .order_by_asc(E::Seq)
        .limit(PAGE)
        .all(db)
        .await?;
    let (read, Some(last)) = (events.len(), events.last().map(|e| e.seq)) else {
        return Ok(0);
    };
    let wanted = event_types(hook);
    let mut sent: Vec<app_event::Model> = (events.into_iter())
        .filter(|e| wanted.contains(&e.event_type))
        .collect();
    with_entry_data(store, &mut sent).await?;
    let rows: Vec<_> = sent
        .iter()
        .filter_map(|e| delivery(hook.id, e))
        .map(sea_orm::IntoActiveModel::into_active_model)
        .collect();
    let txn = db.begin().await?;
    if !rows.is_empty() {
        use webhook_delivery::Column as D;
        webhook_delivery::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([D::WebhookId, D::Seq])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    let moved = webhook::Entity::update_many()
        .col_expr(webhook::Column::Cursor, Expr::value(last))
        .filter(webhook::Column::Id.eq(hook.id))
        .filter(webhook::Column::Cursor.eq(hook.cursor))
        .exec(&txn)
        .await?;
    if moved.rows_affected == 1 {
        txn.commit().await?;
    }
    Ok(read)
}

/// The data of the events of their entries, built from the entries (written in the same
/// transaction as their events: `app_events::entry_data`). An event whose entry cannot be
/// read keeps its empty data, and [`delivery`] skips it as it skips any event it cannot
/// render.
async fn with_entry_data(store: &Store, events: &mut [app_event::Model]) -> Result<(), DbErr> {
    let ids: Vec<Uuid> = (events.iter())
        .filter(|e| is_of_entry(&e.data))
        .map(|e| e.entry_id)
        .collect();
    let records = entry_records(store.conn(), &ids)
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    let slots = events.iter_mut().map(|e| (&mut e.data, e.entry_id));
    for entry_id in fill_entry_data(slots, &records) {
        tracing::error!(%entry_id, "webhooks: an event's entry cannot be read");
    }
    Ok(())
}
