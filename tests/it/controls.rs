//! Account controls over HTTP: a frozen owner's debits and new holds fail while credits and
//! the capture of a hold placed before still go through; a closed account takes nothing and
//! closes only empty; each change is an entry with who and why.

use crate::common::{Backend, Reply, TestApp, verified};
use serde_json::json;

on_both_backends!(
    a_frozen_owner_spends_nothing_but_its_hold_is_still_captured,
    a_closed_account_takes_nothing_and_closes_only_empty,
    a_transfers_reversal_is_refused_by_a_frozen_receiver_not_a_frozen_sender,
);

async fn entry(app: &TestApp, op: &str, nonce: &str, amount: &str) -> Reply {
    app.post(json!({"operation": op, "owner_id": "amy", "nonce": nonce, "amount": amount}))
        .await
}

async fn a_frozen_owner_spends_nothing_but_its_hold_is_still_captured(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(entry(&app, "CREDIT_ADD", "c1", "10").await.status, 201);
    let hold = json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "h",
        "amount": "4", "expires_in_seconds": 600});
    let hold = app.post_to("/v1/holds", hold).await;
    let hold_id = hold.body["id"].as_str().expect("a hold").to_owned();

    let frozen = app
        .post_to(
            "/v1/accounts/amy/freeze",
            json!({"nonce": "f", "reason": "chargeback"}),
        )
        .await;
    assert_eq!(frozen.status, 201, "{:?}", frozen.body);
    assert_eq!(frozen.body["operation"], "ACCOUNT_FREEZE");
    assert_eq!(frozen.body["metadata"]["reason"], "chargeback");
    assert!(
        frozen.body["metadata"]["by"].is_string(),
        "who asked: the API key"
    );
    assert!(
        frozen.body["postings"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let replay = app
        .post_to(
            "/v1/accounts/amy/freeze",
            json!({"nonce": "f", "reason": "chargeback"}),
        )
        .await;
    assert!(replay.replay);
    let again = app
        .post_to("/v1/accounts/amy/freeze", json!({"nonce": "f2"}))
        .await;
    assert_eq!(
        (again.status.as_u16(), again.body["code"].as_str()),
        (409, Some("account_status_conflict"))
    );
    assert_eq!(app.get("/v1/accounts/amy").await.body["status"], "frozen");

    let spend = entry(&app, "CREDIT_SPEND", "s1", "1").await;
    assert_eq!(spend.status, 422, "{:?}", spend.body);
    assert_eq!(spend.body["code"], "account_frozen");
    let transfer = app
        .post(json!({"operation": "TRANSFER", "owner_id": "amy", "counterparty_id": "bo", "nonce": "t1", "amount": "1"}))
        .await;
    assert_eq!(transfer.body["code"], "account_frozen");
    let new_hold = json!({"operation": "CREDIT_SPEND", "owner_id": "amy", "nonce": "h2",
        "amount": "1", "expires_in_seconds": 600});
    assert_eq!(
        app.post_to("/v1/holds", new_hold).await.body["code"],
        "account_frozen"
    );
    assert_eq!(
        entry(&app, "CREDIT_ADD", "c2", "5").await.status,
        201,
        "credits go through"
    );
    let captured = app
        .post_to(
            &format!("/v1/holds/{hold_id}/capture"),
            json!({"nonce": "cap"}),
        )
        .await;
    assert_eq!(captured.status, 200, "{:?}", captured.body);
    assert_eq!(app.balance("amy").await, "11.00");

    let thawed = app
        .post_to("/v1/accounts/amy/unfreeze", json!({"nonce": "u"}))
        .await;
    assert_eq!(thawed.status, 201, "{:?}", thawed.body);
    assert_eq!(entry(&app, "CREDIT_SPEND", "s2", "1").await.status, 201);
    let not_frozen = app
        .post_to("/v1/accounts/amy/unfreeze", json!({"nonce": "u2"}))
        .await;
    assert_eq!(not_frozen.body["code"], "account_status_conflict");
    let system = app
        .post_to("/v1/accounts/@system:spend/freeze", json!({"nonce": "x"}))
        .await;
    assert_eq!(
        (system.status.as_u16(), system.body["code"].as_str()),
        (422, Some("invalid_id"))
    );
    verified(&app).await;
}

async fn a_closed_account_takes_nothing_and_closes_only_empty(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(entry(&app, "CREDIT_ADD", "c1", "10").await.status, 201);
    let full = app
        .post_to("/v1/accounts/amy/close", json!({"nonce": "x1"}))
        .await;
    assert_eq!(
        (full.status.as_u16(), full.body["code"].as_str()),
        (422, Some("account_not_empty"))
    );
    assert_eq!(entry(&app, "CREDIT_SPEND", "s1", "10").await.status, 201);
    let closed = app
        .post_to(
            "/v1/accounts/amy/close",
            json!({"nonce": "x2", "reason": "user left"}),
        )
        .await;
    assert_eq!(closed.status, 201, "{:?}", closed.body);
    assert_eq!(closed.body["operation"], "ACCOUNT_CLOSE");
    let credit = entry(&app, "CREDIT_ADD", "c2", "1").await;
    assert_eq!(
        (credit.status.as_u16(), credit.body["code"].as_str()),
        (422, Some("account_closed"))
    );
    assert_eq!(entry(&app, "CREDIT_ADD", "bo", "5").await.status, 422);
    let to_closed = app
        .post(json!({"operation": "CREDIT_ADD", "owner_id": "bo", "nonce": "b1", "amount": "5"}))
        .await;
    assert_eq!(to_closed.status, 201);
    let transfer = app
        .post(json!({"operation": "TRANSFER", "owner_id": "bo", "counterparty_id": "amy", "nonce": "t1", "amount": "1"}))
        .await;
    assert_eq!(
        transfer.body["code"], "account_closed",
        "{:?}",
        transfer.body
    );
    let reopen = app
        .post_to("/v1/accounts/amy/unfreeze", json!({"nonce": "u"}))
        .await;
    assert_eq!(reopen.body["code"], "account_status_conflict");
    assert_eq!(app.get("/v1/accounts/amy").await.body["status"], "closed");
    // An owner that never had an entry can be frozen (an account head without postings).
    let zoe = app
        .post_to("/v1/accounts/zoe/freeze", json!({"nonce": "z"}))
        .await;
    assert_eq!(zoe.status, 201, "{:?}", zoe.body);
    verified(&app).await;
}

/// A transfer's reversal moves its amount back: the receiver pays it and the sender takes
/// it. So a frozen receiver refuses it (its credits cannot leave it), and a frozen sender
/// takes it, as it takes any credit.
async fn a_transfers_reversal_is_refused_by_a_frozen_receiver_not_a_frozen_sender(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(entry(&app, "CREDIT_ADD", "c1", "10").await.status, 201);
    let mut transfers = Vec::new();
    for (nonce, amount) in [("t1", "4"), ("t2", "3")] {
        let t = app
            .post(
                json!({"operation": "TRANSFER", "owner_id": "amy", "counterparty_id": "bo",
                "nonce": nonce, "amount": amount}),
            )
            .await;
        assert_eq!(t.status, 201, "{:?}", t.body);
        transfers.push(t.body["id"].as_str().expect("an entry id").to_owned());
    }
    let reverse = async |id: &str, nonce: &str| {
        let path = format!("/v1/entries/{id}/reversals");
        app.post_to(&path, json!({ "nonce": nonce })).await
    };
    let control = async |owner: &str, what: &str, nonce: &str| {
        let path = format!("/v1/accounts/{owner}/{what}");
        let r = app.post_to(&path, json!({ "nonce": nonce })).await;
        assert_eq!(r.status, 201, "{what} {owner}: {:?}", r.body);
    };

    control("bo", "freeze", "f1").await;
    let refused = reverse(&transfers[0], "r1").await;
    assert_eq!(
        (refused.status.as_u16(), refused.body["code"].as_str()),
        (422, Some("account_frozen")),
        "{:?}",
        refused.body
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("bo's")),
        "the refusal names the receiver: {:?}",
        refused.body
    );
    control("bo", "unfreeze", "u1").await;

    control("amy", "freeze", "f2").await;
    let taken = reverse(&transfers[1], "r2").await;
    assert_eq!(taken.status, 201, "{:?}", taken.body);
    assert_eq!(
        (app.balance("amy").await, app.balance("bo").await),
        ("6.00".into(), "4.00".into())
    );
    verified(&app).await;
}
