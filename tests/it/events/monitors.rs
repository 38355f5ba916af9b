//! Balance monitors: `balance.low` and `balance.recovered` fire once per crossing, in the
//! transaction of the entry, hold or expiry that crossed the line.

use super::read_feed;
use crate::common::{Backend, TestApp};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    available_100_40_30_60_45_below_50_fires_low_recovered_low,
    a_hold_that_runs_out_fires_recovered_when_its_expiry_is_recorded,
);

async fn post(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.post_to(path, body).await;
    assert!(r.status.is_success(), "{path}: {:?}", r.body);
    r.body
}

fn entry(op: &str, nonce: &str, amount: &str) -> Value {
    json!({"operation": op, "owner_id": "amy", "nonce": nonce, "amount": amount})
}

/// The `balance.*` events of the feed.
async fn balance_events(app: &TestApp) -> Vec<Value> {
    read_feed(
        app,
        &app.key,
        0,
        100,
        "&types=balance.low,balance.recovered",
    )
    .await
}

async fn available_100_40_30_60_45_below_50_fires_low_recovered_low(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    post(&app, "/v1/entries", entry("CREDIT_ADD", "c", "100")).await;
    let monitor = post(
        &app,
        "/v1/monitors",
        json!({"owner_id": "amy", "below": "50"}),
    )
    .await;
    assert_eq!(
        (monitor["below"].as_str(), monitor["asset"].as_str()),
        (Some("50.00"), Some("CREDIT"))
    );

    let hold = json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "h",
        "amount": "60", "expires_in_seconds": 600});
    let hold = post(&app, "/v1/holds", hold).await; // available 40
    post(&app, "/v1/entries", entry("CREDIT_SPEND", "s1", "10")).await; // 30
    let hold_id = hold["id"].as_str().expect("a hold id");
    let capture = json!({"nonce": "cap", "amount": "30"});
    post(&app, &format!("/v1/holds/{hold_id}/capture"), capture).await; // 60
    post(&app, "/v1/entries", entry("CREDIT_SPEND", "s2", "15")).await; // 45

    let fired = balance_events(&app).await;
    let types: Vec<&str> = fired.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["balance.low", "balance.recovered", "balance.low"]);
    let available: Vec<&str> = fired
        .iter()
        .filter_map(|e| e["data"]["available"].as_str())
        .collect();
    assert_eq!(available, ["40.00", "60.00", "45.00"]);
    assert!(
        fired
            .iter()
            .all(|e| e["data"]["monitor_id"] == monitor["id"])
    );
    // Each follows the event of the change that crossed the line, in the same entry.
    let all = read_feed(&app, &app.key, 0, 100, "").await;
    for e in &fired {
        let seq = e["seq"].as_i64().expect("seq");
        let before = all
            .iter()
            .find(|x| x["seq"].as_i64() == Some(seq - 1))
            .expect("an event before");
        let cause = before["data"].get("entry_id").or(before["data"].get("id"));
        assert_eq!(cause, Some(&e["data"]["entry_id"]), "{before} then {e}");
    }
    let listed = app.get("/v1/monitors?owner_id=amy").await;
    assert_eq!(listed.body["monitors"][0]["state"], "below");

    // Deleted, it fires nothing more.
    let id = monitor["id"].as_str().expect("an id");
    let gone = app
        .client
        .delete(app.url(&format!("/v1/monitors/{id}")))
        .bearer_auth(&app.key)
        .send()
        .await;
    assert_eq!(gone.expect("a delete").status(), 204);
    post(&app, "/v1/entries", entry("CREDIT_ADD", "c2", "100")).await;
    assert_eq!(balance_events(&app).await.len(), 3);
    let missing = app.get(&format!("/v1/monitors/{id}")).await;
    assert_eq!(missing.status, 404);
    let bad = app
        .post_to("/v1/monitors", json!({"owner_id": "amy", "below": "1.001"}))
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.body["code"].as_str()),
        (422, Some("amount_too_precise"))
    );
}

async fn a_hold_that_runs_out_fires_recovered_when_its_expiry_is_recorded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    post(&app, "/v1/entries", entry("CREDIT_ADD", "c", "100")).await;
    post(
        &app,
        "/v1/monitors",
        json!({"owner_id": "amy", "below": "50"}),
    )
    .await;
    let hold = json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "h",
        "amount": "80", "expires_in_seconds": 1});
    post(&app, "/v1/holds", hold).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let fired = loop {
        let fired = balance_events(&app).await;
        if fired.len() >= 2 || tokio::time::Instant::now() > deadline {
            break fired;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let types: Vec<&str> = fired.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["balance.low", "balance.recovered"]);
    let all = read_feed(&app, &app.key, 0, 100, "").await;
    let expired = all
        .iter()
        .find(|e| e["type"] == "hold.expired")
        .expect("hold.expired");
    assert_eq!(fired[1]["data"]["entry_id"], expired["data"]["entry_id"]);
}
