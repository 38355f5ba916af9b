//! Clients of a service process and concurrent loads of requests, with the checks on
//! what they were answered.

use super::*;

/// An answer read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub replay: bool,
    pub body: Value,
}

/// The API of one service process, as one app sees it.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
    pub respond_async: bool,
}

/// An error with its causes, which is where reqwest says what happened.
pub fn chain(e: &dyn std::error::Error) -> String {
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
    pub fn new(service: &Service, key: &str) -> Client {
        Client {
            http: crate::common::http_client()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("an HTTP client"),
            base: service.url(""),
            key: key.to_owned(),
            respond_async: false,
        }
    }

    /// Posts with `Prefer: respond-async`.
    pub fn respond_async(mut self) -> Client {
        self.respond_async = true;
        self
    }

    /// Err: no answer (connection refused or reset, timeout, body cut short).
    pub async fn post(&self, body: &Value) -> Result<Answer, String> {
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

    pub async fn get(&self, path: &str) -> Result<Answer, String> {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        Self::read(req.send().await).await
    }

    pub async fn read(sent: reqwest::Result<reqwest::Response>) -> Result<Answer, String> {
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
    pub async fn post_all<'a>(
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
    pub async fn finished(
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
    pub async fn assert_balances(&self, settled: &BTreeMap<String, Settled>) {
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
pub type Call = (Value, Result<Answer, String>);

/// What a client of a load does when a request gets no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnNoAnswer {
    /// It stops: the service is gone, and the test sends that request again later.
    StopClient,
    /// It records it and goes on (the test asserts there is none).
    GoOn,
}

/// Clients posting, each one request at a time, until stopped or out of requests.
pub struct Load {
    pub stop: Arc<AtomicBool>,
    pub answered: Arc<AtomicUsize>,
    pub clients: Vec<JoinHandle<Vec<Call>>>,
}

impl Load {
    /// `clients` tasks post `request(0)`, `request(1)`, … (each index once, in order)
    /// until `request` answers `None` or the load is stopped.
    pub fn start(
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
    pub fn count(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    /// Waits until `n` requests in all were answered.
    pub async fn answered(&self, n: usize, within: Duration) {
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
    pub async fn join(self) -> Vec<Call> {
        let mut calls = Vec::new();
        for client in self.clients {
            calls.extend(client.await.expect("a load client"));
        }
        calls
    }

    /// Stops the clients after their current request.
    pub async fn stop(self) -> Vec<Call> {
        self.stop.store(true, Ordering::SeqCst);
        self.join().await
    }
}

/// Credits of 5.00 and spends of 7.00 (two for one) over `owners` owners: the first spends
/// fail for want of balance, most later ones complete.
pub fn credits_and_spends(tag: &'static str, owners: usize) -> impl Fn(usize) -> Option<Value> {
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

pub fn nonce(body: &Value) -> String {
    body["nonce"].as_str().expect("a nonce").to_owned()
}

pub fn money(v: &Value) -> Decimal {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("an amount as a string: {v}"));
    Decimal::from_str(text).unwrap_or_else(|e| panic!("an amount: {text}: {e}"))
}

/// The answered calls and the bodies of those without an answer.
pub fn split(calls: &[Call]) -> (Vec<(&Value, &Answer)>, Vec<&Value>) {
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
pub fn answers_by_nonce(calls: &[Call]) -> BTreeMap<String, (&Value, &Answer)> {
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
pub fn assert_recorded(body: &Value, answer: &Answer, respond_async: bool) {
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
pub fn assert_same_answer(body: &Value, first: &Answer, again: &Answer) {
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
pub fn entry_id(answer: &Answer) -> Uuid {
    let id = match answer.status {
        422 => &answer.body["entry_id"],
        _ => &answer.body["id"],
    };
    id.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an entry id in {}", answer.body))
}

/// Every call was answered, with a recorded entry: by nonce, how it settled.
pub fn all_recorded(calls: &[Call]) -> BTreeMap<String, Settled> {
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
pub struct Settled {
    pub id: Uuid,
    pub completed: bool,
    pub body: Value,
}

impl Settled {
    pub fn from_answer(body: &Value, answer: &Answer) -> Settled {
        Settled {
            id: entry_id(answer),
            completed: answer.status == 201,
            body: body.clone(),
        }
    }
}

/// Each owner's balance by the clients' books: the sum of its completed entries.
pub fn expected_balances(settled: &BTreeMap<String, Settled>) -> BTreeMap<String, Decimal> {
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
