//! The ledger's own commands about one lot: recording its expiry, and voiding what is left
//! of it. Each moves whatever the lot holds when it is decided (see `decide::effects`);
//! `amount` here is only what it held when the command was made.

use super::codes::{Code, Refusal};
use super::command::{Amount, Command, Nonce, OwnerId};
use super::request::{canonical_json, request_digest};
use crate::decimal::stored_decimal;
use entity::{account, lot};
use operations::Operation;

/// Longest void reason, in characters.
pub const MAX_REASON_LEN: usize = 500;

/// The `EXPIRY` of `lot` (of `account`), effective at its expiry instant: the entry's
/// `received` transition is that instant, and its nonce is the lot's own, so that every
/// recorder that asks gets the one entry.
pub fn expiry(lot: &lot::Model, account: &account::Model) -> Result<Command, String> {
    let expires_at = lot
        .expires_at
        .ok_or_else(|| format!("lot {} never expires", lot.id))?;
    let hash = request_digest(&serde_json::json!({ "expiry": lot.id }));
    command(
        (lot, account),
        Nonce::of_expiry(lot.id),
        hash,
        Operation::expiry(&account.asset),
        None,
        expires_at,
    )
}

/// The `LOT_VOID` of `lot` (of `account`) asked for with `nonce` at `received_at`, with an
/// optional reason (kept as the entry's metadata).
pub fn void(
    lot: &lot::Model,
    account: &account::Model,
    nonce: Nonce,
    reason: Option<&str>,
    received_at: i64,
) -> Result<Command, Refusal> {
    check_reason(reason)?;
    let hash = request_digest(&serde_json::json!({ "void": lot.id, "reason": reason }));
    let metadata = reason.map(|r| canonical_json(&serde_json::json!({ "reason": r })));
    let op = Operation::lot_void(&account.asset, &lot.counter_account);
    command((lot, account), nonce, hash, op, metadata, received_at).map_err(|e| {
        tracing::error!(lot = %lot.id, error = %e, "a stored lot does not read back");
        Refusal::new(Code::Unavailable, "the lot cannot be read")
    })
}

/// A reason an app gives (for a void, an account control): at most [`MAX_REASON_LEN`]
/// characters, without control characters.
pub fn check_reason(reason: Option<&str>) -> Result<(), Refusal> {
    if reason
        .is_some_and(|r| r.chars().nth(MAX_REASON_LEN).is_some() || r.chars().any(char::is_control))
    {
        return Err(Refusal::new(
            Code::InvalidReason,
            format!(
                "reason must be at most {MAX_REASON_LEN} characters, without control characters"
            ),
        ));
    }
    Ok(())
}

fn command(
    (lot, account): (&lot::Model, &account::Model),
    nonce: Nonce,
    request_hash: String,
    operation: Operation,
    metadata: Option<String>,
    received_at: i64,
) -> Result<Command, String> {
    let corrupt = |r: Refusal| format!("stored lot {}: {r}", lot.id);
    let owner = OwnerId::parse("owner_id", account.owner_id.clone()).map_err(corrupt)?;
    let amount = Amount::of_lot(stored_decimal(&lot.remaining)?);
    Ok(Command {
        metadata,
        target_lot: Some(lot.id),
        ..Command::of(
            (account.app_id, owner),
            (nonce, request_hash),
            operation,
            amount,
            received_at,
        )
    })
}
