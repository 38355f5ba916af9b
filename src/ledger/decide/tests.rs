//! The batch decisions, without a database: given the loaded state, when a batch is
//! decided, then these outcomes and rows.

use super::*;
use crate::decimal::stored_decimal;
use crate::ledger::command::account_id;
use crate::ledger::limits::Usage;
use crate::ledger::limits::usage_keys;
use crate::ledger::lots::Lot;
use crate::ledger::request::EntryRequest;
use operations::Catalog;
use std::collections::HashMap;

const APP: Uuid = Uuid::from_u128(7);
const NOW: i64 = 1_795_305_600_000_000;

fn cmd(operation: &str, owner: &str, nonce: &str, amount: Option<&str>) -> Command {
    EntryRequest {
        operation: operation.into(),
        owner_id: owner.into(),
        nonce: nonce.into(),
        amount: amount.map(Into::into),
        counterparty_id: (operation == "TRANSFER").then(|| "zed".into()),
        metadata: None,
        ..EntryRequest::default()
    }
    .validate(APP, &Catalog::base(), NOW, false)
    .expect("a valid request")
}

#[test]
fn duplicates_inside_one_batch_behave_as_across_batches() {
    let first = cmd("CREDIT_ADD", "amy", "n1", Some("5"));
    let same = cmd("CREDIT_ADD", "amy", "n1", Some("5.00"));
    let different = cmd("CREDIT_ADD", "amy", "n1", Some("6"));
    let plan = decide(&[first.clone(), same, different], Loaded::default(), NOW).unwrap();
    assert_eq!(plan.states(), ["completed", "replay", "nonce_reused"]);
    assert_eq!(plan.entries.len(), 1);
    match &plan.outcomes[1] {
        Outcome::Replay(id) => assert_eq!(*id, first.entry_id),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_command_sent_with_a_revoked_key_is_refused_and_leaves_its_nonce_free() {
    let (live, revoked) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let with_key = |key, nonce| Command {
        key_id: Some(key),
        ..cmd("CREDIT_ADD", "amy", nonce, Some("5"))
    };
    let refused = with_key(revoked, "n1");
    let batch = [
        refused,
        with_key(live, "n1"),
        cmd("CREDIT_ADD", "amy", "n2", Some("1")),
    ];
    assert_eq!(
        Wanted::of(&batch, NOW).keys.into_iter().collect::<Vec<_>>(),
        [live, revoked]
    );
    let loaded = Loaded {
        live_keys: [live].into(),
        ..Loaded::default()
    };
    let plan = decide(&batch, loaded, NOW).unwrap();
    assert_eq!(plan.states(), ["key_revoked", "completed", "completed"]);
    assert_eq!(plan.entries.len(), 2);
    assert_eq!(plan.postings.len(), 4);
}

#[test]
fn a_batch_applies_in_order_against_the_running_balance() {
    let batch = [
        cmd("CREDIT_ADD", "amy", "a", Some("10")),
        cmd("CREDIT_SPEND", "amy", "s1", Some("6")),
        cmd("CREDIT_SPEND", "amy", "s2", Some("6")),
        cmd("CREDIT_SPEND", "amy", "s3", Some("4")),
        cmd("DAILY_REWARD", "amy", "d1", None),
        cmd("DAILY_REWARD", "amy", "d2", None),
    ];
    let plan = decide(&batch, Loaded::default(), NOW).unwrap();
    assert_eq!(
        plan.states(),
        [
            "completed",
            "completed",
            "insufficient_balance",
            "completed",
            "completed",
            "limit_exceeded"
        ]
    );
    let amy = account_id(APP, "amy", "CREDIT");
    let head = plan.heads.iter().find(|h| h.id == amy).unwrap();
    assert_eq!((head.balance.as_str(), head.version), ("10.00", 4));
    // The hot system account is written once for the whole batch.
    let spend = account_id(APP, "@system:spend", "CREDIT");
    assert_eq!(plan.heads.iter().filter(|h| h.id == spend).count(), 1);
    let total: Decimal = plan
        .heads
        .iter()
        .map(|h| stored_decimal(&h.balance).unwrap())
        .sum();
    assert_eq!(total, Decimal::ZERO);
}

#[test]
fn loaded_state_decides_replays_heads_and_limits() {
    let mut loaded = Loaded::default();
    let earlier = Uuid::from_u128(1);
    let replayed = cmd("CREDIT_ADD", "bo", "old", Some("1"));
    loaded.nonces.insert(
        (APP, "old".into()),
        (earlier, replayed.request_hash.clone()),
    );
    let bo = account_id(APP, "bo", "CREDIT");
    loaded.heads.insert(
        bo,
        Head {
            app_id: APP,
            owner_id: "bo".into(),
            asset: "CREDIT".into(),
            balance: Decimal::new(300, 2),
            version: 9,
            updated_at: NOW + 5,
            hash: "a".repeat(64),
            shortfall: Decimal::ZERO,
            status: crate::ledger::account::AccountStatus::Active,
            open_holds: 0,
            monitors: 0,
        },
    );
    loaded.lots.push(paid_lot(bo, "3.00"));
    let reward = cmd("DAILY_REWARD", "bo", "r", None);
    for key in usage_keys(&reward, NOW) {
        loaded.usage.insert(
            key,
            Usage {
                count: 1,
                total: Decimal::TEN,
                last_at: NOW - 1,
            },
        );
    }
    let batch = [replayed, cmd("CREDIT_SPEND", "bo", "s", Some("3")), reward];
    let plan = decide(&batch, loaded, NOW).unwrap();
    assert_eq!(plan.states(), ["replay", "completed", "limit_exceeded"]);
    let posting = &plan.postings[0];
    assert_eq!(
        (posting.version, posting.balance_after.as_str()),
        (10, "0.00")
    );
    // recorded_at never goes back along an account, even if this clock is behind.
    assert_eq!(posting.recorded_at, NOW + 5);
}

#[test]
fn transfers_credit_the_counterparty() {
    let batch = [
        cmd("CREDIT_ADD", "cy", "a", Some("5")),
        cmd("TRANSFER", "cy", "t", Some("2")),
    ];
    let plan = decide(&batch, Loaded::default(), NOW).unwrap();
    let zed = plan.heads.iter().find(|h| h.owner_id == "zed").unwrap();
    assert_eq!((zed.balance.as_str(), zed.version), ("2.00", 1));
}

/// An open paid lot of `remaining` in `account`, never expiring.
fn paid_lot(account: Uuid, remaining: &str) -> (Lot, lot::Model) {
    let row = lot::Model {
        id: Uuid::now_v7(),
        account_id: account,
        entry_id: None,
        category: "paid".into(),
        priority: 50,
        expires_at: None,
        created_at: NOW - 10,
        amount: remaining.into(),
        counter_account: "@system:purchases".into(),
        remaining: remaining.into(),
        status: "open".into(),
        closed_by: None,
        closed_at: None,
        closed_amount: None,
    };
    (Lot::from_row(&row).expect("a lot"), row)
}

#[test]
fn a_lot_can_be_drawn_a_millisecond_before_its_expiry_instant_and_not_at_it() {
    let t = NOW + 1_000;
    let amy = account_id(APP, "amy", "CREDIT");
    let given = || {
        let mut loaded = Loaded::default();
        let (mut lot, mut row) = paid_lot(amy, "10.00");
        (lot.expires_at, row.expires_at) = (Some(t), Some(t));
        loaded.lots.push((lot, row));
        loaded.heads.insert(amy, head("amy", "10.00"));
        loaded
    };
    let spend = cmd("CREDIT_SPEND", "amy", "s", Some("4"));
    let before = decide(std::slice::from_ref(&spend), given(), t - 1_000).unwrap();
    assert_eq!(before.states(), ["completed"]);
    assert_eq!(before.allocations.len(), 1);
    let at = decide(std::slice::from_ref(&spend), given(), t).unwrap();
    assert_eq!(at.states(), ["insufficient_balance"]);
    assert!(at.allocations.is_empty());
}

#[test]
fn an_expiry_moves_what_is_left_only_from_the_instant_on() {
    let t = NOW + 1_000;
    let amy = account_id(APP, "amy", "CREDIT");
    let (mut lot, mut row) = paid_lot(amy, "6.00");
    (lot.expires_at, row.expires_at) = (Some(t), Some(t));
    let given = || Loaded {
        lots: vec![(lot.clone(), row.clone())],
        heads: HashMap::from([(amy, head("amy", "6.00"))]),
        ..Loaded::default()
    };
    let expiry =
        crate::ledger::closing::expiry(&row, &head("amy", "6.00").row(amy)).expect("an expiry");
    let early = decide(std::slice::from_ref(&expiry), given(), t - 1).unwrap();
    assert_eq!(early.states(), ["not_due"]);
    assert!(
        early.entries.is_empty(),
        "nothing recorded before the instant"
    );
    let plan = decide(&[expiry.clone(), expiry], given(), t).unwrap();
    assert_eq!(plan.states(), ["completed", "replay"]);
    assert_eq!(plan.entries[0].amount, "6.00");
    assert_eq!(
        plan.entries[0].created_at, t,
        "effective at the expiry instant"
    );
    assert_eq!(plan.lots[0].status, "expired");
    assert_eq!(plan.lots[0].remaining, "0.00");
    let amy_head = plan.heads.iter().find(|h| h.id == amy).unwrap();
    assert_eq!(amy_head.balance, "0.00");
}

fn head(owner: &str, balance: &str) -> Head {
    Head {
        app_id: APP,
        owner_id: owner.into(),
        asset: "CREDIT".into(),
        balance: stored_decimal(balance).unwrap(),
        version: 1,
        updated_at: NOW - 10,
        hash: "a".repeat(64),
        shortfall: Decimal::ZERO,
        status: crate::ledger::account::AccountStatus::Active,
        open_holds: 0,
        monitors: 0,
    }
}
