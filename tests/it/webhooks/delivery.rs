//! What a receiver gets: every event, each owner's in order, signed, the same event on
//! every repeat, only its own app's; and a webhook whose delivery is given up disabled.

use super::receiver::{Receiver, delivered};
use super::{app_id, credit, fast, register};
use crate::common::{Backend, TestApp, TestDb};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const OWNERS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

/// A receiver that answers 500 to its first 20 requests: every one of 50 events arrives,
/// each owner's in `seq` order (an owner's next event only after a 2xx of the one before),
/// every repeat of an event is the same event (id header and body), and each signature
/// verifies.
async fn retries_keep_each_owners_order_and_repeat_the_same_event(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, fast).await;
    let receiver = Receiver::start(|n| if n < 20 { 500 } else { 200 }, Duration::ZERO).await;
    let (hook, secret) = register(&app, &app.key, &receiver.url(), &["entry.completed"]).await;
    let ids = credit(&app, &app.key, &OWNERS, 50).await;
    let got = receiver
        .until(Duration::from_secs(60), |got| delivered(got).len() == 50)
        .await;
    let wanted: HashSet<String> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(delivered(&got), wanted, "every event arrived");
    assert!(got.iter().filter(|r| r.answered == 500).count() == 20);
    let mut bodies: HashMap<String, &str> = HashMap::new();
    let mut last_seq: HashMap<String, i64> = HashMap::new();
    for r in &got {
        assert!(r.signed_with(&secret), "a signature that does not verify");
        assert_eq!(r.header("ledgerflow-event-id"), r.event_id());
        assert_eq!(r.header("ledgerflow-event-type"), "entry.completed");
        assert_eq!(r.header("content-type"), "application/json");
        let body = bodies.entry(r.event_id()).or_insert(&r.body);
        assert_eq!(*body, r.body, "a repeat carries the same body");
        // The entry's event carries the entry's view, built from the entry at fan-out.
        let event: serde_json::Value = serde_json::from_str(&r.body).expect("a JSON body");
        assert_eq!(event["data"]["state"], "completed", "{}", r.body);
        assert!(event["data"]["balance_after"].is_string(), "{}", r.body);
        // An owner's requests never go back in seq: a later event is only sent once the
        // earlier one was answered 2xx, so each first 2xx comes in seq order.
        let seen = last_seq.entry(r.owner()).or_insert(0);
        assert!(
            r.seq() >= *seen,
            "{} got seq {} after {}",
            r.owner(),
            r.seq(),
            seen
        );
        *seen = r.seq();
    }
    // The receiver has a request before its delivery is recorded: wait for the records.
    let path = format!("/v1/webhooks/{hook}/deliveries?status=delivered&limit=200");
    let page = until(
        || app.get(&path),
        |p| p.body["deliveries"].as_array().map(Vec::len) == Some(50),
    )
    .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let deliveries = page.body["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 50);
    let attempts: i64 = deliveries
        .iter()
        .map(|d| d["attempts"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(attempts, 70, "20 failed attempts and 50 delivered ones");
    assert!(deliveries.iter().any(|d| d["attempts"].as_i64() > Some(1)));
    let seqs: Vec<i64> = deliveries
        .iter()
        .filter_map(|d| d["seq"].as_i64())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first");
    // Counted just after their records commit.
    let metrics = until(
        || app.metrics(),
        |m| m.contains("ledgerflow_webhook_delivery_lag_seconds_count 50"),
    )
    .await;
    assert!(metrics.contains("ledgerflow_webhook_attempts_total{outcome=\"rejected\"} 20"));
    assert!(metrics.contains("ledgerflow_webhook_attempts_total{outcome=\"delivered\"} 50"));
    assert!(metrics.contains("ledgerflow_webhook_delivery_lag_seconds_count 50"));
}

/// The signature is the HMAC of `"<t>.<body>"` under the secret, with a fresh `t`; no other
/// secret verifies it; after a rotation only the new secret does.
async fn signatures_verify_with_the_secret_only_and_follow_a_rotation(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, fast).await;
    let receiver = Receiver::ok().await;
    let (hook, secret) = register(&app, &app.key, &receiver.url(), &["entry.completed"]).await;
    credit(&app, &app.key, &["alice"], 1).await;
    let got = receiver
        .until(Duration::from_secs(20), |g| !g.is_empty())
        .await;
    let first = &got[0];
    assert!(first.signed_with(&secret));
    assert!(!first.signed_with("whsec_0000"));
    let other = secret.replace(&secret[10..12], "zz");
    assert!(!first.signed_with(&other));
    let age = ledgerflow::time::now_micros() / 1_000_000 - first.signed_at();
    assert!(
        (0..60).contains(&age),
        "t is the time of sending ({age} s ago)"
    );
    let rotated = app
        .post_to(&format!("/v1/webhooks/{hook}/rotate-secret"), json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new = rotated.body["secret"]
        .as_str()
        .expect("a new secret")
        .to_owned();
    assert_ne!(new, secret);
    credit(&app, &app.key, &["alice"], 1).await;
    let got = receiver
        .until(Duration::from_secs(20), |g| g.len() >= 2)
        .await;
    assert!(got[1].signed_with(&new) && !got[1].signed_with(&secret));
}

/// Two apps on one service: each webhook gets its own app's events, never the other's.
async fn an_app_never_receives_another_apps_events(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, fast).await;
    let key_b = app.another_key().await;
    let (a, b) = (app_id(&app, &app.key).await, app_id(&app, &key_b).await);
    let (to_a, to_b) = (Receiver::ok().await, Receiver::ok().await);
    register(&app, &app.key, &to_a.url(), &["entry.completed"]).await;
    register(&app, &key_b, &to_b.url(), &["entry.completed"]).await;
    let of_a = credit(&app, &app.key, &["alice", "bob"], 6).await;
    let of_b = credit(&app, &key_b, &["alice"], 3).await;
    to_a.until(Duration::from_secs(20), |g| delivered(g).len() == 6)
        .await;
    to_b.until(Duration::from_secs(20), |g| delivered(g).len() == 3)
        .await;
    // Time for a stray delivery to show up, were there one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (got_a, got_b) = (to_a.received(), to_b.received());
    let as_set = |ids: &[uuid::Uuid]| ids.iter().map(ToString::to_string).collect::<HashSet<_>>();
    assert_eq!(delivered(&got_a), as_set(&of_a));
    assert_eq!(delivered(&got_b), as_set(&of_b));
    assert!(got_a.iter().all(|r| r.json()["app_id"] == a.to_string()));
    assert!(got_b.iter().all(|r| r.json()["app_id"] == b.to_string()));
}

/// The deliveries page at `path` once it says the webhook is disabled.
async fn disabled(app: &TestApp, path: &str) -> crate::common::Reply {
    until(|| app.get(path), |p| p.body["webhook_state"] == "disabled").await
}

/// What `read` gives once `done` holds of it, read every 50 ms; its last reading after 10 s
/// (the caller asserts on it).
async fn until<T, F: Future<Output = T>>(
    mut read: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let mut value = read().await;
    for _ in 0..200 {
        if done(&value) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        value = read().await;
    }
    value
}

/// `PATCH` of the webhook's state.
async fn set_state(app: &TestApp, hook: &str, state: &str) -> crate::common::Reply {
    let r = app
        .client
        .patch(app.url(&format!("/v1/webhooks/{hook}")))
        .bearer_auth(&app.key)
        .json(&json!({"state": state}))
        .send()
        .await
        .expect("sent");
    TestApp::read(r).await
}

/// A receiver that always fails: past the give-up window the delivery is `failed`, the
/// webhook `disabled` with the reason, a retry refused with 409; re-enabled, the other
/// owners' deliveries resume, and a retry of the failed one delivers it.
async fn a_delivery_given_up_disables_the_webhook_until_re_enabled(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, |c| {
        fast(c);
        c.webhook_give_up_secs = 1;
    })
    .await;
    let up = Arc::new(AtomicBool::new(false));
    let plan = {
        let up = up.clone();
        move |_| if up.load(Ordering::SeqCst) { 200 } else { 503 }
    };
    let receiver = Receiver::start(plan, Duration::ZERO).await;
    let (hook, _) = register(&app, &app.key, &receiver.url(), &["entry.completed"]).await;
    let ids = credit(&app, &app.key, &["alice"], 2).await;
    let deliveries = format!("/v1/webhooks/{hook}/deliveries");
    let page = disabled(&app, &deliveries).await;
    assert_eq!(page.body["webhook_state"], "disabled", "{:?}", page.body);
    let reason = page.body["disabled_reason"].as_str().expect("a reason");
    assert!(reason.contains(&ids[0].to_string()), "{reason}");
    let list = page.body["deliveries"].as_array().expect("deliveries");
    let status = |i: usize| {
        list.iter()
            .find(|d| d["event_id"] == ids[i].to_string())
            .map(|d| d["status"].clone())
    };
    assert_eq!(status(0), Some(json!("failed")));
    assert_eq!(
        status(1),
        Some(json!("pending")),
        "alice's next waits for the first"
    );
    assert!(
        list.iter()
            .all(|d| d["last_status"] == 503 || d["attempts"] == 0)
    );
    let retry = format!("/v1/webhooks/{hook}/deliveries/{}/retry", ids[0]);
    let refused = app.post_to(&retry, json!({})).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["code"], "webhook_disabled");

    up.store(true, Ordering::SeqCst);
    let patched = set_state(&app, &hook, "active").await;
    assert_eq!(patched.body["state"], "active");
    assert!(patched.body.get("disabled_reason").is_none());
    receiver
        .until(Duration::from_secs(20), |g| {
            delivered(g).contains(&ids[1].to_string())
        })
        .await;
    let retried = app.post_to(&retry, json!({})).await;
    assert_eq!(retried.status, 202, "{:?}", retried.body);
    assert_eq!(retried.body["status"], "pending");
    receiver
        .until(Duration::from_secs(20), |g| {
            delivered(g).contains(&ids[0].to_string())
        })
        .await;
}

/// Two instances on one event store: one of them holds the webhook's lease, so each event
/// is sent once, never by both; a retry asked of either instance is sent.
async fn two_instances_send_each_event_once(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, fast).await;
    let mut config = ledgerflow::config::Config::with_store(&app.db.url);
    fast(&mut config);
    let second = app.another_instance(&app.key, &config).await;
    let receiver = Receiver::start(|_| 200, Duration::from_millis(5)).await;
    let (hook, _) = register(&second, &app.key, &receiver.url(), &["entry.completed"]).await;
    let ids = credit(&app, &app.key, &OWNERS, 40).await;
    receiver
        .until(Duration::from_secs(30), |g| delivered(g).len() == ids.len())
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = receiver.received();
    assert_eq!(
        got.len(),
        ids.len(),
        "each event once: {} requests",
        got.len()
    );
    // A retry asked of either instance is sent by the one holding the lease.
    for (instance, event) in [(&app, ids[0]), (&second, ids[1])] {
        let retry = format!("/v1/webhooks/{hook}/deliveries/{event}/retry");
        assert_eq!(instance.post_to(&retry, json!({})).await.status, 202);
    }
    receiver
        .until(Duration::from_secs(10), |g| g.len() == ids.len() + 2)
        .await;
}

/// The retention deletes the deliveries of the events it prunes once they are finished, and
/// keeps a pending one, whose event it prunes all the same: a receiver that answers 200
/// has its deliveries of the pruned events deleted; one that answers 500 keeps them all.
async fn the_retention_deletes_the_finished_deliveries_of_the_events_it_prunes(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, fast).await;
    let up = Receiver::start(|_| 200, Duration::ZERO).await;
    let down = Receiver::start(|_| 500, Duration::ZERO).await;
    let (delivered_to, _) = register(&app, &app.key, &up.url(), &["entry.completed"]).await;
    let (pending_at, _) = register(&app, &app.key, &down.url(), &["entry.completed"]).await;
    let listed = |hook: String, status: &'static str| {
        let app = &app;
        async move {
            let path = format!("/v1/webhooks/{hook}/deliveries?status={status}&limit=200");
            let page = app.get(&path).await;
            page.body["deliveries"].as_array().map_or(0, Vec::len)
        }
    };
    credit(&app, &app.key, &["alice", "bob"], 4).await;
    let first = until(|| listed(delivered_to.clone(), "delivered"), |n| *n == 4).await;
    assert_eq!(first, 4);
    let cutoff = ledgerflow::time::now_micros();
    credit(&app, &app.key, &["alice", "bob"], 2).await;
    let all = until(|| listed(delivered_to.clone(), "delivered"), |n| *n == 6).await;
    assert_eq!(all, 6);
    let waiting = until(|| listed(pending_at.clone(), "pending"), |n| *n == 6).await;
    assert_eq!(waiting, 6);

    let pruned = ledgerflow::projection::retention::prune(&app.store, &app.read, cutoff)
        .await
        .expect("the prune");
    assert_eq!(pruned, 4);
    assert_eq!(listed(delivered_to.clone(), "delivered").await, 2);
    assert_eq!(listed(pending_at.clone(), "pending").await, 6);
}

on_both_backends!(
    the_retention_deletes_the_finished_deliveries_of_the_events_it_prunes,
    retries_keep_each_owners_order_and_repeat_the_same_event,
    signatures_verify_with_the_secret_only_and_follow_a_rotation,
    an_app_never_receives_another_apps_events,
    a_delivery_given_up_disables_the_webhook_until_re_enabled,
    two_instances_send_each_event_once,
);
