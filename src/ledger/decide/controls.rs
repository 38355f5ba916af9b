//! What an account's status does to a batch: a frozen or closed account refuses what its
//! status forbids (`ledger::account::refusal`), and an account control changes the status.
//!
//! Invariant enforced here: **a frozen owner's credits cannot leave it** but through the end
//! of a hold placed before the freeze, and a closed account takes nothing and was empty, with
//! no open hold, when it closed.

use super::effects::Effects;
use super::{Deciding, Head};
use crate::ledger::account::{self, AccountStatus};
use crate::ledger::codes::{Code, Refusal};
use crate::ledger::command::Control;
use crate::ledger::command::{Command, account_id};
use operations::Direction;
use rust_decimal::Decimal;
use uuid::Uuid;

impl Deciding {
    fn status_of(&self, cmd: &Command, owner: &str) -> AccountStatus {
        let id = account_id(cmd.app_id, owner, &cmd.operation.asset);
        self.loaded
            .heads
            .get(&id)
            .map_or(AccountStatus::Active, |h| h.status)
    }

    /// Why the status of the accounts `cmd` moves refuses it, if it does: the one it takes
    /// from, and the one a transfer gives to when that one is closed.
    pub(super) fn status_refusal(&self, cmd: &Command) -> Option<Refusal> {
        if cmd.control.is_some() {
            return None;
        }
        let (payer, payee) = sides(cmd);
        if let Some(refusal) = account::refusal(self.status_of(cmd, payer), payer, cmd) {
            return Some(refusal);
        }
        let payee = payee?;
        (self.status_of(cmd, payee) == AccountStatus::Closed)
            .then(|| Refusal::new(Code::AccountClosed, format!("{payee}'s account is closed")))
    }

    /// The status `control` moves `cmd`'s owner's account to, or why it cannot.
    fn controlled(
        &self,
        cmd: &Command,
        control: Control,
    ) -> Result<(Uuid, AccountStatus), Refusal> {
        let id = account_id(cmd.app_id, cmd.owner_id.as_str(), &cmd.operation.asset);
        let head = self.loaded.heads.get(&id);
        let status = head.map_or(AccountStatus::Active, |h| h.status);
        let balance = head.map_or(Decimal::ZERO, |h| h.balance);
        let held = self.book.held(id);
        let to = control.apply(&cmd.owner_id, status, (balance, held))?;
        Ok((id, to))
    }

    /// Why `control` cannot apply to `cmd`'s owner's account, if it cannot.
    pub(super) fn check_control(&self, cmd: &Command, control: Control) -> Option<Refusal> {
        self.controlled(cmd, control).err()
    }

    /// Applies `control`, which [`Deciding::check_control`] let through.
    pub(super) fn apply_control(&mut self, cmd: &Command, control: Control) -> Effects {
        if let Ok((id, to)) = self.controlled(cmd, control) {
            let head = self.loaded.heads.entry(id).or_insert_with(|| {
                Head::empty(cmd.app_id, cmd.owner_id.as_str(), &cmd.operation.asset)
            });
            head.status = to;
            self.heads.touch(&id);
        }
        Effects::default()
    }
}

/// The owner `cmd` takes from, and the one a transfer gives to. A transfer's reversal
/// moves its amount back: the original receiver (the command's counterparty) pays, and
/// the original sender (its owner) takes.
pub(super) fn sides(cmd: &Command) -> (&str, Option<&str>) {
    let owner = cmd.owner_id.as_str();
    let receiver = cmd.counterparty_id.as_ref().map(|c| c.as_str());
    match (&cmd.reversal, receiver) {
        (Some(r), Some(receiver)) if r.direction == Direction::Transfer => (receiver, Some(owner)),
        _ => (owner, receiver),
    }
}
