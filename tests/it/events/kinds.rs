//! Each kind of change announces its own event, with the entity as that change left it.

use super::read_feed;
use crate::common::{Backend, TestApp};
use entity::app_event;
use ledgerflow::projection::verify::verify;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

on_both_backends!(
    each_change_announces_its_event,
    lots_closing_and_an_account_closing_announce_theirs,
    the_retention_prunes_whole_runs_and_the_feed_starts_after_them,
);

async fn each_change_announces_its_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let post = |body: Value| app.post(body);
    assert_eq!(
        post(json!({"operation": "CREDIT_ADD", "owner_id": "amy", "nonce": "c1", "amount": "10"}))
            .await
            .status,
        201
    );
    let hold = |nonce: &str, amount: &str| {
        json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": nonce,
            "amount": amount, "expires_in_seconds": 600})
    };
    let h1 = app.post_to("/v1/holds", hold("h1", "3")).await;
    let h1 = h1.body["id"].as_str().expect("a hold").to_owned();
    let captured = app
        .post_to(
            &format!("/v1/holds/{h1}/capture"),
            json!({"nonce": "cap", "amount": "2"}),
        )
        .await;
    assert_eq!(captured.status, 200, "{:?}", captured.body);
    let h2 = app.post_to("/v1/holds", hold("h2", "1")).await;
    let h2 = h2.body["id"].as_str().expect("a hold").to_owned();
    let voided = app
        .post_to(&format!("/v1/holds/{h2}/void"), json!({"nonce": "void"}))
        .await;
    assert_eq!(voided.status, 200, "{:?}", voided.body);
    for control in ["freeze", "unfreeze"] {
        let r = app
            .post_to(
                &format!("/v1/accounts/amy/{control}"),
                json!({"nonce": control, "reason": "test"}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let spend =
        json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "s", "amount": "99"});
    assert_eq!(post(spend).await.status, 422);

    let feed = read_feed(&app, &app.key, 0, 100, "").await;
    let types: Vec<&str> = feed
        .iter()
        .map(|e| e["type"].as_str().expect("a type"))
        .collect();
    assert_eq!(
        types,
        [
            "entry.completed",
            "hold.held",
            "entry.completed",
            "hold.captured",
            "hold.held",
            "hold.voided",
            "account.frozen",
            "account.unfrozen",
            "entry.failed",
        ]
    );
    let data = |i: usize| &feed[i]["data"];
    assert_eq!(
        (
            data(0)["balance_after"].as_str(),
            data(0)["version"].as_i64()
        ),
        (Some("10.00"), Some(1))
    );
    assert_eq!(
        (data(1)["id"].as_str(), data(1)["state"].as_str()),
        (Some(h1.as_str()), Some("held"))
    );
    assert_eq!(data(2)["hold_id"], h1.as_str());
    assert_eq!(data(3)["captured_amount"], "2.00");
    assert_eq!(
        data(3)["state"],
        "captured",
        "the hold as the capture left it"
    );
    assert_eq!(data(5)["state"], "voided");
    assert_eq!(
        (data(6)["status"].as_str(), data(6)["reason"].as_str()),
        (Some("frozen"), Some("test"))
    );
    assert_eq!(data(8)["failure_code"], "insufficient_balance");
    assert!(feed.iter().all(|e| e["owner_id"] == "amy"));

    // An event of its entry is stored without a copy of the entry: the feed builds its
    // data from the entry, which the entry's own endpoint shows the same.
    let stored = app_event::Entity::find()
        .filter(app_event::Column::EventType.is_in(["entry.completed", "entry.failed"]))
        .all(&app.store_sql)
        .await
        .expect("the stored events");
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|e| e.data.is_empty()), "{stored:?}");
    for i in [0, 2, 8] {
        let id = data(i)["id"].as_str().expect("an entry's id");
        let entry = app.get(&format!("/v1/entries/{id}")).await;
        assert_eq!(entry.status, 200, "{:?}", entry.body);
        for field in [
            "nonce",
            "operation",
            "owner_id",
            "asset",
            "amount",
            "state",
            "created_at",
            "balance_after",
            "version",
            "hold_id",
            "failure_code",
        ] {
            assert_eq!(data(i)[field], entry.body[field], "{field} of entry {id}");
        }
    }
}

async fn lots_closing_and_an_account_closing_announce_theirs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(800);
    let soon = soon.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let expiring = app
        .post(
            json!({"operation": "CREDIT_ADD", "owner_id": "bo", "nonce": "e",
            "amount": "4", "expires_at": soon}),
        )
        .await;
    assert_eq!(expiring.status, 201, "{:?}", expiring.body);
    let voidable = app
        .post(json!({"operation": "CREDIT_ADD", "owner_id": "bo", "nonce": "v", "amount": "6"}))
        .await;
    let lot = voidable.body["lot"]["id"]
        .as_str()
        .expect("a lot")
        .to_owned();
    let voided = app
        .post_to(&format!("/v1/lots/{lot}/void"), json!({"nonce": "void"}))
        .await;
    assert!(voided.status.is_success(), "{:?}", voided.body);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while read_feed(&app, &app.key, 0, 100, "&types=lot.expired")
        .await
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the expiry is recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let closed = app
        .post_to("/v1/accounts/bo/close", json!({"nonce": "close"}))
        .await;
    assert_eq!(closed.status, 201, "{:?}", closed.body);

    let feed = read_feed(&app, &app.key, 0, 100, "").await;
    let of = |t: &str| {
        feed.iter()
            .find(|e| e["type"] == t)
            .unwrap_or_else(|| panic!("{t}"))
    };
    let void = of("lot.voided");
    assert_eq!(
        (void["data"]["id"].as_str(), void["data"]["status"].as_str()),
        (Some(lot.as_str()), Some("voided"))
    );
    assert_eq!(void["data"]["closed_amount"], "6.00");
    let expiry = of("lot.expired");
    assert_eq!(expiry["data"]["id"], expiring.body["lot"]["id"]);
    assert_eq!(expiry["data"]["closed_amount"], "4.00");
    assert_eq!(of("account.closed")["data"]["status"], "closed");
    assert_eq!(
        feed.last().map(|e| &e["type"]),
        Some(&json!("account.closed"))
    );
}

async fn the_retention_prunes_whole_runs_and_the_feed_starts_after_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    super::load(&app, &app.key, 30, 3).await;
    let cutoff = ledgerflow::time::now_micros();
    super::load_from(&app, 30, 10).await;
    app.projected().await;
    let pruned = ledgerflow::projection::retention::prune(&app.store, &app.read, cutoff)
        .await
        .expect("the prune");
    assert_eq!(pruned, 30);
    let seqs =
        |feed: Vec<Value>| -> Vec<i64> { feed.iter().filter_map(|e| e["seq"].as_i64()).collect() };
    let kept: Vec<i64> = (31..=40).collect();
    assert_eq!(seqs(read_feed(&app, &app.key, 0, 7, "").await), kept);
    assert_eq!(seqs(read_feed(&app, &app.key, 12, 7, "").await), kept);
    assert_eq!(
        seqs(read_feed(&app, &app.key, 35, 7, "").await),
        (36..=40).collect::<Vec<_>>()
    );
    // A rebuilt read model starts where the event store's events do.
    let hidden = indicatif::ProgressBar::hidden();
    ledgerflow::projection::rebuild::rebuild(&app.store, &app.read, &hidden)
        .await
        .expect("the rebuild");
    assert_eq!(seqs(read_feed(&app, &app.key, 0, 7, "").await), kept);

    // `verify` takes what the retention pruned as pruned, and any other event as missing.
    let report = verify(&app.store, &app.read).await.expect("verify runs");
    assert!(report.is_clean(), "{:?}", report.differences);
    app_event::Entity::delete_many()
        .filter(app_event::Column::Seq.eq(31))
        .exec(&app.store_sql)
        .await
        .expect("damaged");
    let report = verify(&app.store, &app.read).await.expect("verify runs");
    let text = report.differences.join("\n");
    let wanted = "event 31 is missing (numbered up to 40, pruned up to 30)";
    assert!(text.contains(wanted), "{wanted:?} not in:\n{text}");
}
