//! One operation of the catalog and its limits.

use crate::amount::{AmountError, AmountRule};
use crate::lot::LotRule;
use rust_decimal::Decimal;
use serde::Deserialize;

/// Which way an entry of this operation moves money, seen from the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The counter-account pays the owner.
    Credit,
    /// The owner pays the counter-account.
    Debit,
    /// The owner pays another owner, the request's `counterparty_id`.
    Transfer,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Credit => "credit",
            Direction::Debit => "debit",
            Direction::Transfer => "transfer",
        }
    }
}

/// The period a limit counts over. Days and hours are UTC and aligned to the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    Hour,
    Day,
    Lifetime,
}

impl Window {
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Lifetime => "lifetime",
        }
    }

    /// The key of the window that contains `at_micros` (microseconds since the Unix epoch):
    /// `lifetime`, `day:<days since epoch>` or `hour:<hours since epoch>`.
    pub fn key(self, at_micros: i64) -> String {
        const HOUR: i64 = 3_600_000_000;
        match self {
            Window::Hour => format!("hour:{}", at_micros.div_euclid(HOUR)),
            Window::Day => format!("day:{}", at_micros.div_euclid(24 * HOUR)),
            Window::Lifetime => "lifetime".to_owned(),
        }
    }
}

/// A cap on what one owner may do with one operation within a window. Only completed
/// entries count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub window: Window,
    /// At most this many entries per window.
    pub max_count: Option<u64>,
    /// At most this total amount per window.
    pub max_amount: Option<Decimal>,
}

impl Limit {
    /// Whether one more entry of `amount` fits, given what the window already holds.
    pub fn allows(&self, count: u64, total: Decimal, amount: Decimal) -> bool {
        self.max_count.is_none_or(|max| count < max)
            && self.max_amount.is_none_or(|max| total + amount <= max)
    }
}

/// One operation of a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Upper-case name, e.g. `DAILY_REWARD`.
    pub name: String,
    pub description: String,
    /// A disabled operation is refused like an unknown one, with its own code.
    pub enabled: bool,
    pub direction: Direction,
    /// The account on the other side of credit and debit operations (`@system:…`); transfers
    /// have none, their other side is the request's counterparty.
    pub counter_account: Option<String>,
    pub asset: String,
    pub amount: AmountRule,
    /// Lets a zero amount through; amounts are otherwise strictly positive.
    pub allow_zero: bool,
    /// Lets the owner's balance go below zero on debits and transfers.
    pub overdraft: bool,
    /// The least time between two completed entries of this operation for one owner.
    pub cooldown_seconds: Option<u64>,
    pub limits: Vec<Limit>,
    /// The lot each entry opens: `Some` for every credit operation, `None` for debits and
    /// transfers (a transfer's receiver gets lots like the ones the sender's drew from).
    pub lot: Option<LotRule>,
    /// Whether a request may place a hold with this operation (debits only).
    pub holds: bool,
    /// The longest a hold of this operation may last, in seconds.
    pub max_hold_seconds: u64,
    /// Whether its entries may be reversed, and for how long after they were recorded.
    pub reversal: ReversalRule,
}

/// How an operation's entries may be reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReversalRule {
    pub allowed: bool,
    /// Reversible only this many seconds after the entry; `None`: for ever.
    pub window_seconds: Option<u64>,
    /// A reversal may take the owner below zero (reversing a credit already spent).
    pub overdraft: bool,
}

impl Default for ReversalRule {
    fn default() -> Self {
        ReversalRule {
            allowed: true,
            window_seconds: None,
            overdraft: false,
        }
    }
}

/// How long a hold may last where its operation says nothing: one day.
pub const DEFAULT_MAX_HOLD_SECONDS: u64 = 24 * 3600;

impl Operation {
    /// The amount an entry of this operation moves, given the request's amount and the
    /// asset's scale.
    pub fn resolve_amount(
        &self,
        requested: Option<Decimal>,
        scale: u32,
    ) -> Result<Decimal, AmountError> {
        self.amount.resolve(requested, scale, self.allow_zero)
    }

    /// Whether entries of this operation need the owner's usage history (limits or cooldown).
    pub fn is_limited(&self) -> bool {
        !self.limits.is_empty() || self.cooldown_seconds.is_some()
    }

    /// The windows whose usage this operation reads and writes. The lifetime window is
    /// always among them for a limited operation: it carries the time of the last entry,
    /// which the cooldown needs.
    pub fn tracked_windows(&self) -> Vec<Window> {
        if !self.is_limited() {
            return Vec::new();
        }
        let mut windows: Vec<Window> = self.limits.iter().map(|l| l.window).collect();
        windows.push(Window::Lifetime);
        windows.sort();
        windows.dedup();
        windows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keys_are_utc_aligned() {
        // 2026-11-21T23:59:59Z and 2026-11-22T00:00:00Z fall in different days.
        let before_midnight = 1_795_305_599_000_000;
        let midnight = before_midnight + 1_000_000;
        assert_ne!(Window::Day.key(before_midnight), Window::Day.key(midnight));
        assert_eq!(
            Window::Day.key(midnight),
            Window::Day.key(midnight + 3_600_000_000)
        );
        assert_ne!(
            Window::Hour.key(midnight),
            Window::Hour.key(midnight + 3_600_000_000)
        );
        assert_eq!(Window::Lifetime.key(0), Window::Lifetime.key(midnight));
    }

    #[test]
    fn limits_count_and_sum() {
        let once = Limit {
            window: Window::Day,
            max_count: Some(1),
            max_amount: None,
        };
        assert!(once.allows(0, Decimal::ZERO, Decimal::TEN));
        assert!(!once.allows(1, Decimal::TEN, Decimal::TEN));
        let capped = Limit {
            window: Window::Day,
            max_count: None,
            max_amount: Some(Decimal::new(500, 0)),
        };
        assert!(capped.allows(9, Decimal::new(490, 0), Decimal::TEN));
        assert!(!capped.allows(9, Decimal::new(491, 0), Decimal::TEN));
    }
}
