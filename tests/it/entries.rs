//! The entry workflow over HTTP, on SQLite and on PostgreSQL.

use crate::common::{Backend, TestApp};
use futures::future::join_all;
use serde_json::json;
use std::collections::HashSet;

on_both_backends!(
    completed_entry_shows_its_workflow,
    replay_answers_the_original_and_a_different_request_is_nonce_reused,
    metadata_numbers_are_kept_and_compared_digit_for_digit,
    an_omitted_fixed_amount_and_the_same_amount_sent_are_one_request,
    failed_entries_are_recorded_and_replayed,
    refused_requests_record_nothing_and_leave_the_nonce_unused,
    malformed_requests_are_400_problems,
    fifty_concurrent_requests_with_one_nonce_make_one_entry,
    forty_concurrent_spends_never_overdraw,
    daily_reward_twice_in_a_day_is_limit_exceeded,
    transfers_move_credits_between_owners,
    apps_see_only_their_own_data,
    owner_history_pages_newest_first,
);

async fn completed_entry_shows_its_workflow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .post(
            json!({"operation": "SIGNUP_CREDIT", "owner_id": "alice", "nonce": "n1",
                     "metadata": {"campaign": "autumn"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert!(!r.replay);
    let e = &r.body;
    assert_eq!(e["state"], "completed");
    assert_eq!(e["amount"], "100.00");
    assert_eq!(e["asset"], "CREDIT");
    assert_eq!(e["balance_after"], "100.00");
    assert_eq!(e["version"], 1);
    assert_eq!(e["metadata"]["campaign"], "autumn");
    let states: Vec<&str> = e["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        [
            "received",
            "validating",
            "nonce_check",
            "balance_check",
            "processing",
            "completed"
        ]
    );
    let postings = e["postings"].as_array().unwrap();
    assert_eq!(postings[0]["owner_id"], "alice");
    assert_eq!(postings[1]["owner_id"], "@system:signup");
    assert_eq!(postings[1]["amount"], "-100.00");

    let id = e["id"].as_str().unwrap();
    // Written in one batch, its transitions are on its own row: no `entry_events` row.
    assert_eq!(
        app.stored_transitions(id).await,
        (Some("completed".to_owned()), Vec::new())
    );
    let got = app.get(&format!("/v1/entries/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, r.body, "GET shows exactly what the POST answered");
    assert_eq!(app.balance("alice").await, "100.00");
    let system = app.get("/v1/accounts/@system:signup").await;
    assert_eq!(system.body["balance"], "-100.00");
}

async fn replay_answers_the_original_and_a_different_request_is_nonce_reused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let req = json!({"operation": "CREDIT_ADD", "owner_id": "bob", "nonce": "n1", "amount": "5"});
    let first = app.post(req.clone()).await;
    assert_eq!(first.status, 201);
    let again = app
        .post(
            json!({"operation": "CREDIT_ADD", "owner_id": "bob", "nonce": "n1", "amount": "5.00"}),
        )
        .await;
    assert_eq!(again.status, 201);
    assert!(again.replay, "Idempotent-Replay: true");
    assert_eq!(again.body, first.body);
    let other = app
        .post(json!({"operation": "CREDIT_ADD", "owner_id": "bob", "nonce": "n1", "amount": "6"}))
        .await;
    assert_eq!(other.status, 409);
    assert_eq!(other.body["code"], "nonce_reused");
    assert_eq!(other.body["entry_id"], first.body["id"]);
    assert_eq!(other.content_type, "application/problem+json");
    assert_eq!(app.balance("bob").await, "5.00");
}

async fn metadata_numbers_are_kept_and_compared_digit_for_digit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let request = |n: &str| -> serde_json::Value {
        serde_json::from_str(&format!(
            r#"{{"operation": "CREDIT_ADD", "owner_id": "nia", "nonce": "m1", "amount": "1",
                "metadata": {{"n": {n}, "f": 1.50, "e": 1e400}}}}"#
        ))
        .expect("a request")
    };
    let first = app.post(request("123456789012345678901234567890")).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let echoed = &first.body["metadata"];
    assert_eq!(echoed["n"].to_string(), "123456789012345678901234567890");
    assert_eq!(echoed["f"].to_string(), "1.50");
    // Beyond f64, kept; the exponent's sign is written out (the canonical form).
    assert_eq!(echoed["e"].to_string(), "1e+400");
    let id = first.body["id"].as_str().expect("an id");
    let stored = app.get(&format!("/v1/entries/{id}")).await;
    assert_eq!(stored.body["metadata"], *echoed);
    assert_eq!(
        stored.body["metadata"]["n"].to_string(),
        "123456789012345678901234567890"
    );

    let replay = app.post(request("123456789012345678901234567890")).await;
    assert_eq!(replay.status, 201);
    assert!(replay.replay);
    // The same number as an f64 would be, but not the same number.
    let other = app.post(request("123456789012345678901234567891")).await;
    assert_eq!(other.status, 409, "{:?}", other.body);
    assert_eq!(other.body["code"], "nonce_reused");
}

async fn an_omitted_fixed_amount_and_the_same_amount_sent_are_one_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let signup = |amount: Option<&str>| {
        let mut r = json!({"operation": "SIGNUP_CREDIT", "owner_id": "oli", "nonce": "s1"});
        if let Some(a) = amount {
            r["amount"] = a.into();
        }
        r
    };
    let first = app.post(signup(None)).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    for amount in ["100", "100.00"] {
        let again = app.post(signup(Some(amount))).await;
        assert_eq!(again.status, 201, "{amount}: {:?}", again.body);
        assert!(again.replay);
        assert_eq!(again.body, first.body);
    }
    // Another amount is refused before the nonce is looked at: the operation is fixed.
    let other = app.post(signup(Some("99"))).await;
    assert_eq!(other.status, 422, "{:?}", other.body);
    assert_eq!(app.balance("oli").await, "100.00");
}

async fn failed_entries_are_recorded_and_replayed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spend =
        json!({"operation": "CREDIT_SPEND", "owner_id": "carol", "nonce": "s1", "amount": "1"});
    let r = app.post(spend.clone()).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.body["code"], "insufficient_balance");
    let entry_id = r.body["entry_id"].as_str().expect("an entry id").to_owned();
    assert_eq!(r.body["entry"]["state"], "failed");
    assert_eq!(r.body["entry"]["postings"], json!([]));

    // Credits arrive, but the failed entry stays failed: a retry cannot flip it.
    let add =
        json!({"operation": "CREDIT_ADD", "owner_id": "carol", "nonce": "a1", "amount": "10"});
    assert_eq!(app.post(add).await.status, 201);
    let again = app.post(spend).await;
    assert_eq!(again.status, 422);
    assert!(again.replay);
    assert_eq!(again.body, r.body);
    let stored = app.get(&format!("/v1/entries/{entry_id}")).await;
    assert_eq!(stored.body["failure_code"], "insufficient_balance");
    assert_eq!(app.balance("carol").await, "10.00");
}

async fn refused_requests_record_nothing_and_leave_the_nonce_unused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (
            json!({"operation": "NO_SUCH_OP", "owner_id": "d", "nonce": "x"}),
            "unknown_operation",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "d", "nonce": "x"}),
            "amount_required",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "d", "nonce": "x", "amount": "0"}),
            "amount_not_positive",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "d", "nonce": "x", "amount": "-3"}),
            "amount_not_positive",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "d", "nonce": "x", "amount": "1.234"}),
            "amount_too_precise",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "d", "nonce": "x", "amount": "99999999"}),
            "amount_out_of_range",
        ),
        (
            json!({"operation": "DAILY_REWARD", "owner_id": "d", "nonce": "x", "amount": "3"}),
            "amount_fixed_mismatch",
        ),
        (
            json!({"operation": "TRANSFER", "owner_id": "d", "nonce": "x", "amount": "3"}),
            "counterparty_required",
        ),
        (
            json!({"operation": "CREDIT_ADD", "owner_id": "@system:spend", "nonce": "x", "amount": "3"}),
            "invalid_id",
        ),
    ];
    for (body, code) in cases {
        let r = app.post(body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {:?}", r.body);
        assert_eq!(r.body["code"], code, "{body}");
        assert!(
            r.body.get("entry_id").is_none(),
            "nothing recorded for {body}"
        );
        assert!(!r.body["detail"].as_str().unwrap().is_empty());
    }
    // The nonce was never consumed.
    let ok = app
        .post(json!({"operation": "CREDIT_ADD", "owner_id": "d", "nonce": "x", "amount": "3"}))
        .await;
    assert_eq!(ok.status, 201);
    assert!(!ok.replay);
    let history = app.get("/v1/accounts/d/entries").await;
    assert_eq!(history.body["entries"].as_array().unwrap().len(), 1);
}

async fn malformed_requests_are_400_problems(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/v1/entries"))
            .bearer_auth(&app.key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (body, ct, status) in [
        (r#"{"operation": "CREDIT_ADD", "#, "application/json", 400),
        (
            r#"{"operation":"CREDIT_ADD","owner_id":"e","nonce":"m","amount":12345678901234567.89}"#,
            "application/json",
            400,
        ),
        (
            r#"{"operation":"CREDIT_ADD","owner_id":"e","nonce":"m","amount":"1e3"}"#,
            "application/json",
            400,
        ),
        (
            r#"{"operation":"CREDIT_ADD","owner_id":"e","nonce":"m","amount":"5","extra":1}"#,
            "application/json",
            400,
        ),
        (r#"[]"#, "application/json", 400),
        (r#"operation=CREDIT_ADD"#, "text/plain", 415),
    ] {
        let r = TestApp::read(send(body, ct).await.unwrap()).await;
        assert_eq!(r.status, status, "{body}: {:?}", r.body);
        assert_eq!(r.content_type, "application/problem+json", "{body}");
        assert!(r.body["code"].is_string(), "{body}");
    }
    let no_key = TestApp::read(
        app.client
            .get(app.url("/v1/operations"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(no_key.status, 401);
    assert_eq!(no_key.body["code"], "unauthorized");
    let wrong_key = app.get_with("lf_nope", "/v1/operations").await;
    assert_eq!(wrong_key.status, 401);
    let bad_time = app.get("/v1/accounts/e?at=yesterday").await;
    assert_eq!(
        (bad_time.status.as_u16(), bad_time.body["code"].as_str()),
        (400, Some("invalid_time"))
    );
    let bad_id = app.get("/v1/entries/not-a-uuid").await;
    assert_eq!(bad_id.status, 400);
    let huge = "x".repeat(100_000);
    let r = TestApp::read(
        app.client
            .post(app.url("/v1/entries"))
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["code"], "payload_too_large");
}

async fn fifty_concurrent_requests_with_one_nonce_make_one_entry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let req = json!({"operation": "CREDIT_ADD", "owner_id": "f", "nonce": "same", "amount": "7"});
    let replies = join_all((0..50).map(|_| app.post(req.clone()))).await;
    let ids: HashSet<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{:?}", r.body);
            r.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one entry");
    assert_eq!(
        replies.iter().filter(|r| !r.replay).count(),
        1,
        "one original"
    );
    assert_eq!(
        replies.iter().filter(|r| r.replay).count(),
        49,
        "the rest replays"
    );
    assert_eq!(app.balance("f").await, "7.00");
}

async fn forty_concurrent_spends_never_overdraw(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let add = json!({"operation": "CREDIT_ADD", "owner_id": "g", "nonce": "fund", "amount": "100"});
    assert_eq!(app.post(add).await.status, 201);
    let spends = (0..40).map(|i| {
        app.post(json!({"operation": "CREDIT_SPEND", "owner_id": "g", "nonce": format!("s{i}"), "amount": "5"}))
    });
    let replies = join_all(spends).await;
    let completed = replies.iter().filter(|r| r.status == 201).count();
    let refused: Vec<_> = replies.iter().filter(|r| r.status == 422).collect();
    assert_eq!(completed, 20);
    assert_eq!(refused.len(), 20);
    assert!(
        refused
            .iter()
            .all(|r| r.body["code"] == "insufficient_balance")
    );
    let balance = app.get("/v1/accounts/g").await;
    assert_eq!(balance.body["balance"], "0.00");
    assert_eq!(balance.body["version"], 21);
}

async fn daily_reward_twice_in_a_day_is_limit_exceeded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app
        .post(json!({"operation": "DAILY_REWARD", "owner_id": "h", "nonce": "d1"}))
        .await;
    assert_eq!(first.status, 201);
    let second = app
        .post(json!({"operation": "DAILY_REWARD", "owner_id": "h", "nonce": "d2"}))
        .await;
    assert_eq!(second.status, 422);
    assert_eq!(second.body["code"], "limit_exceeded");
    assert!(
        second.body["entry_id"].is_string(),
        "a limit failure is recorded"
    );
    assert_eq!(second.body["entry"]["transitions"][2]["state"], "failed");
    // Another owner still gets theirs.
    let other = app
        .post(json!({"operation": "DAILY_REWARD", "owner_id": "i", "nonce": "d3"}))
        .await;
    assert_eq!(other.status, 201);
    assert_eq!(app.balance("h").await, "10.00");
}

async fn transfers_move_credits_between_owners(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let add = json!({"operation": "CREDIT_ADD", "owner_id": "j", "nonce": "a", "amount": "30"});
    assert_eq!(app.post(add).await.status, 201);
    let t = app
        .post(json!({"operation": "TRANSFER", "owner_id": "j", "counterparty_id": "k", "nonce": "t", "amount": "12.5"}))
        .await;
    assert_eq!(t.status, 201, "{:?}", t.body);
    assert_eq!(t.body["balance_after"], "17.50");
    assert_eq!(app.balance("k").await, "12.50");
    let too_much = app
        .post(json!({"operation": "TRANSFER", "owner_id": "j", "counterparty_id": "k", "nonce": "t2", "amount": "20"}))
        .await;
    assert_eq!(too_much.body["code"], "insufficient_balance");
    // The receiver sees the transfer in its history too.
    let history = app.get("/v1/accounts/k/entries").await;
    assert_eq!(history.body["entries"][0]["operation"], "TRANSFER");
}

async fn apps_see_only_their_own_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .post(json!({"operation": "CREDIT_ADD", "owner_id": "shared-name", "nonce": "n", "amount": "9"}))
        .await;
    let id = r.body["id"].as_str().unwrap();
    let other = app.another_key().await;
    let entry = app.get_with(&other, &format!("/v1/entries/{id}")).await;
    assert_eq!(entry.status, 404, "another app's entry id is not found");
    let balance = app.get_with(&other, "/v1/accounts/shared-name").await;
    assert_eq!(balance.body["balance"], "0.00");
    assert_eq!(balance.body["version"], 0);
    let history = app
        .get_with(&other, "/v1/accounts/shared-name/entries")
        .await;
    assert_eq!(history.body["entries"], json!([]));
    // Nonces are per app: the other app may use the same one.
    let mine = app
        .post_with(&other, json!({"operation": "CREDIT_ADD", "owner_id": "shared-name", "nonce": "n", "amount": "1"}), &[])
        .await;
    assert_eq!(mine.status, 201);
    assert!(!mine.replay);
    assert_eq!(app.balance("shared-name").await, "9.00");
}

async fn owner_history_pages_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 0..5 {
        let r = app
            .post(json!({"operation": "CREDIT_ADD", "owner_id": "l", "nonce": format!("p{i}"), "amount": format!("{}", i + 1)}))
            .await;
        assert_eq!(r.status, 201);
    }
    let mut amounts = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/accounts/l/entries?limit=2&cursor={c}"),
            None => "/v1/accounts/l/entries?limit=2".to_owned(),
        };
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for e in page.body["entries"].as_array().unwrap() {
            amounts.push(e["amount"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(amounts, ["5.00", "4.00", "3.00", "2.00", "1.00"]);
    assert_eq!(
        app.get("/v1/accounts/l/entries?limit=0").await.body["code"],
        "invalid_limit"
    );
    assert_eq!(
        app.get("/v1/accounts/l/entries?cursor=zzz").await.body["code"],
        "invalid_cursor"
    );
}
