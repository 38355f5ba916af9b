//! The first, stateless half of `validating`: is this a request the app's catalog accepts?
//! A refusal here records nothing and leaves the nonce unused.

use super::codes::{Code, Refusal};
use super::command::{Amount, Command, LotTerms, Nonce, OwnerId};
use crate::time::parse_rfc3339;
use operations::{AmountRule, Catalog, Direction, Operation, PRIORITIES, SYSTEM_ACCOUNT_PREFIX};
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

/// Largest metadata object, as canonical JSON, in bytes.
pub const MAX_METADATA_BYTES: usize = 4096;
/// Deepest nesting of metadata objects and arrays.
pub const MAX_METADATA_DEPTH: usize = 8;

/// An entry as an app posts it.
#[derive(Debug, Clone, Default)]
pub struct EntryRequest {
    pub operation: String,
    pub owner_id: String,
    pub nonce: String,
    pub amount: Option<String>,
    pub counterparty_id: Option<String>,
    pub metadata: Option<Value>,
    /// RFC 3339: when the lot this credit opens expires, where the operation lets a
    /// request set it.
    pub expires_at: Option<String>,
    /// The lot's priority (0–100), where the operation lets a request set it.
    pub priority: Option<i64>,
}

impl EntryRequest {
    /// Checks the request against the app's catalog and turns it into a workflow command.
    pub fn validate(
        &self,
        app_id: Uuid,
        catalog: &Catalog,
        received_at: i64,
        is_async: bool,
    ) -> Result<Command, Refusal> {
        let nonce = app_nonce(self.nonce.clone())?;
        let owner_id = posting_owner("owner_id", &self.owner_id)?;
        let counterparty_id = match &self.counterparty_id {
            Some(c) => Some(posting_owner("counterparty_id", c)?),
            None => None,
        };
        let requested = match &self.amount {
            Some(text) => Some(Amount::parse_text(text)?),
            None => None,
        };
        let metadata = canonical_metadata(self.metadata.as_ref())?;
        let op = operation(catalog, &self.operation)?;
        check_counterparty(op, &owner_id, counterparty_id.as_ref())?;
        let scale = catalog.asset(&op.asset).map_or(0, |a| a.scale);
        let amount = Amount::resolve(op, requested, scale)?;
        let lot_terms = self.lot_terms(op, received_at)?;

        Ok(Command {
            entry_id: Uuid::now_v7(),
            app_id,
            request_hash: self.hash(hashed_amount(op, requested), metadata.as_deref(), lot_terms),
            nonce,
            operation: Arc::new(op.clone()),
            owner_id,
            counterparty_id,
            amount,
            metadata,
            is_async,
            received_at,
            stored: false,
            key_id: None,
            lot_terms,
            target_lot: None,
            hold: None,
            control: None,
            reversal: None,
        })
    }

    /// The lot terms the request sets, if its operation lets it set them.
    fn lot_terms(&self, op: &Operation, received_at: i64) -> Result<LotTerms, Refusal> {
        let not_allowed = |field: &str| {
            let why = match &op.lot {
                None => "opens no lot".to_owned(),
                Some(_) => format!("takes its lots' {field} from the catalog"),
            };
            Refusal::new(
                Code::LotTermNotAllowed,
                format!("{} {why}: leave {field} out", op.name),
            )
        };
        let rule = op.lot.as_ref();
        let expires_at = match &self.expires_at {
            None => None,
            Some(_) if !rule.is_some_and(|r| r.request_expires_at) => {
                return Err(not_allowed("expires_at"));
            }
            Some(text) => {
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
                Some(at)
            }
        };
        let priority = match self.priority {
            None => None,
            Some(_) if !rule.is_some_and(|r| r.request_priority) => {
                return Err(not_allowed("priority"));
            }
            Some(p) => Some(
                u8::try_from(p)
                    .ok()
                    .filter(|p| PRIORITIES.contains(p))
                    .ok_or_else(|| {
                        Refusal::new(
                            Code::InvalidPriority,
                            format!("priority must be 0 to 100 (lower is spent first), not {p}"),
                        )
                    })?,
            ),
        };
        Ok(LotTerms {
            expires_at,
            priority,
        })
    }

    /// SHA-256 of the canonical request. Two requests with one nonce are "the same request"
    /// when their hashes match: amounts compare as numbers (`5` = `5.00`) and metadata as
    /// JSON values (key order does not matter).
    /// Lot terms join the hash only when set, so that the hash of every request that sets
    /// none is what it was before lots existed, and their replays still match.
    fn hash(&self, amount: Option<Decimal>, metadata: Option<&str>, lot: LotTerms) -> String {
        let mut canonical = serde_json::json!({
            "operation": self.operation,
            "owner_id": self.owner_id,
            "counterparty_id": self.counterparty_id,
            "amount": amount.map(|a| a.normalize().to_string()),
            "metadata": metadata,
        });
        if let Some(at) = lot.expires_at {
            canonical["expires_at"] = at.into();
        }
        if let Some(priority) = lot.priority {
            canonical["priority"] = priority.into();
        }
        request_digest(&canonical)
    }
}

/// The amount a request's canonical form holds: none for an operation of a fixed amount,
/// which a request may omit or repeat (any other is refused), so both mean one request.
fn hashed_amount(op: &Operation, requested: Option<Decimal>) -> Option<Decimal> {
    match op.amount {
        AmountRule::Fixed(_) => None,
        AmountRule::Range { .. } => requested,
    }
}

/// SHA-256 (hex) of a request in canonical form: what a request hash is, for entries and for
/// the ledger's own commands alike.
pub fn request_digest(canonical: &Value) -> String {
    crate::hex::encode(&Sha256::digest(canonical_json(canonical).as_bytes()))
}

/// An owner a request may post for: a well-formed id that is not, and does not look like,
/// a system account's name (its first character, in compatibility form, is not `@`: `＠`
/// is refused too).
pub fn posting_owner(field: &str, text: &str) -> Result<OwnerId, Refusal> {
    let owner = OwnerId::parse(field, text.to_owned())?;
    if starts_with_at(owner.as_str()) {
        return Err(Refusal::new(
            Code::InvalidId,
            format!("{field} must not start with @: those names belong to system accounts"),
        ));
    }
    Ok(owner)
}

/// A nonce an app sent: well-formed, and not one of the ledger's own (those start with `@`).
pub fn app_nonce(text: String) -> Result<Nonce, Refusal> {
    let nonce = Nonce::parse(text)?;
    if starts_with_at(nonce.as_str()) {
        return Err(Refusal::new(
            Code::InvalidId,
            "nonce must not start with @: those nonces are the ledger's own",
        ));
    }
    Ok(nonce)
}

/// Whether `id`'s first character is `@` in compatibility form (`＠` is, too).
fn starts_with_at(id: &str) -> bool {
    id.chars().take(1).nfkc().next() == Some(SYSTEM_ACCOUNT_PREFIX)
}

/// Metadata as canonical JSON text: an object (or nothing), bounded in depth and size.
fn canonical_metadata(metadata: Option<&Value>) -> Result<Option<String>, Refusal> {
    match metadata {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => {
            if depth(v) > MAX_METADATA_DEPTH {
                return Err(Refusal::new(
                    Code::MetadataTooDeep,
                    format!("metadata nests deeper than {MAX_METADATA_DEPTH} levels"),
                ));
            }
            let text = canonical_json(v);
            if text.len() > MAX_METADATA_BYTES {
                return Err(Refusal::new(
                    Code::MetadataTooLarge,
                    format!("metadata is larger than {MAX_METADATA_BYTES} bytes"),
                ));
            }
            Ok(Some(text))
        }
        Some(_) => Err(Refusal::new(
            Code::InvalidMetadata,
            "metadata must be a JSON object",
        )),
    }
}

/// The catalog's operation `name`, if it is there and enabled.
fn operation<'c>(catalog: &'c Catalog, name: &str) -> Result<&'c Operation, Refusal> {
    let op = catalog.get(name).ok_or_else(|| {
        Refusal::new(
            Code::UnknownOperation,
            format!("this app's catalog has no operation {name:?}"),
        )
    })?;
    if !op.enabled {
        return Err(Refusal::new(
            Code::OperationDisabled,
            format!("operation {} is disabled in this app's catalog", op.name),
        ));
    }
    Ok(op)
}

/// A transfer names its receiver, another owner; nothing else names one.
fn check_counterparty(
    op: &Operation,
    owner: &OwnerId,
    counterparty: Option<&OwnerId>,
) -> Result<(), Refusal> {
    match (op.direction, counterparty) {
        (Direction::Transfer, None) => Err(Refusal::new(
            Code::CounterpartyRequired,
            format!(
                "{} moves credits to another owner: counterparty_id is required",
                op.name
            ),
        )),
        (Direction::Transfer, Some(c)) if c == owner => Err(Refusal::new(
            Code::InvalidCounterparty,
            "an owner cannot transfer to itself",
        )),
        (Direction::Credit | Direction::Debit, Some(_)) => Err(Refusal::new(
            Code::CounterpartyNotAllowed,
            format!(
                "{} is not a transfer: counterparty_id must be left out",
                op.name
            ),
        )),
        _ => Ok(()),
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// JSON with object keys sorted at every level, whatever order they arrived in, and no
/// white space. serde_json's own writer gives that: without its `preserve_order` feature
/// (the workspace does not enable it) an object is a `BTreeMap`, its keys in order. Were the
/// feature ever turned on, `request::tests` would fail: they pin stored hashes of requests
/// whose keys arrive unsorted. Written straight into a string rather than through
/// `Display`'s formatter, which costs more; a `Value` always serializes, and `Display`
/// writes the same text.
pub fn canonical_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| v.to_string())
}

#[cfg(test)]
mod tests;
