//! Reversals: a completed entry taken back, in full or in part, by a new `REVERSAL` entry
//! that moves money the other way and is linked both ways (`reverses` on the reversal,
//! what was reversed and by which entries on the original). The request's checks here; the
//! batch decides the rest (`decide::reversing`).
//!
//! Where the value goes back:
//! - a debit's: to the lots it drew from, in reverse drawdown order (what overdrew, drawn
//!   last, first), each with its own terms; a share whose lot has expired since expires again
//!   at once; one whose lot was voided opens a lot with that lot's terms;
//! - a credit's: out of the lot the credit opened, which must still hold it (or the
//!   operation lets reversals overdraw);
//! - a transfer's: both sides, the receiver's lots from that transfer and the sender's lots.

use super::closing::check_reason;
use super::codes::{Code, Refusal};
use super::command::{Amount, Command, Nonce, OwnerId, Reversal, account_id};
use super::lots::Allocation;
use super::record::EntryRecord;
use super::request::{canonical_json, request_digest};
use super::state::EntryState;
use crate::decimal::stored_decimal;
use operations::{Direction, Operation};
use rust_decimal::Decimal;
use uuid::Uuid;

impl Reversal {
    /// Where reversing `amount` more, after `reversed` already, sends the value back, in
    /// reverse drawdown order: the part that goes to what overdrew, and each lot's part.
    pub fn returns(&self, reversed: Decimal, amount: Decimal) -> (Decimal, Vec<Allocation>) {
        let mut skip = reversed;
        let mut left = amount;
        let skipped = skip.min(self.uncovered);
        skip -= skipped;
        let uncovered = (self.uncovered - skipped).min(left);
        left -= uncovered;
        let mut lots = Vec::new();
        for a in self.drawn.iter().rev() {
            let skipped = skip.min(a.amount);
            skip -= skipped;
            let back = (a.amount - skipped).min(left);
            left -= back;
            if back > Decimal::ZERO {
                lots.push(Allocation {
                    lot_id: a.lot_id,
                    amount: back,
                });
            }
        }
        (uncovered, lots)
    }
}

/// The reversal of `original` (whose operation is `op` in the app's catalog, if it is
/// there), asked for with `nonce` at `received_at`, of `amount` (all that is left if none).
pub fn command(
    original: &EntryRecord,
    op: Option<&Operation>,
    (nonce, amount, reason): (Nonce, Option<&str>, Option<&str>),
    scale: u32,
    received_at: i64,
) -> Result<Command, Refusal> {
    let e = &original.entry;
    let rule = reversible(original, op, received_at)?;
    check_reason(reason)?;
    let counter = original
        .postings
        .iter()
        .find(|p| p.owner_id != e.owner_id)
        .map(|p| p.owner_id.clone());
    let (direction, back) = match rule.direction {
        Direction::Credit => (Direction::Credit, Direction::Debit),
        Direction::Debit => (Direction::Debit, Direction::Credit),
        Direction::Transfer => (Direction::Transfer, Direction::Transfer),
    };
    let counter = counter.filter(|_| direction != Direction::Transfer);
    let op = Operation::reversal(back, &e.asset, counter.as_deref());
    let requested = match amount {
        Some(text) => Some(op.resolve_amount(Some(Amount::parse_text(text)?), scale)?),
        None => None,
    };
    let corrupt = |r: Refusal| Refusal::new(Code::Unavailable, format!("stored entry: {r}"));
    let total =
        stored_decimal(&e.amount).map_err(|e| corrupt(Refusal::new(Code::Unavailable, e)))?;
    let (drawn, opened) = parts(original, direction);
    let drawn_total: Decimal = drawn.iter().map(|a| a.amount).sum();
    let reversal = Reversal {
        original: e.id,
        direction,
        amount: total,
        requested,
        uncovered: match direction {
            Direction::Credit => Decimal::ZERO,
            _ => (total - drawn_total).max(Decimal::ZERO),
        },
        drawn,
        opened,
        overdraft: rule.reversal.overdraft,
    };
    let hash = request_digest(&serde_json::json!({
        "reverse": e.id,
        "amount": requested.map(|a| a.normalize().to_string()),
        "reason": reason,
    }));
    let metadata = reason.map(|r| canonical_json(&serde_json::json!({ "reason": r })));
    let counterparty = match &e.counterparty_id {
        Some(c) => Some(OwnerId::parse("counterparty_id", c.clone()).map_err(corrupt)?),
        None => None,
    };
    let owner = OwnerId::parse("owner_id", e.owner_id.clone()).map_err(corrupt)?;
    let amount = Amount::of_lot(requested.unwrap_or(total));
    Ok(Command {
        counterparty_id: counterparty,
        metadata,
        reversal: Some(Box::new(reversal)),
        ..Command::of((e.app_id, owner), (nonce, hash), op, amount, received_at)
    })
}

/// The catalog's operation of `original`, if the entry may be reversed at `now`.
fn reversible<'o>(
    original: &EntryRecord,
    op: Option<&'o Operation>,
    now: i64,
) -> Result<&'o Operation, Refusal> {
    let e = &original.entry;
    let refuse = |why: String| Err(Refusal::new(Code::NotReversible, why));
    if original.state() != EntryState::Completed {
        return refuse(format!(
            "entry {} is {}: only a completed entry can be reversed",
            e.id,
            original.state()
        ));
    }
    if e.reverses.is_some() {
        return refuse(format!(
            "entry {} is a reversal: it cannot be reversed",
            e.id
        ));
    }
    let Some(op) = op.filter(|op| op.name == e.operation) else {
        return refuse(format!(
            "{} is not an operation of this app's catalog (the ledger's own entries cannot be reversed)",
            e.operation
        ));
    };
    if !op.reversal.allowed {
        return refuse(format!("the catalog declares {} not reversible", op.name));
    }
    if let Some(window) = op.reversal.window_seconds {
        let until = e.created_at.saturating_add(
            i64::try_from(window)
                .unwrap_or(i64::MAX / 2)
                .saturating_mul(1_000_000),
        );
        if now > until {
            return refuse(format!(
                "{} is reversible for {window} s after the entry; that time has passed",
                op.name
            ));
        }
    }
    Ok(op)
}

/// What the original drew from its owner's lots (the prefix of its allocations on the
/// owner's account that its amount covers: a capture's allocations go on with the expired
/// shares its hold gave up), and the lots it opened.
fn parts(original: &EntryRecord, direction: Direction) -> (Vec<Allocation>, Vec<Uuid>) {
    let e = &original.entry;
    let owner = account_id(e.app_id, &e.owner_id, &e.asset);
    let mut left = stored_decimal(&e.amount).unwrap_or_default();
    let mut drawn = Vec::new();
    if direction != Direction::Credit {
        for a in original
            .allocations
            .iter()
            .filter(|a| a.account_id == owner)
        {
            let amount = stored_decimal(&a.amount).unwrap_or_default().min(left);
            if amount <= Decimal::ZERO {
                break;
            }
            left -= amount;
            drawn.push(Allocation {
                lot_id: a.lot_id,
                amount,
            });
        }
    }
    let opened = original
        .lots
        .iter()
        .filter(|l| l.entry_id == Some(e.id))
        .map(|l| l.id)
        .collect();
    (drawn, opened)
}

#[cfg(test)]
mod tests;
