//! Requests that could be read two ways are refused, with nothing recorded, and the answers
//! RFC 9110 says must carry a header carry it.

use super::*;

/// The nonce was not used: a valid entry with it is recorded now, not replayed.
async fn assert_unused(app: &TestApp, nonce: &str) {
    let r = app.post(entry(json!({ "nonce": nonce }))).await;
    assert_eq!(
        (r.status.as_u16(), r.replay),
        (201, false),
        "{nonce}: {:?}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_requests_are_refused_and_record_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let other = app.another_key().await;
    let body = |nonce: &str| entry(json!({ "nonce": nonce })).to_string();

    // Two keys: which app asks? Not the first one, silently.
    let auth = format!(
        "Authorization: Bearer {}\r\nAuthorization: Bearer {other}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        app.key,
        body("two-keys").len()
    );
    let r = post_with_headers(&app, &auth, body("two-keys").as_bytes()).await;
    assert_problem(&r, 400, "invalid_request", "two Authorization headers");
    assert_unused(&app, "two-keys").await;

    // A transfer coding the service does not apply is not read as if it were not there.
    let b = body("gzip");
    let chunked = format!("{:x}\r\n{b}\r\n0\r\n\r\n", b.len());
    let head = format!(
        "Authorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n",
        app.key
    );
    let r = post_with_headers(&app, &head, chunked.as_bytes()).await;
    assert_problem(&r, 400, "invalid_request", "gzip, chunked");
    assert_unused(&app, "gzip").await;

    // A body in another charset is not read as UTF-8.
    for ct in [
        "application/json; charset=utf-16",
        "application/json;charset=ISO-8859-1",
    ] {
        let r = send(
            &app,
            "POST",
            "/v1/entries",
            ct,
            body("charset").into_bytes(),
        )
        .await;
        assert_problem(&r, 415, "unsupported_media_type", ct);
    }
    assert_unused(&app, "charset").await;
    let r = send(
        &app,
        "POST",
        "/v1/entries",
        "application/json; charset=UTF-8",
        body("utf8").into_bytes(),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    // A key twice: which value counts?
    let table = r#"
        400 invalid_request - {"operation":"CREDIT_ADD","operation":"CREDIT_SPEND","owner_id":"h","nonce":"dup-1","amount":"1"}
        400 invalid_request - {"operation":"CREDIT_ADD","owner_id":"h","nonce":"dup-2","amount":"1","metadata":{"a":{"b":1,"b":2}}}
    "#;
    expect_bodies(&app, table).await;
    assert_unused(&app, "dup-1").await;
    assert_unused(&app, "dup-2").await;
    assert_still_serves(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_says_how_to_authenticate_and_a_405_says_what_is_allowed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = &app.client;
    for key in [None, Some("lf_not-a-key")] {
        let mut req = client.get(app.url("/v1/operations"));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.expect("sent");
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.headers()["www-authenticate"], "Bearer", "{key:?}");
    }
    for (method, path, allow) in [
        (Method::DELETE, "/v1/entries", "POST"),
        (Method::GET, "/v1/entries", "POST"),
        (
            Method::POST,
            "/v1/entries/0192f5a0-0000-7000-8000-000000000000",
            "GET",
        ),
        (Method::PUT, "/v1/accounts/amy", "GET"),
        (Method::POST, "/healthz", "GET"),
    ] {
        let resp = client
            .request(method.clone(), app.url(path))
            .bearer_auth(&app.key)
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), 405, "{method} {path}");
        assert_eq!(resp.headers()["allow"], allow, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_text_is_never_echoed_whole() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let name = "X".repeat(10_000);
    let r = app.post(entry(json!({ "operation": name }))).await;
    assert_problem(&r, 422, "unknown_operation", "a 10 KB operation name");
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.chars().count() <= 301, "{} characters", detail.len());
    let field = format!("{{\"{}\": 1}}", "y".repeat(10_000));
    let r = post_raw(&app, field).await;
    assert_problem(&r, 400, "invalid_request", "a 10 KB unknown field");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .count()
            <= 301
    );
}
