//! Fault scripts with real processes: the `ledgerflow` binary, PostgreSQL and NATS are
//! killed and restarted while clients write. Each test proves a promise from what the
//! clients were answered and from the event store's own tables, and ends with
//! `ledgerflow verify` exiting 0 (the read model equals the event store, the books sum to
//! zero) within [`CONVERGE`] of the fault's end.
//!
//! - [`kill_9_mid_load_loses_no_answered_entry_and_applies_none_twice`] (event store
//!   PostgreSQL, NATS): 64 clients post credits and spends; the service gets SIGKILL
//!   mid-load and starts again. Every entry answered before the kill is in the event store
//!   once, under the id it was answered with, and its nonce replays the same answer flagged
//!   `Idempotent-Replay`; every request left without an answer is sent again (same nonce,
//!   same body) and gets 201 or its recorded failure; each owner's balance, in the event
//!   store and in the read model, is the sum of the entries the clients saw complete.
//! - [`async_entries_in_flight_at_a_kill_9_all_finish_after_restart`] (PostgreSQL, in-process
//!   bus): the same with `Prefer: respond-async`, killed while received entries wait for
//!   the workflow; every entry answered 202 (or retried) reaches `completed` or `failed`
//!   within 20 s of the restart, none is left pending, and each nonce replays its outcome.
//! - [`a_nats_restart_under_load_fails_no_write_and_the_read_model_converges`]: a NATS of
//!   the test's own is killed and restarted (same port, same JetStream store) three times
//!   under load: every write is answered 201 or a recorded failure (never 5xx, never
//!   without an answer), the outbox holds what NATS could not take, and all of it arrives.
//! - [`the_read_model_down_for_ten_seconds_fails_no_write_and_it_converges`]: the read
//!   model's PostgreSQL cluster (the test's own) stops for 10 s under load: writes go on
//!   without a 5xx, and the projection catches up once it is back.
//! - [`two_instances_on_hot_accounts_and_the_same_nonces_never_overdraw_duplicate_or_skip`]:
//!   two service processes on one event store and one stream (both projecting) get every
//!   request of a shared pool concurrently, on three owners: one entry per nonce, the same
//!   answer from both with exactly one of them a replay, no posting takes an owner below
//!   zero, versions 1..=v.
//!
//! Every test checks the ledger from its tables ([`Stored::assert_invariants`]): versions
//! without gaps, `balance_after` the running sum, heads equal to the last posting, owners
//! never below zero, two postings summing to zero per completed entry, books at zero; and
//! that the tables hold exactly the entries answered ([`Stored::assert_holds_exactly`]).

use crate::common::bus::TestBus;
use crate::common::process::{Env, NatsServer, PgCluster, Service};
use crate::common::{Backend, TestDb};
use entity::{account, entry, outbox, pending_entry, posting};
use futures::StreamExt;
use rust_decimal::Decimal;
use sea_orm::{Database, EntityTrait, PaginatorTrait, QueryOrder};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// How long the projection may take to catch up once the fault is over. Messages that a
/// killed projector had received and not yet acknowledged come back from JetStream only
/// after the consumer's ack wait (`ACK_WAIT` in `src/bus.rs`); this leaves room for it.
const CONVERGE: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_no_answered_entry_and_applies_none_twice() {
    let store = TestDb::new(Backend::Postgres).await;
    let bus = TestBus::new().await;
    let env = Env::new(&store.url).bus(&bus);
    let key = env.create_app("kill9");
    let mut service = Service::start(&env).await;

    // 64 clients write until 300 answers came back; then SIGKILL. Each client stops at its
    // first request without an answer.
    let load = Load::start(
        64,
        Client::new(&service, &key),
        credits_and_spends("k", 16),
        OnNoAnswer::StopClient,
    );
    load.answered(300, Duration::from_secs(30)).await;
    service.kill();
    let calls = load.join().await;
    let (answered, unanswered) = split(&calls);
    assert!(
        !unanswered.is_empty(),
        "the kill came mid-load, with requests in flight"
    );
    for (body, answer) in &answered {
        assert_recorded(body, answer, false);
    }

    service.restart().await;
    let client = Client::new(&service, &key);

    let (settled, replayed) = settle_after_restart(&client, &answered, &unanswered).await;
    eprintln!(
        "kill -9: {} answered before the kill, {} unanswered of which {replayed} had been \
         recorded",
        answered.len(),
        unanswered.len()
    );

    assert_settled(&store, &env, &client, &settled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_entries_in_flight_at_a_kill_9_all_finish_after_restart() {
    let store = TestDb::new(Backend::Postgres).await;
    let env = Env::new(&store.url);
    let key = env.create_app("async-kill9");
    let mut service = Service::start(&env).await;

    let load = Load::start(
        64,
        Client::new(&service, &key).respond_async(),
        credits_and_spends("a", 16),
        OnNoAnswer::StopClient,
    );
    load.answered(300, Duration::from_secs(30)).await;
    service.kill();
    let calls = load.join().await;
    let in_flight = Stored::pending(&store.url).await;
    assert!(
        in_flight > 0,
        "the kill left received entries unfinished (else this test would prove nothing)"
    );
    let (answered, unanswered) = split(&calls);
    for (body, answer) in &answered {
        assert_recorded(body, answer, true);
    }

    service.restart().await;
    let client = Client::new(&service, &key).respond_async();
    let retries = client.post_all(unanswered.iter().copied()).await;
    let mut ids = BTreeMap::new();
    for (body, answer) in answered
        .iter()
        .map(|(b, a)| (*b, Ok((*a).clone())))
        .chain(retries)
    {
        let answer = answer
            .unwrap_or_else(|e| panic!("no answer to a retry after the restart: {e}\n{body}"));
        assert_recorded(body, &answer, true);
        ids.insert(nonce(body), (body.clone(), entry_id(&answer)));
    }
    eprintln!(
        "async kill -9: {} answered, {} unanswered, {in_flight} pending at the kill",
        answered.len(),
        unanswered.len()
    );

    // Every entry finishes, whether the kill left it received, half-way or done.
    let settled = client.finished(&ids, Duration::from_secs(20)).await;
    assert_eq!(
        Stored::pending(&store.url).await,
        0,
        "no entry is left pending"
    );
    // And its nonce now replays the outcome: 201 or the recorded failure.
    let replays = client.post_all(settled.values().map(|s| &s.body)).await;
    for ((body, again), s) in replays.iter().zip(settled.values()) {
        let again = again
            .as_ref()
            .unwrap_or_else(|e| panic!("no answer to a replay: {e}"));
        assert_recorded(body, again, false);
        assert!(
            again.replay,
            "the replay of {body} is flagged Idempotent-Replay: true"
        );
        assert_eq!(
            (entry_id(again), again.status == 201),
            (s.id, s.completed),
            "the replay of {body} answers its outcome"
        );
    }
    assert_settled(&store, &env, &client, &settled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_under_load_fails_no_write_and_the_read_model_converges() {
    let store = TestDb::new(Backend::Postgres).await;
    // A read model of its own: one in the event store's database is written with each
    // batch, and NATS carries nothing to it.
    let read = TestDb::new(Backend::Postgres).await;
    let mut nats = NatsServer::start();
    let env = Env::new(&store.url)
        .with("LEDGERFLOW_READ_MODEL_URL", &read.url)
        .nats(&nats.url(), "LF_FAULTS", "lffaults");
    let key = env.create_app("nats-restart");
    let service = Service::start(&env).await;

    let load = Load::start(
        32,
        Client::new(&service, &key),
        credits_and_spends("n", 16),
        OnNoAnswer::GoOn,
    );
    load.answered(100, Duration::from_secs(30)).await;
    // Three times: SIGKILL to NATS under load, then NATS again on its port and store.
    for _ in 0..3 {
        tokio::task::block_in_place(|| nats.kill());
        // Writes go on while NATS is down: the outbox holds what cannot be published.
        load.answered(load.count() + 150, Duration::from_secs(30))
            .await;
        let held = Stored::outbox(&store.url).await;
        assert!(
            held > 0,
            "the outbox holds the entries written while NATS is down"
        );
        tokio::task::block_in_place(|| nats.restart());
        load.answered(load.count() + 150, Duration::from_secs(30))
            .await;
    }
    let calls = load.stop().await;

    let settled = all_recorded(&calls);
    assert_settled(&store, &env, &Client::new(&service, &key), &settled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_model_down_for_ten_seconds_fails_no_write_and_it_converges() {
    let store = TestDb::new(Backend::Postgres).await;
    let mut read_model = tokio::task::block_in_place(PgCluster::start);
    let bus = TestBus::new().await;
    let env = Env::new(&store.url)
        .with("LEDGERFLOW_READ_MODEL_URL", read_model.url())
        .bus(&bus);
    let key = env.create_app("read-model-down");
    let service = Service::start(&env).await;

    let load = Load::start(
        32,
        Client::new(&service, &key),
        credits_and_spends("r", 16),
        OnNoAnswer::GoOn,
    );
    load.answered(150, Duration::from_secs(30)).await;
    tokio::task::block_in_place(|| read_model.stop());
    let before = load.count();
    // The outage lasts 10 s by definition, so this one is a sleep.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let during = load.count() - before;
    assert!(
        during >= 100,
        "writes go on while the read model is down: {during} answered in 10 s"
    );
    tokio::task::block_in_place(|| read_model.resume());
    load.answered(load.count() + 150, Duration::from_secs(30))
        .await;
    let calls = load.stop().await;

    let settled = all_recorded(&calls);
    assert_settled(&store, &env, &Client::new(&service, &key), &settled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_hot_accounts_and_the_same_nonces_never_overdraw_duplicate_or_skip() {
    let store = TestDb::new(Backend::Postgres).await;
    let bus = TestBus::new().await;
    let env = Env::new(&store.url).bus(&bus);
    let key = env.create_app("two-instances");
    let a = Service::start(&env).await;
    let b = Service::start(&env).await;

    // One pool of requests: two credits of 10 for three spends of 7 on three owners, so
    // balances hover near zero and spends contend for them. 32 clients each take the next
    // request and post it to both instances at once: 32 requests in flight on each
    // instance, and every nonce raced by the two.
    let pool: Arc<Vec<Value>> = Arc::new(
        (0..300)
            .map(|i| {
                let owner = format!("hot-{}", i % 3);
                let nonce = format!("h-{i}");
                match i % 5 {
                    0 | 1 => json!({"operation": "CREDIT_ADD", "owner_id": owner,
                                   "nonce": nonce, "amount": "10.00"}),
                    _ => json!({"operation": "CREDIT_SPEND", "owner_id": owner,
                                "nonce": nonce, "amount": "7.00"}),
                }
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<JoinHandle<Vec<(Call, Call)>>> = (0..32)
        .map(|_| {
            let (pool, next) = (pool.clone(), next.clone());
            let (to_a, to_b) = (Client::new(&a, &key), Client::new(&b, &key));
            tokio::spawn(async move {
                let mut calls = Vec::new();
                while let Some(body) = pool.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let (by_a, by_b) = tokio::join!(to_a.post(body), to_b.post(body));
                    calls.push(((body.clone(), by_a), (body.clone(), by_b)));
                }
                calls
            })
        })
        .collect();
    let (mut calls_a, mut calls_b) = (Vec::new(), Vec::new());
    for client in clients {
        for (call_a, call_b) in client.await.expect("a client") {
            calls_a.push(call_a);
            calls_b.push(call_b);
        }
    }

    let (by_a, by_b) = (all_recorded(&calls_a), all_recorded(&calls_b));
    let answers_a = answers_by_nonce(&calls_a);
    let answers_b = answers_by_nonce(&calls_b);
    assert_eq!(
        answers_a.len(),
        pool.len(),
        "instance a answered every request"
    );
    assert_eq!(
        answers_b.len(),
        pool.len(),
        "instance b answered every request"
    );
    let (mut created_by_a, mut created_by_b) = (0, 0);
    for (nonce, (body, first)) in &answers_a {
        let (_, second) = &answers_b[nonce];
        assert_eq!(
            by_a[nonce].id, by_b[nonce].id,
            "both instances answer the same entry for nonce {nonce}"
        );
        assert_eq!(
            (first.status, &first.body),
            (second.status, &second.body),
            "both instances give the same answer for {body}"
        );
        assert!(
            first.replay != second.replay,
            "exactly one instance recorded {body}, the other replayed it: replay flags {} and {}",
            first.replay,
            second.replay
        );
        created_by_a += usize::from(!first.replay);
        created_by_b += usize::from(!second.replay);
    }
    eprintln!("two instances: a recorded {created_by_a}, b recorded {created_by_b}");
    assert!(
        created_by_a > 0 && created_by_b > 0,
        "both instances wrote to the hot accounts (a: {created_by_a}, b: {created_by_b})"
    );

    assert_settled(&store, &env, &Client::new(&a, &key), &by_a).await;
}

mod expiry;
mod holds;
mod load;
mod shutdown;
mod stored;

use load::*;
use stored::*;

/// After a restart: each request left without an answer is sent again, same nonce and body,
/// and is answered now, with 201 (recorded before: a replay; or fresh) or its recorded
/// failure; each answered request replays its answer (same status and body, flagged: an
/// entry lost would be recorded afresh, without the flag). Returns the clients' books and
/// how many of the retries were replays.
async fn settle_after_restart(
    client: &Client,
    answered: &[(&Value, &Answer)],
    unanswered: &[&Value],
) -> (BTreeMap<String, Settled>, usize) {
    let mut settled = BTreeMap::new();
    let mut replayed = 0;
    for (body, retry) in &client.post_all(unanswered.iter().copied()).await {
        let retry = retry.as_ref().unwrap_or_else(|e| {
            panic!("no answer to a retry after the restart: {e}\nrequest: {body}")
        });
        assert_recorded(body, retry, false);
        replayed += usize::from(retry.replay);
        settled.insert(nonce(body), Settled::from_answer(body, retry));
    }
    let replays = client.post_all(answered.iter().map(|(b, _)| *b)).await;
    for ((body, first), (_, again)) in answered.iter().zip(&replays) {
        let again = again
            .as_ref()
            .unwrap_or_else(|e| panic!("no answer to a replay: {e}"));
        assert_same_answer(body, first, again);
        settled.insert(nonce(body), Settled::from_answer(body, first));
    }
    (settled, replayed)
}

/// How every test ends: the event store holds exactly the entries the clients saw
/// recorded and keeps the ledger's invariants; then the read model converges (`verify`
/// passes) and the API shows each owner's balance as the clients' books say.
async fn assert_settled(
    store: &TestDb,
    env: &Env,
    client: &Client,
    settled: &BTreeMap<String, Settled>,
) {
    let stored = Stored::read(&store.url).await;
    stored.assert_invariants();
    stored.assert_holds_exactly(settled);
    env.converged(CONVERGE).await;
    client.assert_balances(settled).await;
}
