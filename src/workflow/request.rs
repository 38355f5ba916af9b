//! The first, stateless half of `validating`: is this a request the app's catalog accepts?
//! A refusal here is a 4xx, records nothing and leaves the nonce unused.

use super::command::Command;
use operations::{Catalog, Direction, SYSTEM_ACCOUNT_PREFIX};
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

/// Longest owner id, counterparty id and nonce, in bytes.
pub const MAX_ID_LEN: usize = 128;
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
}

/// Why a request was refused before anything was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Rejection {
    /// 400 for a malformed request, 422 for a well-formed one the catalog refuses.
    pub status: u16,
    pub code: &'static str,
    pub detail: String,
}

fn malformed(code: &'static str, detail: impl Into<String>) -> Rejection {
    Rejection {
        status: 400,
        code,
        detail: detail.into(),
    }
}

fn refused(code: &'static str, detail: impl Into<String>) -> Rejection {
    Rejection {
        status: 422,
        code,
        detail: detail.into(),
    }
}

impl EntryRequest {
    /// Checks the request against the app's catalog and turns it into a workflow command.
    pub fn validate(
        &self,
        app_id: Uuid,
        catalog: &Catalog,
        received_at: i64,
        is_async: bool,
    ) -> Result<Command, Rejection> {
        check_id("nonce", &self.nonce)?;
        check_id("owner_id", &self.owner_id)?;
        if let Some(c) = &self.counterparty_id {
            check_id("counterparty_id", c)?;
        }
        let requested = match &self.amount {
            Some(text) => Some(parse_amount(text)?),
            None => None,
        };
        let metadata = match &self.metadata {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => {
                if depth(v) > MAX_METADATA_DEPTH {
                    return Err(refused(
                        "metadata_too_deep",
                        format!("metadata nests deeper than {MAX_METADATA_DEPTH} levels"),
                    ));
                }
                let text = canonical_json(v);
                if text.len() > MAX_METADATA_BYTES {
                    return Err(refused(
                        "metadata_too_large",
                        format!("metadata is larger than {MAX_METADATA_BYTES} bytes"),
                    ));
                }
                Some(text)
            }
            Some(_) => {
                return Err(malformed(
                    "invalid_metadata",
                    "metadata must be a JSON object",
                ));
            }
        };

        let op = catalog.get(&self.operation).ok_or_else(|| {
            refused(
                "unknown_operation",
                format!("this app's catalog has no operation {:?}", self.operation),
            )
        })?;
        if !op.enabled {
            return Err(refused(
                "operation_disabled",
                format!("operation {} is disabled in this app's catalog", op.name),
            ));
        }
        match (op.direction, &self.counterparty_id) {
            (Direction::Transfer, None) => {
                return Err(refused(
                    "counterparty_required",
                    format!(
                        "{} moves credits to another owner: counterparty_id is required",
                        op.name
                    ),
                ));
            }
            (Direction::Transfer, Some(c)) if *c == self.owner_id => {
                return Err(refused(
                    "invalid_counterparty",
                    "an owner cannot transfer to itself",
                ));
            }
            (Direction::Credit | Direction::Debit, Some(_)) => {
                return Err(refused(
                    "counterparty_not_allowed",
                    format!(
                        "{} is not a transfer: counterparty_id must be left out",
                        op.name
                    ),
                ));
            }
            _ => {}
        }
        let scale = catalog.asset(&op.asset).map_or(0, |a| a.scale);
        let amount = op
            .resolve_amount(requested, scale)
            .map_err(|e| refused(e.code(), e.to_string()))?;

        Ok(Command {
            entry_id: Uuid::now_v7(),
            app_id,
            nonce: self.nonce.clone(),
            request_hash: self.hash(requested, metadata.as_deref()),
            operation: Arc::new(op.clone()),
            owner_id: self.owner_id.clone(),
            counterparty_id: self.counterparty_id.clone(),
            amount,
            metadata,
            is_async,
            received_at,
            stored: false,
            key_id: None,
        })
    }

    /// SHA-256 of the canonical request. Two requests with one nonce are "the same request"
    /// when their hashes match: amounts compare as numbers (`5` = `5.00`) and metadata as
    /// JSON values (key order does not matter).
    fn hash(&self, amount: Option<Decimal>, metadata: Option<&str>) -> String {
        let canonical = serde_json::json!({
            "operation": self.operation,
            "owner_id": self.owner_id,
            "counterparty_id": self.counterparty_id,
            "amount": amount.map(|a| a.normalize().to_string()),
            "metadata": metadata,
        });
        hex::encode(Sha256::digest(canonical_json(&canonical).as_bytes()))
    }
}

/// Parses a decimal amount string. Amounts are strings on the wire so that they never pass
/// through a float.
pub fn parse_amount(text: &str) -> Result<Decimal, Rejection> {
    let bad = || {
        malformed(
            "invalid_amount",
            format!(
                "amount must be a decimal string such as \"12.50\", at most 28 significant digits; got {:?}",
                truncate(text)
            ),
        )
    };
    let well_formed = text.len() <= 40
        && !text.is_empty()
        && text
            .strip_prefix('-')
            .unwrap_or(text)
            .split_once('.')
            .map_or(
                is_digits(text.strip_prefix('-').unwrap_or(text)),
                |(i, f)| is_digits(i) && is_digits(f),
            );
    if !well_formed {
        return Err(bad());
    }
    Decimal::from_str_exact(text).map_err(|_| bad())
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Ids and nonces: 1 to 128 bytes, no control characters; owners may not take the names
/// of system accounts.
fn check_id(field: &'static str, value: &str) -> Result<(), Rejection> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(refused(
            "invalid_id",
            format!("{field} must be 1 to {MAX_ID_LEN} bytes long"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(refused(
            "invalid_id",
            format!("{field} must not contain control characters"),
        ));
    }
    if field != "nonce" && value.starts_with(SYSTEM_ACCOUNT_PREFIX) {
        return Err(refused(
            "invalid_id",
            format!("{field} must not start with @: those names belong to system accounts"),
        ));
    }
    Ok(())
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// JSON with object keys sorted at every level, whatever order they arrived in.
pub fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(operation: &str, amount: Option<&str>) -> EntryRequest {
        EntryRequest {
            operation: operation.into(),
            owner_id: "alice".into(),
            nonce: "n-1".into(),
            amount: amount.map(Into::into),
            ..EntryRequest::default()
        }
    }

    fn code(r: &EntryRequest) -> &'static str {
        r.validate(Uuid::nil(), &Catalog::base(), 0, false)
            .unwrap_err()
            .code
    }

    #[test]
    fn amounts_parse_only_as_plain_decimal_strings() {
        assert_eq!(
            parse_amount("12345678901234567.89").unwrap().to_string(),
            "12345678901234567.89"
        );
        for bad in [
            "",
            "1e5",
            "1.",
            ".5",
            "+1",
            "0x10",
            "1,5",
            " 1",
            "NaN",
            &"9".repeat(41),
        ] {
            assert_eq!(parse_amount(bad).unwrap_err().status, 400, "{bad:?}");
        }
        // Parses, but is refused later as not positive.
        assert!(parse_amount("-5").is_ok());
        assert_eq!(
            code(&request("CREDIT_ADD", Some("-5"))),
            "amount_not_positive"
        );
    }

    #[test]
    fn the_catalog_decides_operation_and_amount() {
        assert_eq!(code(&request("NOPE", Some("1"))), "unknown_operation");
        assert_eq!(code(&request("CREDIT_ADD", None)), "amount_required");
        assert_eq!(
            code(&request("CREDIT_ADD", Some("0"))),
            "amount_not_positive"
        );
        assert_eq!(
            code(&request("CREDIT_ADD", Some("1.001"))),
            "amount_too_precise"
        );
        assert_eq!(
            code(&request("CREDIT_ADD", Some("1000000.01"))),
            "amount_out_of_range"
        );
        assert_eq!(
            code(&request("DAILY_REWARD", Some("11"))),
            "amount_fixed_mismatch"
        );
        assert_eq!(
            code(&request("TRANSFER", Some("1"))),
            "counterparty_required"
        );
        let mut to_self = request("TRANSFER", Some("1"));
        to_self.counterparty_id = Some("alice".into());
        assert_eq!(code(&to_self), "invalid_counterparty");
        let mut credit_with_counterparty = request("CREDIT_ADD", Some("1"));
        credit_with_counterparty.counterparty_id = Some("bob".into());
        assert_eq!(code(&credit_with_counterparty), "counterparty_not_allowed");
        let mut catalog = Catalog::base();
        catalog
            .extend_from_toml("t", "[operations.CREDIT_ADD]\nenabled = false\n")
            .unwrap();
        let r = request("CREDIT_ADD", Some("1"));
        assert_eq!(
            r.validate(Uuid::nil(), &catalog, 0, false)
                .unwrap_err()
                .code,
            "operation_disabled"
        );
    }

    #[test]
    fn ids_and_metadata_are_bounded() {
        let mut r = request("CREDIT_ADD", Some("1"));
        r.owner_id = "@system:rewards".into();
        assert_eq!(code(&r), "invalid_id");
        r.owner_id = "a\u{0}b".into();
        assert_eq!(code(&r), "invalid_id");
        r.owner_id = "x".repeat(129);
        assert_eq!(code(&r), "invalid_id");
        r.owner_id = "ünïcødé ✓".into();
        assert!(r.validate(Uuid::nil(), &Catalog::base(), 0, false).is_ok());
        let mut deep = serde_json::json!({});
        for _ in 0..9 {
            deep = serde_json::json!({ "a": deep });
        }
        r.metadata = Some(deep);
        assert_eq!(code(&r), "metadata_too_deep");
        r.metadata = Some(serde_json::json!({ "a": "x".repeat(5000) }));
        assert_eq!(code(&r), "metadata_too_large");
        r.metadata = Some(serde_json::json!([1]));
        assert_eq!(code(&r), "invalid_metadata");
    }

    #[test]
    fn the_same_request_hashes_the_same_whatever_its_spelling() {
        let catalog = Catalog::base();
        let mut a = request("CREDIT_ADD", Some("5"));
        a.metadata = Some(serde_json::json!({ "x": 1, "y": [1, 2] }));
        let mut b = request("CREDIT_ADD", Some("5.00"));
        b.metadata = serde_json::from_str(r#"{"y":[1,2],"x":1}"#).ok();
        let hash = |r: &EntryRequest| {
            r.validate(Uuid::nil(), &catalog, 0, false)
                .unwrap()
                .request_hash
        };
        assert_eq!(hash(&a), hash(&b));
        b.amount = Some("6".into());
        assert_ne!(hash(&a), hash(&b));
    }
}
