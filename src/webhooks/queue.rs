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
    Ok(first_per_owner(pending, now, most))
}

/// Of `pending` (in `seq` order), each owner's first, if due at `now`: at most `most`; and
/// the earliest instant another owner's first is due (`now` if one is due but beyond
/// `most`).
fn first_per_owner(
    pending: Vec<webhook_delivery::Model>,
    now: i64,
    most: usize,
) -> (Vec<webhook_delivery::Model>, Option<i64>) {
    let mut owners = HashSet::new();
    let mut due = Vec::new();
    let mut later: Option<i64> = None;
    for delivery in pending {
        if !owners.insert(delivery.owner_id.clone()) {
            continue;
        }
        let at = delivery.next_attempt_at;
        if at > now {
            later = Some(later.map_or(at, |l| l.min(at)));
        } else if due.len() < most {
            due.push(delivery);
        } else {
            later = Some(now);
        }
    }
    (due, later)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(seq: i64, owner: &str, at: i64) -> webhook_delivery::Model {
        webhook_delivery::Model {
            webhook_id: Uuid::nil(),
            seq,
            event_id: Uuid::new_v4(),
            event_type: "entry.completed".to_owned(),
            owner_id: owner.to_owned(),
            occurred_at: 0,
            body: "{}".to_owned(),
            status: "pending".to_owned(),
            attempts: 0,
            next_attempt_at: at,
            first_attempt_at: None,
            last_attempt_at: None,
            last_status: None,
            last_error: None,
            last_latency_ms: None,
            created_at: 0,
            delivered_at: None,
        }
    }

    fn seqs(due: &[webhook_delivery::Model]) -> Vec<i64> {
        due.iter().map(|d| d.seq).collect()
    }

    #[test]
    fn only_each_owners_first_goes_and_a_waiting_first_holds_its_owner_back() {
        let now = 100;
        let rows = vec![
            pending(1, "a", 50),
            pending(2, "b", 150),
            pending(3, "a", 0),
            pending(4, "b", 0),
            pending(5, "c", 100),
        ];
        let (due, later) = first_per_owner(rows, now, 16);
        assert_eq!(seqs(&due), [1, 5], "b's seq 4 waits for its seq 2");
        assert_eq!(later, Some(150));
    }

    #[test]
    fn beyond_the_share_of_a_turn_the_next_turn_comes_at_once() {
        let rows = (1..=5).map(|s| pending(s, &format!("o{s}"), 0)).collect();
        let (due, later) = first_per_owner(rows, 10, 3);
        assert_eq!(seqs(&due), [1, 2, 3]);
        assert_eq!(later, Some(10));
        let (none, nothing) = first_per_owner(Vec::new(), 10, 3);
        assert!(none.is_empty() && nothing.is_none());
    }
}
