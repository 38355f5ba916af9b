//! The `data` of each event: the entity as the change left it, in the field names of the
//! API's own views (`GET /v1/entries/{id}`, `/v1/holds/{id}`, `/v1/lots`). Amounts are
//! decimal strings, times RFC 3339.

use crate::ledger::account::AccountStatus;
use crate::ledger::record::EntryRecord;
use crate::time::to_rfc3339;
use entity::{entry, hold, lot};
use serde_json::{Value, json};

/// An entry: the request, its state (with the failure's code and detail), and the owner's
/// balance and account version after it. (Its postings, transitions and lot allocations
/// are `GET /v1/entries/{id}`'s: an event carries what an app acts on, and every byte of
/// it is written twice in the entry's transaction.)
pub fn entry(record: &EntryRecord) -> Value {
    let e = &record.entry;
    let data = json!({
        "id": e.id,
        "nonce": e.nonce,
        "operation": e.operation,
        "owner_id": e.owner_id,
        "asset": e.asset,
        "amount": e.amount,
        "state": record.state().as_str(),
        "created_at": to_rfc3339(e.created_at),
    });
    let posting = record.owner_posting();
    with(
        data,
        [
            (
                "counterparty_id",
                e.counterparty_id.clone().map(Value::from),
            ),
            ("failure_code", record.failure_code().map(Value::from)),
            ("failure_detail", record.failure_detail().map(Value::from)),
            (
                "balance_after",
                posting.map(|p| p.balance_after.clone().into()),
            ),
            ("version", posting.map(|p| p.version.into())),
            ("hold_id", e.hold_id.map(|id| json!(id))),
            ("reverses", e.reverses.map(|id| json!(id))),
            ("metadata", metadata(e)),
        ],
    )
}

/// A hold, placed or ended by `record`'s entry.
pub fn hold(h: &hold::Model, record: &EntryRecord) -> Value {
    let data = json!({
        "id": h.id,
        "owner_id": h.owner_id,
        "operation": h.operation,
        "asset": h.asset,
        "amount": h.amount,
        "state": h.status,
        "expires_at": to_rfc3339(h.expires_at),
        "created_at": to_rfc3339(h.created_at),
        "entry_id": record.entry.id,
    });
    with(
        data,
        [
            ("captured_amount", h.captured.clone().map(Value::from)),
            ("closed_by", h.closed_by.map(|id| json!(id))),
            ("closed_at", h.closed_at.map(|t| to_rfc3339(t).into())),
        ],
    )
}

/// A lot, closed by `closing`.
pub fn lot(l: &lot::Model, closing: &entry::Model) -> Value {
    let data = json!({
        "id": l.id,
        "owner_id": closing.owner_id,
        "asset": closing.asset,
        "amount": l.amount,
        "remaining": l.remaining,
        "category": l.category,
        "priority": l.priority,
        "status": l.status,
        "created_at": to_rfc3339(l.created_at),
    });
    with(
        data,
        [
            ("expires_at", l.expires_at.map(|t| to_rfc3339(t).into())),
            ("entry_id", l.entry_id.map(|id| json!(id))),
            ("closed_by", l.closed_by.map(|id| json!(id))),
            ("closed_amount", l.closed_amount.clone().map(Value::from)),
        ],
    )
}

/// An account's status as a control left it, with who asked and why.
pub fn account(control: &entry::Model) -> Value {
    let status = match control.operation.as_str() {
        operations::ACCOUNT_FREEZE => AccountStatus::Frozen,
        operations::ACCOUNT_CLOSE => AccountStatus::Closed,
        _ => AccountStatus::Active,
    };
    let data = json!({
        "owner_id": control.owner_id,
        "asset": control.asset,
        "status": status.as_str(),
        "entry_id": control.id,
    });
    let asked = metadata(control).unwrap_or_default();
    let given = |key: &str| asked.get(key).filter(|v| !v.is_null()).cloned();
    with(data, [("by", given("by")), ("reason", given("reason"))])
}

fn metadata(e: &entry::Model) -> Option<Value> {
    e.metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
}

/// `data` with each of `extra` that is present.
fn with<const N: usize>(mut data: Value, extra: [(&str, Option<Value>); N]) -> Value {
    if let Value::Object(fields) = &mut data {
        for (key, value) in extra {
            if let Some(value) = value {
                fields.insert(key.to_owned(), value);
            }
        }
    }
    data
}
