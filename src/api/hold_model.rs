//! The JSON shapes of holds.

use super::model::{AllocationView, Transition};
use super::text::{AmountText, Text};
use crate::ledger::EntryRecord;
use crate::ledger::holds::Share;
use crate::ledger::state::EntryState;
use crate::time::to_rfc3339;
use entity::hold;
use poem_openapi::Object;
use uuid::Uuid;

/// A hold to place.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewHold {
    /// A debit operation of the app's catalog that allows holds, e.g. `CREDIT_SPEND`.
    pub operation: Text,
    /// The owner whose credits the hold reserves.
    pub owner_id: Text,
    /// Unique per app, as for entries: the same nonce and request replay the first answer.
    pub nonce: Text,
    /// A decimal string such as `"12.50"`: the most the capture may debit.
    pub amount: Option<AmountText>,
    /// How long the hold lasts, from now; or give `expires_at`.
    pub expires_in_seconds: Option<i64>,
    /// RFC 3339, in the future: when the hold ends; or give `expires_in_seconds`.
    pub expires_at: Option<Text>,
    /// Any JSON object, kept with the hold's entry (at most 4 KiB, 8 levels deep).
    pub metadata: Option<serde_json::Value>,
}

/// A capture of a hold.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewCapture {
    /// Unique per app, as for entries: the same nonce replays the first answer.
    pub nonce: Text,
    /// What to debit, at most the hold's amount; all of it when left out.
    pub amount: Option<AmountText>,
}

/// A void of a hold.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewHoldVoid {
    /// Unique per app, as for entries: the same nonce replays the first answer.
    pub nonce: Text,
}

/// A hold: credits reserved for a debit until it is captured, voided or expires.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct HoldView {
    /// The id of the entry that placed it.
    pub id: Uuid,
    pub nonce: String,
    /// `held`, `captured`, `voided` or `expired`. A hold is `expired` from its expiry
    /// instant on, whether or not its expiry is recorded yet.
    pub state: String,
    pub owner_id: String,
    pub operation: String,
    pub asset: String,
    /// What it reserves: the most its capture may debit.
    pub amount: String,
    /// What its capture debited.
    pub captured_amount: Option<String>,
    pub expires_at: String,
    /// The lots' parts it reserves, in the drawdown order.
    pub allocations: Vec<AllocationView>,
    /// Every step: the workflow of its placement, then how it ended.
    pub transitions: Vec<Transition>,
    /// The entry that captured, voided or expired it, once recorded.
    pub closed_by: Option<Uuid>,
    pub metadata: Option<serde_json::Value>,
    pub created_at: String,
}

/// An owner's holds, newest first.
#[derive(Debug, Object)]
pub struct HoldList {
    pub holds: Vec<HoldView>,
}

impl HoldView {
    /// The hold `row`, placed by `placed`, as it stands at `now`.
    pub fn at(placed: &EntryRecord, row: &hold::Model, now: i64) -> HoldView {
        let status: EntryState = row.status.parse().unwrap_or(EntryState::Held);
        let lapsed = status == EntryState::Held && now >= row.expires_at;
        // An expiry is effective at the hold's instant, whenever it is recorded.
        let end = match status {
            EntryState::Held if lapsed => Some((EntryState::Expired, row.expires_at)),
            EntryState::Expired => Some((status, row.expires_at)),
            EntryState::Captured | EntryState::Voided => {
                Some((status, row.closed_at.unwrap_or(row.expires_at)))
            }
            _ => None,
        };
        let mut transitions: Vec<Transition> = placed
            .events
            .iter()
            .map(|ev| Transition {
                state: ev.state.clone(),
                at: to_rfc3339(ev.at),
            })
            .collect();
        transitions.extend(end.map(|(state, at)| Transition {
            state: state.as_str().to_owned(),
            at: to_rfc3339(at),
        }));
        let shares: Vec<Share> = serde_json::from_str(&row.shares).unwrap_or_default();
        HoldView {
            id: row.id,
            nonce: placed.entry.nonce.clone(),
            state: end.map_or(status, |(s, _)| s).as_str().to_owned(),
            owner_id: row.owner_id.clone(),
            operation: row.operation.clone(),
            asset: row.asset.clone(),
            amount: row.amount.clone(),
            captured_amount: row.captured.clone(),
            expires_at: to_rfc3339(row.expires_at),
            allocations: shares
                .iter()
                .map(|s| AllocationView {
                    lot_id: s.lot_id,
                    amount: s.amount.to_string(),
                })
                .collect(),
            transitions,
            closed_by: row.closed_by,
            metadata: placed
                .entry
                .metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok()),
            created_at: to_rfc3339(row.created_at),
        }
    }
}
