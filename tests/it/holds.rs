//! Holds over HTTP: forty holds racing for one balance (Blnk #181 as a regression test), a
//! partial capture and its replay, exact-instant expiry with the recorder stopped and after
//! it ran, voids, concurrent captures of one hold, and what a hold request may not ask.

use crate::common::{Backend, Reply, TestApp, TestDb, verified};
use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use futures::future::join_all;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

on_both_backends!(
    forty_holds_of_five_on_a_hundred_hold_twenty_and_block_every_spend,
    a_partial_capture_debits_its_amount_releases_the_rest_and_replays,
    a_hold_expires_at_its_instant_with_the_recorder_stopped_and_after_it_ran,
    a_void_releases_everything,
    concurrent_captures_of_one_hold_capture_it_once,
    a_hold_request_is_checked_against_the_catalog,
);

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn credit(app: &TestApp, owner: &str, nonce: &str, amount: &str) {
    let r = app
        .post(
            json!({"operation": "CREDIT_ADD", "owner_id": owner, "nonce": nonce, "amount": amount}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

async fn hold(app: &TestApp, owner: &str, nonce: &str, amount: &str, seconds: i64) -> Reply {
    let body = json!({"operation": "CREDIT_SPEND", "owner_id": owner, "nonce": nonce,
        "amount": amount, "expires_in_seconds": seconds});
    app.post_to("/v1/holds", body).await
}

async fn account(app: &TestApp, path: &str) -> (String, String, String) {
    let r = app.get(path).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let field = |name: &str| r.body[name].as_str().expect(name).to_owned();
    (field("balance"), field("held"), field("available"))
}

fn owned(balance: &str, held: &str, available: &str) -> (String, String, String) {
    (balance.into(), held.into(), available.into())
}

async fn forty_holds_of_five_on_a_hundred_hold_twenty_and_block_every_spend(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    credit(&app, "amy", "c", "100").await;
    let holds = (0..40).map(|i| {
        let app = app.clone();
        tokio::spawn(async move { hold(&app, "amy", &format!("h{i}"), "5", 600).await })
    });
    let replies: Vec<Reply> = join_all(holds)
        .await
        .into_iter()
        .map(|r| r.expect("a task"))
        .collect();
    let held = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies
        .iter()
        .filter(|r| r.status == 422 && r.body["code"] == "insufficient_balance")
        .count();
    assert_eq!((held, refused), (20, 20), "{replies:?}");
    assert!(
        replies
            .iter()
            .all(|r| r.status != 201 || r.body["state"] == "held")
    );
    let spends = (0..40).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let body = json!({"operation": "CREDIT_SPEND", "owner_id": "amy",
                "nonce": format!("s{i}"), "amount": "5"});
            app.post(body).await
        })
    });
    for reply in join_all(spends).await {
        let reply = reply.expect("a task");
        assert_eq!(reply.status, 422, "{:?}", reply.body);
        assert_eq!(reply.body["code"], "insufficient_balance");
    }
    let now = account(&app, "/v1/accounts/amy").await;
    assert_eq!(now, owned("100.00", "100.00", "0.00"));
    let listed = app.get("/v1/accounts/amy/holds?state=held").await;
    assert_eq!(listed.body["holds"].as_array().map(Vec::len), Some(20));
    verified(&app).await;
}

async fn a_partial_capture_debits_its_amount_releases_the_rest_and_replays(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    credit(&app, "amy", "c", "10").await;
    let placed = hold(&app, "amy", "h", "5", 600).await;
    assert_eq!(placed.status, 201, "{:?}", placed.body);
    assert_eq!(placed.body["state"], "held");
    assert_eq!(placed.body["amount"], "5.00");
    let id = placed.body["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        account(&app, "/v1/accounts/amy").await,
        owned("10.00", "5.00", "5.00")
    );

    let path = format!("/v1/holds/{id}/capture");
    let captured = app
        .post_to(&path, json!({"nonce": "cap", "amount": "3"}))
        .await;
    assert_eq!(captured.status, 200, "{:?}", captured.body);
    assert_eq!(captured.body["state"], "captured");
    assert_eq!(captured.body["captured_amount"], "3.00");
    let states: Vec<&str> = captured.body["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|t| t["state"].as_str().expect("a state"))
        .collect();
    assert_eq!(
        states,
        [
            "received",
            "validating",
            "nonce_check",
            "balance_check",
            "held",
            "captured"
        ]
    );
    // Balance −3, available +2 (5 → 7).
    assert_eq!(
        account(&app, "/v1/accounts/amy").await,
        owned("7.00", "0.00", "7.00")
    );

    let replay = app
        .post_to(&path, json!({"nonce": "cap", "amount": "3"}))
        .await;
    assert_eq!(replay.status, 200);
    assert!(replay.replay);
    assert_eq!(replay.body, captured.body);
    let again = app.post_to(&path, json!({"nonce": "cap2"})).await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert_eq!(again.body["code"], "hold_not_open");
    let void = app
        .post_to(&format!("/v1/holds/{id}/void"), json!({"nonce": "v"}))
        .await;
    assert_eq!(void.status, 409);
    assert_eq!(void.body["code"], "hold_not_open");

    // The capture is an entry of the hold's operation, linked to the hold.
    let capture_id = captured.body["closed_by"].as_str().expect("the capture");
    let entry = app.get(&format!("/v1/entries/{capture_id}")).await;
    assert_eq!(entry.body["operation"], "CREDIT_SPEND");
    assert_eq!(entry.body["hold_id"], id.as_str());
    assert_eq!(entry.body["amount"], "3.00");
    let got = app.get(&format!("/v1/holds/{id}")).await;
    assert_eq!(got.body, captured.body);
    let listed = app.get("/v1/accounts/amy/holds?state=captured").await;
    assert_eq!(listed.body["holds"][0]["id"], id.as_str());
    let over = hold(&app, "amy", "h2", "2", 600).await;
    let over_id = over.body["id"].as_str().expect("an id").to_owned();
    let too_much = app
        .post_to(
            &format!("/v1/holds/{over_id}/capture"),
            json!({"nonce": "cap3", "amount": "2.01"}),
        )
        .await;
    assert_eq!(too_much.status, 422, "{:?}", too_much.body);
    assert_eq!(too_much.body["code"], "amount_exceeds_hold");
    verified(&app).await;
}

async fn a_hold_expires_at_its_instant_with_the_recorder_stopped_and_after_it_ran(
    backend: Backend,
) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, |c| c.record_expiries = false).await;
    credit(&app, "bo", "c", "10").await;
    let t = Utc::now() + Span::milliseconds(1500);
    let body = json!({"operation": "CREDIT_SPEND", "owner_id": "bo", "nonce": "h",
        "amount": "10", "expires_at": rfc3339(t)});
    let placed = app.post_to("/v1/holds", body).await;
    assert_eq!(placed.status, 201, "{:?}", placed.body);
    assert_eq!(placed.body["expires_at"], rfc3339(t));
    let id = placed.body["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        account(&app, "/v1/accounts/bo").await,
        owned("10.00", "10.00", "0.00")
    );
    let wait = (t - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(1)).await;

    // From T on the hold holds nothing, though its expiry is not recorded.
    let late = app
        .post_to(&format!("/v1/holds/{id}/capture"), json!({"nonce": "c1"}))
        .await;
    assert_eq!(late.status, 409, "{:?}", late.body);
    assert_eq!(late.body["code"], "hold_expired");
    let at = |when: DateTime<Utc>| format!("/v1/accounts/bo?at={}", rfc3339(when));
    let before = owned("10.00", "10.00", "0.00");
    let after = owned("10.00", "0.00", "10.00");
    assert_eq!(account(&app, &at(t - Span::microseconds(1))).await, before);
    assert_eq!(account(&app, &at(t)).await, after);
    assert_eq!(account(&app, "/v1/accounts/bo").await, after);
    let got = app.get(&format!("/v1/holds/{id}")).await;
    assert_eq!(got.body["state"], "expired");
    assert_eq!(got.body["transitions"][5]["at"], rfc3339(t));
    assert!(got.body.get("closed_by").is_none(), "not recorded yet");

    // A recorder (another instance) records it once; nothing reads differently.
    let config = ledgerflow::config::Config::with_store(&app.db.url);
    let recorder = app.another_instance(&app.key, &config).await;
    let mut recorded = Value::Null;
    for _ in 0..100 {
        recorded = app.get(&format!("/v1/holds/{id}")).await.body;
        if recorded.get("closed_by").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(recorded["state"], "expired", "{recorded:?}");
    assert_eq!(recorded["transitions"], got.body["transitions"]);
    assert_eq!(account(&app, &at(t - Span::microseconds(1))).await, before);
    assert_eq!(account(&app, &at(t)).await, after);
    assert_eq!(recorder.metric("ledgerflow_holds_expired_total").await, "1");
    let spend =
        json!({"operation": "CREDIT_SPEND", "owner_id": "bo", "nonce": "s", "amount": "10"});
    assert_eq!(app.post(spend).await.status, 201);
    verified(&recorder).await;
}

async fn a_void_releases_everything(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    credit(&app, "amy", "c", "10").await;
    let placed = hold(&app, "amy", "h", "10", 600).await;
    let id = placed.body["id"].as_str().expect("an id").to_owned();
    let path = format!("/v1/holds/{id}/void");
    let voided = app.post_to(&path, json!({"nonce": "v"})).await;
    assert_eq!(voided.status, 200, "{:?}", voided.body);
    assert_eq!(voided.body["state"], "voided");
    let replay = app.post_to(&path, json!({"nonce": "v"})).await;
    assert!(replay.replay);
    assert_eq!(replay.body, voided.body);
    assert_eq!(
        account(&app, "/v1/accounts/amy").await,
        owned("10.00", "0.00", "10.00")
    );
    let spend =
        json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "s", "amount": "10"});
    assert_eq!(app.post(spend).await.status, 201);
    verified(&app).await;
}

async fn concurrent_captures_of_one_hold_capture_it_once(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    credit(&app, "amy", "c", "10").await;
    let placed = hold(&app, "amy", "h", "10", 600).await;
    let path = format!(
        "/v1/holds/{}/capture",
        placed.body["id"].as_str().expect("an id")
    );
    let tries = (0..20).map(|i| {
        let (app, path) = (app.clone(), path.clone());
        tokio::spawn(async move {
            let body = if i % 2 == 0 {
                json!({"nonce": format!("c{i}"), "amount": "1"})
            } else {
                json!({"nonce": format!("c{i}")})
            };
            app.post_to(&path, body).await
        })
    });
    let replies: Vec<Reply> = join_all(tries)
        .await
        .into_iter()
        .map(|r| r.expect("a task"))
        .collect();
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(won.len(), 1, "{replies:?}");
    assert!(
        replies
            .iter()
            .all(|r| r.status == 200 || r.body["code"] == "hold_not_open")
    );
    let captured = won[0].body["captured_amount"].as_str().expect("captured");
    let expected = format!("{}", 10 - if captured == "1.00" { 1 } else { 10 });
    let balance = app.balance("amy").await;
    assert_eq!(balance, format!("{expected}.00"));
    verified(&app).await;
}

async fn a_hold_request_is_checked_against_the_catalog(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    credit(&app, "amy", "c", "10").await;
    let cases = [
        (
            json!({"operation": "CREDIT_ADD", "expires_in_seconds": 60}),
            "holds_not_allowed",
        ),
        (
            json!({"operation": "CREDIT_SPEND", "expires_in_seconds": 86_401}),
            "hold_too_long",
        ),
        (json!({"operation": "CREDIT_SPEND"}), "hold_expiry_required"),
        (
            json!({"operation": "CREDIT_SPEND", "expires_in_seconds": 60,
                "expires_at": rfc3339(Utc::now() + Span::minutes(1))}),
            "hold_expiry_required",
        ),
        (
            json!({"operation": "CREDIT_SPEND", "expires_in_seconds": 0}),
            "expiry_not_in_future",
        ),
    ];
    for (i, (mut body, code)) in cases.into_iter().enumerate() {
        body["owner_id"] = json!("amy");
        body["nonce"] = json!(format!("n{i}"));
        body["amount"] = json!("1");
        let r = app.post_to("/v1/holds", body).await;
        assert_eq!(r.status, 422, "{code}: {:?}", r.body);
        assert_eq!(r.body["code"], code);
    }
    let unknown = uuid::Uuid::now_v7();
    let r = app
        .post_to(
            &format!("/v1/holds/{unknown}/capture"),
            json!({"nonce": "x"}),
        )
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let r = app.get(&format!("/v1/holds/{unknown}")).await;
    assert_eq!(r.status, 404);
    // Another app's hold is as absent as one that does not exist.
    let placed = hold(&app, "amy", "h", "1", 60).await;
    let other = app.another_key().await;
    let path = format!("/v1/holds/{}", placed.body["id"].as_str().expect("an id"));
    assert_eq!(app.get_with(&other, &path).await.status, 404);
}
