//! Requests too large: bodies declared or chunked past the limit, huge values anywhere.

use super::*;

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
    // service sees it; the answer still carries a problem body.
    let million = "9".repeat(1_000_000);
    for path in [
        format!("accounts/{million}"),
        format!("accounts/a?at={million}"),
    ] {
        let head = format!("GET /v1/{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let r = raw_http(&app, head.into_bytes()).await;
        assert_problem(&r, 431, "request_head_too_large", &path);
    }
    assert_still_serves(&app).await;
}
