//! Each shape `JsonBody` writes is written by serde exactly as poem-openapi's `ToJSON`
//! (which the spec's schema describes) would write it: every field set, and every optional
//! field left out.

use crate::api::model::{
    AccountBalance, AllocationView, Entry, EntryList, LotList, LotView, Posting, Transition,
};
use poem_openapi::types::ToJSON;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

fn same_as_to_json<T: Serialize + ToJSON>(shape: &T) {
    let by_serde = serde_json::to_value(shape).expect("a shape serializes");
    assert_eq!(Some(by_serde), shape.to_json());
}

fn lot(full: bool) -> LotView {
    LotView {
        id: Uuid::from_u128(1),
        owner_id: "alice".into(),
        asset: "CREDIT".into(),
        amount: "10.00".into(),
        remaining: "4.50".into(),
        category: "promotional".into(),
        priority: 7,
        expires_at: full.then(|| "2027-01-01T00:00:00.000001Z".into()),
        status: "open".into(),
        entry_id: full.then(|| Uuid::from_u128(2)),
        created_at: "2026-12-01T00:00:00Z".into(),
        closed_by: full.then(|| Uuid::from_u128(3)),
        closed_amount: full.then(|| "1.25".into()),
    }
}

fn entry(full: bool) -> Entry {
    Entry {
        id: Uuid::from_u128(4),
        nonce: "n-\"1\"".into(),
        operation: "CREDIT_ADD".into(),
        owner_id: "alice".into(),
        counterparty_id: full.then(|| "bob".into()),
        amount: "10.00".into(),
        asset: "CREDIT".into(),
        state: "completed".into(),
        failure_code: full.then(|| "insufficient_balance".into()),
        failure_detail: full.then(|| "needs 10.00, has 2.00 ✓".into()),
        balance_after: full.then(|| "12.00".into()),
        version: full.then_some(3),
        postings: vec![Posting {
            owner_id: "alice".into(),
            asset: "CREDIT".into(),
            version: 3,
            amount: "-10.00".into(),
            balance_after: "12.00".into(),
            recorded_at: "2026-12-01T00:00:00Z".into(),
            hash: "ab".repeat(32),
        }],
        transitions: vec![Transition {
            state: "received".into(),
            at: "2026-12-01T00:00:00Z".into(),
        }],
        metadata: full.then(|| json!({"z": [1, 2.50, null], "a": {"b": true}})),
        lot: full.then(|| lot(true)),
        allocations: full.then(|| {
            vec![AllocationView {
                lot_id: Uuid::from_u128(5),
                amount: "-6.25".into(),
            }]
        }),
        counterparty_lots: full.then(|| vec![lot(false)]),
        hold_id: full.then(|| Uuid::from_u128(6)),
        reverses: full.then(|| Uuid::from_u128(7)),
        reversed_amount: full.then(|| "6.25".into()),
        reversals: full.then(|| vec![Uuid::from_u128(8)]),
        created_at: "2026-12-01T00:00:00Z".into(),
    }
}

#[test]
fn an_entry_is_written_as_its_schema_says_with_every_field_and_with_none_optional() {
    same_as_to_json(&entry(true));
    same_as_to_json(&entry(false));
    same_as_to_json(&EntryList {
        entries: vec![entry(true), entry(false)],
        next_cursor: Some("c".into()),
    });
    same_as_to_json(&EntryList {
        entries: vec![],
        next_cursor: None,
    });
}

#[test]
fn lots_and_balances_are_written_as_their_schemas_say() {
    same_as_to_json(&LotList {
        lots: vec![lot(true), lot(false)],
    });
    for full in [true, false] {
        same_as_to_json(&AccountBalance {
            owner_id: "alice".into(),
            asset: "CREDIT".into(),
            balance: "12.00".into(),
            held: "0".into(),
            available: "12.00".into(),
            status: full.then(|| "frozen".into()),
            version: 3,
            at: full.then(|| "2026-12-01T00:00:00Z".into()),
            lots: full.then(|| vec![lot(true)]),
        });
    }
}
