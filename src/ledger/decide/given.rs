//! Given/when/then helpers of the batch decision's tests: a store in memory, commands of
//! the base catalog for one owner, and what came of them.

pub(super) use super::memory::Stored;
use super::*;
pub(super) use crate::ledger::hold_request::{self, HoldRequest};
use crate::ledger::request::EntryRequest;
use operations::Catalog;

pub(super) const APP: Uuid = Uuid::from_u128(11);
pub(super) const T0: i64 = 1_795_305_600_000_000;
pub(super) const SECOND: i64 = 1_000_000;

pub(super) fn catalog() -> Catalog {
    Catalog::base()
}

/// Runs `commands` as one batch at `t` and writes the plan.
pub(super) fn run(stored: &mut Stored, commands: &[Command], t: i64) -> Vec<EntryRecord> {
    let plan = decide(commands, stored.load(&Wanted::of(commands, t)), t).expect("legal");
    stored.write(&plan);
    plan.outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Recorded(r) => *r,
            other => panic!("{other:?}"),
        })
        .collect()
}

pub(super) fn entry(
    op: &str,
    nonce: &str,
    amount: &str,
    expires_at: Option<i64>,
    t: i64,
) -> Command {
    EntryRequest {
        operation: op.into(),
        owner_id: "amy".into(),
        nonce: nonce.into(),
        amount: Some(amount.into()),
        expires_at: expires_at.map(crate::time::to_rfc3339),
        ..EntryRequest::default()
    }
    .validate(APP, &catalog(), t, false)
    .expect("a valid entry")
}

pub(super) fn hold(nonce: &str, amount: &str, seconds: i64, t: i64) -> Command {
    HoldRequest {
        operation: "CREDIT_SPEND".into(),
        owner_id: "amy".into(),
        nonce: nonce.into(),
        amount: Some(amount.into()),
        expires_in_seconds: Some(seconds),
        ..HoldRequest::default()
    }
    .validate(APP, &catalog(), t)
    .expect("a valid hold")
}

pub(super) fn capture(
    stored: &Stored,
    id: Uuid,
    nonce: &str,
    amount: Option<&str>,
    t: i64,
) -> Command {
    let row = &stored.holds[&id];
    let op = catalog().get(&row.operation).expect("the op").clone();
    let nonce = Nonce::parse(nonce.into()).expect("a nonce");
    hold_request::capture(row, (&op, 2), nonce, amount, t).expect("a capture")
}

pub(super) fn void(stored: &Stored, id: Uuid, nonce: &str, t: i64) -> Command {
    let nonce = Nonce::parse(nonce.into()).expect("a nonce");
    hold_request::void(&stored.holds[&id], nonce, t).expect("a void")
}

pub(super) fn outcome(record: &EntryRecord) -> &str {
    record.failure_code().unwrap_or(record.state().as_str())
}

pub(super) fn balance(stored: &Stored, owner: &str) -> Decimal {
    stored.balance(APP, owner, "CREDIT")
}

pub(super) fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal")
}

pub(super) use crate::ledger::command::{Nonce, OwnerId};
