//! The commands about holds: placing one (a request checked like an entry's, plus its
//! expiry), capturing or voiding it (asked for by the app), and recording that it ran out
//! (the ledger's own). Whether the hold is still open is the batch decision's to say.

use super::codes::{Code, Refusal};
use super::command::{Amount, Command, HoldStep, Nonce, OwnerId};
use super::request::{EntryRequest, request_digest};
use crate::decimal::stored_decimal;
use crate::time::parse_rfc3339;
use entity::hold;
use operations::{Catalog, Direction, Operation};
use serde_json::{Value, json};
use uuid::Uuid;

/// A hold as an app asks for it.
#[derive(Debug, Clone, Default)]
pub struct HoldRequest {
    pub operation: String,
    pub owner_id: String,
    pub nonce: String,
    pub amount: Option<String>,
    /// How long the hold lasts from now; or
    pub expires_in_seconds: Option<i64>,
    /// RFC 3339: when it ends.
    pub expires_at: Option<String>,
    pub metadata: Option<Value>,
}

impl HoldRequest {
    /// Checks the request like an entry of its operation, then the hold's own terms.
    pub fn validate(
        &self,
        app_id: Uuid,
        catalog: &Catalog,
        received_at: i64,
    ) -> Result<Command, Refusal> {
        let entry = EntryRequest {
            operation: self.operation.clone(),
            owner_id: self.owner_id.clone(),
            nonce: self.nonce.clone(),
            amount: self.amount.clone(),
            metadata: self.metadata.clone(),
            ..EntryRequest::default()
        };
        let mut cmd = entry.validate(app_id, catalog, received_at, false)?;
        let op = &cmd.operation;
        if op.direction != Direction::Debit || !op.holds {
            return Err(Refusal::new(
                Code::HoldsNotAllowed,
                format!(
                    "{} does not place holds: only debits whose catalog allows it do",
                    op.name
                ),
            ));
        }
        let expires_at = self.expiry(op, received_at)?;
        cmd.hold = Some(HoldStep::Place { expires_at });
        // The expiry as the app wrote it: a replay of `expires_in_seconds` is the same request
        // later, with the same relative expiry.
        cmd.request_hash = request_digest(&json!({
            "hold": cmd.request_hash,
            "expires_in_seconds": self.expires_in_seconds,
            "expires_at": self.expires_at.as_ref().map(|_| expires_at),
        }));
        Ok(cmd)
    }

    /// The hold's expiry instant: in the future, within the operation's longest hold.
    fn expiry(&self, op: &Operation, received_at: i64) -> Result<i64, Refusal> {
        let expires_at = match (self.expires_in_seconds, &self.expires_at) {
            (Some(seconds), None) => {
                if seconds < 1 {
                    return Err(Refusal::new(
                        Code::ExpiryNotInFuture,
                        "expires_in_seconds must be at least 1",
                    ));
                }
                received_at.saturating_add(seconds.saturating_mul(1_000_000))
            }
            (None, Some(text)) => {
                let at = parse_rfc3339(text).ok_or_else(|| {
                    Refusal::new(
                        Code::InvalidTime,
                        "expires_at must be an RFC 3339 time such as 2026-12-31T23:59:59Z",
                    )
                })?;
                if at <= received_at {
                    return Err(Refusal::new(
                        Code::ExpiryNotInFuture,
                        format!("expires_at {text} is not in the future"),
                    ));
                }
                at
            }
            _ => {
                return Err(Refusal::new(
                    Code::HoldExpiryRequired,
                    "a hold needs exactly one of expires_in_seconds and expires_at",
                ));
            }
        };
        let longest = i64::try_from(op.max_hold_seconds)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000);
        if expires_at - received_at > longest {
            return Err(Refusal::new(
                Code::HoldTooLong,
                format!(
                    "{} holds last at most {} seconds",
                    op.name, op.max_hold_seconds
                ),
            ));
        }
        Ok(expires_at)
    }
}

/// The capture of `hold` (placed with `op`, in an asset of `scale`) for `amount` (default:
/// all of it), asked for with `nonce` at `received_at`. Whether it fits the hold is decided
/// with the hold's state.
pub fn capture(
    hold: &hold::Model,
    (op, scale): (&Operation, u32),
    nonce: Nonce,
    amount: Option<&str>,
    received_at: i64,
) -> Result<Command, Refusal> {
    let requested = match amount {
        Some(text) => Some(Amount::parse_text(text)?),
        None => None,
    };
    let held = stored_decimal(&hold.amount).map_err(corrupt(hold.id))?;
    let amount = Amount::resolve(op, Some(requested.unwrap_or(held)), scale)?;
    let hash = request_digest(&json!({
        "capture": hold.id,
        "amount": requested.map(|a| a.normalize().to_string()),
    }));
    let step = HoldStep::Capture(hold.id);
    command(hold, op.clone(), (nonce, hash), amount, received_at, step)
}

/// The void of `hold`, asked for with `nonce` at `received_at`.
pub fn void(hold: &hold::Model, nonce: Nonce, received_at: i64) -> Result<Command, Refusal> {
    let hash = request_digest(&json!({ "void_hold": hold.id }));
    let amount = Amount::of_lot(stored_decimal(&hold.amount).map_err(corrupt(hold.id))?);
    let op = Operation::hold_void(&hold.asset);
    command(
        hold,
        op,
        (nonce, hash),
        amount,
        received_at,
        HoldStep::Void(hold.id),
    )
}

/// The record that `hold` ran out, effective at its expiry instant; its nonce is the hold's
/// own, so every recorder that asks gets the one entry.
pub fn expiry(hold: &hold::Model) -> Result<Command, Refusal> {
    let hash = request_digest(&json!({ "hold_expiry": hold.id }));
    let amount = Amount::of_lot(stored_decimal(&hold.amount).map_err(corrupt(hold.id))?);
    let op = Operation::hold_expiry(&hold.asset);
    let nonce = Nonce::of_hold_expiry(hold.id);
    let step = HoldStep::Expire(hold.id);
    command(hold, op, (nonce, hash), amount, hold.expires_at, step)
}

fn corrupt(id: Uuid) -> impl Fn(String) -> Refusal {
    move |e| {
        tracing::error!(hold = %id, error = %e, "a stored hold does not read back");
        Refusal::new(Code::Unavailable, "the hold cannot be read")
    }
}

fn command(
    hold: &hold::Model,
    operation: Operation,
    (nonce, request_hash): (Nonce, String),
    amount: Amount,
    received_at: i64,
    step: HoldStep,
) -> Result<Command, Refusal> {
    let owner_id = OwnerId::parse("owner_id", hold.owner_id.clone())
        .map_err(|r| corrupt(hold.id)(r.detail))?;
    Ok(Command {
        hold: Some(step),
        ..Command::of(
            (hold.app_id, owner_id),
            (nonce, request_hash),
            operation,
            amount,
            received_at,
        )
    })
}
