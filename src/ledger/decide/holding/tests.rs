//! Holds decided without a database: given the stored rows, when commands run at a time,
//! then these outcomes, balances and lots.

use super::super::given::*;
use super::super::*;

#[test]
fn forty_holds_of_five_on_a_hundred_hold_exactly_twenty_and_then_no_spend_gets_through() {
    let mut stored = Stored::default();
    run(
        &mut stored,
        &[entry("CREDIT_ADD", "c", "100", None, T0)],
        T0,
    );
    let holds: Vec<Command> = (0..40)
        .map(|i| hold(&format!("h{i}"), "5", 60, T0))
        .collect();
    let records = run(&mut stored, &holds, T0 + 1);
    let held = records.iter().filter(|r| outcome(r) == "held").count();
    let refused = records
        .iter()
        .filter(|r| outcome(r) == "insufficient_balance")
        .count();
    assert_eq!((held, refused), (20, 20));
    let spends: Vec<Command> = (0..40)
        .map(|i| entry("CREDIT_SPEND", &format!("s{i}"), "5", None, T0 + 2))
        .collect();
    let records = run(&mut stored, &spends, T0 + 2);
    assert!(records.iter().all(|r| outcome(r) == "insufficient_balance"));
    assert_eq!(balance(&stored, "amy"), dec("100"));
}

#[test]
fn a_partial_capture_debits_what_it_takes_and_frees_the_rest() {
    let mut stored = Stored::default();
    run(&mut stored, &[entry("CREDIT_ADD", "c", "10", None, T0)], T0);
    let placed = run(&mut stored, &[hold("h", "5", 60, T0)], T0);
    let id = placed[0].entry.id;
    assert_eq!(outcome(&placed[0]), "held");
    assert!(placed[0].postings.is_empty(), "a hold posts nothing");
    let c = capture(&stored, id, "c1", Some("3"), T0 + 1);
    let captured = run(&mut stored, &[c], T0 + 1);
    assert_eq!(outcome(&captured[0]), "completed");
    assert_eq!(captured[0].entry.hold_id, Some(id));
    assert_eq!(captured[0].holds[0].status, "captured");
    assert_eq!(captured[0].holds[0].captured.as_deref(), Some("3.00"));
    assert_eq!(balance(&stored, "amy"), dec("7"));
    // The 2 the capture left are free again: a spend of 7 fits, one of 7.01 does not.
    let spends = [
        entry("CREDIT_SPEND", "s1", "7.01", None, T0 + 2),
        entry("CREDIT_SPEND", "s2", "7", None, T0 + 2),
    ];
    let spent = run(&mut stored, &spends, T0 + 2);
    assert_eq!(
        (outcome(&spent[0]), outcome(&spent[1])),
        ("insufficient_balance", "completed")
    );
    let again = capture(&stored, id, "c2", None, T0 + 3);
    assert_eq!(
        outcome(&run(&mut stored, &[again], T0 + 3)[0]),
        "hold_not_open"
    );
}

#[test]
fn a_capture_takes_at_most_the_hold() {
    let mut stored = Stored::default();
    run(&mut stored, &[entry("CREDIT_ADD", "c", "10", None, T0)], T0);
    let id = run(&mut stored, &[hold("h", "5", 60, T0)], T0)[0].entry.id;
    let c = capture(&stored, id, "c1", Some("5.01"), T0 + 1);
    assert_eq!(
        outcome(&run(&mut stored, &[c], T0 + 1)[0]),
        "amount_exceeds_hold"
    );
    assert_eq!(stored.holds[&id].status, "held");
}

#[test]
fn a_hold_ends_at_its_instant_to_the_microsecond() {
    let mut stored = Stored::default();
    run(&mut stored, &[entry("CREDIT_ADD", "c", "10", None, T0)], T0);
    let id = run(&mut stored, &[hold("h", "10", 60, T0)], T0)[0].entry.id;
    let end = T0 + 60 * SECOND;
    // A microsecond before its end the hold still holds everything.
    let spend = entry("CREDIT_SPEND", "s1", "1", None, end - 1);
    assert_eq!(
        outcome(&run(&mut stored, &[spend], end - 1)[0]),
        "insufficient_balance"
    );
    // At its end, unrecorded, its amount is free: a spend goes through, a capture does not.
    let c = capture(&stored, id, "c1", None, end);
    let spend = entry("CREDIT_SPEND", "s2", "10", None, end);
    let records = run(&mut stored, &[c, spend], end);
    assert_eq!(
        (outcome(&records[0]), outcome(&records[1])),
        ("hold_expired", "completed")
    );
    let v = void(&stored, id, "v1", end + 1);
    assert_eq!(outcome(&run(&mut stored, &[v], end + 1)[0]), "hold_expired");
    // Its expiry is never recorded before its instant; recorded later, it ends the hold
    // once and moves nothing.
    let expiry = hold_request::expiry(&stored.holds[&id]).expect("an expiry");
    let batch = std::slice::from_ref(&expiry);
    let early = decide(batch, stored.load(&Wanted::of(batch, end - 1)), end - 1).expect("legal");
    assert!(matches!(early.outcomes[..], [Outcome::NotDue]) && early.entries.is_empty());
    let expiry = hold_request::expiry(&stored.holds[&id]).expect("an expiry");
    let recorded = run(&mut stored, &[expiry], end + 5);
    assert_eq!(outcome(&recorded[0]), "completed");
    assert!(recorded[0].postings.is_empty());
    assert_eq!(stored.holds[&id].status, "expired");
    assert_eq!(balance(&stored, "amy"), dec("0"));
}

#[test]
fn a_lot_that_expires_during_a_hold_stays_spendable_by_its_capture_until_the_hold_ends() {
    let mut stored = Stored::default();
    let t1 = T0 + 10 * SECOND;
    run(
        &mut stored,
        &[entry("CREDIT_ADD", "a", "100", Some(t1), T0)],
        T0,
    );
    let id = run(&mut stored, &[hold("h", "100", 60, T0)], T0)[0]
        .entry
        .id;
    // The lot's expiry at t1 keeps the hold's share.
    let lot = stored.lots.values().next().expect("the lot").clone();
    let account = stored.heads[&lot.account_id].clone();
    let expiry = crate::ledger::closing::expiry(&lot, &account).expect("an expiry");
    let expired = run(&mut stored, &[expiry], t1);
    assert_eq!(outcome(&expired[0]), "completed");
    assert_eq!(dec(&expired[0].postings[0].amount), Decimal::ZERO);
    assert_eq!(balance(&stored, "amy"), dec("100"));
    // The capture spends 60 of it; the other 40 expired with the lot, and go now.
    let c = capture(&stored, id, "c1", Some("60"), t1 + 1);
    let captured = run(&mut stored, &[c], t1 + 1);
    assert_eq!(outcome(&captured[0]), "completed");
    let legs: Vec<(&str, Decimal)> = captured[0]
        .postings
        .iter()
        .map(|p| (p.owner_id.as_str(), dec(&p.amount)))
        .collect();
    assert_eq!(
        legs,
        [
            ("amy", dec("-60")),
            ("@system:spend", dec("60")),
            ("amy", dec("-40")),
            ("@system:expired", dec("40"))
        ]
    );
    assert_eq!(balance(&stored, "amy"), dec("0"));
    let lot = &stored.lots[&lot.id];
    assert_eq!(
        (lot.status.as_str(), dec(&lot.remaining)),
        ("expired", Decimal::ZERO)
    );
}

#[test]
fn a_hold_that_runs_out_after_its_lot_moves_the_dead_share_once() {
    let mut stored = Stored::default();
    let t1 = T0 + 10 * SECOND;
    run(
        &mut stored,
        &[entry("CREDIT_ADD", "a", "30", Some(t1), T0)],
        T0,
    );
    run(&mut stored, &[entry("CREDIT_ADD", "b", "30", None, T0)], T0);
    let id = run(&mut stored, &[hold("h", "40", 60, T0)], T0)[0].entry.id;
    let end = T0 + 60 * SECOND;
    let expiry = hold_request::expiry(&stored.holds[&id]).expect("an expiry");
    let recorded = run(&mut stored, &[expiry], end + 1);
    assert_eq!(outcome(&recorded[0]), "completed");
    // The 30 of lot a expired at t1, before the hold ended: gone. The 10 of b is back.
    assert_eq!(dec(&recorded[0].postings[0].amount), dec("-30"));
    assert_eq!(balance(&stored, "amy"), dec("30"));
    let spend = entry("CREDIT_SPEND", "s", "30", None, end + 2);
    assert_eq!(
        outcome(&run(&mut stored, &[spend], end + 2)[0]),
        "completed"
    );
}

#[test]
fn a_void_frees_everything_and_a_reserved_lot_cannot_be_voided() {
    let mut stored = Stored::default();
    run(&mut stored, &[entry("CREDIT_ADD", "c", "10", None, T0)], T0);
    let id = run(&mut stored, &[hold("h", "4", 60, T0)], T0)[0].entry.id;
    let lot = stored.lots.values().next().expect("the lot").clone();
    let account = stored.heads[&lot.account_id].clone();
    let nonce = Nonce::parse("lv".into()).expect("a nonce");
    let lot_void =
        crate::ledger::closing::void(&lot, &account, nonce, None, T0 + 1).expect("a void");
    assert_eq!(
        outcome(&run(&mut stored, &[lot_void], T0 + 1)[0]),
        "lot_reserved"
    );
    let v = void(&stored, id, "v", T0 + 2);
    let voided = run(&mut stored, &[v], T0 + 2);
    assert_eq!(outcome(&voided[0]), "completed");
    assert_eq!(voided[0].holds[0].status, "voided");
    let spend = entry("CREDIT_SPEND", "s", "10", None, T0 + 3);
    assert_eq!(outcome(&run(&mut stored, &[spend], T0 + 3)[0]), "completed");
}

#[test]
fn a_frozen_owner_spends_nothing_and_its_hold_is_still_captured() {
    use crate::ledger::account;
    use crate::ledger::command::Control;
    let mut stored = Stored::default();
    run(&mut stored, &[entry("CREDIT_ADD", "c", "10", None, T0)], T0);
    let id = run(&mut stored, &[hold("h", "4", 60, T0)], T0)[0].entry.id;
    let control = |c: Control, nonce: &str| {
        let owner = OwnerId::parse("owner_id", "amy".into()).expect("an owner");
        let nonce = Nonce::parse(nonce.into()).expect("a nonce");
        account::command((APP, owner, "CREDIT"), c, nonce, (None, None), T0 + 1)
    };
    let frozen = run(&mut stored, &[control(Control::Freeze, "f")], T0 + 1);
    assert_eq!(outcome(&frozen[0]), "completed");
    let again = run(&mut stored, &[control(Control::Freeze, "f2")], T0 + 1);
    assert_eq!(outcome(&again[0]), "account_status_conflict");
    let spend = entry("CREDIT_SPEND", "s", "1", None, T0 + 2);
    let credit = entry("CREDIT_ADD", "c2", "1", None, T0 + 2);
    let c = capture(&stored, id, "cap", None, T0 + 2);
    let records = run(&mut stored, &[spend, credit, c], T0 + 2);
    let outcomes: Vec<&str> = records.iter().map(outcome).collect();
    assert_eq!(outcomes, ["account_frozen", "completed", "completed"]);
    assert_eq!(balance(&stored, "amy"), dec("7"));
}

#[test]
fn limits_count_at_capture_not_at_placement() {
    let mut catalog = catalog();
    let once = "[operations.RENDER]\ndirection = \"debit\"\ncounter_account = \"@system:render\"\nasset = \"CREDIT\"\namount = { max = \"50\" }\nlimits = [{ window = \"day\", max_count = 1 }]\n";
    catalog
        .extend_from_toml("render.toml", once)
        .expect("a valid extension");
    let mut stored = Stored::default();
    run(&mut stored, &[entry("CREDIT_ADD", "c", "20", None, T0)], T0);
    let place = |nonce: &str| {
        HoldRequest {
            operation: "RENDER".into(),
            owner_id: "amy".into(),
            nonce: nonce.into(),
            amount: Some("5".into()),
            expires_in_seconds: Some(60),
            ..HoldRequest::default()
        }
        .validate(APP, &catalog, T0)
        .expect("a valid hold")
    };
    let placed = run(&mut stored, &[place("h1"), place("h2")], T0);
    assert!(
        placed.iter().all(|r| outcome(r) == "held"),
        "placing counts nothing"
    );
    let op = catalog.get("RENDER").expect("the op").clone();
    let capture = |id: Uuid, nonce: &str| {
        let nonce = Nonce::parse(nonce.into()).expect("a nonce");
        hold_request::capture(&stored.holds[&id], (&op, 2), nonce, None, T0 + 1).expect("a capture")
    };
    let captures = [
        capture(placed[0].entry.id, "c1"),
        capture(placed[1].entry.id, "c2"),
    ];
    let records = run(&mut stored, &captures, T0 + 1);
    let outcomes: Vec<&str> = records.iter().map(outcome).collect();
    assert_eq!(outcomes, ["completed", "limit_exceeded"]);
    assert_eq!(
        stored.holds[&placed[1].entry.id].status, "held",
        "still open: void it, or retry tomorrow"
    );
}
