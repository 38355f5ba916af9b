//! Holds: credits of an owner reserved for a debit whose final amount is not known yet,
//! until the hold is captured, voided or runs out. The rules alone, on holds in memory; the
//! batch decision applies them (`decide::holding`), and reads use them to answer at any
//! instant.
//!
//! A hold reserves parts of the owner's lots (its *shares*), drawn in the drawdown order
//! when it is placed. A lot keeps its remaining; what open holds reserve of it is not free
//! for other debits. So:
//! - `balance` counts held credits; `available = balance − held`.
//! - A capture draws its amount from the hold's shares, in their order, even from a lot that
//!   expired while the hold was open: the hold kept that part spendable.
//! - A share the hold gives back goes back to its lot, unless the lot expired before the
//!   hold ended: then the share is dead and the entry that ends the hold moves it to
//!   `@system:expired` (a lot's own expiry left it behind, kept for the hold).
//!
//! Invariants enforced here:
//! - **Exact end**: a hold holds at `t` only while `t < expires_at` and it is not closed
//!   ([`Hold::holds_at`]), to the microsecond, whether or not its expiry is recorded.
//! - **Shares are covered**: a hold's shares sum to its amount and were free when it was
//!   placed (the batch decision draws them from free parts only).

use super::record::EntryRecord;
use super::state::EntryState;
use crate::decimal::stored_decimal;
use entity::{hold, lot};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// One lot's part of a hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub lot_id: Uuid,
    pub amount: Decimal,
    /// The lot's expiry instant (it never changes), so that a read can tell a dead share
    /// without the lot.
    pub lot_expires_at: Option<i64>,
}

/// A hold as the ledger sees it. Times are µs since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub id: Uuid,
    pub account_id: Uuid,
    pub amount: Decimal,
    pub created_at: i64,
    pub expires_at: i64,
    /// `Held`, or how it ended: `Captured`, `Voided`, `Expired`.
    pub status: EntryState,
    pub closed_at: Option<i64>,
    pub shares: Vec<Share>,
}

impl Hold {
    /// The hold of a stored row. Rows are written by the ledger, so one that does not read
    /// back is corruption.
    pub fn from_row(row: &hold::Model) -> Result<Hold, String> {
        let corrupt = |what: String| format!("stored hold {}: {what}", row.id);
        let status: EntryState = row.status.parse().map_err(corrupt)?;
        if !status.is_hold_state() {
            return Err(corrupt(format!("{status} is not a hold's state")));
        }
        Ok(Hold {
            id: row.id,
            account_id: row.account_id,
            amount: stored_decimal(&row.amount).map_err(corrupt)?,
            created_at: row.created_at,
            expires_at: row.expires_at,
            status,
            closed_at: row.closed_at,
            shares: serde_json::from_str(&row.shares).map_err(|e| corrupt(e.to_string()))?,
        })
    }

    /// Whether the hold is not closed (it may have run out, its expiry not recorded yet).
    pub fn is_open(&self) -> bool {
        self.status == EntryState::Held
    }

    /// Whether the hold holds its amount at `at`: placed by then, not closed by then, and
    /// `at` before its expiry instant.
    pub fn holds_at(&self, at: i64) -> bool {
        self.created_at <= at && at < self.expires_at && self.closed_at.is_none_or(|c| c > at)
    }

    /// Whether, at `at`, the hold has run out and its expiry is not recorded yet.
    pub fn ran_out_unrecorded_at(&self, at: i64) -> bool {
        self.expires_at <= at
            && match self.status {
                EntryState::Held => true,
                EntryState::Expired => self.closed_at.is_some_and(|c| c > at),
                _ => false,
            }
    }

    /// Whether `share` is dead for this hold ending at `end`: its lot expired by then and
    /// before the hold's own expiry instant, so the lot's expiry kept the share for the hold
    /// ([`expiring_part`]) and it has no lot to go back to. (A lot that expires at the
    /// hold's instant takes the share back with its own expiry.)
    pub fn is_dead(&self, share: &Share, end: i64) -> bool {
        share
            .lot_expires_at
            .is_some_and(|e| e < self.expires_at && e <= end)
    }

    /// What the hold's dead shares hold when it ends at `end`.
    pub fn dead_at(&self, end: i64) -> Decimal {
        self.shares
            .iter()
            .filter(|s| self.is_dead(s, end))
            .map(|s| s.amount)
            .sum()
    }

    /// What the hold reserves of lot `lot_id`.
    pub fn share_of(&self, lot_id: Uuid) -> Decimal {
        self.shares
            .iter()
            .filter(|s| s.lot_id == lot_id)
            .map(|s| s.amount)
            .sum()
    }
}

/// What open holds hold at `at`.
pub fn held_at(holds: &[Hold], at: i64) -> Decimal {
    holds
        .iter()
        .filter(|h| h.holds_at(at))
        .map(|h| h.amount)
        .sum()
}

/// What an account's posted balance at `at` still counts that is gone by then, because the
/// expiry that moves it out is not recorded yet:
/// - of each lot that expired by `at`: what its expiry moves, its remaining less what open
///   holds that outlast it keep ([`expiring_part`]); once recorded, what it moved;
/// - of each hold that ran out by `at`: its dead shares.
///
/// `lots`: the account's lots whose expiry was not recorded by `at` (open now, or expired
/// after `at`), that expired by `at`. `holds`: the account's holds that may matter at `at`.
pub fn gone_at(at: i64, lots: &[lot::Model], holds: &[Hold]) -> Result<Decimal, String> {
    let mut gone = Decimal::ZERO;
    for lot in lots {
        gone += match (&lot.closed_amount, lot.status.as_str()) {
            (Some(moved), "expired") => stored_decimal(moved)?,
            _ => expiring_part(lot, holds)?,
        };
    }
    for hold in holds.iter().filter(|h| h.ran_out_unrecorded_at(at)) {
        gone += hold.dead_at(hold.expires_at);
    }
    Ok(gone)
}

/// What the expiry of `lot` moves out of it: its remaining, less what open holds that end
/// after the lot's expiry keep of it (their capture may still spend it).
pub fn expiring_part(lot: &lot::Model, holds: &[Hold]) -> Result<Decimal, String> {
    Ok(stored_decimal(&lot.remaining)? - kept(lot.id, lot.expires_at, holds.iter()))
}

/// What open `holds` that end after lot `lot_id`'s expiry (`expires_at`) keep of it: the
/// part its expiry leaves behind for their captures.
pub fn kept<'h>(
    lot_id: Uuid,
    expires_at: Option<i64>,
    holds: impl Iterator<Item = &'h Hold>,
) -> Decimal {
    let Some(expires_at) = expires_at else {
        return Decimal::ZERO;
    };
    holds
        .filter(|h| h.is_open() && h.expires_at > expires_at)
        .map(|h| h.share_of(lot_id))
        .sum()
}

/// Hold `row` as entry `entry` left it, if the entry placed or ended it: as placed (held),
/// or as it is (a hold ends once, so the entry that ended it left it as it is now).
pub fn left_by(entry: &entity::entry::Model, row: &hold::Model) -> Option<hold::Model> {
    if row.id == entry.id {
        return Some(hold::Model {
            status: EntryState::Held.as_str().to_owned(),
            closed_by: None,
            closed_at: None,
            captured: None,
            ..row.clone()
        });
    }
    (entry.hold_id == Some(row.id) && row.closed_by == Some(entry.id)).then(|| row.clone())
}

/// The ids of the holds the entries of `records` placed or ended: the holds to read back
/// for [`attach`].
pub fn ids_of(records: &HashMap<Uuid, EntryRecord>) -> Vec<Uuid> {
    records
        .values()
        .flat_map(|r| [Some(r.entry.id), r.entry.hold_id])
        .flatten()
        .collect()
}

/// Adds to each of `records` the hold of `found` it placed or ended, as it left it.
pub fn attach(records: &mut HashMap<Uuid, EntryRecord>, found: &HashMap<Uuid, hold::Model>) {
    for r in records.values_mut() {
        for id in [Some(r.entry.id), r.entry.hold_id].into_iter().flatten() {
            if let Some(row) = found.get(&id) {
                r.holds.extend(left_by(&r.entry, row));
            }
        }
    }
}

/// The shares as stored (JSON).
pub fn shares_json(shares: &[Share]) -> String {
    serde_json::to_string(shares).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests;
