//! Reversals decided without a database: given the stored rows, when a reversal runs, then
//! where the value went.

use super::super::given::*;
use super::super::*;

fn reverse(stored: &Stored, original: Uuid, nonce: &str, amount: Option<&str>, t: i64) -> Command {
    let record = stored_record(stored, original);
    let op = catalog().get(&record.entry.operation).cloned();
    let nonce = Nonce::parse(nonce.into()).expect("a nonce");
    crate::ledger::reversal::command(&record, op.as_ref(), (nonce, amount, None), 2, t)
        .expect("a reversal")
}

/// The record of `id` as the event store would read it back: entry, postings, the lots it
/// opened, its allocations.
fn stored_record(stored: &Stored, id: Uuid) -> EntryRecord {
    stored.records[&id].clone()
}

#[test]
fn reversing_a_spend_gives_each_lot_back_its_share_with_its_terms() {
    let mut stored = Stored::default();
    let t1 = T0 + 100 * SECOND;
    run(
        &mut stored,
        &[entry("CREDIT_ADD", "a", "100", Some(t1), T0)],
        T0,
    );
    run(
        &mut stored,
        &[entry("CREDIT_ADD", "b", "100", None, T0)],
        T0,
    );
    let spend = run(
        &mut stored,
        &[entry("CREDIT_SPEND", "s", "150", None, T0 + 1)],
        T0 + 1,
    );
    let id = spend[0].entry.id;
    let r = reverse(&stored, id, "r", None, T0 + 2);
    let back = run(&mut stored, &[r], T0 + 2);
    assert_eq!(outcome(&back[0]), "completed");
    assert_eq!(back[0].entry.reverses, Some(id));
    assert_eq!(balance(&stored, "amy"), dec("200"));
    let mut lots: Vec<(Option<i64>, Decimal, &str)> = stored
        .lots
        .values()
        .map(|l| (l.expires_at, dec(&l.remaining), l.status.as_str()))
        .collect();
    lots.sort();
    assert_eq!(
        lots,
        [(None, dec("100"), "open"), (Some(t1), dec("100"), "open")]
    );
    let r = reverse(&stored, id, "r2", Some("1"), T0 + 3);
    let again = run(&mut stored, &[r], T0 + 3);
    assert_eq!(outcome(&again[0]), "reversal_exceeds_original");
}

#[test]
fn partial_reversals_add_up_to_the_original_and_no_further() {
    let mut stored = Stored::default();
    run(
        &mut stored,
        &[entry("CREDIT_ADD", "a", "200", None, T0)],
        T0,
    );
    let id = run(
        &mut stored,
        &[entry("CREDIT_SPEND", "s", "150", None, T0)],
        T0,
    )[0]
    .entry
    .id;
    for (i, expected) in [
        "completed",
        "completed",
        "completed",
        "reversal_exceeds_original",
    ]
    .into_iter()
    .enumerate()
    {
        let r = reverse(&stored, id, &format!("r{i}"), Some("50"), T0 + 1);
        assert_eq!(
            outcome(&run(&mut stored, &[r], T0 + 1)[0]),
            expected,
            "reversal {i}"
        );
    }
    assert_eq!(balance(&stored, "amy"), dec("200"));
    assert_eq!(dec(&stored.reversed[&id].reversed), dec("150"));
}

#[test]
fn a_spent_credit_cannot_be_taken_back_and_an_expired_share_expires_again() {
    let mut stored = Stored::default();
    let t1 = T0 + 10 * SECOND;
    let credit = run(
        &mut stored,
        &[entry("CREDIT_ADD", "a", "10", Some(t1), T0)],
        T0,
    );
    run(
        &mut stored,
        &[entry("CREDIT_SPEND", "s", "4", None, T0)],
        T0,
    );
    let r = reverse(&stored, credit[0].entry.id, "r1", None, T0 + 1);
    assert_eq!(
        outcome(&run(&mut stored, &[r], T0 + 1)[0]),
        "insufficient_balance"
    );
    let r = reverse(&stored, credit[0].entry.id, "r2", Some("6"), T0 + 1);
    assert_eq!(outcome(&run(&mut stored, &[r], T0 + 1)[0]), "completed");
    assert_eq!(balance(&stored, "amy"), dec("0"));
    // After the lot's expiry, reversing the spend gives its 4 back only to expire them.
    let spend = stored
        .records
        .values()
        .find(|r| r.entry.operation == "CREDIT_SPEND")
        .expect("the spend")
        .entry
        .id;
    let r = reverse(&stored, spend, "r3", None, t1 + 1);
    let back = run(&mut stored, &[r], t1 + 1);
    assert_eq!(outcome(&back[0]), "completed");
    assert_eq!(back[0].postings.len(), 4, "{:?}", back[0].postings);
    assert_eq!(balance(&stored, "amy"), dec("0"));
}
