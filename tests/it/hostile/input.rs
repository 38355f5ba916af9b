//! Input the schema or the ledger refuses: amounts, ids, metadata, content types, JSON.

use super::*;

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
    // Emoji, right-to-left, and stacked combining marks (in NFC: é, then two more accents).
    for id in ["💸🔥", "مرحبا", "\u{e9}\u{301}\u{301}"] {
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
        422 invalid_id owner_id "مرحبا\u200f" | "a\u200bb" | "\u202eabc" | "x\ufeff" | "e\u0301" | "\uff20system:x"
        422 invalid_id nonce "n\u200d1" | "\u2066n" | "e\u0301"
    "#;
    expect_bodies(&app, table).await;
    let paths =
        "422 invalid_id GET /v1/accounts/{a%00b|a%0Ab|a%7Fb|%0D%0A|%09|a%E2%80%8Bb|e%CC%81}";
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
