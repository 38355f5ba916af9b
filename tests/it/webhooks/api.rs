//! The webhook endpoints: what each answers, with which code, and the address policy.

use super::receiver::Receiver;
use super::{credit, fast, register};
use crate::common::{Backend, Reply, TestApp, TestDb};
use entity::webhook;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::sync::Arc;

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
    let mut req = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    TestApp::read(req.send().await.expect("sent")).await
}

fn code(r: &Reply) -> (u16, &str) {
    (
        r.status.as_u16(),
        r.body["code"].as_str().unwrap_or_default(),
    )
}

/// Loopback, private and link-local hosts, literal or by name, are refused with 422
/// `webhook_url_not_allowed`; the operator's `LEDGERFLOW_WEBHOOK_ALLOW_PRIVATE` lets them.
async fn internal_urls_are_refused_unless_the_operator_allows_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:8080/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:192.168.1.1]/",
        "http://100.64.0.1/",
    ] {
        let r = app
            .post_to(
                "/v1/webhooks",
                json!({"url": url, "event_types": ["entry.completed"]}),
            )
            .await;
        assert_eq!(
            code(&r),
            (422, "webhook_url_not_allowed"),
            "{url}: {:?}",
            r.body
        );
    }
    for url in [
        "ftp://example.com/x",
        "not a url",
        "https://u:p@example.com/",
    ] {
        let r = app
            .post_to(
                "/v1/webhooks",
                json!({"url": url, "event_types": ["entry.completed"]}),
            )
            .await;
        assert_eq!(
            code(&r),
            (422, "invalid_webhook_url"),
            "{url}: {:?}",
            r.body
        );
    }
    let allowed = TestApp::spawn_on(app.db.clone(), fast).await;
    register(
        &allowed,
        &allowed.key,
        "http://127.0.0.1:9/hook",
        &["hold.held"],
    )
    .await;
}

/// Create, list, read, change, pause and re-enable, rotate, delete.
async fn create_list_read_change_rotate_delete(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, fast).await;
    let url = "http://127.0.0.1:9/hook";
    let types = json!(["hold.held", "entry.completed", "hold.held"]);
    let created = app
        .post_to("/v1/webhooks", json!({"url": url, "event_types": types}))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let secret = created.body["secret"].as_str().expect("a secret");
    assert!(secret.starts_with("whsec_") && secret.len() == 6 + 64);
    let deduplicated = json!(["entry.completed", "hold.held"]);
    assert_eq!(created.body["event_types"], deduplicated);
    assert_eq!(created.body["state"], "active");
    let id = created.body["id"].as_str().expect("an id").to_owned();

    let list = app.get("/v1/webhooks").await;
    let hooks = list.body["webhooks"].as_array().expect("webhooks");
    assert_eq!(hooks.len(), 1);
    assert!(hooks[0].get("secret").is_none(), "a list shows no secret");
    let path = format!("/v1/webhooks/{id}");
    let one = app.get(&path).await;
    assert_eq!((one.status.as_u16(), &one.body["url"]), (200, &json!(url)));
    assert!(one.body.get("secret").is_none());

    let patch = |body| send(&app, reqwest::Method::PATCH, &path, Some(body));
    let changed = patch(json!({"event_types": ["balance.low"]})).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["event_types"], json!(["balance.low"]));
    assert_eq!(changed.body["url"], json!(url));
    let paused = patch(json!({"state": "disabled"})).await;
    assert_eq!(paused.body["state"], "disabled");
    assert!(paused.body["disabled_reason"].is_string());
    let resumed = patch(json!({"state": "active"})).await;
    assert_eq!(resumed.body["state"], "active");
    assert!(resumed.body.get("disabled_reason").is_none());
    let page = app.get(&format!("{path}/deliveries")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["deliveries"], json!([]));
    assert_eq!(page.body["webhook_state"], "active");

    let rotated = app
        .post_to(&format!("{path}/rotate-secret"), json!({}))
        .await;
    assert_eq!(rotated.status, 200);
    assert_ne!(rotated.body["secret"].as_str(), Some(secret));
    let deleted = send(&app, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(code(&app.get(&path).await), (404, "webhook_not_found"));
    let again = send(&app, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(code(&again), (404, "webhook_not_found"));
}

/// What is wrong with a request gets its code; another app's webhook is not found.
async fn what_is_wrong_gets_its_code(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, fast).await;
    let url = "http://127.0.0.1:9/hook";
    let new = |types: Value| app.post_to("/v1/webhooks", json!({"url": url, "event_types": types}));
    assert_eq!(
        code(&new(json!(["entry.exploded"])).await),
        (422, "unknown_event_type")
    );
    assert_eq!(code(&new(json!([])).await), (422, "event_types_required"));
    assert_eq!(code(&new(json!("hold.held")).await).0, 400);
    let extra = json!({"url": url, "event_types": ["hold.held"], "x": 1});
    assert_eq!(app.post_to("/v1/webhooks", extra).await.status, 400);

    let (id, _) = register(&app, &app.key, url, &["hold.held"]).await;
    let path = format!("/v1/webhooks/{id}");
    let patch = |body| send(&app, reqwest::Method::PATCH, &path, Some(body));
    let bad_url = patch(json!({"url": "gopher://x"})).await;
    assert_eq!(code(&bad_url), (422, "invalid_webhook_url"));
    let bad_type = patch(json!({"event_types": ["nope"]})).await;
    assert_eq!(code(&bad_type), (422, "unknown_event_type"));
    assert_eq!(patch(json!({"state": "sleeping"})).await.status, 400);
    let retry = format!("{path}/deliveries/{}/retry", uuid::Uuid::new_v4());
    patch(json!({"state": "disabled"})).await;
    let disabled = app.post_to(&retry, json!({})).await;
    assert_eq!(code(&disabled), (409, "webhook_disabled"));
    patch(json!({"state": "active"})).await;
    let missing = app.post_to(&retry, json!({})).await;
    assert_eq!(code(&missing), (404, "delivery_not_found"));
    let deliveries = format!("{path}/deliveries");
    let zero = app.get(&format!("{deliveries}?limit=0")).await;
    assert_eq!(code(&zero), (400, "invalid_limit"));
    assert_eq!(
        app.get(&format!("{deliveries}?status=lost")).await.status,
        400
    );
    assert_eq!(app.get("/v1/webhooks/not-a-uuid").await.status, 400);

    // Another app's webhook is as absent as one that never existed.
    let other = app.another_key().await;
    for theirs in [&path, &deliveries] {
        let r = app.get_with(&other, theirs).await;
        assert_eq!(code(&r), (404, "webhook_not_found"), "{theirs}");
    }
    let listed = app.get_with(&other, "/v1/webhooks").await;
    assert_eq!(listed.body["webhooks"], json!([]));
}

/// What the registration checked is checked again at every connection: a webhook whose
/// name resolves to loopback by the time it is sent to (DNS rebinding, played here by
/// changing the stored URL) or whose URL names a loopback address is never sent to, and its
/// deliveries say why.
async fn a_url_turned_internal_after_registration_is_not_sent_to(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, |c| {
        fast(c);
        c.webhook_allow_private = false;
    })
    .await;
    let receiver = Receiver::ok().await;
    for (url, error) in [
        (
            format!("http://localhost:{}/hook", receiver.addr.port()),
            "no address webhooks may be sent to",
        ),
        (receiver.url(), "is not an address webhooks are sent to"),
    ] {
        let (hook, _) = register(
            &app,
            &app.key,
            "http://93.184.216.34/hook",
            &["entry.completed"],
        )
        .await;
        let id: uuid::Uuid = hook.parse().expect("an id");
        webhook::Entity::update_many()
            .col_expr(webhook::Column::Url, Expr::value(url.clone()))
            .filter(webhook::Column::Id.eq(id))
            .exec(&app.store_sql)
            .await
            .expect("the URL changed underneath");
        credit(&app, &app.key, &["alice"], 1).await;
        let path = format!("/v1/webhooks/{hook}/deliveries");
        let mut last = serde_json::Value::Null;
        for _ in 0..200 {
            last = app.get(&path).await.body["deliveries"][0]["last_error"].clone();
            if last.is_string() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let last = last.as_str().unwrap_or_default();
        assert!(last.contains(error), "{url}: {last}");
        send(
            &app,
            reqwest::Method::DELETE,
            &format!("/v1/webhooks/{hook}"),
            None,
        )
        .await;
    }
    assert!(
        receiver.received().is_empty(),
        "nothing reached the loopback receiver"
    );
}

on_both_backends!(
    internal_urls_are_refused_unless_the_operator_allows_them,
    create_list_read_change_rotate_delete,
    what_is_wrong_gets_its_code,
    a_url_turned_internal_after_registration_is_not_sent_to,
);
