//! The lots of the batch decision against a plain model of the rules: random grants
//! (promotional and paid, random priorities and expiries), spends (with and without
//! overdraft), transfers and voids at random, increasing times, with every due expiry
//! recorded before each step as the recorder would. After every step each spend's
//! allocations, each owner's balance and each owner's open lots equal the model's.
//!
//! The model is written from the rules' statement, not from `ledger::lots`: a lot counts
//! while `t < expires_at`; debits draw from the first lot by priority, then expiry (none
//! last), then promotional first, then creation time, then id; what no lot covers is a
//! shortfall that later credits cover first; a transfer's receiver gets a lot per draw with
//! the drawn lot's terms; a void or an expiry empties one lot.

use super::memory::Stored;
use super::*;
use crate::ledger::closing;
use crate::ledger::command::Nonce;
use crate::ledger::command::account_id;
use crate::ledger::request::EntryRequest;
use operations::Catalog;
use proptest::prelude::*;

const APP: Uuid = Uuid::from_u128(9);
const START: i64 = 1_795_305_600_000_000;
const OWNERS: [&str; 2] = ["amy", "bo"];

/// Credits with every term from the request, and a debit that may overdraw.
const EXTENSION: &str = r#"
[operations.PROMO_ADD]
direction = "credit"
counter_account = "@system:promo"
asset = "CREDIT"
amount = { min = "1", max = "1000" }
lot = { category = "promotional", request_expires_at = true, request_priority = true }

[operations.PAID_ADD]
direction = "credit"
counter_account = "@system:paid"
asset = "CREDIT"
amount = { min = "1", max = "1000" }
lot = { category = "paid", request_expires_at = true, request_priority = true }

[operations.SPEND_OVER]
direction = "debit"
counter_account = "@system:spend"
asset = "CREDIT"
amount = { min = "1", max = "1000" }
overdraft = true
"#;

#[derive(Debug, Clone)]
enum Step {
    Grant {
        owner: usize,
        paid: bool,
        priority: u8,
        expires_in: Option<i64>,
        amount: u32,
    },
    Spend {
        owner: usize,
        amount: u32,
        overdraft: bool,
    },
    Transfer {
        owner: usize,
        amount: u32,
    },
    Void {
        pick: usize,
    },
}

fn step() -> impl Strategy<Value = (Step, i64)> {
    let grant = (
        0..2usize,
        any::<bool>(),
        prop::sample::select(vec![0u8, 10, 50, 50, 100]),
        prop::option::of(1i64..40),
        1..30u32,
    )
        .prop_map(|(owner, paid, priority, expires_in, amount)| Step::Grant {
            owner,
            paid,
            priority,
            expires_in,
            amount,
        });
    let spend =
        (0..2usize, 1..40u32, any::<bool>()).prop_map(|(owner, amount, overdraft)| Step::Spend {
            owner,
            amount,
            overdraft,
        });
    let transfer =
        (0..2usize, 1..30u32).prop_map(|(owner, amount)| Step::Transfer { owner, amount });
    let void = (0..64usize).prop_map(|pick| Step::Void { pick });
    let any_step = prop_oneof![3 => grant, 3 => spend, 2 => transfer, 1 => void];
    // Time advances 0 to 9 ticks of 1 ms per step; expiries are 1 to 40 ticks ahead, so
    // many land exactly on a step's time.
    (any_step, 0..10i64)
}

const TICK: i64 = 1_000;

mod rules;
use rules::{Model, ModelLot};

fn command(catalog: &Catalog, request: EntryRequest, t: i64) -> Command {
    request
        .validate(APP, catalog, t, false)
        .expect("a valid request")
}

/// Decides one command at `t` against `stored`, writes it, and returns its record.
fn run_one(stored: &mut Stored, cmd: Command, t: i64) -> EntryRecord {
    let batch = std::slice::from_ref(&cmd);
    let plan = decide(batch, stored.load(&Wanted::of(batch, t)), t).expect("legal transitions");
    stored.write(&plan);
    match plan.outcomes.into_iter().next() {
        Some(Outcome::Recorded(record)) => *record,
        other => panic!("{other:?}"),
    }
}

fn drawn(record: &EntryRecord) -> Vec<(Uuid, Decimal)> {
    record
        .allocations
        .iter()
        .map(|a| (a.lot_id, a.amount.parse().expect("an amount")))
        .collect()
}

/// Records, at `t`, the expiry of every open lot whose instant has come, in both.
fn record_expiries(stored: &mut Stored, model: &mut Model, t: i64) {
    let due: Vec<lot::Model> = stored
        .lots
        .values()
        .filter(|l| l.status == "open" && l.expires_at.is_some_and(|e| e <= t))
        .cloned()
        .collect();
    for row in due {
        let account = stored.heads[&row.account_id].clone();
        let cmd = closing::expiry(&row, &account).expect("an expiry");
        let record = run_one(stored, cmd, t);
        assert_eq!(record.failure_code(), None, "{:?}", record.events);
        let i = model
            .lots
            .iter()
            .position(|l| l.id == row.id)
            .expect("a model lot");
        let moved = std::mem::take(&mut model.lots[i].remaining);
        model.balance[model.lots[i].owner] -= moved;
        assert_eq!(drawn(&record), [(row.id, moved)]);
    }
}

fn check(stored: &Stored, model: &Model, t: i64) {
    for (o, owner) in OWNERS.iter().enumerate() {
        assert_eq!(
            stored.balance(APP, owner, "CREDIT"),
            model.balance[o],
            "balance of {owner}"
        );
        let mut open: Vec<(Uuid, Decimal)> = stored
            .lots
            .values()
            .filter(|l| l.account_id == account_id(APP, owner, "CREDIT") && l.status == "open")
            .map(|l| (l.id, l.remaining.parse().expect("a remaining")))
            .collect();
        open.sort();
        let mut expected: Vec<(Uuid, Decimal)> = model
            .lots
            .iter()
            .filter(|l| l.owner == o && l.remaining > Decimal::ZERO)
            .map(|l| (l.id, l.remaining))
            .collect();
        expected.sort();
        assert_eq!(open, expected, "open lots of {owner} at {t}");
    }
}

/// The store and the model the steps play against, and where the play stands.
struct Play {
    catalog: Catalog,
    stored: Stored,
    model: Model,
    /// The step's time and number.
    t: i64,
    n: usize,
}

fn play(steps: Vec<(Step, i64)>) {
    let mut catalog = Catalog::base();
    catalog
        .extend_from_toml("model.toml", EXTENSION)
        .expect("the extension loads");
    let mut play = Play {
        catalog,
        stored: Stored::default(),
        model: Model::default(),
        t: START,
        n: 0,
    };
    for (n, (step, gap)) in steps.into_iter().enumerate() {
        (play.n, play.t) = (n, play.t + gap * TICK);
        record_expiries(&mut play.stored, &mut play.model, play.t);
        // A step the ledger refused changed nothing, and is not checked again.
        let changed = match step {
            Step::Grant {
                owner,
                paid,
                priority,
                expires_in,
                amount,
            } => play.grant(owner, paid, priority, expires_in, amount),
            Step::Spend {
                owner,
                amount,
                overdraft,
            } => play.spend(owner, amount, overdraft),
            Step::Transfer { owner, amount } => play.transfer(owner, amount),
            Step::Void { pick } => play.void(pick),
        };
        if changed {
            check(&play.stored, &play.model, play.t);
        }
    }
}

impl Play {
    fn request(&self, op: &str, owner: usize, amount: u32) -> EntryRequest {
        EntryRequest {
            operation: op.into(),
            owner_id: OWNERS[owner].into(),
            nonce: format!("n{}", self.n),
            amount: Some(amount.to_string()),
            ..EntryRequest::default()
        }
    }

    fn run(&mut self, request: EntryRequest) -> EntryRecord {
        let cmd = command(&self.catalog, request, self.t);
        run_one(&mut self.stored, cmd, self.t)
    }

    fn grant(
        &mut self,
        owner: usize,
        paid: bool,
        priority: u8,
        expires_in: Option<i64>,
        amount: u32,
    ) -> bool {
        let t = self.t;
        let expires_at = expires_in.map(|e| t + e * TICK);
        let mut req = self.request(if paid { "PAID_ADD" } else { "PROMO_ADD" }, owner, amount);
        req.priority = Some(i64::from(priority));
        req.expires_at = expires_at.map(crate::time::to_rfc3339);
        let record = self.run(req);
        let model = &mut self.model;
        let amount = Decimal::from(amount);
        let covered = model.shortfall[owner].min(amount);
        model.shortfall[owner] -= covered;
        model.balance[owner] += amount;
        let opened: Vec<&lot::Model> = record.lots.iter().collect();
        if amount > covered {
            assert_eq!(opened.len(), 1);
            let counter = if paid {
                "@system:paid"
            } else {
                "@system:promo"
            };
            model.lots.push(ModelLot {
                id: opened[0].id,
                owner,
                paid,
                priority,
                expires_at,
                created_at: t,
                remaining: amount - covered,
                counter: counter.into(),
            });
        } else {
            assert!(opened.is_empty());
        }
        true
    }

    fn spend(&mut self, owner: usize, amount: u32, overdraft: bool) -> bool {
        let op = if overdraft {
            "SPEND_OVER"
        } else {
            "CREDIT_SPEND"
        };
        let record = self.run(self.request(op, owner, amount));
        let amount = Decimal::from(amount);
        if !overdraft && self.model.available(owner, self.t) < amount {
            assert_eq!(record.failure_code(), Some("insufficient_balance"));
            return false;
        }
        let (expected, uncovered) = self.model.draw(owner, amount, self.t);
        self.model.shortfall[owner] += uncovered;
        assert_eq!(drawn(&record), expected, "step {}", self.n);
        true
    }

    fn transfer(&mut self, owner: usize, amount: u32) -> bool {
        let (t, receiver) = (self.t, 1 - owner);
        let mut req = self.request("TRANSFER", owner, amount);
        req.counterparty_id = Some(OWNERS[receiver].into());
        let record = self.run(req);
        let model = &mut self.model;
        let amount = Decimal::from(amount);
        if model.available(owner, t) < amount {
            assert_eq!(record.failure_code(), Some("insufficient_balance"));
            return false;
        }
        let (expected, _) = model.draw(owner, amount, t);
        assert_eq!(drawn(&record), expected, "step {}", self.n);
        model.balance[receiver] += amount;
        let received: Vec<&lot::Model> = record
            .lots
            .iter()
            .filter(|l| l.account_id == account_id(APP, OWNERS[receiver], "CREDIT"))
            .collect();
        let mut k = 0;
        for (source, piece) in expected {
            let covered = model.shortfall[receiver].min(piece);
            model.shortfall[receiver] -= covered;
            if piece == covered {
                continue;
            }
            let from = model
                .lots
                .iter()
                .find(|l| l.id == source)
                .expect("drawn")
                .clone();
            let got = received[k];
            k += 1;
            assert_eq!(
                (got.expires_at, got.priority),
                (from.expires_at, i32::from(from.priority))
            );
            model.lots.push(ModelLot {
                id: got.id,
                owner: receiver,
                created_at: t,
                remaining: piece - covered,
                ..from
            });
        }
        assert_eq!(k, received.len());
        true
    }

    fn void(&mut self, pick: usize) -> bool {
        let lots = &self.stored.lots;
        if lots.is_empty() {
            return false;
        }
        let row = lots.values().nth(pick % lots.len()).expect("a lot").clone();
        let nonce = Nonce::parse(format!("v{}", self.n)).expect("a nonce");
        let account = self.stored.heads[&row.account_id].clone();
        let cmd = closing::void(&row, &account, nonce, None, self.t).expect("a void");
        let record = run_one(&mut self.stored, cmd, self.t);
        let model = &mut self.model;
        let i = model
            .lots
            .iter()
            .position(|l| l.id == row.id)
            .expect("a model lot");
        if !Model::counts(&model.lots[i], self.t) {
            assert_eq!(record.failure_code(), Some("lot_closed"));
            return false;
        }
        let moved = std::mem::take(&mut model.lots[i].remaining);
        model.balance[model.lots[i].owner] -= moved;
        assert_eq!(drawn(&record), [(row.id, moved)]);
        assert_eq!(record.postings[1].owner_id, model.lots[i].counter);
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn lots_decide_as_a_plain_model_of_the_rules(steps in prop::collection::vec(step(), 1..60)) {
        play(steps);
    }
}
