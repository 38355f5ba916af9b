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

mod common;

use common::bus::TestBus;
use common::process::{Env, NatsServer, PgCluster, Service};
use common::{Backend, TestDb};
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

    // A request without an answer is sent again, same nonce and body: it is answered now,
    // with 201 (recorded before the kill: a replay; or fresh) or its recorded failure.
    let retries = client.post_all(unanswered.iter().copied()).await;
    let mut settled = BTreeMap::new();
    let mut replayed = 0;
    for (body, retry) in &retries {
        let retry = retry.as_ref().unwrap_or_else(|e| {
            panic!("no answer to a retry after the restart: {e}\nrequest: {body}")
        });
        assert_recorded(body, retry, false);
        replayed += usize::from(retry.replay);
        settled.insert(nonce(body), Settled::from_answer(body, retry));
    }
    // An answered request replays its answer: same status and body, flagged as a replay.
    // An entry lost by the kill would be recorded afresh here, without the flag.
    let replays = client.post_all(answered.iter().map(|(b, _)| *b)).await;
    for ((body, first), (_, again)) in answered.iter().zip(&replays) {
        let again = again
            .as_ref()
            .unwrap_or_else(|e| panic!("no answer to a replay: {e}"));
        assert_same_answer(body, first, again);
        settled.insert(nonce(body), Settled::from_answer(body, first));
    }
    eprintln!(
        "kill -9: {} answered before the kill, {} unanswered of which {replayed} had been \
         recorded",
        answered.len(),
        unanswered.len()
    );

    let stored = Stored::read(&store.url).await;
    stored.assert_invariants();
    stored.assert_holds_exactly(&settled);
    env.converged(CONVERGE).await;
    client.assert_balances(&settled).await;
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
    let stored = Stored::read(&store.url).await;
    stored.assert_invariants();
    stored.assert_holds_exactly(&settled);
    env.converged(CONVERGE).await;
    client.assert_balances(&settled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_under_load_fails_no_write_and_the_read_model_converges() {
    let store = TestDb::new(Backend::Postgres).await;
    let mut nats = NatsServer::start();
    let env = Env::new(&store.url).nats(&nats.url(), "LF_FAULTS", "lffaults");
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
    let stored = Stored::read(&store.url).await;
    stored.assert_invariants();
    stored.assert_holds_exactly(&settled);
    env.converged(CONVERGE).await;
    Client::new(&service, &key).assert_balances(&settled).await;
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
    let stored = Stored::read(&store.url).await;
    stored.assert_invariants();
    stored.assert_holds_exactly(&settled);
    env.converged(CONVERGE).await;
    Client::new(&service, &key).assert_balances(&settled).await;
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

    let stored = Stored::read(&store.url).await;
    stored.assert_invariants();
    stored.assert_holds_exactly(&by_a);
    env.converged(CONVERGE).await;
    Client::new(&a, &key).assert_balances(&by_a).await;
}

// ---------------------------------------------------------------------------------------
// Clients and loads

/// An answer read whole.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    replay: bool,
    body: Value,
}

/// The API of one service process, as one app sees it.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
    respond_async: bool,
}

/// An error with its causes, which is where reqwest says what happened.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Client {
    fn new(service: &Service, key: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("an HTTP client"),
            base: service.url(""),
            key: key.to_owned(),
            respond_async: false,
        }
    }

    /// Posts with `Prefer: respond-async`.
    fn respond_async(mut self) -> Client {
        self.respond_async = true;
        self
    }

    /// Err: no answer (connection refused or reset, timeout, body cut short).
    async fn post(&self, body: &Value) -> Result<Answer, String> {
        let mut req = self
            .http
            .post(format!("{}/v1/entries", self.base))
            .bearer_auth(&self.key)
            .json(body);
        if self.respond_async {
            req = req.header("Prefer", "respond-async");
        }
        Self::read(req.send().await).await
    }

    async fn get(&self, path: &str) -> Result<Answer, String> {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        Self::read(req.send().await).await
    }

    async fn read(sent: reqwest::Result<reqwest::Response>) -> Result<Answer, String> {
        let resp = sent.map_err(|e| chain(&e))?;
        let status = resp.status().as_u16();
        let replay = resp
            .headers()
            .get("idempotent-replay")
            .is_some_and(|v| v == "true");
        let text = resp.text().await.map_err(|e| chain(&e))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer {
            status,
            replay,
            body,
        })
    }

    /// Posts each body, 32 at a time; the answers in the order of `bodies`.
    async fn post_all<'a>(
        &self,
        bodies: impl Iterator<Item = &'a Value>,
    ) -> Vec<(&'a Value, Result<Answer, String>)> {
        futures::stream::iter(bodies)
            .map(|body| async move { (body, self.post(body).await) })
            .buffered(32)
            .collect()
            .await
    }

    /// Polls each entry until it is `completed` or `failed`; panics with those that are not
    /// after `within`.
    async fn finished(
        &self,
        ids: &BTreeMap<String, (Value, Uuid)>,
        within: Duration,
    ) -> BTreeMap<String, Settled> {
        let deadline = Instant::now() + within;
        let mut settled = BTreeMap::new();
        let mut waiting: Vec<(&String, &Value, Uuid)> =
            ids.iter().map(|(n, (b, id))| (n, b, *id)).collect();
        loop {
            let polled: Vec<_> = futures::stream::iter(waiting)
                .map(|(nonce, body, id)| async move {
                    let answer = self.get(&format!("/v1/entries/{id}")).await;
                    (nonce, body, id, answer)
                })
                .buffered(16)
                .collect()
                .await;
            waiting = Vec::new();
            let mut states = Vec::new();
            for (nonce, body, id, answer) in polled {
                let answer = answer.unwrap_or_else(|e| panic!("GET /v1/entries/{id}: {e}"));
                assert_eq!(
                    answer.status, 200,
                    "GET /v1/entries/{id}: {:?}",
                    answer.body
                );
                assert_eq!(answer.body["nonce"], body["nonce"], "entry {id}");
                match answer.body["state"].as_str() {
                    Some(state @ ("completed" | "failed")) => {
                        let settled_as = Settled {
                            id,
                            completed: state == "completed",
                            body: body.clone(),
                        };
                        settled.insert(nonce.clone(), settled_as);
                    }
                    state => {
                        states.push(format!("{id} {}: {state:?}", body["nonce"]));
                        waiting.push((nonce, body, id));
                    }
                }
            }
            if waiting.is_empty() {
                return settled;
            }
            assert!(
                Instant::now() < deadline,
                "{} entries did not finish within {within:?} after the restart, e.g.:\n{}",
                waiting.len(),
                states[..states.len().min(10)].join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every owner's balance in the read model (`GET /v1/accounts/{owner}`) is the sum of
    /// the owner's completed entries.
    async fn assert_balances(&self, settled: &BTreeMap<String, Settled>) {
        for (owner, expected) in expected_balances(settled) {
            let answer = self
                .get(&format!("/v1/accounts/{owner}"))
                .await
                .unwrap_or_else(|e| panic!("GET /v1/accounts/{owner}: {e}"));
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            assert_eq!(
                money(&answer.body["balance"]),
                expected,
                "the read model's balance of {owner} is the sum of its completed entries"
            );
        }
    }
}

/// A request of a load and what came of it: an answer, or none (the error).
type Call = (Value, Result<Answer, String>);

/// What a client of a load does when a request gets no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnNoAnswer {
    /// It stops: the service is gone, and the test sends that request again later.
    StopClient,
    /// It records it and goes on (the test asserts there is none).
    GoOn,
}

/// Clients posting, each one request at a time, until stopped or out of requests.
struct Load {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    clients: Vec<JoinHandle<Vec<Call>>>,
}

impl Load {
    /// `clients` tasks post `request(0)`, `request(1)`, … (each index once, in order)
    /// until `request` answers `None` or the load is stopped.
    fn start(
        clients: usize,
        client: Client,
        request: impl Fn(usize) -> Option<Value> + Send + Sync + 'static,
        on_no_answer: OnNoAnswer,
    ) -> Load {
        let request = Arc::new(request);
        let next = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let clients = (0..clients)
            .map(|_| {
                let (request, next, stop) = (request.clone(), next.clone(), stop.clone());
                let (answered, client) = (answered.clone(), client.clone());
                tokio::spawn(async move {
                    let mut calls = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        let Some(body) = request(next.fetch_add(1, Ordering::SeqCst)) else {
                            break;
                        };
                        let outcome = client.post(&body).await;
                        let lost = outcome.is_err();
                        if !lost {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        calls.push((body, outcome));
                        if lost && on_no_answer == OnNoAnswer::StopClient {
                            break;
                        }
                    }
                    calls
                })
            })
            .collect();
        Load {
            stop,
            answered,
            clients,
        }
    }

    /// Requests answered so far.
    fn count(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    /// Waits until `n` requests in all were answered.
    async fn answered(&self, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.count() < n {
            assert!(
                Instant::now() < deadline && !self.clients.iter().all(|c| c.is_finished()),
                "the load got only {} answers of the {n} awaited",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for every client to end; every request sent, with what came of it.
    async fn join(self) -> Vec<Call> {
        let mut calls = Vec::new();
        for client in self.clients {
            calls.extend(client.await.expect("a load client"));
        }
        calls
    }

    /// Stops the clients after their current request.
    async fn stop(self) -> Vec<Call> {
        self.stop.store(true, Ordering::SeqCst);
        self.join().await
    }
}

/// Credits of 5.00 and spends of 7.00 (two for one) over `owners` owners: the first spends
/// fail for want of balance, most later ones complete.
fn credits_and_spends(tag: &'static str, owners: usize) -> impl Fn(usize) -> Option<Value> {
    move |i| {
        let owner = format!("{tag}-owner-{}", i % owners);
        let nonce = format!("{tag}-{i}");
        Some(match i % 3 {
            0 | 1 => json!({"operation": "CREDIT_ADD", "owner_id": owner, "nonce": nonce,
                           "amount": "5.00"}),
            _ => json!({"operation": "CREDIT_SPEND", "owner_id": owner, "nonce": nonce,
                        "amount": "7.00"}),
        })
    }
}

fn nonce(body: &Value) -> String {
    body["nonce"].as_str().expect("a nonce").to_owned()
}

fn money(v: &Value) -> Decimal {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("an amount as a string: {v}"));
    Decimal::from_str(text).unwrap_or_else(|e| panic!("an amount: {text}: {e}"))
}

/// The answered calls and the bodies of those without an answer.
fn split(calls: &[Call]) -> (Vec<(&Value, &Answer)>, Vec<&Value>) {
    let mut answered = Vec::new();
    let mut unanswered = Vec::new();
    for (body, outcome) in calls {
        match outcome {
            Ok(answer) => answered.push((body, answer)),
            Err(_) => unanswered.push(body),
        }
    }
    (answered, unanswered)
}

/// Each call by nonce, with its answer; panics on a call without one.
fn answers_by_nonce(calls: &[Call]) -> BTreeMap<String, (&Value, &Answer)> {
    calls
        .iter()
        .map(|(body, outcome)| {
            let answer = outcome
                .as_ref()
                .unwrap_or_else(|e| panic!("no answer to {body}: {e}"));
            (nonce(body), (body, answer))
        })
        .collect()
}

/// The answer is an entry the ledger recorded: 201 completed, 422 recorded as failed for
/// want of balance, or (async) 202 received. Anything else, a 5xx above all, fails the test.
fn assert_recorded(body: &Value, answer: &Answer, respond_async: bool) {
    let recorded_failure = answer.status == 422 && answer.body["code"] == "insufficient_balance";
    assert!(
        answer.status == 201 || recorded_failure || (respond_async && answer.status == 202),
        "{body} was answered {} {}",
        answer.status,
        answer.body
    );
    let _ = entry_id(answer);
}

/// A replay answers what the first answer said, flagged as a replay.
fn assert_same_answer(body: &Value, first: &Answer, again: &Answer) {
    assert_eq!(
        (again.status, &again.body),
        (first.status, &first.body),
        "the replay of {body} answers what the first answer said"
    );
    assert!(
        again.replay,
        "the replay of {body} is flagged Idempotent-Replay: true"
    );
}

/// The id of the entry an answer is about.
fn entry_id(answer: &Answer) -> Uuid {
    let id = match answer.status {
        422 => &answer.body["entry_id"],
        _ => &answer.body["id"],
    };
    id.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an entry id in {}", answer.body))
}

/// Every call was answered, with a recorded entry: by nonce, how it settled.
fn all_recorded(calls: &[Call]) -> BTreeMap<String, Settled> {
    answers_by_nonce(calls)
        .into_iter()
        .map(|(nonce, (body, answer))| {
            assert_recorded(body, answer, false);
            (nonce, Settled::from_answer(body, answer))
        })
        .collect()
}

/// How a request ended, as its client learned it.
#[derive(Debug, Clone)]
struct Settled {
    id: Uuid,
    completed: bool,
    body: Value,
}

impl Settled {
    fn from_answer(body: &Value, answer: &Answer) -> Settled {
        Settled {
            id: entry_id(answer),
            completed: answer.status == 201,
            body: body.clone(),
        }
    }
}

/// Each owner's balance by the clients' books: the sum of its completed entries.
fn expected_balances(settled: &BTreeMap<String, Settled>) -> BTreeMap<String, Decimal> {
    let mut balances = BTreeMap::new();
    for s in settled.values().filter(|s| s.completed) {
        let owner = s.body["owner_id"].as_str().expect("an owner").to_owned();
        let amount = money(&s.body["amount"]);
        let delta = match s.body["operation"].as_str() {
            Some("CREDIT_ADD") => amount,
            Some("CREDIT_SPEND") => -amount,
            other => panic!("no expected balance for {other:?}"),
        };
        *balances.entry(owner).or_insert(Decimal::ZERO) += delta;
    }
    balances
}

// ---------------------------------------------------------------------------------------
// The event store, read from its tables

/// The event store's rows (each test has a database of its own, with one app).
struct Stored {
    entries: Vec<entry::Model>,
    postings: Vec<posting::Model>,
    accounts: Vec<account::Model>,
}

impl Stored {
    async fn read(url: &str) -> Stored {
        let db = Database::connect(url).await.expect("the event store");
        Stored {
            entries: entry::Entity::find().all(&db).await.expect("entries"),
            postings: posting::Entity::find()
                .order_by_asc(posting::Column::AccountId)
                .order_by_asc(posting::Column::Version)
                .all(&db)
                .await
                .expect("postings"),
            accounts: account::Entity::find().all(&db).await.expect("accounts"),
        }
    }

    /// Outbox rows not yet on the bus.
    async fn outbox(url: &str) -> u64 {
        let db = Database::connect(url).await.expect("the event store");
        outbox::Entity::find()
            .count(&db)
            .await
            .expect("outbox rows")
    }

    /// Async entries received and not finished.
    async fn pending(url: &str) -> u64 {
        let db = Database::connect(url).await.expect("the event store");
        pending_entry::Entity::find()
            .count(&db)
            .await
            .expect("pending entries")
    }

    /// The ledger's invariants, from the rows alone.
    fn assert_invariants(&self) {
        // Per account: versions 1..=v, balance_after the running sum, never below zero for
        // an owner (system accounts, `@…`, are the other side and go negative).
        let mut heads: HashMap<Uuid, (Decimal, i64)> = HashMap::new();
        for p in &self.postings {
            let (balance, version) = heads.entry(p.account_id).or_default();
            assert_eq!(
                p.version,
                *version + 1,
                "versions of {} follow 1, 2, 3, … without a gap",
                p.owner_id
            );
            *balance += Decimal::from_str(&p.amount).expect("a posting amount");
            let after = Decimal::from_str(&p.balance_after).expect("a balance_after");
            assert_eq!(
                after, *balance,
                "balance_after of {} v{} is the running sum",
                p.owner_id, p.version
            );
            assert!(
                p.owner_id.starts_with('@') || after >= Decimal::ZERO,
                "{} was overdrawn: balance {after} at version {} (entry {})",
                p.owner_id,
                p.version,
                p.entry_id
            );
            *version = p.version;
        }
        // Heads are the last postings; the books sum to zero.
        let mut books = Decimal::ZERO;
        for a in &self.accounts {
            let balance = Decimal::from_str(&a.balance).expect("a head balance");
            assert_eq!(
                heads.get(&a.id).copied().unwrap_or_default(),
                (balance, a.version),
                "the head of {} is its last posting",
                a.owner_id
            );
            books += balance;
        }
        assert_eq!(books, Decimal::ZERO, "the books sum to zero");
        // Each entry moved money with two postings of opposite sign, or none.
        let mut legs: HashMap<Uuid, (usize, Decimal)> = HashMap::new();
        for p in &self.postings {
            let (n, sum) = legs.entry(p.entry_id).or_default();
            *n += 1;
            *sum += Decimal::from_str(&p.amount).expect("a posting amount");
        }
        for (id, (n, sum)) in legs {
            assert_eq!((n, sum), (2, Decimal::ZERO), "the postings of entry {id}");
        }
    }

    /// The event store holds exactly the entries the clients were answered: one per nonce,
    /// under the answered id, with postings if and only if it completed; and each owner's
    /// head is the sum of its completed entries.
    fn assert_holds_exactly(&self, settled: &BTreeMap<String, Settled>) {
        let mut by_nonce: BTreeMap<&str, Vec<&entry::Model>> = BTreeMap::new();
        for e in &self.entries {
            by_nonce.entry(e.nonce.as_str()).or_default().push(e);
        }
        for (nonce, entries) in &by_nonce {
            assert_eq!(entries.len(), 1, "one entry for nonce {nonce}: {entries:?}");
        }
        let stored: BTreeSet<&str> = by_nonce.keys().copied().collect();
        let answered: BTreeSet<&str> = settled.keys().map(String::as_str).collect();
        let lost: Vec<_> = answered.difference(&stored).take(10).collect();
        let phantom: Vec<_> = stored.difference(&answered).take(10).collect();
        assert!(
            lost.is_empty(),
            "answered entries missing from the event store: {lost:?}"
        );
        assert!(
            phantom.is_empty(),
            "entries in the event store that no request was answered with: {phantom:?}"
        );
        let mut legs: HashMap<Uuid, usize> = HashMap::new();
        for p in &self.postings {
            *legs.entry(p.entry_id).or_default() += 1;
        }
        for (nonce, s) in settled {
            let e = by_nonce[nonce.as_str()][0];
            assert_eq!(
                e.id, s.id,
                "the stored entry of {nonce} is the one answered"
            );
            assert_eq!(
                legs.get(&e.id).copied().unwrap_or(0),
                if s.completed { 2 } else { 0 },
                "postings of {nonce} (completed: {})",
                s.completed
            );
        }
        let heads: BTreeMap<&str, Decimal> = self
            .accounts
            .iter()
            .filter(|a| !a.owner_id.starts_with('@'))
            .map(|a| {
                let balance = Decimal::from_str(&a.balance).expect("a head balance");
                (a.owner_id.as_str(), balance)
            })
            .collect();
        let expected = expected_balances(settled);
        let owners: BTreeSet<&str> = heads
            .keys()
            .copied()
            .chain(expected.keys().map(String::as_str))
            .collect();
        for owner in owners {
            assert_eq!(
                heads.get(owner).copied().unwrap_or_default(),
                expected.get(owner).copied().unwrap_or_default(),
                "the balance of {owner} is the sum of its completed entries"
            );
        }
    }
}
