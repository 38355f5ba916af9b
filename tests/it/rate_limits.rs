//! Per-app rate limits: 429 with `Retry-After` past the rate, other apps untouched, a
//! recorded nonce answered anyway, and one rate shared by two instances.

use crate::common::{Backend, TestApp};
use ledgerflow::apps::Rate;
use ledgerflow::config::Config;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

async fn limit(app: &TestApp, per_second: u32, burst: u32) {
    let rate = Rate { per_second, burst };
    app.ctx
        .apps
        .set_rate(&app.name, Some(rate))
        .await
        .expect("set");
}

/// A balance read with `key`: its status and `Retry-After`, if any.
async fn read(app: &TestApp, key: &str) -> (StatusCode, Option<u64>) {
    let resp = app
        .client
        .get(app.url("/v1/accounts/alice"))
        .bearer_auth(key)
        .send()
        .await
        .expect("sent");
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (resp.status(), retry)
}

fn credit(nonce: &str, amount: &str) -> serde_json::Value {
    json!({"operation": "CREDIT_ADD", "owner_id": "alice", "nonce": nonce, "amount": amount})
}

async fn past_its_rate_an_app_gets_429_and_another_app_does_not(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Reads at the service's default rate first: the instance holds a lease of that rate,
    // which a lowered limit must not let it spend.
    for _ in 0..3 {
        assert_eq!(read(&app, &app.key).await.0, StatusCode::OK);
    }
    limit(&app, 2, 5).await;
    let other = app.another_key().await;
    for _ in 0..5 {
        assert_eq!(
            read(&app, &app.key).await.0,
            StatusCode::OK,
            "within the burst"
        );
    }
    let (status, retry) = read(&app, &app.key).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        retry,
        Some(1),
        "half a second to the next token, rounded up"
    );
    let r = app.get_now(&app.key, "/v1/accounts/alice").await;
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.body["code"], "rate_limited");
    for _ in 0..20 {
        assert_eq!(read(&app, &other).await.0, StatusCode::OK, "another app");
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        read(&app, &app.key).await.0,
        StatusCode::OK,
        "a token came back"
    );
    // Back to the service's default (10,000 a second): no longer limited.
    app.ctx.apps.set_rate(&app.name, None).await.expect("reset");
    for _ in 0..10 {
        assert_eq!(read(&app, &app.key).await.0, StatusCode::OK);
    }
}

async fn a_limited_app_still_learns_the_first_answer_of_a_recorded_nonce(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    limit(&app, 1, 2).await;
    let first = app.post(credit("n-1", "5.00")).await;
    assert_eq!(first.status.as_u16(), 201);
    let async_first = app
        .post_with(
            &app.key,
            credit("n-2", "1.00"),
            &[("Prefer", "respond-async")],
        )
        .await;
    assert_eq!(async_first.status.as_u16(), 202);
    // The burst is spent: a new nonce is limited, and nothing is recorded for it.
    let limited = app.post(credit("n-3", "1.00")).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body["code"], "rate_limited");
    // The recorded nonce gets its first answer, as a replay; sent async, too.
    let replay = app.post(credit("n-1", "5.00")).await;
    assert_eq!(replay.status.as_u16(), 201);
    assert!(replay.replay);
    assert_eq!(replay.body["id"], first.body["id"]);
    let replay = app
        .post_with(
            &app.key,
            credit("n-1", "5.00"),
            &[("Prefer", "respond-async")],
        )
        .await;
    assert!(replay.replay, "{:?}", replay.body);
    assert_eq!(replay.body["id"], first.body["id"]);
    // A different request under that nonce is still a conflict.
    let reused = app.post(credit("n-1", "6.00")).await;
    assert_eq!(reused.status, StatusCode::CONFLICT);
    assert_eq!(reused.body["code"], "nonce_reused");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let after = app.post(credit("n-3", "1.00")).await;
    assert_eq!(after.status.as_u16(), 201, "{:?}", after.body);
    // Nothing was recorded for the limited request: 5 + 1 + 1 (n-3, once).
    app.ctx.apps.set_rate(&app.name, None).await.expect("reset");
    app.projected().await;
    assert_eq!(app.balance("alice").await, "7.00");
}

async fn two_instances_share_one_rate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    limit(&app, 40, 20).await;
    let config = Config::with_store(&app.db.url);
    let second = app.another_instance(&app.key, &config).await;
    let instances = [&app, &second];
    let started = Instant::now();
    let run_for = Duration::from_secs(3);
    let clients = (0..16).map(|i| {
        let target = instances[i % 2];
        async move {
            let mut taken = 0;
            while started.elapsed() < run_for {
                if read(target, &target.key).await.0 == StatusCode::OK {
                    taken += 1;
                }
            }
            taken
        }
    });
    let taken: u32 = futures::future::join_all(clients).await.into_iter().sum();
    let elapsed = started.elapsed().as_secs_f64();
    // The bucket's burst, then its rate: what one instance alone would allow.
    let allowed = 20.0 + 40.0 * elapsed;
    let ratio = f64::from(taken) / allowed;
    assert!(
        (0.8..=1.2).contains(&ratio),
        "{taken} reads taken in {elapsed:.2} s against {allowed:.0} allowed ({ratio:.2})"
    );
}

crate::on_both_backends!(
    past_its_rate_an_app_gets_429_and_another_app_does_not,
    a_limited_app_still_learns_the_first_answer_of_a_recorded_nonce,
    two_instances_share_one_rate,
);
