//! Which of a webhook's deliveries go out next: each owner's first pending delivery, in
//! `seq` order, when it is due. An owner's later deliveries wait until the first is
//! delivered or given up, so each owner's events arrive in order; owners do not wait for
//! each other.

use super::registry::DeliveryStatus;
use crate::store::Store;
use entity::webhook_delivery;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashSet;
use uuid::Uuid;

/// Pending deliveries looked at per turn: the owners whose first pending delivery is among
/// them are served this turn, the others at a later one (a window on a prefix in `seq`
/// order, so an owner's first delivery in it is its first of all).
const WINDOW: u64 = 256;

/// What is due now of webhook `id`: at most `most` deliveries, each the first pending one
/// of its owner; and the earliest instant (µs) another owner's first is due, if any.
pub async fn heads(
    store: &Store,
    id: Uuid,
    now: i64,
    most: usize,
) -> Result<(Vec<webhook_delivery::Model>, Option<i64>), DbErr> {
    use webhook_delivery::Column as D;
    let pending = webhook_delivery::Entity::find()
        .filter(D::WebhookId.eq(id))
        .filter(D::Status.eq(DeliveryStatus::Pending.as_str()))
        .order_by_asc(D::Seq)
        .limit(WINDOW)
        .all(store.conn())
        .await?;
    let mut owners = HashSet::new();
    let mut due = Vec::new();
    let mut later: Option<i64> = None;
    for delivery in pending {
        if !owners.insert(delivery.owner_id.clone()) {
            continue;
        }
        if delivery.next_attempt_at > now {
            later = Some(later.map_or(delivery.next_attempt_at, |l| {
                l.min(delivery.next_attempt_at)
            }));
        } else if due.len() < most {
            due.push(delivery);
        } else {
            // Due now, but beyond this turn's share: the next turn comes at once.
            later = Some(now);
        }
    }
    Ok((due, later))
}
