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
//! - **Moving credits never extends their life**: the receiver of a transfer gets a lot per
//!   allocation with the drawn lot's category, priority and expiry ([`transferred`]).

use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Lowest and highest priority; lower is spent first.
pub const PRIORITIES: std::ops::RangeInclusive<u8> = 0..=100;
/// The priority of a lot whose operation or request names none.
pub const DEFAULT_PRIORITY: u8 = 50;

/// What kind of credit a lot holds. The order of the variants is the drawdown order's third
/// rule: promotional credits are spent before paid ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Promotional,
    Paid,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Promotional => "promotional",
            Category::Paid => "paid",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;

    fn from_str(s: &str) -> Result<Category, String> {
        match s {
            "promotional" => Ok(Category::Promotional),
            "paid" => Ok(Category::Paid),
            other => Err(format!(
                "category must be \"promotional\" or \"paid\", not {other:?}"
            )),
        }
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
}

impl Lot {
    /// Whether the lot counts at `at`: up to, and not at, its expiry instant.
    pub fn counts_at(&self, at: i64) -> bool {
        self.expires_at.is_none_or(|expiry| at < expiry)
    }

    /// Whether a draw at `at` may take from the lot.
    pub fn is_open_at(&self, at: i64) -> bool {
        self.remaining > Decimal::ZERO && self.counts_at(at)
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

/// What the lots that count at `at` hold.
pub fn available(lots: &[Lot], at: i64) -> Decimal {
    lots.iter()
        .filter(|lot| lot.counts_at(at))
        .map(|lot| lot.remaining)
        .sum()
}

/// Draws `amount` (positive) at `at` from `lots` in drawdown order, lowering their
/// remaining. Whether the owner may overdraw is the caller's to decide before it draws.
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
        let take = left.min(lot.remaining);
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

/// The receiver's lots of a transfer that made `draw` from the sender's `from` lots: one per
/// allocation, with the drawn lot's category, priority and expiry, created at `at`; `ids`
/// names them in order.
pub fn transferred(draw: &Draw, from: &[Lot], at: i64, mut ids: impl FnMut() -> Uuid) -> Vec<Lot> {
    draw.allocations
        .iter()
        .filter_map(|a| {
            let source = from.iter().find(|lot| lot.id == a.lot_id)?;
            Some(Lot {
                id: ids(),
                category: source.category,
                priority: source.priority,
                expires_at: source.expires_at,
                created_at: at,
                amount: a.amount,
                remaining: a.amount,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
