//! What a command does besides an entry of its operation: a step of a hold, a change of an
//! account's status, a reversal. Plain data; the rules are `ledger::holds`,
//! `ledger::account` and `ledger::reversal`, and the batch applies them.

use crate::ledger::lots::Allocation;
use operations::Direction;
use rust_decimal::Decimal;
use uuid::Uuid;

/// A command about a hold: placing it, or one of the three ways it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStep {
    /// Reserve `amount` until `expires_at` (µs).
    Place { expires_at: i64 },
    /// Debit `amount` from hold `id`'s shares and release the rest.
    Capture(Uuid),
    /// Release all of hold `id`.
    Void(Uuid),
    /// Record that hold `id` ran out (the ledger's own command).
    Expire(Uuid),
}

impl HoldStep {
    /// The hold an ending step acts on.
    pub fn target(self) -> Option<Uuid> {
        match self {
            HoldStep::Place { .. } => None,
            HoldStep::Capture(id) | HoldStep::Void(id) | HoldStep::Expire(id) => Some(id),
        }
    }
}

/// A change of an account's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Freeze,
    Unfreeze,
    Close,
}

/// What a reversal command knows of the entry it reverses (all of it immutable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reversal {
    pub original: Uuid,
    pub direction: Direction,
    /// The original's amount.
    pub amount: Decimal,
    /// What the app asked to reverse; `None`: all that is left.
    pub requested: Option<Decimal>,
    /// What the original drew from its owner's lots, in drawdown order.
    pub drawn: Vec<Allocation>,
    /// What the original drew beyond the lots (an overdraft), after them.
    pub uncovered: Decimal,
    /// The lots the original opened (a credit's, or a transfer's receiver's), in order.
    pub opened: Vec<Uuid>,
    /// The operation lets a reversal take its owner below zero.
    pub overdraft: bool,
}
