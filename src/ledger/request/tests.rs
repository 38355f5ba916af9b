//! The stateless request checks: given a request and a catalog, then a command or a refusal.

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
        .as_str()
}

#[test]
fn a_negative_amount_parses_and_is_refused_as_not_positive() {
    assert_eq!(code(&request("CREDIT_ADD", Some("1e5"))), "invalid_amount");
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
        Code::OperationDisabled
    );
}

#[test]
fn ids_and_metadata_are_bounded() {
    let mut r = request("CREDIT_ADD", Some("1"));
    r.owner_id = "@system:rewards".into();
    assert_eq!(code(&r), "invalid_id");
    for lookalike in ["\u{FF20}system:rewards", "\u{FE6B}x"] {
        r.owner_id = lookalike.into();
        assert_eq!(code(&r), "invalid_id", "{lookalike}");
    }
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

/// A request's hash is what every earlier build stored for it: a replay compares the two.
#[test]
fn a_request_hashes_to_what_it_always_has() {
    let catalog = Catalog::base();
    let hash = |r: &EntryRequest| {
        r.validate(Uuid::nil(), &catalog, 0, false)
            .unwrap()
            .request_hash
    };
    let mut a = request("CREDIT_ADD", Some("5.00"));
    a.metadata = serde_json::from_str(r#"{"y":[1,2],"x":1}"#).ok();
    assert_eq!(
        hash(&a),
        "bf0345d3c83ab55c7f1051e201870835b7b4ea2e01c5ed8d74dd938590c9c5de"
    );
    let mut b = request("CREDIT_ADD", Some("5"));
    b.expires_at = Some("2027-01-15T08:00:00Z".into());
    b.priority = Some(3);
    assert_eq!(
        hash(&b),
        "43664afecc6d32b5d5d837e058c7e755d6c835a7f3d9f318c0e3226f85921637"
    );
}

#[test]
fn canonical_json_sorts_keys_at_every_level_and_keeps_numbers_as_written() {
    let v: serde_json::Value = serde_json::from_str(
        r#"{"b":[{"z":1,"a":"x\"y"},2.50,null],"a":{"d":true,"c":1e2},"é":"\u00e9"}"#,
    )
    .unwrap();
    assert_eq!(
        canonical_json(&v),
        r#"{"a":{"c":1e+2,"d":true},"b":[{"a":"x\"y","z":1},2.50,null],"é":"é"}"#
    );
}
