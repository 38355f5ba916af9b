//! Ledger-wide properties: exact money, the books' zero sum, time travel, async entries and
//! restarts, two instances on one store, and per-app catalogs.

use crate::common::{Backend, TestApp};
use entity::{account, posting};
use futures::future::join_all;
use rust_decimal::Decimal;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::json;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

on_both_backends!(
    a_large_amount_survives_the_round_trip_exactly,
    books_sum_to_zero_and_heads_match_the_postings,
    time_travel_returns_the_balance_before_and_after_a_spend,
    async_entries_are_accepted_then_completed,
    a_restart_resumes_unfinished_async_entries,
    two_instances_on_one_store_never_overdraw,
    an_app_catalog_extends_the_base,
);

const BIG_OP: &str = r#"
[operations.BIG_GRANT]
direction = "credit"
counter_account = "@system:big"
asset = "CREDIT"
amount = { min = "0.01", max = "99999999999999999999" }
"#;

async fn a_large_amount_survives_the_round_trip_exactly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let name = app_name(&app).await;
    app.ctx
        .apps
        .set_operations(&name, "big.toml", BIG_OP)
        .await
        .expect("the extension loads");
    let r = app
        .post(json!({"operation": "BIG_GRANT", "owner_id": "m", "nonce": "big", "amount": "12345678901234567.89"}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["amount"], "12345678901234567.89");
    let id = r.body["id"].as_str().unwrap();
    let stored = app.get(&format!("/v1/entries/{id}")).await;
    assert_eq!(stored.body["amount"], "12345678901234567.89");
    assert_eq!(stored.body["balance_after"], "12345678901234567.89");
    assert_eq!(app.balance("m").await, "12345678901234567.89");
    let system = app.get("/v1/accounts/@system:big").await;
    assert_eq!(system.body["balance"], "-12345678901234567.89");
}

async fn books_sum_to_zero_and_heads_match_the_postings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut requests = Vec::new();
    for i in 0..10 {
        let owner = format!("o{}", i % 4);
        requests.push(json!({"operation": "CREDIT_ADD", "owner_id": owner, "nonce": format!("a{i}"), "amount": "20.25"}));
        requests.push(json!({"operation": "CREDIT_SPEND", "owner_id": owner, "nonce": format!("s{i}"), "amount": "7.10"}));
        requests.push(json!({"operation": "TRANSFER", "owner_id": owner, "counterparty_id": format!("o{}", (i + 1) % 4), "nonce": format!("t{i}"), "amount": "3.33"}));
        requests.push(
            json!({"operation": "DAILY_REWARD", "owner_id": owner, "nonce": format!("d{i}")}),
        );
    }
    join_all(requests.into_iter().map(|r| app.post(r))).await;

    let heads = account::Entity::find().all(&app.store_sql).await.unwrap();
    let total: Decimal = heads
        .iter()
        .map(|a| Decimal::from_str(&a.balance).unwrap())
        .sum();
    assert_eq!(total, Decimal::ZERO, "the books of CREDIT sum to zero");
    assert!(heads.len() >= 7, "owners and system accounts");

    // Replaying the postings gives every head, with no version gap.
    let postings = posting::Entity::find()
        .order_by_asc(posting::Column::Version)
        .all(&app.store_sql)
        .await
        .unwrap();
    let mut replayed: HashMap<uuid::Uuid, (Decimal, i64)> = HashMap::new();
    for p in postings {
        let (balance, version) = replayed.entry(p.account_id).or_default();
        assert_eq!(p.version, *version + 1, "versions have no gaps");
        *balance += Decimal::from_str(&p.amount).unwrap();
        assert_eq!(*balance, Decimal::from_str(&p.balance_after).unwrap());
        *version = p.version;
    }
    for head in heads {
        let (balance, version) = replayed[&head.id];
        assert_eq!(balance, Decimal::from_str(&head.balance).unwrap());
        assert_eq!(version, head.version);
    }
}

async fn time_travel_returns_the_balance_before_and_after_a_spend(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let add = app
        .post(json!({"operation": "CREDIT_ADD", "owner_id": "n", "nonce": "a", "amount": "50"}))
        .await;
    let before_add = add.body["transitions"][0]["at"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let spend = app
        .post(json!({"operation": "CREDIT_SPEND", "owner_id": "n", "nonce": "s", "amount": "20"}))
        .await;
    assert_eq!(spend.status, 201);
    let after = spend.body["postings"][0]["recorded_at"]
        .as_str()
        .unwrap()
        .to_owned();

    let at = |t: String| {
        let app = &app;
        async move {
            let t = t.replace('+', "%2B");
            app.get(&format!("/v1/accounts/n?at={t}")).await.body
        }
    };
    let earliest = at("2000-01-01T00:00:00Z".into()).await;
    assert_eq!(
        (earliest["balance"].as_str(), earliest["version"].as_i64()),
        (Some("0.00"), Some(0))
    );
    assert_eq!(at(before_add).await["balance"], "0.00");
    let mid = at(between).await;
    assert_eq!(
        (mid["balance"].as_str(), mid["version"].as_i64()),
        (Some("50.00"), Some(1))
    );
    let late = at(after).await;
    assert_eq!(
        (late["balance"].as_str(), late["version"].as_i64()),
        (Some("30.00"), Some(2))
    );
    assert_eq!(app.balance("n").await, "30.00");
}

async fn async_entries_are_accepted_then_completed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let req =
        json!({"operation": "CREDIT_ADD", "owner_id": "p", "nonce": "async-1", "amount": "4"});
    let r = app
        .post_with(&app.key, req.clone(), &[("Prefer", "respond-async")])
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["state"], "received");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let done = wait_completed(&app, &id).await;
    assert_eq!(done["balance_after"], "4.00");
    assert_eq!(done["transitions"].as_array().map(Vec::len), Some(6));
    // Its row, stored before the workflow ran, carries its `received`; the write that
    // completed it is one `entry_events` row.
    assert_eq!(
        app.stored_transitions(&id).await,
        (Some("received".to_owned()), vec!["completed".to_owned()])
    );
    // A replay of the async request shows the entry as it is now.
    let again = app
        .post_with(&app.key, req, &[("Prefer", "respond-async")])
        .await;
    assert!(again.replay);
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], id.as_str());
    // The lot terms an async request sets are kept with it and open its lot.
    let at = "2099-01-01T00:00:00.000000Z";
    let req = json!({"operation": "CREDIT_ADD", "owner_id": "p", "nonce": "async-2", "amount": "3", "expires_at": at, "priority": 7});
    let r = app
        .post_with(&app.key, req, &[("Prefer", "respond-async")])
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let done = wait_completed(&app, r.body["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            done["lot"]["expires_at"].as_str(),
            done["lot"]["priority"].as_i64()
        ),
        (Some(at), Some(7))
    );
}

async fn a_restart_resumes_unfinished_async_entries(backend: Backend) {
    let first = TestApp::spawn(backend).await;
    let app = first
        .ctx
        .apps
        .identify(&first.key)
        .await
        .unwrap()
        .unwrap()
        .app;
    // Store an entry as received, as the async path does, without letting it finish:
    // what a crash between the 202 and the workflow leaves behind.
    let request = ledgerflow::ledger::EntryRequest {
        operation: "CREDIT_ADD".into(),
        owner_id: "q".into(),
        nonce: "left-behind".into(),
        amount: Some("8".into()),
        // Lot terms too: the resumed entry reads them back from its stored row.
        expires_at: Some("2099-01-01T00:00:00Z".into()),
        priority: Some(3),
        ..Default::default()
    };
    let cmd = request
        .validate(app.id, &app.catalog, ledgerflow::time::now_micros(), true)
        .unwrap();
    let received = cmd.received_record();
    let outbox =
        ledgerflow::bus::EntryMessage::outbox_rows([&received], ledgerflow::time::now_micros())
            .unwrap();
    first.store.receive(&received, &outbox).await.unwrap();
    let id = cmd.entry_id.to_string();
    assert_eq!(
        first.get(&format!("/v1/entries/{id}")).await.body["state"],
        "received"
    );

    // A new instance on the same store resumes it at start-up.
    let restarted = TestApp::spawn_on(Arc::clone(&first.db), |_| {}).await;
    let done = wait_completed_with(&restarted, &first.key, &id).await;
    assert_eq!(done["balance_after"], "8.00");
    assert_eq!(done["lot"]["expires_at"], "2099-01-01T00:00:00.000000Z");
    assert_eq!(done["lot"]["priority"], 3);
}

async fn two_instances_on_one_store_never_overdraw(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let b = TestApp::spawn_on(Arc::clone(&a.db), |_| {}).await;
    let fund =
        json!({"operation": "CREDIT_ADD", "owner_id": "r", "nonce": "fund", "amount": "100"});
    assert_eq!(a.post(fund).await.status, 201);
    // The same 40 spends reach both instances: each nonce twice, once per instance.
    let mut calls = Vec::new();
    for i in 0..40 {
        let req = json!({"operation": "CREDIT_SPEND", "owner_id": "r", "nonce": format!("s{i}"), "amount": "5"});
        calls.push(a.post_with(&a.key, req.clone(), &[]));
        calls.push(b.post_with(&a.key, req, &[]));
    }
    let replies = join_all(calls).await;
    assert!(
        replies.iter().all(|r| r.status == 201 || r.status == 422),
        "no 5xx"
    );
    let mut by_nonce: HashMap<String, Vec<String>> = HashMap::new();
    for r in &replies {
        let entry = if r.status == 201 {
            &r.body
        } else {
            &r.body["entry"]
        };
        by_nonce
            .entry(entry["nonce"].as_str().unwrap().to_owned())
            .or_default()
            .push(entry["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(by_nonce.len(), 40);
    assert!(
        by_nonce.values().all(|ids| ids[0] == ids[1]),
        "one entry per nonce"
    );
    let completed: std::collections::HashSet<_> = replies
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.body["id"].as_str().unwrap())
        .collect();
    assert_eq!(completed.len(), 20);
    let balance = a.get("/v1/accounts/r").await;
    assert_eq!(
        (
            balance.body["balance"].as_str(),
            balance.body["version"].as_i64()
        ),
        (Some("0.00"), Some(21))
    );
}

async fn an_app_catalog_extends_the_base(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let name = app_name(&app).await;
    let example = include_str!("../../operations/catalog/examples/content-app.toml");
    app.ctx
        .apps
        .set_operations(&name, "content-app.toml", example)
        .await
        .unwrap();
    let ops = app.get("/v1/operations").await;
    let names: Vec<&str> = ops
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"CONTENT_CREATION") && names.contains(&"TRANSFER"),
        "{names:?}"
    );
    let fund = json!({"operation": "CREDIT_ADD", "owner_id": "s", "nonce": "f", "amount": "12"});
    assert_eq!(app.post(fund).await.status, 201);
    let create = app
        .post(json!({"operation": "CONTENT_CREATION", "owner_id": "s", "nonce": "c1"}))
        .await;
    assert_eq!(create.status, 201, "{:?}", create.body);
    assert_eq!(create.body["balance_after"], "7.00");
    // The example's cooldown holds a second creation back.
    let again = app
        .post(json!({"operation": "CONTENT_CREATION", "owner_id": "s", "nonce": "c2"}))
        .await;
    assert_eq!(again.body["code"], "limit_exceeded");
    // The override of DAILY_REWARD applies; other apps keep the base amount.
    let reward = app
        .post(json!({"operation": "DAILY_REWARD", "owner_id": "s", "nonce": "d"}))
        .await;
    assert_eq!(reward.body["amount"], "20.00");
    let other = app.another_key().await;
    let base = app
        .post_with(
            &other,
            json!({"operation": "DAILY_REWARD", "owner_id": "s", "nonce": "d"}),
            &[],
        )
        .await;
    assert_eq!(base.body["amount"], "10.00");
    let unknown = app
        .post_with(
            &other,
            json!({"operation": "CONTENT_CREATION", "owner_id": "s", "nonce": "x"}),
            &[],
        )
        .await;
    assert_eq!(unknown.body["code"], "unknown_operation");
}

async fn app_name(app: &TestApp) -> String {
    app.ctx
        .apps
        .identify(&app.key)
        .await
        .unwrap()
        .unwrap()
        .app
        .name
        .clone()
}

async fn wait_completed(app: &TestApp, id: &str) -> serde_json::Value {
    wait_completed_with(app, &app.key, id).await
}

async fn wait_completed_with(app: &TestApp, key: &str, id: &str) -> serde_json::Value {
    for _ in 0..200 {
        let r = app.get_with(key, &format!("/v1/entries/{id}")).await;
        if r.body["state"] == "completed" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("entry {id} did not complete within 5 s");
}
