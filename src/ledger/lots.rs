//! Credit lots: what a credit grants, the one order in which debits draw from an owner's
//! lots, and the instant at which a lot stops counting. The rules alone, on lots in memory:
//! the batch decision applies them to the lots it loads, like the heads.
//!
//! The drawdown order ([`Lot::drawdown_key`]):
//! 1. `priority` ascending (0–100, lower is spent first);
//! 2. `expires_at` ascending, lots that never expire last;
//! 3. promotional before paid;
//! 4. creation time ascending;
//! 5. lot id.
//!
//! Invariants enforced here:
//! - **Exact expiry**: a lot counts at `t` only while `t < expires_at`, to the microsecond
//!   ([`Lot::counts_at`]); a draw never takes from a lot that does not count.
//! - **No lot below zero**: a draw takes at most a lot's remaining; what no lot covers is
//!   returned as `uncovered`, never taken from a lot ([`draw`]).
//!
//! A transfer's receiver gets a lot per allocation with the drawn lot's terms; the batch
//! decision does that (`decide::effects`).

use crate::decimal::stored_decimal;
use entity::lot;
pub use operations::{Category, DEFAULT_PRIORITY, PRIORITIES};
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Where a lot stands. Only an open lot counts toward the balance, and only while its
/// expiry instant has not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    /// Drawn down to zero.
    Spent,
    /// Its expiry is recorded (an `EXPIRY` entry moved its remainder out).
    Expired,
    /// Voided (a `LOT_VOID` entry moved its remainder back).
    Voided,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Spent => "spent",
            Status::Expired => "expired",
            Status::Voided => "voided",
        }
    }

    /// A lot's status once an entry of `operation` drew from it and left `remaining`.
    pub fn after_draw(operation: &str, remaining: Decimal) -> Status {
        match operation {
            operations::EXPIRY => Status::Expired,
            operations::LOT_VOID => Status::Voided,
            _ if remaining > Decimal::ZERO => Status::Open,
            _ => Status::Spent,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Status, String> {
        [Status::Open, Status::Spent, Status::Expired, Status::Voided]
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a lot status"))
    }
}

/// A lot as the ledger sees it at one moment. Times are µs since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: Uuid,
    pub category: Category,
    pub priority: u8,
    /// The instant the lot stops counting, if it ever does.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    /// What the lot granted.
    pub amount: Decimal,
    /// What is left of it.
    pub remaining: Decimal,
    /// What open holds reserve of `remaining` at the instant the lot is looked at: not free
    /// for other debits (`ledger::holds`).
    pub reserved: Decimal,
}

impl Lot {
    /// Whether the lot counts at `at`: up to, and not at, its expiry instant.
    pub fn counts_at(&self, at: i64) -> bool {
        self.expires_at.is_none_or(|expiry| at < expiry)
    }

    /// What a debit may take from it: what holds do not reserve.
    pub fn free(&self) -> Decimal {
        self.remaining - self.reserved
    }

    /// Whether a draw at `at` may take from the lot.
    pub fn is_open_at(&self, at: i64) -> bool {
        self.free() > Decimal::ZERO && self.counts_at(at)
    }

    /// The lot's place in the drawdown order (see the module docs): lower draws first.
    pub fn drawdown_key(&self) -> (u8, bool, i64, Category, i64, Uuid) {
        (
            self.priority,
            self.expires_at.is_none(),
            self.expires_at.unwrap_or(i64::MAX),
            self.category,
            self.created_at,
            self.id,
        )
    }
}

impl Lot {
    /// The lot of a stored row. Rows are written by the ledger, so one that does not read
    /// back is corruption.
    pub fn from_row(row: &lot::Model) -> Result<Lot, String> {
        let corrupt = |what: &str| format!("stored lot {}: {what}", row.id);
        Ok(Lot {
            id: row.id,
            category: row.category.parse().map_err(|e: String| corrupt(&e))?,
            priority: u8::try_from(row.priority)
                .ok()
                .filter(|p| PRIORITIES.contains(p))
                .ok_or_else(|| corrupt("priority out of range"))?,
            expires_at: row.expires_at,
            created_at: row.created_at,
            amount: stored_decimal(&row.amount).map_err(|e| corrupt(&e))?,
            remaining: stored_decimal(&row.remaining).map_err(|e| corrupt(&e))?,
            reserved: Decimal::ZERO,
        })
    }
}

/// Lot `row` once entry `entry_id` of `operation`, whose owner posting was recorded at
/// `recorded_at`, took `amount` from it and left `remaining`. The write path and every
/// reader of the entry derive the lot's state with this one rule. A lot whose expiry is
/// recorded stays expired: what a hold kept of it is all a later draw takes.
pub fn after_draw(
    row: &lot::Model,
    entry_id: Uuid,
    operation: &str,
    amount: Decimal,
    remaining: Decimal,
    recorded_at: i64,
) -> lot::Model {
    if row.status == Status::Expired.as_str() {
        return lot::Model {
            remaining: remaining.to_string(),
            ..row.clone()
        };
    }
    let status = Status::after_draw(operation, remaining);
    let closed = matches!(status, Status::Expired | Status::Voided);
    lot::Model {
        remaining: remaining.to_string(),
        status: status.as_str().to_owned(),
        closed_by: closed.then_some(entry_id),
        closed_at: closed.then_some(recorded_at),
        closed_amount: closed.then(|| amount.to_string()),
        ..row.clone()
    }
}

/// Lot `row` as the entry that opened it left it: open, all of its amount remaining.
pub fn as_opened(row: lot::Model) -> lot::Model {
    lot::Model {
        remaining: row.amount.clone(),
        status: Status::Open.as_str().to_owned(),
        closed_by: None,
        closed_at: None,
        closed_amount: None,
        ..row
    }
}

/// One lot's part of a debit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocation {
    pub lot_id: Uuid,
    pub amount: Decimal,
}

/// What a debit took from the owner's lots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Draw {
    /// In drawdown order.
    pub allocations: Vec<Allocation>,
    /// The part that no open lot covered: zero unless the debit overdraws.
    pub uncovered: Decimal,
}

/// The lots open at `at`, in drawdown order.
pub fn open_at(lots: &[Lot], at: i64) -> Vec<&Lot> {
    let mut open: Vec<&Lot> = lots.iter().filter(|lot| lot.is_open_at(at)).collect();
    open.sort_by_key(|lot| lot.drawdown_key());
    open
}

/// What the lots that count at `at` hold free of holds.
pub fn available(lots: &[Lot], at: i64) -> Decimal {
    lots.iter()
        .filter(|lot| lot.counts_at(at))
        .map(Lot::free)
        .sum()
}

/// Draws `amount` (positive) at `at` from the free parts of `lots` in drawdown order,
/// lowering their remaining. Whether the owner may overdraw is the caller's to decide before it draws.
pub fn draw(lots: &mut [Lot], amount: Decimal, at: i64) -> Draw {
    let mut order: Vec<usize> = (0..lots.len())
        .filter(|&i| lots[i].is_open_at(at))
        .collect();
    order.sort_by_key(|&i| lots[i].drawdown_key());
    let mut left = amount;
    let mut allocations = Vec::new();
    for i in order {
        if left <= Decimal::ZERO {
            break;
        }
        let lot = &mut lots[i];
        let take = left.min(lot.free());
        lot.remaining -= take;
        left -= take;
        allocations.push(Allocation {
            lot_id: lot.id,
            amount: take,
        });
    }
    Draw {
        allocations,
        uncovered: left.max(Decimal::ZERO),
    }
}

/// A credit of `amount` to an account that owes `shortfall` (what earlier overdrawing debits
/// left uncovered): the credit covers the shortfall first. Returns `(covered, rest)`: what
/// goes to the shortfall, and what becomes the new lot's remaining.
pub fn cover(shortfall: Decimal, amount: Decimal) -> (Decimal, Decimal) {
    let covered = shortfall.max(Decimal::ZERO).min(amount);
    (covered, amount - covered)
}

#[cfg(test)]
mod tests;
