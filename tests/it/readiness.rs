//! `/readyz`: ready when the event store answers, its migrations are applied and the writer
//! runs; the read model and the bus are reported and do not decide it. `/healthz` is
//! liveness.

use crate::common::bus::{Proxy, TestBus};
use crate::common::{Backend, TestApp, TestDb};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::sync::Arc;

async fn readyz(app: &TestApp) -> (u16, Value) {
    let r = app.get_now("", "/readyz").await;
    (r.status.as_u16(), r.body)
}

/// A PostgreSQL database of the test's own, reached through a proxy that can be cut.
async fn behind_proxy(db: &TestDb) -> (Proxy, String) {
    let proxy = Proxy::start("127.0.0.1:5432".to_owned(), true).await;
    let url = db
        .url
        .replacen("127.0.0.1:5432", &proxy.addr.to_string(), 1);
    (proxy, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_when_the_event_store_answers_is_migrated_and_the_writer_runs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    let expected = json!({"ready": true, "event_store": "ok", "migrations": "current",
                          "writer": "running", "read_model": "ok", "bus": "in-process"});
    assert_eq!(body, expected);
    assert_eq!(app.get_now("", "/healthz").await.status, 200);

    // An instance whose schema is behind its code takes no writes.
    app.store_sql
        .execute_unprepared(
            "DELETE FROM seaql_migrations WHERE version = \
             (SELECT MAX(version) FROM seaql_migrations)",
        )
        .await
        .expect("a migration forgotten");
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        (&body["ready"], &body["migrations"]),
        (&json!(false), &json!("1 pending"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_model_and_the_bus_are_reported_and_do_not_decide() {
    let store = Arc::new(TestDb::new(Backend::Postgres).await);
    let read = TestDb::new(Backend::Postgres).await;
    let (read_proxy, read_url) = behind_proxy(&read).await;
    let bus = TestBus::new().await;
    let nats = Proxy::start(crate::common::bus::nats_addr(), false).await;
    let app = TestApp::spawn_on(store, |c| {
        c.read_model_url = Some(read_url);
        bus.configure(c, &nats.url());
    })
    .await;
    read_proxy.cut();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true, "{body}");
    let read_model = body["read_model"].as_str().unwrap_or_default();
    assert!(read_model.starts_with("unavailable: "), "{body}");
    assert!(
        ["connecting", "disconnected"].contains(&body["bus"].as_str().unwrap_or_default()),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_while_the_event_store_does_not_answer() {
    let db = Arc::new(TestDb::new(Backend::Postgres).await);
    let (proxy, url) = behind_proxy(&db).await;
    let app = TestApp::spawn_on(db, |c| c.event_store_url = url).await;
    assert_eq!(readyz(&app).await.0, 200);
    proxy.cut();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false, "{body}");
    let event_store = body["event_store"].as_str().unwrap_or_default();
    assert!(event_store.starts_with("unavailable: "), "{body}");
    proxy.restore();
    assert_eq!(
        readyz(&app).await.0,
        200,
        "ready again once the event store answers"
    );
}
