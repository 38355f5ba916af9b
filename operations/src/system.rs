//! The ledger's own operations: it records them itself (an expiry, a void), and no
//! catalog may declare them.

use crate::amount::AmountRule;
use crate::operation::{Direction, Operation};

/// Moves an expired lot's remainder to [`EXPIRED_ACCOUNT`].
pub const EXPIRY: &str = "EXPIRY";
/// Moves a voided lot's remainder back to the lot's counter account.
pub const LOT_VOID: &str = "LOT_VOID";
/// Ends a hold that was voided; moves the shares of lots that expired meanwhile to
/// [`EXPIRED_ACCOUNT`].
pub const HOLD_VOID: &str = "HOLD_VOID";
/// Records that a hold ran out; moves the shares of lots that expired before it to
/// [`EXPIRED_ACCOUNT`].
pub const HOLD_EXPIRY: &str = "HOLD_EXPIRY";
/// Freezes an owner's account: its debits and holds are refused until it is unfrozen.
pub const ACCOUNT_FREEZE: &str = "ACCOUNT_FREEZE";
/// Unfreezes a frozen account.
pub const ACCOUNT_UNFREEZE: &str = "ACCOUNT_UNFREEZE";
/// Closes an empty account for good.
pub const ACCOUNT_CLOSE: &str = "ACCOUNT_CLOSE";
/// Takes back all or part of a completed entry, in the other direction.
pub const REVERSAL: &str = "REVERSAL";
/// Where expired credits go.
pub const EXPIRED_ACCOUNT: &str = "@system:expired";

impl Operation {
    /// EXPIRY in `asset`: takes an expired lot's remainder from the owner.
    pub fn expiry(asset: &str) -> Operation {
        system_debit(
            EXPIRY,
            "The remainder of an expired lot, recorded by the ledger.",
            asset,
            EXPIRED_ACCOUNT,
        )
    }

    /// LOT_VOID in `asset`: gives a voided lot's remainder back to `counter_account`, the
    /// account that paid for the lot.
    pub fn lot_void(asset: &str, counter_account: &str) -> Operation {
        system_debit(
            LOT_VOID,
            "The remainder of a voided lot, returned by the ledger to where it came from.",
            asset,
            counter_account,
        )
    }

    /// HOLD_VOID in `asset`: releases a voided hold.
    pub fn hold_void(asset: &str) -> Operation {
        system_debit(
            HOLD_VOID,
            "A hold voided by the app: its credits are released.",
            asset,
            EXPIRED_ACCOUNT,
        )
    }

    /// HOLD_EXPIRY in `asset`: releases a hold that ran out, recorded by the ledger.
    pub fn hold_expiry(asset: &str) -> Operation {
        system_debit(
            HOLD_EXPIRY,
            "A hold that ran out, recorded by the ledger: its credits are released.",
            asset,
            EXPIRED_ACCOUNT,
        )
    }

    /// An account control (`ACCOUNT_FREEZE`, `ACCOUNT_UNFREEZE`, `ACCOUNT_CLOSE`) in
    /// `asset`: an entry that changes the account's status and moves nothing.
    pub fn account_control(name: &str, asset: &str) -> Operation {
        Operation {
            counter_account: None,
            allow_zero: true,
            ..system_debit(
                name,
                "A change of an owner's account status, with who and why in its metadata.",
                asset,
                "",
            )
        }
    }

    /// REVERSAL in `asset`, moving the owner's money `direction` (the other way from the
    /// entry it reverses) against `counter_account` (the reversed entry's other side; none for
    /// a transfer, whose other side is its counterparty).
    pub fn reversal(direction: Direction, asset: &str, counter_account: Option<&str>) -> Operation {
        Operation {
            direction,
            counter_account: counter_account.map(str::to_owned),
            overdraft: false,
            ..system_debit(
                REVERSAL,
                "All or part of an entry taken back, in the other direction.",
                asset,
                "",
            )
        }
    }

    /// Whether this is one of the ledger's own operations (EXPIRY, LOT_VOID, HOLD_VOID,
    /// HOLD_EXPIRY, the account controls).
    pub fn is_system(&self) -> bool {
        is_system_name(&self.name)
    }
}

/// Whether `name` is reserved for the ledger's own operations; the catalog refuses it.
pub(crate) fn is_system_name(name: &str) -> bool {
    [
        EXPIRY,
        LOT_VOID,
        HOLD_VOID,
        HOLD_EXPIRY,
        ACCOUNT_FREEZE,
        ACCOUNT_UNFREEZE,
        ACCOUNT_CLOSE,
        REVERSAL,
    ]
    .contains(&name)
}

fn system_debit(name: &str, description: &str, asset: &str, to: &str) -> Operation {
    Operation {
        name: name.to_owned(),
        description: description.to_owned(),
        enabled: true,
        direction: Direction::Debit,
        counter_account: Some(to.to_owned()),
        asset: asset.to_owned(),
        // The ledger moves exactly what the lot still holds, which no request chooses.
        amount: AmountRule::Range {
            min: None,
            max: None,
        },
        allow_zero: false,
        // The lot's remainder leaves even when an overdraft elsewhere left the balance
        // below it: refusing would keep dead credits counted forever.
        overdraft: true,
        cooldown_seconds: None,
        limits: Vec::new(),
        lot: None,
        holds: false,
        max_hold_seconds: 0,
        reversal: crate::ReversalRule {
            allowed: false,
            window_seconds: None,
            overdraft: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_operations_are_debits_without_lots() {
        let expiry = Operation::expiry("CREDIT");
        assert_eq!(expiry.name, EXPIRY);
        assert_eq!(expiry.counter_account.as_deref(), Some(EXPIRED_ACCOUNT));
        let void = Operation::lot_void("CREDIT", "@system:purchases");
        assert_eq!(void.name, LOT_VOID);
        assert_eq!(void.counter_account.as_deref(), Some("@system:purchases"));
        for op in [expiry, void] {
            assert!(op.is_system() && op.enabled && op.overdraft, "{op:?}");
            assert_eq!(op.direction, Direction::Debit);
            assert_eq!(op.asset, "CREDIT");
            assert_eq!(
                op.amount,
                AmountRule::Range {
                    min: None,
                    max: None
                }
            );
            assert!(op.limits.is_empty() && op.lot.is_none() && !op.description.is_empty());
        }
    }
}
