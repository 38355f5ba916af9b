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

/// `POST /v1/entries` of `body` over a plain socket, with `headers` (each ending in CRLF)
/// as given.
async fn post_with_headers(app: &TestApp, headers: &str, body: &[u8]) -> Reply {
    let mut request = format!(
        "POST /v1/entries HTTP/1.1\r\nHost: {}\r\n{headers}Connection: close\r\n\r\n",
        app.addr
    )
    .into_bytes();
    request.extend(body);
    raw_http(app, request).await
}

/// `POST /v1/entries` with `Transfer-Encoding: chunked` and no Content-Length.
async fn post_chunked(app: &TestApp, content_type: &str, body: &[u8]) -> Reply {
    let headers = format!(
        "Authorization: Bearer {}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n",
        app.key
    );
    let mut chunked = Vec::new();
    for chunk in body.chunks(4096) {
        chunked.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend(chunk);
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\n\r\n");
    post_with_headers(app, &headers, &chunked).await
}

mod connections;
mod input;
mod protocol;
mod routes;
mod size;
