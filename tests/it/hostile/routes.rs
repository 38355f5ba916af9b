//! Paths, queries, keys, routes and methods, and one app against another.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_times_pages_cursors_and_versions_are_400() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // `{}` is a fresh UUID (no such entry; not a cursor). `?x=` sends an empty value.
    let table = "
        400 invalid_request GET /v1/entries/{not-a-uuid|%00|%7B%7D|zzzzzzzz-zzzz-zzzz-zzzz-zzzz}
        404 not_found GET /v1/entries/{00000000-0000-0000-0000-000000000000|{}}
        400 invalid_time GET /v1/accounts/a?at={yesterday|2026-13-45T99:99:99Z||1e9|2026-01-01}
        400 invalid_time GET /v1/accounts/a?at={-0001-01-01T00:00:00Z|2026-01-01T00:00:00%2B99:00}
        400 invalid_limit GET /v1/accounts/a/entries?limit={0|201}
        400 invalid_request GET /v1/accounts/a/entries?limit={-1|99999999999999999999999|abc|1.5|}
        400 invalid_cursor GET /v1/accounts/a/entries?cursor={zzz||_|1_|1_not-a-uuid|x_{}|{}}
        400 invalid_request GET /v1/accounts/a?min_version={abc|1.5||99999999999999999999|%20}
        400 invalid_request GET /v1/accounts/a/entries?min_version={abc|-|0x1}
        422 unknown_asset GET /v1/accounts/a?asset={NOPE||credit}
    ";
    let uuid = uuid::Uuid::now_v7().simple().to_string();
    expect_requests(&app, &table.replace("{}", &uuid)).await;
    assert_still_serves(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_keys_unknown_routes_and_methods() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let key = &app.key;
    let zeros = "0".repeat(64);
    let headers = [
        String::new(),
        "Bearer lf_nope".into(),
        format!("Bearer lf_{zeros}"),
        format!("Bearer {key}x"),
        format!("Bearer {}", &key[..key.len() - 1]),
        format!("Basic {key}"),
        key.clone(),
        format!("Bearer {}", "x".repeat(100_000)),
    ];
    let paths = "/v1/operations /v1/accounts/a /v1/accounts/a/entries /v1/entries/{} /v1/entries";
    for path in paths.split(' ').map(|p| p.replace("{}", &zeros[..32])) {
        let method = if path == "/v1/entries" {
            Method::POST
        } else {
            Method::GET
        };
        let req = || app.client.request(method.clone(), app.url(&path));
        let none = TestApp::read(req().json(&entry(json!({}))).send().await.unwrap()).await;
        assert_problem(&none, 401, "unauthorized", &path);
        for h in &headers {
            let req = req().header("authorization", h).json(&entry(json!({})));
            let r = TestApp::read(req.send().await.unwrap()).await;
            assert_problem(&r, 401, "unauthorized", &format!("{path} with {h}"));
        }
    }
    let table = "
        404 not_found GET {/v1/nope|/|/v2/entries|/v1/entries/|/V1/OPERATIONS|/v1/operations/}
        404 not_found GET {/v1/accounts/a/entries/x|/..%2f..%2fetc/passwd|/v1/accounts}
        404 not_found POST /v1/entries/x/y
        405 method_not_allowed {DELETE|PUT|GET|TRACE|FOO} /v1/entries
        405 method_not_allowed PATCH /v1/entries/00000000-0000-0000-0000-000000000000
        405 method_not_allowed POST {/v1/operations|/v1/accounts/a/entries|/healthz|/metrics}
        405 method_not_allowed DELETE /v1/accounts/a
        405 method_not_allowed {PUT|DELETE|POST} /openapi.json
    ";
    expect_requests(&app, table).await;
    assert_still_serves(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_never_reads_or_writes_another_apps_data() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let other = app.another_key().await;
    let add = |nonce| entry(json!({"owner_id": "victim", "nonce": nonce, "amount": "40"}));
    let first = app.post(add("v1")).await.body["id"].clone();
    let second = app.post(add("v2")).await.body["id"].clone();
    let page = app.get("/v1/accounts/victim/entries?limit=1").await;
    let cursor = page.body["next_cursor"].as_str().expect("a second page");
    // Reads with the other key: the entry ids (guessed, here known) and the owner are not
    // its own, through the read model and through the event store (`at`).
    for id in [first.as_str().unwrap(), second.as_str().unwrap()] {
        let r = app.get_with(&other, &format!("/v1/entries/{id}")).await;
        assert_problem(&r, 404, "not_found", id);
    }
    for path in ["victim", "victim?at=9999-12-31T23:59:59Z"] {
        let r = app.get_with(&other, &format!("/v1/accounts/{path}")).await;
        assert_eq!(
            (&r.body["balance"], &r.body["version"]),
            (&json!("0.00"), &json!(0))
        );
    }
    for query in [String::new(), format!("?cursor={cursor}")] {
        let path = format!("/v1/accounts/victim/entries{query}");
        assert_eq!(app.get_with(&other, &path).await.body["entries"], json!([]));
    }
    // Writes with the other key land in its own books: spending or moving the victim's
    // credits fails, the nonce is free, and the system account is its own.
    let spend = json!({"operation": "CREDIT_SPEND", "owner_id": "victim"});
    let transfer = json!({"owner_id": "victim", "counterparty_id": "thief"});
    for body in [entry(spend), entry(transfer)] {
        let r = app.post_with(&other, body.clone(), &[]).await;
        assert_problem(&r, 422, "insufficient_balance", &body.to_string());
    }
    let async_add = [("Prefer", "respond-async")];
    let r = app.post_with(&other, add("v1"), &async_add).await;
    assert_eq!((r.status.as_u16(), r.replay), (202, false), "{:?}", r.body);
    assert_ne!(r.body["id"], first, "a new entry, not the other app's");
    let system = app.get_with(&other, "/v1/accounts/@system:purchases").await;
    let balance = system.body["balance"].as_str().unwrap_or_default();
    assert!(["0.00", "-40.00"].contains(&balance), "its own: {balance}");
    assert_eq!(app.balance("victim").await, "80.00");
    assert_eq!(app.balance("@system:purchases").await, "-80.00");
    let history = app.get("/v1/accounts/victim/entries").await.body;
    assert_eq!(history["entries"].as_array().map(Vec::len), Some(2));
}
