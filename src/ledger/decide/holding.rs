//! What the commands about holds do: placing one reserves free lots, and capturing, voiding
//! or expiring one ends it. The rules are `ledger::holds`; the lots and holds are the
//! batch's book.
//!
//! Invariants enforced here:
//! - **No overdraw by holds**: a hold is placed only when the owner's free lots, less its
//!   shortfall, cover it, whatever the operation's overdraft ([`Deciding::check_hold`]); so
//!   forty holds racing for one balance get exactly what it covers.
//! - **A hold ends once**: only an open hold is captured, voided or expired, a capture or
//!   void only before its expiry instant, and its expiry only from that instant on
//!   (`Deciding::is_premature`).
//! - **A capture takes at most the hold**, from the hold's own shares.

use super::effects::{Effects, post_legs};
use super::{Deciding, Head, IllegalTransition};
use crate::ledger::codes::{Code, Refusal};
use crate::ledger::command::{Command, HoldStep, account_id};
use crate::ledger::holds::{Hold, shares_json};
use crate::ledger::lots::Allocation;
use crate::ledger::state::EntryState;
use crate::time::to_rfc3339 as rfc3339;
use entity::hold;
use operations::EXPIRED_ACCOUNT;
use rust_decimal::Decimal;
use uuid::Uuid;

impl Deciding {
    /// Why `cmd`, a command about a hold, cannot go on, if it cannot.
    pub(super) fn check_hold(
        &self,
        cmd: &Command,
        step: HoldStep,
        amount: Decimal,
    ) -> Option<Refusal> {
        let id = match step {
            HoldStep::Place { .. } => return self.shortage(cmd, amount),
            HoldStep::Capture(id) | HoldStep::Void(id) | HoldStep::Expire(id) => id,
        };
        let Some(hold) = self.book.hold(id) else {
            return Some(Refusal::new(
                Code::HoldNotOpen,
                format!("hold {id} is unknown"),
            ));
        };
        let at = rfc3339(hold.expires_at);
        // An app asks before the hold's instant; at or after it the answer is the same
        // whether or not the expiry is recorded yet.
        let ran_out =
            hold.status == EntryState::Expired || (hold.is_open() && self.now >= hold.expires_at);
        match step {
            // The recorder's expiry: never before its instant (`Deciding::is_premature`).
            HoldStep::Expire(_) if hold.is_open() => None,
            _ if ran_out && !matches!(step, HoldStep::Expire(_)) => Some(Refusal::new(
                Code::HoldExpired,
                format!("hold {id} expired at {at}"),
            )),
            _ if !hold.is_open() => Some(Refusal::new(
                Code::HoldNotOpen,
                format!("hold {id} is {} already", hold.status),
            )),
            HoldStep::Capture(_) if amount > hold.amount => Some(Refusal::new(
                Code::AmountExceedsHold,
                format!(
                    "hold {id} holds {}; the capture asks for {amount}",
                    hold.amount
                ),
            )),
            _ => None,
        }
    }

    /// Places the hold `cmd` asks for: reserves `amount` of the owner's free lots, in the
    /// drawdown order, until `expires_at`.
    pub(super) fn place_hold(
        &mut self,
        cmd: &Command,
        amount: Decimal,
        expires_at: i64,
    ) -> Effects {
        let asset = &cmd.operation.asset;
        let account = account_id(cmd.app_id, cmd.owner_id.as_str(), asset);
        let shares = self.book.reserve(account, amount);
        let row = hold::Model {
            id: cmd.entry_id,
            app_id: cmd.app_id,
            account_id: account,
            owner_id: cmd.owner_id.as_str().to_owned(),
            asset: asset.clone(),
            operation: cmd.operation.name.clone(),
            amount: amount.to_string(),
            created_at: self.now,
            expires_at,
            shares: shares_json(&shares),
            status: EntryState::Held.as_str().to_owned(),
            closed_by: None,
            closed_at: None,
            captured: None,
        };
        let hold = Hold {
            id: cmd.entry_id,
            account_id: account,
            amount,
            created_at: self.now,
            expires_at,
            status: EntryState::Held,
            closed_at: None,
            shares,
        };
        self.book.place(hold, row.clone());
        self.count_open_holds(cmd, account, 1);
        Effects {
            holds: vec![row],
            ..Effects::default()
        }
    }

    /// Ends the hold `step` names: a capture debits `amount` from the hold's shares, in
    /// their order; the rest goes back to its lots, but for the shares of lots that expired
    /// before the hold ended, which move to `@system:expired`.
    pub(super) fn end_hold(
        &mut self,
        cmd: &Command,
        step: HoldStep,
        amount: Decimal,
    ) -> Result<Effects, IllegalTransition> {
        let (id, captured, status) = match step {
            HoldStep::Capture(id) => (id, amount, EntryState::Captured),
            HoldStep::Void(id) => (id, Decimal::ZERO, EntryState::Voided),
            HoldStep::Expire(id) => (id, Decimal::ZERO, EntryState::Expired),
            HoldStep::Place { .. } => return Ok(Effects::default()),
        };
        let Some(hold) = self.book.hold(id).cloned() else {
            return Ok(Effects::default());
        };
        EntryState::Held.transition(status)?;
        let end = match status {
            EntryState::Expired => hold.expires_at,
            _ => self.now,
        };
        let (drawn, dead) = split_shares(&hold, captured, end);
        let mut legs = Vec::new();
        if captured > Decimal::ZERO {
            legs.push((cmd.owner_id.as_str(), -captured));
            legs.push((cmd.other_owner(), captured));
        }
        if dead > Decimal::ZERO {
            legs.push((cmd.owner_id.as_str(), -dead));
            legs.push((EXPIRED_ACCOUNT, dead));
        }
        let now = self.now;
        let postings = post_legs(cmd, &legs, &mut self.loaded.heads, &mut self.heads, now);
        let recorded_at = postings.first().map_or(now, |p| p.recorded_at);
        for a in &drawn {
            self.book.take(a.lot_id, a.amount);
        }
        self.count_open_holds(cmd, hold.account_id, -1);
        let entry_id = cmd.entry_id;
        let row = self.book.end_hold(id, status, |row| {
            row.closed_by = Some(entry_id);
            row.closed_at = Some(recorded_at);
            row.captured = (status == EntryState::Captured).then(|| captured.to_string());
        });
        let (allocations, lots) =
            self.book
                .settle(entry_id, &cmd.operation.name, &drawn, recorded_at);
        Ok(Effects {
            postings,
            lots,
            allocations,
            holds: row.into_iter().collect(),
            reversals: Vec::new(),
        })
    }
}

impl Deciding {
    /// Counts `change` open holds into `account`'s head (which a hold's first placement
    /// creates, without a posting).
    fn count_open_holds(&mut self, cmd: &Command, account: Uuid, change: i32) {
        let head = self.loaded.heads.entry(account).or_insert_with(|| {
            Head::empty(cmd.app_id, cmd.owner_id.as_str(), &cmd.operation.asset)
        });
        head.open_holds += change;
        self.heads.touch(&account);
    }
}

/// What ending `hold` at `end` with a capture of `captured` takes from its lots: the
/// capture from its shares in order, then each dead share's rest. Returns those draws and
/// the dead part's total.
fn split_shares(hold: &Hold, captured: Decimal, end: i64) -> (Vec<Allocation>, Decimal) {
    let mut left = captured;
    let mut drawn = Vec::new();
    let mut dead = Decimal::ZERO;
    for share in &hold.shares {
        let take = left.min(share.amount);
        left -= take;
        let rest = share.amount - take;
        let moved = if hold.is_dead(share, end) {
            dead += rest;
            take + rest
        } else {
            take
        };
        if moved > Decimal::ZERO {
            drawn.push(Allocation {
                lot_id: share.lot_id,
                amount: moved,
            });
        }
    }
    (drawn, dead)
}

#[cfg(test)]
mod tests;
