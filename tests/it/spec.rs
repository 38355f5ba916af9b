//! The OpenAPI document is the contract: each operation declares the statuses it can
//! answer and no other, the limits the handlers enforce are written in it, and each
//! request example works as written. (`.ci/fuzz` checks the rest both ways: data the
//! document allows is never refused as malformed, data it forbids is refused.)

use crate::common::{Backend, TestApp};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn statuses(spec: &Value, method: &str, path: &str) -> BTreeSet<String> {
    let responses = spec["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} in the spec"));
    responses.keys().cloned().collect()
}

fn set(statuses: &[&str]) -> BTreeSet<String> {
    statuses.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operation_declares_only_what_it_can_answer() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let spec = app.get("/openapi.json").await.body;
    assert_eq!(
        statuses(&spec, "get", "/v1/operations"),
        set(&["200", "400", "401", "429", "431", "503"]),
        "a read of the catalog cannot answer 404, 409, 413 or 422"
    );
    assert_eq!(
        statuses(&spec, "post", "/v1/entries"),
        set(&[
            "201", "202", "400", "401", "409", "413", "415", "422", "429", "431", "503"
        ])
    );
    assert_eq!(
        statuses(&spec, "get", "/v1/entries/{id}"),
        set(&["200", "400", "401", "404", "429", "431", "503"])
    );
    assert_eq!(
        statuses(&spec, "get", "/healthz"),
        set(&["200", "400", "431"])
    );
    for (path, methods) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in methods.as_object().expect("methods") {
            let responses = operation["responses"].as_object().expect("responses");
            assert!(
                !responses.contains_key("405"),
                "{method} {path}: a 405 is no operation's"
            );
        }
    }
    // Swagger UI shows the same document.
    let page = app.client.get(app.url("/docs")).send().await.expect("sent");
    let page = page.text().await.expect("a page");
    assert!(
        page.contains("U+E0000"),
        "Swagger UI's document is the completed one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limits_the_handlers_enforce_are_in_the_spec() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let spec = app.get("/openapi.json").await.body;
    let schemas = &spec["components"]["schemas"];
    let entry = &schemas["NewEntry"];
    assert_eq!(entry["additionalProperties"], false);
    assert_eq!(schemas["NewVoid"]["additionalProperties"], false);
    let below = &schemas["NewMonitor"]["properties"]["below"]["pattern"];
    assert_eq!(below, r"^[0-9]+(\.[0-9]+)?$", "a threshold has no sign");
    let owner = &entry["properties"]["owner_id"];
    assert_eq!(
        (owner["minLength"].as_u64(), owner["maxLength"].as_u64()),
        (Some(1), Some(128))
    );
    assert!(
        owner["description"]
            .as_str()
            .is_some_and(|d| d.contains("NFC"))
    );
    assert_eq!(entry["properties"]["metadata"]["type"], "object");
    assert_eq!(entry["properties"]["counterparty_id"]["nullable"], true);
    let entries = &spec["paths"]["/v1/accounts/{owner_id}/entries"]["get"]["parameters"];
    let limit = entries
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "limit"))
        .expect("limit");
    assert_eq!(
        (
            limit["schema"]["minimum"].as_u64(),
            limit["schema"]["maximum"].as_u64()
        ),
        (Some(1), Some(200))
    );
    // What the document says, the service does: 128 characters (of four bytes each) are an
    // id, 129 are not; a null counterparty is no counterparty.
    let long = "😀".repeat(128);
    let ok = json!({"operation": "CREDIT_ADD", "owner_id": long, "nonce": "n1", "amount": "1", "counterparty_id": null});
    assert_eq!(app.post(ok).await.status, 201);
    let too_long = json!({"operation": "CREDIT_ADD", "owner_id": format!("{long}x"), "nonce": "n2", "amount": "1"});
    let r = app.post(too_long).await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (422, Some("invalid_id"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_examples_work_as_written() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let spec = app.get("/openapi.json").await.body;
    let example = spec["components"]["schemas"]["NewEntry"]["example"].clone();
    let posted = app.post(example.clone()).await;
    assert_eq!(posted.status, 201, "{:?}", posted.body);
    let owner = spec["paths"]["/v1/accounts/{owner_id}"]["get"]["parameters"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "owner_id"))
        .map(|p| p["example"].as_str().unwrap_or_default().to_owned())
        .expect("an owner example");
    assert_eq!(
        owner, example["owner_id"],
        "the balance example reads the posted owner"
    );
    app.projected().await;
    let balance = app.get(&format!("/v1/accounts/{owner}")).await;
    assert_eq!(balance.status, 200);
    assert_eq!(balance.body["balance"], example["amount"]);
    // A hold of the example's credits, voided; then placed again and captured in part.
    let schemas = &spec["components"]["schemas"];
    let send = |path: String, body: Value| {
        let req = app
            .client
            .post(app.url(&path))
            .bearer_auth(&app.key)
            .json(&body);
        async move { req.send().await.expect("sent") }
    };
    let hold = schemas["NewHold"]["example"].clone();
    let placed = send("/v1/holds".into(), hold.clone()).await;
    assert_eq!(placed.status(), 201);
    let placed: Value = placed.json().await.expect("a hold");
    let void = schemas["NewHoldVoid"]["example"].clone();
    let voided = send(
        format!("/v1/holds/{}/void", placed["id"].as_str().expect("an id")),
        void,
    );
    assert_eq!(voided.await.status(), 200);
    let mut again = hold;
    again["nonce"] = json!("job-78");
    let placed: Value = send("/v1/holds".into(), again)
        .await
        .json()
        .await
        .expect("a hold");
    let capture = schemas["NewCapture"]["example"].clone();
    let path = format!(
        "/v1/holds/{}/capture",
        placed["id"].as_str().expect("an id")
    );
    assert_eq!(send(path, capture).await.status(), 200);
    let void = &spec["components"]["schemas"]["NewVoid"]["example"];
    let lot = posted.body["lot"]["id"].as_str().expect("the credit's lot");
    let r = app
        .client
        .post(app.url(&format!("/v1/lots/{lot}/void")))
        .bearer_auth(&app.key)
        .json(void)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 201);
}

/// The `next_cursor` of the first page of `path`, a page of one entry.
async fn first_cursor(app: &TestApp, path: &str) -> String {
    let page = app.get(&format!("{path}?limit=1")).await;
    let cursor = page.body["next_cursor"].as_str();
    cursor
        .unwrap_or_else(|| panic!("{path}: {:?}", page.body))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cursors_the_histories_write_are_what_the_spec_allows() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for body in [
        json!({"operation": "DAILY_REWARD", "owner_id": "p", "nonce": "r1"}),
        json!({"operation": "DAILY_REWARD", "owner_id": "q", "nonce": "r2"}),
        json!({"operation": "CREDIT_ADD", "owner_id": "p", "nonce": "a", "amount": "1"}),
    ] {
        assert_eq!(app.post(body).await.status, 201);
    }
    let spec = app.get("/openapi.json").await.body;
    let cursor = spec["paths"]["/v1/accounts/{owner_id}/entries"]["get"]["parameters"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "cursor"))
        .and_then(|p| p["schema"]["pattern"].as_str())
        .expect("the cursor's pattern");
    let pattern = regex::Regex::new(cursor).expect("a regex");
    let owner = first_cursor(&app, "/v1/accounts/p/entries").await;
    let system = first_cursor(&app, "/v1/accounts/@system:rewards/entries").await;
    let hyphenated = format!("1_{}", uuid::Uuid::now_v7().hyphenated());
    for written in [&owner, &system, &hyphenated] {
        assert!(pattern.is_match(written), "{written} against {cursor}");
    }
    for refused in ["v0", "v01", "v", "1_", "zzz", "v1234567890123456789"] {
        assert!(!pattern.is_match(refused), "{refused}");
        let r = app
            .get(&format!("/v1/accounts/@system:x/entries?cursor={refused}"))
            .await;
        assert_eq!(r.body["code"], "invalid_cursor", "{refused}");
    }
}
