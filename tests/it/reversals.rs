//! Reversals over HTTP: a spend's value back in the lots it came from with their expiry,
//! partial reversals up to the original and no further (twenty at once too), both sides of
//! a transfer, and the entries that cannot be reversed.

use crate::common::{Backend, Reply, TestApp, verified};
use chrono::{Duration as Span, SecondsFormat, Utc};
use futures::future::join_all;
use indicatif::ProgressBar;
use ledgerflow::projection::rebuild::rebuild;
use ledgerflow::projection::verify::verify;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::sync::Arc;

on_both_backends!(
    reversing_a_spend_returns_each_lot_its_share_with_its_expiry,
    partial_reversals_stop_at_the_original_even_twenty_at_once,
    reversing_a_transfer_reverses_both_sides,
    what_cannot_be_reversed_is_refused,
    verify_checks_holds_and_reversal_links_and_rebuild_reproduces_them,
);

async fn posted(app: &TestApp, body: Value) -> Value {
    let r = app.post(body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

async fn reversing_a_spend_returns_each_lot_its_share_with_its_expiry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t1 = (Utc::now() + Span::days(10)).to_rfc3339_opts(SecondsFormat::Micros, true);
    let a = posted(&app, json!({"operation": "CREDIT_ADD", "owner_id": "amy", "nonce": "a", "amount": "100", "expires_at": t1})).await;
    let b = posted(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "amy", "nonce": "b", "amount": "100"}),
    )
    .await;
    let spend = posted(
        &app,
        json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "s", "amount": "150"}),
    )
    .await;
    let path = format!("/v1/entries/{}/reversals", id(&spend));
    let reversal = app
        .post_to(&path, json!({"nonce": "r", "reason": "refund"}))
        .await;
    assert_eq!(reversal.status, 201, "{:?}", reversal.body);
    assert_eq!(reversal.body["operation"], "REVERSAL");
    assert_eq!(reversal.body["reverses"], id(&spend).as_str());
    assert_eq!(reversal.body["amount"], "150.00");
    assert_eq!(reversal.body["metadata"]["reason"], "refund");
    let replay = app
        .post_to(&path, json!({"nonce": "r", "reason": "refund"}))
        .await;
    assert!(replay.replay);
    assert_eq!(app.balance("amy").await, "200.00");
    let lots = app.get("/v1/accounts/amy/lots").await.body["lots"].clone();
    let lot = |l: &Value| {
        (
            l["id"].clone(),
            l["remaining"].clone(),
            l["expires_at"].clone(),
        )
    };
    let mut got: Vec<_> = lots.as_array().expect("lots").iter().map(lot).collect();
    got.sort_by_key(|l| l.0.to_string());
    let mut want = vec![
        (a["lot"]["id"].clone(), json!("100.00"), json!(t1)),
        (b["lot"]["id"].clone(), json!("100.00"), Value::Null),
    ];
    want.sort_by_key(|l| l.0.to_string());
    assert_eq!(got, want);
    let original = app.get(&format!("/v1/entries/{}", id(&spend))).await.body;
    assert_eq!(original["reversed_amount"], "150.00");
    assert_eq!(original["reversals"], json!([id(&reversal.body)]));
    verified(&app).await;
}

async fn partial_reversals_stop_at_the_original_even_twenty_at_once(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    posted(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "amy", "nonce": "a", "amount": "400"}),
    )
    .await;
    let spend = posted(
        &app,
        json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "s", "amount": "150"}),
    )
    .await;
    let path = format!("/v1/entries/{}/reversals", id(&spend));
    for i in 0..3 {
        let r = app
            .post_to(&path, json!({"nonce": format!("p{i}"), "amount": "50"}))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let fourth = app
        .post_to(&path, json!({"nonce": "p3", "amount": "50"}))
        .await;
    assert_eq!(
        (fourth.status.as_u16(), fourth.body["code"].as_str()),
        (409, Some("reversal_exceeds_original"))
    );
    assert_eq!(app.balance("amy").await, "400.00");

    let spend = posted(
        &app,
        json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "s2", "amount": "150"}),
    )
    .await;
    let path = format!("/v1/entries/{}/reversals", id(&spend));
    let tries = (0..20).map(|i| {
        let (app, path) = (app.clone(), path.clone());
        tokio::spawn(async move {
            app.post_to(&path, json!({"nonce": format!("c{i}"), "amount": "10"}))
                .await
        })
    });
    let replies: Vec<Reply> = join_all(tries)
        .await
        .into_iter()
        .map(|r| r.expect("a task"))
        .collect();
    let done = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(done, 15, "{replies:?}");
    assert!(
        replies
            .iter()
            .all(|r| r.status == 201 || r.body["code"] == "reversal_exceeds_original")
    );
    assert_eq!(app.balance("amy").await, "400.00");
    let original = app.get(&format!("/v1/entries/{}", id(&spend))).await.body;
    assert_eq!(original["reversed_amount"], "150.00");
    verified(&app).await;
}

async fn reversing_a_transfer_reverses_both_sides(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    posted(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "amy", "nonce": "a", "amount": "30"}),
    )
    .await;
    let transfer = posted(&app, json!({"operation": "TRANSFER", "owner_id": "amy", "counterparty_id": "bo", "nonce": "t", "amount": "20"})).await;
    let path = format!("/v1/entries/{}/reversals", id(&transfer));
    let r = app
        .post_to(&path, json!({"nonce": "r", "amount": "5"}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        (app.balance("amy").await, app.balance("bo").await),
        ("15.00".into(), "15.00".into())
    );
    // Bo spends what is left; taking the rest back would take what bo no longer has.
    posted(
        &app,
        json!({"operation": "CREDIT_SPEND", "owner_id": "bo", "nonce": "bs", "amount": "15"}),
    )
    .await;
    let r = app.post_to(&path, json!({"nonce": "r2"})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (422, Some("insufficient_balance"))
    );
    verified(&app).await;
}

async fn what_cannot_be_reversed_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    posted(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "amy", "nonce": "a", "amount": "10"}),
    )
    .await;
    let failed = app
        .post(json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "f", "amount": "99"}))
        .await;
    let failed_id = failed.body["entry_id"]
        .as_str()
        .expect("a failed entry")
        .to_owned();
    let spend = posted(
        &app,
        json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "s", "amount": "4"}),
    )
    .await;
    let reversal = app
        .post_to(
            &format!("/v1/entries/{}/reversals", id(&spend)),
            json!({"nonce": "r"}),
        )
        .await;
    let hold = app.post_to("/v1/holds", json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "h", "amount": "1", "expires_in_seconds": 60})).await;
    for (what, target) in [
        ("a failed entry", failed_id),
        ("a reversal", id(&reversal.body)),
        ("a hold", id(&hold.body)),
    ] {
        let r = app
            .post_to(
                &format!("/v1/entries/{target}/reversals"),
                json!({"nonce": format!("x-{what}")}),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["code"].as_str()),
            (422, Some("not_reversible")),
            "{what}: {:?}",
            r.body
        );
    }
    let unknown = uuid::Uuid::now_v7();
    let r = app
        .post_to(
            &format!("/v1/entries/{unknown}/reversals"),
            json!({"nonce": "y"}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .post_to(
            &format!("/v1/entries/{}/reversals", id(&spend)),
            json!({"nonce": "z", "amount": "0"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (422, Some("amount_not_positive"))
    );
}

async fn verify_checks_holds_and_reversal_links_and_rebuild_reproduces_them(backend: Backend) {
    // A read model of its own, which can be damaged apart from the event store.
    let db = std::sync::Arc::new(crate::common::TestDb::new(backend).await);
    let read_db = crate::common::TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| c.read_model_url = Some(read_db.url.clone())).await;
    posted(
        &app,
        json!({"operation": "CREDIT_ADD", "owner_id": "amy", "nonce": "a", "amount": "50"}),
    )
    .await;
    let open = app.post_to("/v1/holds", json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "h1", "amount": "5", "expires_in_seconds": 600})).await;
    let held = app.post_to("/v1/holds", json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "h2", "amount": "8", "expires_in_seconds": 600})).await;
    let captured = app
        .post_to(
            &format!("/v1/holds/{}/capture", id(&held.body)),
            json!({"nonce": "c", "amount": "6"}),
        )
        .await;
    let capture = captured.body["closed_by"]
        .as_str()
        .expect("the capture")
        .to_owned();
    let r = app
        .post_to(
            &format!("/v1/entries/{capture}/reversals"),
            json!({"nonce": "r", "amount": "2"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    verified(&app).await;

    // Damage the read model: an open hold shown captured, a reversal row lost.
    let uuid = |text: &str| uuid::Uuid::parse_str(text).expect("a uuid");
    let read = &app.read_sql;
    entity::read::hold::Entity::update_many()
        .col_expr(entity::read::hold::Column::Status, Expr::value("captured"))
        .filter(entity::read::hold::Column::Id.eq(uuid(&id(&open.body))))
        .exec(read)
        .await
        .expect("damaged");
    entity::read::reversal::Entity::delete_by_id(uuid(&capture))
        .exec(read)
        .await
        .expect("damaged");
    let report = verify(&app.store, &app.read).await.expect("verify runs");
    let text = report.differences.join("\n");
    assert!(
        text.contains(&format!("hold {} is captured", id(&open.body))),
        "{text}"
    );
    assert!(text.contains(&format!("reversed of {capture}")), "{text}");
    rebuild(&app.store, &app.read, &ProgressBar::hidden())
        .await
        .expect("rebuild");
    verified(&app).await;
    let original = app.get(&format!("/v1/entries/{capture}")).await.body;
    assert_eq!(original["reversed_amount"], "2.00");
    let hold = app.get(&format!("/v1/holds/{}", id(&open.body))).await.body;
    assert_eq!(hold["state"], "held");

    // The event store's own bookkeeping is checked against the reversal entries.
    entity::reversal::Entity::update_many()
        .col_expr(entity::reversal::Column::Reversed, Expr::value("3.00"))
        .filter(entity::reversal::Column::EntryId.eq(uuid(&capture)))
        .exec(&app.store_sql)
        .await
        .expect("damaged");
    let report = verify(&app.store, &app.read).await.expect("verify runs");
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.contains("the reversals of")),
        "{:?}",
        report.differences
    );
}
