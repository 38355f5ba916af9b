//! Properties of the batch decision, over random command sequences (with duplicate nonces,
//! the same request again and a different one under a used nonce) cut into random batches:
//! - the books of every asset sum to zero;
//! - no owner's balance ever goes below its floor (zero: the base catalog has no overdraft);
//! - every head equals its postings replayed (version, balance, hash chain);
//! - every owner's open lots, less its shortfall, hold its balance, and no lot goes below
//!   zero;
//! - any batching ends where one command at a time ends: the same answers, heads and
//!   postings.
//!
//! Each batch is decided against a store kept in memory here, loaded as the event store
//! loads it (`Wanted` → `Loaded`) and written back as the batch transaction writes.

use super::memory::Stored;
use super::*;
use crate::ledger::chain;
use crate::ledger::lots::Status;
use crate::ledger::request::EntryRequest;
use operations::Catalog;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::collections::HashMap;

const APP: Uuid = Uuid::from_u128(7);
const NOW: i64 = 1_795_305_600_000_000;
const OWNERS: [&str; 3] = ["amy", "bo", "cy"];

/// What a generated step asks for: operation, owner, counterparty offset, amount, nonce.
type Step = (usize, usize, usize, u32, u8);

fn command((op, owner, offset, amount, nonce): Step) -> Command {
    let operation = [
        "CREDIT_ADD",
        "CREDIT_SPEND",
        "TRANSFER",
        "DAILY_REWARD",
        "SIGNUP_CREDIT",
    ][op];
    let fixed = matches!(operation, "DAILY_REWARD" | "SIGNUP_CREDIT");
    EntryRequest {
        operation: operation.into(),
        owner_id: OWNERS[owner].into(),
        nonce: format!("n{nonce}"),
        amount: (!fixed).then(|| amount.to_string()),
        counterparty_id: (operation == "TRANSFER").then(|| OWNERS[(owner + offset) % 3].into()),
        metadata: None,
        ..EntryRequest::default()
    }
    .validate(APP, &Catalog::base(), NOW, false)
    .expect("a valid request")
}

/// What a command was answered: its entry's state and failure, a replay or a conflict.
fn answers(plan: &Plan) -> Vec<String> {
    plan.outcomes
        .iter()
        .map(|o| match o {
            Outcome::Recorded(r) => format!("{} {}", r.state(), r.failure_code().unwrap_or("")),
            Outcome::Replay(id) => format!("replay {id}"),
            Outcome::NonceReused(id) => format!("nonce_reused {id}"),
            Outcome::NotDue => "not_due".to_owned(),
            Outcome::KeyRevoked => "key_revoked".to_owned(),
        })
        .collect()
}

/// Runs `commands` in batches that end where `cuts` says; returns the store and answers.
fn run(commands: &[Command], cuts: &[bool]) -> (Stored, Vec<String>) {
    let mut stored = Stored::default();
    let mut answered = Vec::new();
    let mut batch = Vec::new();
    for (i, cmd) in commands.iter().enumerate() {
        batch.push(cmd.clone());
        if cuts[i] || i + 1 == commands.len() {
            let plan = decide(&batch, stored.load(&Wanted::of(&batch, NOW)), NOW)
                .expect("legal transitions");
            stored.write(&plan);
            answered.extend(answers(&plan));
            batch.clear();
        }
    }
    (stored, answered)
}

fn assert_invariants(stored: &Stored) {
    // Each app's events are numbered 1, 2, … without a gap, one per recorded entry here
    // (the commands are credits, spends and transfers: each announces its own entry).
    let mut next: HashMap<Uuid, i64> = HashMap::new();
    for (app, seq) in stored.app_events.keys() {
        let expected = next.entry(*app).or_insert(1);
        assert_eq!(*seq, *expected, "event numbers of {app} have a gap");
        *expected += 1;
    }
    assert_eq!(stored.app_events.len(), stored.records.len());
    for (app, last) in &stored.event_seqs {
        assert_eq!(
            next.get(app),
            Some(&(last + 1)),
            "the last seq given is the last written"
        );
    }
    let mut books: BTreeMap<&str, Decimal> = BTreeMap::new();
    let mut replayed: HashMap<Uuid, (Decimal, i64, String)> = HashMap::new();
    for p in stored.postings.values() {
        let (balance, version, hash) =
            replayed
                .entry(p.account_id)
                .or_insert((Decimal::ZERO, 0, chain::GENESIS.to_owned()));
        let after: Decimal = p.balance_after.parse().expect("a balance");
        assert_eq!(p.version, *version + 1, "no gap");
        assert_eq!(
            *balance + p.amount.parse::<Decimal>().expect("an amount"),
            after
        );
        assert_eq!((&p.prev_hash, chain::hash(p)), (&*hash, p.hash.clone()));
        if !p.owner_id.starts_with('@') {
            assert!(after >= Decimal::ZERO, "{} went below zero", p.owner_id);
        }
        (*balance, *version, *hash) = (after, p.version, p.hash.clone());
    }
    for (id, head) in &stored.heads {
        let balance: Decimal = head.balance.parse().expect("a balance");
        assert_eq!(
            replayed.get(id),
            Some(&(balance, head.version, head.hash.clone())),
            "the head of {} is its postings replayed",
            head.owner_id
        );
        *books.entry(head.asset.as_str()).or_default() += balance;
    }
    assert_eq!(replayed.len(), stored.heads.len());
    assert!(books.values().all(Decimal::is_zero), "books: {books:?}");
    for head in stored
        .heads
        .values()
        .filter(|h| !h.owner_id.starts_with('@'))
    {
        let open: Decimal = stored
            .lots
            .values()
            .filter(|l| l.account_id == head.id && l.status == Status::Open.as_str())
            .map(|l| l.remaining.parse::<Decimal>().expect("a remaining"))
            .sum();
        let shortfall: Decimal = head.shortfall.parse().expect("a shortfall");
        assert_eq!(
            open - shortfall,
            head.balance.parse::<Decimal>().expect("a balance"),
            "the lots of {} match its balance",
            head.owner_id
        );
    }
    for l in stored.lots.values() {
        assert!(l.remaining.parse::<Decimal>().expect("a remaining") >= Decimal::ZERO);
    }
}

/// A lot without its id (which differs from run to run): account, category, priority,
/// expiry, amount, remaining, status.
type LotShape = (Uuid, String, i32, Option<i64>, String, String, String);

/// The lots without their ids, in a stable order.
fn lot_shapes(stored: &Stored) -> Vec<LotShape> {
    let mut shapes: Vec<_> = stored
        .lots
        .values()
        .map(|l| {
            let (category, status) = (l.category.clone(), l.status.clone());
            let (amount, remaining) = (l.amount.clone(), l.remaining.clone());
            (
                l.account_id,
                category,
                l.priority,
                l.expires_at,
                amount,
                remaining,
                status,
            )
        })
        .collect();
    shapes.sort();
    shapes
}

/// Each event's number, type and owner: what batching must not change.
fn event_shapes(stored: &Stored) -> Vec<(i64, String, String)> {
    stored
        .app_events
        .values()
        .map(|e| (e.seq, e.event_type.clone(), e.owner_id.clone()))
        .collect()
}

proptest! {
    #[test]
    fn any_batching_keeps_the_books_and_ends_where_one_at_a_time_ends(
        steps in prop::collection::vec((0..5usize, 0..3usize, 1..3usize, 1..30u32, 0..12u8), 1..40),
        cuts in prop::collection::vec(any::<bool>(), 40),
    ) {
        let commands: Vec<Command> = steps.into_iter().map(command).collect();
        let (batched, batched_answers) = run(&commands, &cuts);
        let (single, single_answers) = run(&commands, &[true; 40]);
        assert_invariants(&batched);
        prop_assert_eq!(batched_answers, single_answers);
        prop_assert_eq!(&batched.heads, &single.heads);
        prop_assert_eq!(event_shapes(&batched), event_shapes(&single));
        prop_assert_eq!(&batched.postings, &single.postings);
        prop_assert_eq!(lot_shapes(&batched), lot_shapes(&single));
    }
}
