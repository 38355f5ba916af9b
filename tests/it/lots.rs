//! Credit lots over HTTP: the drawdown order, exact-instant expiry (with the recorder
//! stopped and after it ran), voids, transfers that keep a lot's expiry, 64 clients drawing
//! from three lots, and two instances recording the same expiries once.

use crate::common::{Backend, TestApp, verified};
use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use futures::future::join_all;
use ledgerflow::projection::verify::verify;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

on_both_backends!(
    spends_draw_from_lots_in_the_documented_order,
    a_lot_stops_counting_at_its_expiry_instant_and_its_expiry_is_recorded_once,
    a_void_returns_the_unspent_remainder_once,
    transferred_credits_keep_their_expiry,
    concurrent_spends_never_take_a_lot_below_zero,
    two_recorders_record_each_expiry_once,
    lot_terms_are_checked_against_the_catalog,
    verify_finds_a_lot_that_does_not_hold_its_balance,
);

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().expect("a decimal string")).expect("a decimal")
}

async fn lots(app: &TestApp, owner: &str, closed: bool) -> Vec<Value> {
    let query = if closed { "?include=closed" } else { "" };
    let r = app.get(&format!("/v1/accounts/{owner}/lots{query}")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["lots"].as_array().expect("lots").clone()
}

async fn post_ok(app: &TestApp, body: Value) -> Value {
    let r = app.post(body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

async fn spends_draw_from_lots_in_the_documented_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Promotional, expiring in 90 days, priority 50.
    let signup = post_ok(
        &app,
        json!({"operation": "SIGNUP_CREDIT", "owner_id": "amy", "nonce": "s"}),
    )
    .await;
    assert_eq!(signup["lot"]["category"], "promotional");
    // Paid, never expiring, priority 50; and paid with priority 10.
    let paid = post_ok(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "amy", "nonce": "p", "amount": "50"}),
    )
    .await;
    let first = post_ok(&app, json!({"operation": "CREDIT_ADD", "owner_id": "amy", "nonce": "f", "amount": "30", "priority": 10})).await;
    let ids = |v: &Value| v["lot"]["id"].as_str().expect("a lot id").to_owned();
    let order: Vec<String> = lots(&app, "amy", false)
        .await
        .iter()
        .map(|l| l["id"].as_str().expect("an id").to_owned())
        .collect();
    assert_eq!(order, [ids(&first), ids(&signup), ids(&paid)]);

    let spend = post_ok(
        &app,
        json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "x", "amount": "140"}),
    )
    .await;
    let drawn: Vec<(String, Decimal)> = spend["allocations"]
        .as_array()
        .expect("allocations")
        .iter()
        .map(|a| {
            (
                a["lot_id"].as_str().expect("an id").to_owned(),
                dec(&a["amount"]),
            )
        })
        .collect();
    assert_eq!(
        drawn,
        [
            (ids(&first), Decimal::from(30)),
            (ids(&signup), Decimal::from(100)),
            (ids(&paid), Decimal::from(10)),
        ]
    );
    let open = lots(&app, "amy", false).await;
    assert_eq!(open.len(), 1);
    assert_eq!(dec(&open[0]["remaining"]), Decimal::from(40));
    let all = lots(&app, "amy", true).await;
    assert_eq!(all.iter().filter(|l| l["status"] == "spent").count(), 2);
    let account = app.get("/v1/accounts/amy").await;
    assert_eq!(account.body["balance"], "40.00");
    assert_eq!(account.body["lots"].as_array().map(Vec::len), Some(1));
    verified(&app).await;
}

async fn a_lot_stops_counting_at_its_expiry_instant_and_its_expiry_is_recorded_once(
    backend: Backend,
) {
    let db = Arc::new(crate::common::TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, |c| c.record_expiries = false).await;
    let t = Utc::now() + Span::milliseconds(1500);
    let expiring = post_ok(&app, json!({"operation": "CREDIT_ADD", "owner_id": "bo", "nonce": "e", "amount": "10", "expires_at": rfc3339(t)})).await;
    assert_eq!(expiring["lot"]["expires_at"], rfc3339(t));
    post_ok(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "bo", "nonce": "k", "amount": "5"}),
    )
    .await;
    // Before T the expiring lot is drawn first (earliest expiry).
    let early = post_ok(
        &app,
        json!({"operation": "CREDIT_SPEND", "owner_id": "bo", "nonce": "s1", "amount": "3"}),
    )
    .await;
    assert_eq!(early["allocations"][0]["lot_id"], expiring["lot"]["id"]);
    tokio::time::sleep((t - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(50))
        .await;

    // From T on it counts nothing, though its expiry is not recorded (no recorder runs).
    let late = app
        .post(json!({"operation": "CREDIT_SPEND", "owner_id": "bo", "nonce": "s2", "amount": "6"}))
        .await;
    assert_eq!(late.status, 422, "{:?}", late.body);
    assert_eq!(late.body["code"], "insufficient_balance");
    assert_eq!(app.balance("bo").await, "5.00");
    assert_eq!(lots(&app, "bo", false).await.len(), 1);
    let at =
        |when: DateTime<Utc>| format!("/v1/accounts/bo?at={}", rfc3339(when).replace('+', "%2B"));
    let before = app.get(&at(t - Span::microseconds(1))).await;
    let at_t = app.get(&at(t)).await;
    assert_eq!(before.body["balance"], "12.00", "{:?}", before.body);
    assert_eq!(at_t.body["balance"], "5.00", "{:?}", at_t.body);

    // A recorder (a second instance) records it once, effective at T, and nothing reads
    // differently afterwards.
    let recorder = app
        .another_instance(
            &app.key,
            &ledgerflow::config::Config::with_store(&app.db.url),
        )
        .await;
    let expired = wait_for_closed(&app, "bo", "expired").await;
    assert_eq!(expired["closed_amount"], "7.00");
    let history = app.get("/v1/accounts/bo/entries").await;
    let expiries: Vec<&Value> = history.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["operation"] == "EXPIRY")
        .collect();
    assert_eq!(expiries.len(), 1);
    assert_eq!(expiries[0]["amount"], "7.00");
    assert_eq!(expiries[0]["created_at"], rfc3339(t));
    assert_eq!(expiries[0]["postings"][1]["owner_id"], "@system:expired");
    assert_eq!(
        app.get(&at(t - Span::microseconds(1))).await.body["balance"],
        "12.00"
    );
    assert_eq!(app.get(&at(t)).await.body["balance"], "5.00");
    assert_eq!(app.balance("bo").await, "5.00");
    assert_eq!(recorder.metric("ledgerflow_lots_expired_total").await, "1");
    assert_eq!(recorder.metric("ledgerflow_expiry_backlog").await, "0");
    verified(&recorder).await;
}

/// Waits until `owner` has a lot closed as `status`; returns it.
async fn wait_for_closed(app: &TestApp, owner: &str, status: &str) -> Value {
    for _ in 0..100 {
        let found = lots(app, owner, true)
            .await
            .into_iter()
            .find(|l| l["status"] == status && l.get("closed_by").is_some());
        if let Some(lot) = found {
            return lot;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no lot of {owner} was recorded {status} within 10 s");
}

async fn a_void_returns_the_unspent_remainder_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let credit = post_ok(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "cy", "nonce": "c", "amount": "20"}),
    )
    .await;
    post_ok(
        &app,
        json!({"operation": "CREDIT_SPEND", "owner_id": "cy", "nonce": "s", "amount": "5"}),
    )
    .await;
    let lot = credit["lot"]["id"].as_str().expect("a lot id").to_owned();
    let void = |body: Value| {
        let app = &app;
        let lot = lot.clone();
        async move {
            let resp = app
                .client
                .post(app.url(&format!("/v1/lots/{lot}/void")))
                .bearer_auth(&app.key)
                .json(&body)
                .send()
                .await
                .expect("sent");
            TestApp::read(resp).await
        }
    };
    let first = void(json!({"nonce": "v1", "reason": "refund"})).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(
        (
            first.body["operation"].as_str(),
            first.body["amount"].as_str()
        ),
        (Some("LOT_VOID"), Some("15.00"))
    );
    assert_eq!(first.body["postings"][1]["owner_id"], "@system:purchases");
    let again = void(json!({"nonce": "v1", "reason": "refund"})).await;
    assert!(again.replay);
    assert_eq!(again.body["id"], first.body["id"]);
    let other = void(json!({"nonce": "v1", "reason": "other"})).await;
    assert_eq!(
        (other.status.as_u16(), other.body["code"].as_str()),
        (409, Some("nonce_reused"))
    );
    let closed = void(json!({"nonce": "v2"})).await;
    assert_eq!(
        (closed.status.as_u16(), closed.body["code"].as_str()),
        (409, Some("lot_closed"))
    );
    assert_eq!(app.balance("cy").await, "0.00");
    assert_eq!(app.balance("@system:purchases").await, "-5.00");
    let missing = app
        .client
        .post(app.url(&format!("/v1/lots/{}/void", uuid::Uuid::now_v7())))
        .bearer_auth(&app.key)
        .json(&json!({"nonce": "v3"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), 404);
    assert_eq!(app.metric("ledgerflow_lots_voided_total").await, "1");
    verified(&app).await;
}

async fn transferred_credits_keep_their_expiry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let signup = post_ok(
        &app,
        json!({"operation": "SIGNUP_CREDIT", "owner_id": "dan", "nonce": "s"}),
    )
    .await;
    let sent = post_ok(&app, json!({"operation": "TRANSFER", "owner_id": "dan", "counterparty_id": "eve", "nonce": "t", "amount": "30"})).await;
    let received = &sent["counterparty_lots"][0];
    assert_eq!(received["expires_at"], signup["lot"]["expires_at"]);
    assert_eq!(
        (received["category"].as_str(), received["amount"].as_str()),
        (Some("promotional"), Some("30.00"))
    );
    let eve = lots(&app, "eve", false).await;
    assert_eq!(eve.len(), 1);
    assert_eq!(eve[0]["expires_at"], signup["lot"]["expires_at"]);
    verified(&app).await;
}

async fn concurrent_spends_never_take_a_lot_below_zero(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let in_an_hour = rfc3339(Utc::now() + Span::hours(1));
    let in_two = rfc3339(Utc::now() + Span::hours(2));
    for (nonce, extra) in [
        ("a", json!({"priority": 10, "expires_at": in_two})),
        ("b", json!({"expires_at": in_an_hour})),
        ("c", json!({})),
    ] {
        let mut body =
            json!({"operation": "CREDIT_ADD", "owner_id": "fay", "nonce": nonce, "amount": "100"});
        body.as_object_mut()
            .expect("an object")
            .extend(extra.as_object().expect("an object").clone());
        post_ok(&app, body).await;
    }
    let spends = (0..64).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            app.post(json!({"operation": "CREDIT_SPEND", "owner_id": "fay", "nonce": format!("s{i}"), "amount": "7"}))
                .await
        })
    });
    let mut spent = Decimal::ZERO;
    let mut allocated = Decimal::ZERO;
    for r in join_all(spends).await {
        let r = r.expect("the task ends");
        match r.status.as_u16() {
            201 => {
                spent += dec(&r.body["amount"]);
                for a in r.body["allocations"].as_array().expect("allocations") {
                    allocated += dec(&a["amount"]);
                }
            }
            422 => assert_eq!(r.body["code"], "insufficient_balance"),
            other => panic!("{other}: {:?}", r.body),
        }
    }
    assert_eq!(spent, Decimal::from(294), "42 spends of 7 fit in 300");
    assert_eq!(allocated, spent);
    for lot in lots(&app, "fay", true).await {
        assert!(dec(&lot["remaining"]) >= Decimal::ZERO);
    }
    assert_eq!(app.balance("fay").await, "6.00");
    verified(&app).await;
}

async fn two_recorders_record_each_expiry_once(backend: Backend) {
    let db = Arc::new(crate::common::TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, |c| c.record_expiries = false).await;
    for i in 0..20 {
        // Each its own instant, so that a slow machine's posting cannot outlast it.
        let t = rfc3339(Utc::now() + Span::milliseconds(800));
        post_ok(&app, json!({"operation": "CREDIT_ADD", "owner_id": format!("o{}", i % 5), "nonce": format!("g{i}"), "amount": "3", "expires_at": t})).await;
    }
    let config = ledgerflow::config::Config::with_store(&app.db.url);
    let first = app.another_instance(&app.key, &config).await;
    let second = app.another_instance(&app.key, &config).await;
    for i in 0..5 {
        let owner = format!("o{i}");
        for _ in 0..100 {
            if app.balance(&owner).await == "0.00" && lots(&app, &owner, false).await.is_empty() {
                let closed = lots(&app, &owner, true).await;
                if closed.iter().all(|l| l.get("closed_by").is_some()) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let closed = lots(&app, &owner, true).await;
        assert_eq!(closed.len(), 4);
        assert!(
            closed
                .iter()
                .all(|l| l["status"] == "expired" && l.get("closed_by").is_some()),
            "{closed:?}"
        );
    }
    let r = app.get("/v1/accounts/@system:expired").await;
    assert_eq!(r.body["balance"], "60.00");
    verified(&first).await;
    verified(&second).await;
}

async fn lot_terms_are_checked_against_the_catalog(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let future = rfc3339(Utc::now() + Span::days(1));
    let cases = [
        (
            json!({"operation": "DAILY_REWARD", "owner_id": "g", "nonce": "1", "expires_at": future}),
            422,
            "lot_term_not_allowed",
        ),
        (
            json!({"operation": "CREDIT_SPEND", "owner_id": "g", "nonce": "2", "amount": "1", "priority": 5}),
            422,
            "lot_term_not_allowed",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "g", "nonce": "3", "amount": "1", "expires_at": "2020-01-01T00:00:00Z"}),
            422,
            "expiry_not_in_future",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "g", "nonce": "4", "amount": "1", "expires_at": "tomorrow"}),
            400,
            "invalid_time",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "g", "nonce": "5", "amount": "1", "priority": 101}),
            422,
            "invalid_priority",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "g", "nonce": "@expiry:x", "amount": "1"}),
            422,
            "invalid_id",
        ),
    ];
    for (body, status, code) in cases {
        let r = app.post(body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.body["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    // Set terms join the request's identity: the same nonce with another expiry is another request.
    let a = json!({"operation": "CREDIT_ADD", "owner_id": "g", "nonce": "n", "amount": "1", "expires_at": future});
    post_ok(&app, a.clone()).await;
    assert!(app.post(a).await.replay);
    let b = json!({"operation": "CREDIT_ADD", "owner_id": "g", "nonce": "n", "amount": "1"});
    assert_eq!(app.post(b).await.status, 409);
    // The spec (and so Swagger UI) shows the lot fields and endpoints.
    let spec = app.get("/openapi.json").await.body;
    for path in ["/v1/lots/{id}/void", "/v1/accounts/{owner_id}/lots"] {
        assert!(spec["paths"].get(path).is_some(), "{path} in the spec");
    }
    let new_entry = &spec["components"]["schemas"]["NewEntry"]["properties"];
    assert!(new_entry.get("expires_at").is_some() && new_entry.get("priority").is_some());
}

async fn verify_finds_a_lot_that_does_not_hold_its_balance(backend: Backend) {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn(backend).await;
    post_ok(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "hal", "nonce": "c", "amount": "10"}),
    )
    .await;
    post_ok(
        &app,
        json!({"operation": "CREDIT_SPEND", "owner_id": "hal", "nonce": "s", "amount": "4"}),
    )
    .await;
    verified(&app).await;
    app.store_sql
        .execute_unprepared(
            "UPDATE lots SET remaining = '9.00' \
             WHERE account_id IN (SELECT id FROM accounts WHERE owner_id = 'hal')",
        )
        .await
        .expect("the lot is edited");
    let report = verify(&app.store, &app.read).await.expect("verify runs");
    let found = report.differences.join("\n");
    assert!(found.contains("less its allocations"), "{found}");
    assert!(found.contains("not its balance 6.00"), "{found}");
    // The read model in the event store's database shows the event store's lots: the
    // event store's own check is what finds it.
    assert!(!found.contains("read model: lot"), "{found}");
}
