//! The projector's ordering decision, without a database: given the versions the read
//! model has, when a batch of messages arrives in any order, then exactly the messages whose
//! postings continue their accounts without a gap are applied.

use super::*;
use entity::{entry as stored_entry, posting as stored_posting};

/// An account id per letter.
fn account(name: char) -> Uuid {
    Uuid::from_u128(name as u128)
}

/// A message whose entry posts `legs`: (account, version).
fn message(legs: &[(char, i64)]) -> EntryRecord {
    let entry_id = Uuid::now_v7();
    let postings = legs
        .iter()
        .map(|&(name, version)| stored_posting::Model {
            account_id: account(name),
            version,
            entry_id,
            app_id: Uuid::nil(),
            owner_id: name.to_string(),
            asset: "CREDIT".into(),
            amount: "1".into(),
            balance_after: version.to_string(),
            recorded_at: version,
            prev_hash: String::new(),
            hash: String::new(),
        })
        .collect();
    EntryRecord {
        entry: stored_entry::Model {
            id: entry_id,
            app_id: Uuid::nil(),
            nonce: entry_id.to_string(),
            request_hash: String::new(),
            operation: "CREDIT_ADD".into(),
            owner_id: "a".into(),
            counterparty_id: None,
            asset: "CREDIT".into(),
            amount: "1".into(),
            metadata: None,
            is_async: false,
            created_at: 0,
            lot_expires_at: None,
            lot_priority: None,
            hold_id: None,
            reverses: None,
            state: None,
            events: None,
        },
        events: Vec::new(),
        postings,
        lots: Vec::new(),
        allocations: Vec::new(),
        holds: Vec::new(),
        reversals: Vec::new(),
        app_events: Vec::new(),
    }
}

fn verdicts(messages: &[EntryRecord], before: &[(char, i64)]) -> Vec<Verdict> {
    let batch: Vec<Delivered> = messages
        .iter()
        .map(|record| Delivered {
            record,
            committed_at: 0,
            position: 0,
        })
        .collect();
    let before = before.iter().map(|&(n, v)| (account(n), v)).collect();
    decide(&batch, &before)
}

use Verdict::{Applied, Waiting};

#[test]
fn versions_delivered_backwards_in_one_batch_all_apply() {
    let batch = [
        message(&[('a', 4), ('s', 3)]),
        message(&[('a', 3), ('s', 2)]),
        message(&[('a', 2), ('s', 1)]),
    ];
    assert_eq!(verdicts(&batch, &[('a', 1)]), [Applied, Applied, Applied]);
}

#[test]
fn a_gap_waits_and_so_does_what_follows_it() {
    let batch = [message(&[('a', 3)]), message(&[('a', 4), ('b', 1)])];
    assert_eq!(verdicts(&batch, &[('a', 1)]), [Waiting, Waiting]);
    // Its other account being ready is not enough: both legs apply together or neither.
    let batch = [message(&[('b', 1), ('a', 5)])];
    assert_eq!(verdicts(&batch, &[('a', 3)]), [Waiting]);
}

#[test]
fn what_the_read_model_has_already_counts_as_applied() {
    let batch = [
        message(&[('a', 2)]),
        message(&[('a', 2)]),
        message(&[('a', 3)]),
    ];
    assert_eq!(
        verdicts(&batch, &[('a', 2)]),
        [Applied, Applied, Applied],
        "a redelivery and a duplicate change nothing and hold nothing up"
    );
}

#[test]
fn an_entry_without_postings_is_applied_at_once() {
    assert_eq!(verdicts(&[message(&[])], &[]), [Applied]);
}
