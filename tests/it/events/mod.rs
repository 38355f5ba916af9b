//! Events out: every recorded change produces an event for its app, numbered without a gap;
//! the feed pages through them exactly once, the stream resumes from `Last-Event-ID`, and
//! an app sees only its own.

mod kinds;
mod monitors;
mod stream;

use crate::common::{Backend, TestApp};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

on_both_backends!(
    pages_of_37_see_every_event_once_in_order_across_a_restart,
    an_app_never_sees_another_apps_events,
);

/// Posts `n` entries over `owners` owners, 16 at a time: every tenth a spend that fails.
/// Returns each entry's id and the event type it must announce.
pub async fn load(app: &TestApp, key: &str, n: usize, owners: usize) -> BTreeMap<String, String> {
    load_range(app, key, 0..n, owners).await
}

/// [`load`] of `n` more entries with the app's key, numbered from `from`.
pub async fn load_from(app: &TestApp, from: usize, n: usize) {
    load_range(app, &app.key, from..from + n, 3).await;
}

async fn load_range(
    app: &TestApp,
    key: &str,
    range: std::ops::Range<usize>,
    owners: usize,
) -> BTreeMap<String, String> {
    futures::stream::iter(range)
        .map(|i| async move {
            let (op, amount, want) = match i % 10 {
                9 => ("CREDIT_SPEND", "1000000", "entry.failed"),
                _ => ("CREDIT_ADD", "1", "entry.completed"),
            };
            let body = json!({"operation": op, "owner_id": format!("u{}", i % owners),
                "nonce": format!("n{i}"), "amount": amount});
            let r = app.post_with(key, body, &[]).await;
            assert!(r.status.is_success() || r.status == 422, "{:?}", r.body);
            let id = r.body.get("id").or(r.body.get("entry_id"));
            let id = id.and_then(Value::as_str).expect("an entry id").to_owned();
            (id, want.to_owned())
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// Every event of the feed after `after`, in pages of `limit`, with `query` added.
pub async fn read_feed(
    app: &TestApp,
    key: &str,
    after: i64,
    limit: u64,
    query: &str,
) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = after;
    loop {
        let page = app
            .get_with(
                key,
                &format!("/v1/events?after={after}&limit={limit}{query}"),
            )
            .await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let got = page.body["events"].as_array().expect("events").clone();
        let next = page.body["next_after"].as_i64().expect("next_after");
        if got.is_empty() && next == after {
            return events;
        }
        assert!(got.len() as u64 <= limit);
        events.extend(got);
        after = next;
    }
}

async fn pages_of_37_see_every_event_once_in_order_across_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let expected = load(&app, &app.key, 1_000, 20).await;
    app.projected().await;

    // Half the way on one instance, then from the stored cursor on a fresh one.
    let mut events = Vec::new();
    let mut after = 0;
    for _ in 0..13 {
        let page = app.get(&format!("/v1/events?after={after}&limit=37")).await;
        events.extend(page.body["events"].as_array().expect("events").clone());
        after = page.body["next_after"].as_i64().expect("next_after");
    }
    assert_eq!(after, 13 * 37, "a full page moves the cursor by its size");
    let config = ledgerflow::config::Config::with_store(&app.db.url);
    let restarted = app.another_instance(&app.key, &config).await;
    events.extend(read_feed(&restarted, &app.key, after, 37, "").await);

    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(
        seqs,
        (1..=1_000).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let mut seen = BTreeSet::new();
    for e in &events {
        let id = e["data"]["id"].as_str().expect("the entry's id");
        assert!(seen.insert(id.to_owned()), "{id} announced twice");
        assert_eq!(e["type"], expected[id].as_str(), "{e}");
        assert_eq!(e["owner_id"], e["data"]["owner_id"]);
        assert!(e["id"].is_string() && e["occurred_at"].is_string());
    }
    assert_eq!(seen.len(), expected.len());

    // The filters: one owner's events are exactly its entries, in order.
    let mine = read_feed(&app, &app.key, 0, 7, "&owner_id=u3").await;
    assert_eq!(mine.len(), 50);
    assert!(mine.iter().all(|e| e["owner_id"] == "u3"));
    assert!(
        mine.windows(2)
            .all(|w| w[0]["seq"].as_i64() < w[1]["seq"].as_i64())
    );
    let failed = read_feed(&app, &app.key, 0, 37, "&types=entry.failed").await;
    assert_eq!(failed.len(), 100);
    assert!(
        failed
            .iter()
            .all(|e| e["data"]["failure_code"] == "insufficient_balance")
    );
    let unknown = app.get("/v1/events?types=entry.done").await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.body["code"].as_str()),
        (422, Some("unknown_event_type"))
    );
    let negative = app.get("/v1/events?after=-1").await;
    assert_eq!(negative.status, 400, "{:?}", negative.body);
}

async fn an_app_never_sees_another_apps_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_key().await;
    let mine = load(&app, &app.key, 30, 3).await;
    let theirs = load(&app, &other, 40, 3).await;
    app.projected().await;
    let my_feed = read_feed(&app, &app.key, 0, 100, "").await;
    let their_feed = read_feed(&app, &other, 0, 100, "").await;
    let ids = |feed: &[Value]| -> BTreeSet<String> {
        feed.iter()
            .map(|e| e["data"]["id"].as_str().expect("an id").to_owned())
            .collect()
    };
    assert_eq!(ids(&my_feed), mine.keys().cloned().collect());
    assert_eq!(ids(&their_feed), theirs.keys().cloned().collect());
    // Each app counts its own events from 1.
    assert_eq!(their_feed.last().map(|e| e["seq"].clone()), Some(json!(40)));
    let streamed = stream::collect(&app, &other, "", 40).await;
    assert_eq!(ids(&streamed), ids(&their_feed));
}
