//! Each kind of change announces its own event, with the entity as that change left it.

use super::read_feed;
use crate::common::{Backend, TestApp};
use serde_json::{Value, json};

on_both_backends!(each_change_announces_its_event,);

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
    assert_eq!(data(0)["balance_after"], "10.00");
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
    assert_eq!(data(8)["code"], "insufficient_balance");
    assert!(feed.iter().all(|e| e["owner_id"] == "amy"));
}
