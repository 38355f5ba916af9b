//! Account controls: an owner's account is `active`, `frozen` (its debits and new holds are
//! refused; credits, and captures and voids of its holds, still go through, so no hold is
//! stranded) or `closed` (everything is refused; closing needs a zero balance and no open
//! hold). A change is an entry of its own (`ACCOUNT_FREEZE`, `ACCOUNT_UNFREEZE`,
//! `ACCOUNT_CLOSE`) that moves nothing, with who asked and why in its metadata.

use super::codes::{Code, Refusal};
use super::command::{Amount, Command, Control, HoldStep, Nonce, OwnerId};
use super::request::{canonical_json, request_digest};
use operations::{
    ACCOUNT_CLOSE, ACCOUNT_FREEZE, ACCOUNT_UNFREEZE, Direction, EXPIRY, HOLD_EXPIRY, Operation,
};
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountStatus {
    #[default]
    Active,
    Frozen,
    Closed,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Frozen => "frozen",
            AccountStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<AccountStatus, String> {
        [
            AccountStatus::Active,
            AccountStatus::Frozen,
            AccountStatus::Closed,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
        .ok_or_else(|| format!("{s:?} is not an account status"))
    }
}

impl Control {
    fn operation(self) -> &'static str {
        match self {
            Control::Freeze => ACCOUNT_FREEZE,
            Control::Unfreeze => ACCOUNT_UNFREEZE,
            Control::Close => ACCOUNT_CLOSE,
        }
    }

    /// The status this control moves an account in `from` to, with `balance` and `held`,
    /// or why it cannot.
    pub fn apply(
        self,
        owner: &OwnerId,
        from: AccountStatus,
        (balance, held): (Decimal, Decimal),
    ) -> Result<AccountStatus, Refusal> {
        let conflict = |why: String| Err(Refusal::new(Code::AccountStatusConflict, why));
        match (self, from) {
            (_, AccountStatus::Closed) => conflict(format!("{owner}'s account is closed")),
            (Control::Freeze, AccountStatus::Frozen) => {
                conflict(format!("{owner}'s account is frozen already"))
            }
            (Control::Unfreeze, AccountStatus::Active) => {
                conflict(format!("{owner}'s account is not frozen"))
            }
            (Control::Close, _) if !balance.is_zero() || !held.is_zero() => Err(Refusal::new(
                Code::AccountNotEmpty,
                format!(
                    "{owner}'s account holds {balance}, {held} of it in open holds: a closed account must be empty"
                ),
            )),
            (Control::Freeze, _) => Ok(AccountStatus::Frozen),
            (Control::Unfreeze, _) => Ok(AccountStatus::Active),
            (Control::Close, _) => Ok(AccountStatus::Closed),
        }
    }
}

/// Why `owner`'s account, in `status`, refuses `cmd`, which moves credits out of it, if it
/// does: a closed account takes nothing; a frozen one takes no debit, transfer out or new
/// hold.
pub fn refusal(status: AccountStatus, owner: &str, cmd: &Command) -> Option<Refusal> {
    let debit = cmd.operation.direction != Direction::Credit;
    let ending_hold = matches!(
        cmd.hold,
        Some(HoldStep::Capture(_) | HoldStep::Void(_) | HoldStep::Expire(_))
    );
    // The recorder's expiries, whatever the status: they only take out what is gone.
    let by_ledger = [EXPIRY, HOLD_EXPIRY].contains(&cmd.operation.name.as_str());
    match status {
        AccountStatus::Closed if !by_ledger => Some(Refusal::new(
            Code::AccountClosed,
            format!("{owner}'s account is closed"),
        )),
        AccountStatus::Frozen if debit && !ending_hold && !by_ledger => Some(Refusal::new(
            Code::AccountFrozen,
            format!("{owner}'s account is frozen: its debits and holds are refused"),
        )),
        _ => None,
    }
}

/// The entry that applies `control` to `owner`'s account in `asset` of `app_id`, asked for
/// with `nonce` by API key `by` (if known), for `reason`.
pub fn command(
    (app_id, owner, asset): (Uuid, OwnerId, &str),
    control: Control,
    nonce: Nonce,
    (by, reason): (Option<Uuid>, Option<&str>),
    received_at: i64,
) -> Command {
    let name = control.operation();
    let request_hash = request_digest(&serde_json::json!({
        "control": name, "owner_id": owner.as_str(), "asset": asset, "reason": reason,
    }));
    let metadata = serde_json::json!({ "by": by, "reason": reason });
    Command {
        metadata: Some(canonical_json(&metadata)),
        control: Some(control),
        ..Command::of(
            (app_id, owner),
            (nonce, request_hash),
            Operation::account_control(name, asset),
            Amount::of_lot(Decimal::ZERO),
            received_at,
        )
    }
}
