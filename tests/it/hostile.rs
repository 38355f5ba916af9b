//! Hostile requests over HTTP: oversized, malformed, mistyped and out-of-range input, bad
//! paths and query parameters, bad keys, unknown routes and methods. Each must get a 4xx
//! problem (never a 5xx) and the service must keep serving; an app never reaches another
//! app's data. Most cases are tables: see `expect_bodies` and `expect_requests`.

use crate::common::{Backend, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Duration;

/// The README's request body limit.
const LIMIT: usize = 64 * 1024;
const JSON: &str = "application/json";

/// Asserts that `r` is a problem with HTTP status `status` and code `code`.
#[track_caller]
fn assert_problem(r: &Reply, status: u16, code: &str, what: &str) {
    let what: String = what.chars().take(100).collect();
    assert_eq!(r.status.as_u16(), status, "{what}: {:?}", r.body);
    assert_eq!(r.content_type, "application/problem+json", "{what}");
    assert_eq!(r.body["status"], status, "{what}: {:?}", r.body);
    assert_eq!(r.body["code"], code, "{what}: {:?}", r.body);
    for field in ["type", "title", "detail"] {
        let text = r.body[field].as_str().unwrap_or_default();
        assert!(!text.is_empty(), "{what}: {field} in {:?}", r.body);
    }
}

/// A request with the app's key; `body` goes as is, with content type `ct` unless empty.
async fn send(app: &TestApp, method: &str, path: &str, ct: &str, body: Vec<u8>) -> Reply {
    let method = Method::from_bytes(method.as_bytes()).expect("a method");
    let mut req = app.client.request(method, app.url(path));
    if !ct.is_empty() {
        req = req.header("content-type", ct);
    }
    let resp = req.bearer_auth(&app.key).body(body).send().await;
    TestApp::read(resp.expect("the request is sent")).await
}

/// `POST /v1/entries` of raw text as `application/json`.
async fn post_raw(app: &TestApp, body: impl Into<Vec<u8>>) -> Reply {
    send(app, "POST", "/v1/entries", JSON, body.into()).await
}

/// A valid CREDIT_ADD (a TRANSFER if it has a counterparty) with a fresh nonce and `fields`.
fn entry(fields: Value) -> Value {
    let mut e = json!({"operation": "CREDIT_ADD", "owner_id": "hostile",
                       "nonce": uuid::Uuid::new_v4().to_string(), "amount": "1"});
    for (k, v) in fields.as_object().expect("an object") {
        if k == "counterparty_id" {
            e["operation"] = json!("TRANSFER");
        }
        e[k] = v.clone();
    }
    e
}

/// A valid entry as text, with `field` set to the raw JSON `value` (`-`: `value` is the body).
fn with_raw(field: &str, value: &str) -> String {
    match field {
        "-" => value.to_owned(),
        _ => entry(json!({ field: "RAW" }))
            .to_string()
            .replace("\"RAW\"", value),
    }
}

/// Each line of `table` is `STATUS CODE FIELD JSON | JSON…`: an entry with FIELD set to
/// each raw JSON (or, for FIELD `-`, with each JSON as the whole body) gets that problem.
async fn expect_bodies(app: &TestApp, table: &str) {
    for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(4, ' ');
        let mut next = || parts.next().unwrap_or_default();
        let (status, code, field, values) = (next().parse().unwrap(), next(), next(), next());
        for raw in values.split(" | ") {
            let body = with_raw(field, raw);
            assert_problem(&post_raw(app, body.clone()).await, status, code, &body);
        }
    }
}

/// Each line of `table` is `STATUS CODE METHOD PATH`, where one `{a|b|…}` stands for
/// several lines: each request gets that problem.
async fn expect_requests(app: &TestApp, table: &str) {
    for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let lines = match (line.find('{'), line.rfind('}')) {
            (Some(i), Some(j)) => line[i + 1..j]
                .split('|')
                .map(|alt| format!("{}{alt}{}", &line[..i], &line[j + 1..]))
                .collect(),
            _ => vec![line.to_owned()],
        };
        for line in lines {
            let [status, code, method, path] = line.split(' ').collect::<Vec<_>>()[..] else {
                panic!("a table line: {line}");
            };
            let r = match method {
                "GET" => app.get_now(&app.key, path).await,
                _ => send(app, method, path, JSON, b"{}".to_vec()).await,
            };
            assert_problem(&r, status.parse().unwrap(), code, &line);
        }
    }
}

/// After the hostile requests, the service still records a valid entry.
async fn assert_still_serves(app: &TestApp) {
    let r = app.post(entry(json!({}))).await;
    assert_eq!(r.status, 201, "the service still serves: {:?}", r.body);
}

/// Sends `request` over a plain socket, for what reqwest cannot send (a chunked body; a
/// request line over 64 KiB), and reads the answer. The service may answer and close
/// before it has read everything, so a failed write is expected.
async fn raw_http(app: &TestApp, request: Vec<u8>) -> Reply {
    let addr = app.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).expect("connect");
        let timeout = Some(Duration::from_secs(30));
        socket.set_read_timeout(timeout).unwrap();
        socket.set_write_timeout(timeout).unwrap();
        let _ = socket.write_all(&request);
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    });
    let answer = answer.await.unwrap();
    let (head, text) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    let content_type = head.lines().find_map(|l| {
        let l = l.to_ascii_lowercase();
        l.strip_prefix("content-type: ").map(str::to_owned)
    });
    Reply {
        status: StatusCode::from_u16(status.expect("a status")).unwrap(),
        replay: false,
        content_type: content_type.unwrap_or_default(),
        body: serde_json::from_str(text).unwrap_or(Value::String(text.to_owned())),
    }
}

/// `POST /v1/entries` with `Transfer-Encoding: chunked` and no Content-Length.
async fn post_chunked(app: &TestApp, content_type: &str, body: &[u8]) -> Reply {
    let mut request = format!(
        "POST /v1/entries HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr, app.key
    )
    .into_bytes();
    for chunk in body.chunks(4096) {
        request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    raw_http(app, request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_64_kib_are_413_declared_or_chunked() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let padded = |n: usize| {
        let mut body = entry(json!({})).to_string().into_bytes();
        body.resize(n, b' '); // trailing whitespace keeps it valid JSON
        body
    };
    assert_eq!(post_raw(&app, padded(LIMIT)).await.status, 201, "64 KiB");
    let r = post_chunked(&app, JSON, &padded(LIMIT)).await;
    assert_eq!(r.status, 201, "64 KiB chunked: {:?}", r.body);
    let million = with_raw("amount", &format!("\"{}\"", "9".repeat(1_000_000)));
    for (body, what) in [
        (padded(LIMIT + 1), "64 KiB + 1"),
        (vec![b'x'; 4 * LIMIT], "256 KiB"),
        (million.into_bytes(), "10^6-digit amount"),
    ] {
        let r = post_raw(&app, body.clone()).await;
        assert_problem(&r, 413, "payload_too_large", what);
        let r = post_chunked(&app, JSON, &body).await;
        assert_problem(&r, 413, "payload_too_large", &format!("{what}, chunked"));
    }
    let r = post_chunked(&app, "text/plain", &padded(LIMIT + 1)).await;
    assert_problem(&r, 413, "payload_too_large", "text/plain, chunked");
    assert_still_serves(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_values_in_body_path_and_query_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // 60,000 digits: as large as a body under 64 KiB allows.
    let big = "9".repeat(60_000);
    let table = format!(
        "400 invalid_amount amount \"{big}\"
         400 invalid_request amount {big}
         422 invalid_id owner_id \"{big}\"
         400 invalid_request owner_id {big}
         422 invalid_id nonce \"{big}\"
         422 invalid_id counterparty_id \"{big}\"
         422 unknown_operation operation \"{big}\""
    );
    expect_bodies(&app, &table).await;
    let table = format!(
        "422 invalid_id GET /v1/accounts/{big}
         422 invalid_id GET /v1/accounts/{big}/entries
         400 invalid_request GET /v1/entries/{big}
         400 invalid_time GET /v1/accounts/a?at={big}
         422 unknown_asset GET /v1/accounts/a?asset={big}
         400 invalid_request GET /v1/accounts/a?min_version={big}
         400 invalid_request GET /v1/accounts/a/entries?limit={big}
         400 invalid_cursor GET /v1/accounts/a/entries?cursor={big}"
    );
    expect_requests(&app, &table).await;
    // 10^6 characters in the request line: hyper refuses the head with 431 before the
    // service sees it, so this answer has no problem body (reported as a finding).
    let million = "9".repeat(1_000_000);
    for path in [
        format!("accounts/{million}"),
        format!("accounts/a?at={million}"),
    ] {
        let head = format!("GET /v1/{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_eq!(raw_http(&app, head.into_bytes()).await.status, 431);
    }
    assert_still_serves(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_must_be_positive_decimal_strings() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // JSON numbers (and other non-strings) are malformed, never rounded through a float.
    let table = r#"
        422 amount_not_positive amount "0" | "-0" | "0.00" | "-1" | "-0.01" | "-99999999"
        400 invalid_amount amount "" | "-" | "+1" | "1." | ".5" | " 1" | "1 " | "1,5" | "1e2"
        400 invalid_amount amount "1e400" | "NaN" | "Infinity" | "0x10" | "１" | "١"
        400 invalid_request amount 1 | -1 | 0 | 12345678901234567.89 | 1e400 | true | [] | {}
    "#;
    expect_bodies(&app, table).await;
    assert_still_serves(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_ids_round_trip_and_control_characters_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Emoji, right-to-left with a direction mark, and stacked combining marks.
    for id in ["💸🔥", "مرحبا\u{200f}", "e\u{301}\u{301}\u{301}"] {
        let nonce = format!("{id}-add");
        let add = entry(json!({"owner_id": id, "nonce": nonce, "amount": "5"}));
        let r = app.post(add.clone()).await;
        assert_eq!((r.status.as_u16(), &r.body["nonce"]), (201, &json!(nonce)));
        let again = app.post(add).await;
        assert!(again.replay && again.body == r.body, "{id} replays");
        let to = format!("{id}\u{2192}");
        let t = entry(json!({"owner_id": id, "counterparty_id": to}));
        assert_eq!(app.post(t).await.body["counterparty_id"], json!(to));
        let mut url = reqwest::Url::parse("http://x/v1/accounts").unwrap();
        url.path_segments_mut().unwrap().push(id);
        let owner = app.get(url.path()).await.body;
        assert_eq!([&owner["owner_id"], &owner["balance"]], [id, "4.00"]);
        url.path_segments_mut()
            .unwrap()
            .pop()
            .extend([to.as_str(), "entries"]);
        let history = app.get(url.path()).await.body;
        assert_eq!(history["entries"][0]["counterparty_id"], json!(to));
    }
    let table = r#"
        422 invalid_id owner_id "a\u0000b" | "a\nb" | "a\u007fb" | "\t" | "\u001b[31m"
        422 invalid_id nonce "a\u0000b" | "a\nb" | "a\u007fb" | "\t" | "\u001b[31m"
        422 invalid_id counterparty_id "a\u0000b" | "a\nb" | "a\u007fb" | "\u0085"
    "#;
    expect_bodies(&app, table).await;
    let paths = "422 invalid_id GET /v1/accounts/{a%00b|a%0Ab|a%7Fb|%0D%0A|%09}";
    expect_requests(&app, paths).await;
    assert_still_serves(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_too_deep_too_large_or_not_an_object() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let nested = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
    let ok = post_raw(&app, with_raw("metadata", &nested(8))).await;
    assert_eq!(ok.status, 201, "8 levels are allowed: {:?}", ok.body);
    let (arrays, large) = ("[".repeat(10_000) + &"]".repeat(10_000), "x".repeat(5000));
    // Past serde_json's recursion limit (128) the body does not even parse: 400.
    let table = format!(
        r#"422 metadata_too_deep metadata {} | {}
           400 invalid_request metadata {} | {arrays}
           422 metadata_too_large metadata {{"p":"{large}"}}
           400 invalid_metadata metadata [] | [{{}}] | "{{}}" | 1 | true"#,
        nested(9),
        nested(100),
        nested(10_000)
    );
    expect_bodies(&app, &table).await;
    assert_still_serves(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_types_malformed_json_unknown_fields_and_wrong_types() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let body = entry(json!({})).to_string().into_bytes();
    // The last one is no Content-Type at all.
    for ct in "text/plain,application/xml,multipart/form-data; boundary=x,".split(',') {
        let r = send(&app, "POST", "/v1/entries", ct, body.clone()).await;
        assert_problem(&r, 415, "unsupported_media_type", ct);
    }
    let bytes = post_raw(&app, b"\xff\xfe{}".to_vec()).await;
    assert_problem(&bytes, 400, "invalid_request", "not UTF-8");
    // A number or boolean is never turned into text (`"owner_id": 1` is not owner "1").
    // `null` is "left out" for the optional fields, so only the required ones have it.
    let table = r#"
        400 invalid_request - {"operation": | [] | null | "entry" | 1 | {'operation':'x'}
        400 invalid_request - {"operation":"CREDIT_ADD","owner_id":"a","nonce":"m",}
        400 invalid_request - {"operation":"CREDIT_ADD","owner_id":"a","nonce":"m"} x
        400 invalid_request - {
        400 invalid_request -
        400 invalid_request owner_id "\ud800" | "\x41" | 'a'
        400 invalid_request extra 1
        400 invalid_request Owner_id "a"
        400 invalid_request asset "CREDIT"
        400 invalid_request operation [] | {} | ["CREDIT_ADD"] | {"a":"b"} | null | 1 | true
        400 invalid_request owner_id [] | {} | ["a"] | {"a":"b"} | null | 1 | 1.5 | -1 | false
        400 invalid_request nonce [] | {} | ["a"] | {"a":"b"} | null | 1 | 1.5 | -1 | true
        400 invalid_request counterparty_id [] | {} | ["a"] | {"a":"b"} | 1 | true
        400 invalid_request amount [] | {} | ["1"] | {"a":"b"}
    "#;
    expect_bodies(&app, table).await;
    assert_still_serves(&app).await;
}

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
