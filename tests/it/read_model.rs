//! What users see of the read model: read-your-writes with `min_version`, a clear 503 when
//! it is behind, `/metrics`, parked messages, and `rebuild` and `verify` on a damaged read
//! model.

use crate::common::bus::TestBus;
use crate::common::{Backend, TestApp, TestDb, assert_read_model_equals_store};
use entity::read;
use futures::future::join_all;
use indicatif::ProgressBar;
use ledgerflow::projection::{Projector, rebuild, relay, verify};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, Statement};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

on_both_backends!(
    waits_are_bounded,
    embedded_writes_are_projected_in_their_own_transaction,
    min_version_reads_your_write,
    a_read_model_that_stays_behind_answers_503,
    rebuild_repairs_what_verify_finds,
    an_embedded_rebuild_copies_nothing_and_keeps_the_histories,
);

/// With the read model in the event store's database, what it shows is the event store's
/// own rows (views, and its `entries` table), whatever the instance's `projector` says:
/// every answered write is readable at once, and nothing waits in the outbox.
async fn embedded_writes_are_projected_in_their_own_transaction(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    let app = TestApp::spawn_on(db, |c| c.projector = false).await;
    assert!(app.read.shares_store());
    // Each fact is written once: what the event store has, the read model shows by views.
    for name in [
        "rm_accounts",
        "rm_postings",
        "rm_lots",
        "rm_holds",
        "rm_reversals",
        "rm_app_events",
    ] {
        assert_eq!(
            kind_of(&app.read_sql, name).await.as_deref(),
            Some("view"),
            "{name}"
        );
    }
    // Its entries are the event store's: no table repeats them.
    assert_eq!(kind_of(&app.read_sql, "rm_entries").await, None);
    for i in 0..3 {
        let body = json!({"operation": "CREDIT_ADD", "owner_id": "now",
                          "nonce": format!("n{i}"), "amount": "1.00"});
        assert_eq!(app.post(body).await.status, 201);
        let history = app.get_now(&app.key, "/v1/accounts/now/entries").await;
        assert_eq!(
            history.body["entries"].as_array().map(Vec::len),
            Some(i + 1),
            "{:?}",
            history.body
        );
    }
    assert_eq!(relay::backlog(&app.store).await.expect("backlog"), 0);
    let balance = app.get_now(&app.key, "/v1/accounts/now").await;
    assert_eq!(
        (&balance.body["balance"], &balance.body["version"]),
        (&json!("3.00"), &json!(3))
    );
    assert_read_model_equals_store(&app).await;
}

/// Sharing the event store's database, `rebuild` undoes every read-model migration and
/// applies them again (the history indexes of `entries` dropped, `rm_entries` made again,
/// then dropped again): nothing is copied, and the histories read as before.
async fn an_embedded_rebuild_copies_nothing_and_keeps_the_histories(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert!(app.read.shares_store());
    for (i, body) in [
        json!({"operation": "CREDIT_ADD", "owner_id": "ann", "nonce": "r1", "amount": "5.00"}),
        json!({"operation": "TRANSFER", "owner_id": "ann", "counterparty_id": "ben",
               "nonce": "r2", "amount": "2.00"}),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(app.post(body).await.status, 201, "entry {i}");
    }
    let histories = || async {
        let mut listed = Vec::new();
        for owner in ["ann", "ben"] {
            let page = app
                .get_now(&app.key, &format!("/v1/accounts/{owner}/entries"))
                .await;
            let nonces: Vec<String> = page.body["entries"]
                .as_array()
                .map(|entries| {
                    entries
                        .iter()
                        .filter_map(|e| e["nonce"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            listed.push(nonces);
        }
        listed
    };
    let before = histories().await;
    assert_eq!(before, [vec!["r2", "r1"], vec!["r2"]]);

    let done = rebuild::rebuild(&app.store, &app.read, &ProgressBar::hidden())
        .await
        .expect("rebuild");
    assert_eq!((done.entries, done.postings), (0, 0));
    assert_eq!(kind_of(&app.read_sql, "rm_entries").await, None);
    assert_eq!(
        kind_of(&app.read_sql, "rm_postings").await.as_deref(),
        Some("view")
    );
    assert_eq!(histories().await, before);
    assert_read_model_equals_store(&app).await;
}

/// Whether `name` is a table or a view in the database of `db` (`None`: neither).
async fn kind_of(db: &sea_orm::DatabaseConnection, name: &str) -> Option<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => {
            format!("SELECT type AS kind FROM sqlite_master WHERE name = '{name}'")
        }
        _ => format!(
            "SELECT CASE table_type WHEN 'VIEW' THEN 'view' ELSE 'table' END AS kind \
             FROM information_schema.tables WHERE table_name = '{name}'"
        ),
    };
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("the catalog")?;
    Some(row.try_get("", "kind").expect("a kind"))
}

async fn min_version_reads_your_write(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 0..5 {
        let r = app
            .post(
                json!({"operation": "CREDIT_ADD", "owner_id": "ryw", "nonce": format!("n{i}"),
                         "amount": "2.00"}),
            )
            .await;
        assert_eq!(r.status, 201);
        let version = r.body["version"].as_i64().expect("a version");
        // Straight after the write, without waiting for the projection first.
        let read = app
            .get_now(&app.key, &format!("/v1/accounts/ryw?min_version={version}"))
            .await;
        assert_eq!(read.status, 200, "{:?}", read.body);
        assert!(read.body["version"].as_i64() >= Some(version));
        assert_eq!(read.body["balance"], format!("{}.00", 2 * (i + 1)));
        let history = app
            .get_now(
                &app.key,
                &format!("/v1/accounts/ryw/entries?min_version={version}"),
            )
            .await;
        assert_eq!(
            history.body["entries"].as_array().map(Vec::len),
            Some(i + 1)
        );
    }
}

async fn a_read_model_that_stays_behind_answers_503(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    // Only a read model of its own can trail the event store.
    let read_db = TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| {
        c.read_model_url = Some(read_db.url.clone());
        c.projector = false;
        c.read_wait_ms = 200;
    })
    .await;
    let r = app
        .post(
            json!({"operation": "CREDIT_ADD", "owner_id": "late", "nonce": "l1", "amount": "1.00"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let read = app
        .get_now(&app.key, "/v1/accounts/late?min_version=1")
        .await;
    assert_eq!(read.status, 503);
    assert_eq!(read.body["code"], "read_model_behind");
    assert_eq!(read.content_type, "application/problem+json");
    // Without min_version the read answers what the read model has: nothing yet.
    let read = app.get_now(&app.key, "/v1/accounts/late").await;
    assert_eq!(
        (read.status.as_u16(), read.body["version"].as_i64()),
        (200, Some(0))
    );
    // An entry not projected yet is still found, in the event store.
    let id = r.body["id"].as_str().expect("an id");
    let entry = app.get_now(&app.key, &format!("/v1/entries/{id}")).await;
    assert_eq!(entry.status, 200);
    assert_eq!(entry.body["state"], "completed");
}

/// A version the event store does not have is refused at once (it can never arrive), and an
/// app may hold only so many waiting reads; past them a read is refused at once too.
async fn waits_are_bounded(backend: Backend) {
    let db = Arc::new(TestDb::new(backend).await);
    // Only a read model of its own can trail the event store.
    let read_db = TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| {
        c.read_model_url = Some(read_db.url.clone());
        c.projector = false;
        c.read_wait_ms = 1_000;
        c.max_held_reads = 2;
    })
    .await;
    let body = json!({"operation": "CREDIT_ADD", "owner_id": "w", "nonce": "w1", "amount": "1.00"});
    assert_eq!(app.post(body).await.status, 201);

    let started = std::time::Instant::now();
    for path in [
        "/v1/accounts/w?min_version=2",
        "/v1/accounts/w/entries?min_version=7",
    ] {
        let r = app.get_now(&app.key, path).await;
        assert_eq!(r.status, 409, "{path}: {:?}", r.body);
        assert_eq!(r.body["code"], "version_not_found", "{path}");
    }
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "answered at once"
    );

    // Version 1 exists but is not projected (no projector): reads of it wait, two at most.
    let reads = (0..5).map(|_| app.get_now(&app.key, "/v1/accounts/w?min_version=1"));
    let answers = join_all(reads).await;
    let (waited, refused): (Vec<_>, Vec<_>) = answers
        .iter()
        .partition(|r| r.body["detail"].as_str().unwrap_or("").contains("not yet"));
    assert_eq!((waited.len(), refused.len()), (2, 3), "{answers:?}");
    for r in &answers {
        assert_eq!(
            (r.status.as_u16(), &r.body["code"]),
            (503, &json!("read_model_behind"))
        );
    }
    assert!(refused.iter().all(|r| {
        r.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("waiting for the read model already")
    }));
}

/// A read that waits for a version is woken when another instance's projector commits it
/// (PostgreSQL's NOTIFY), well before it would look again on its own (once a second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_read_is_woken_by_another_instances_projection() {
    let db = Arc::new(TestDb::new(Backend::Postgres).await);
    // Only a read model of its own can trail the event store.
    let read_db = TestDb::new(Backend::Postgres).await;
    let app = TestApp::spawn_on(db.clone(), |c| {
        c.read_model_url = Some(read_db.url.clone());
        c.projector = false;
        c.read_wait_ms = 5_000;
    })
    .await;
    let body = json!({"operation": "CREDIT_ADD", "owner_id": "z", "nonce": "z1", "amount": "1.00"});
    assert_eq!(app.post(body).await.status, 201);

    let (read, projected_at) = tokio::join!(
        async {
            let r = app.get_now(&app.key, "/v1/accounts/z?min_version=1").await;
            (r, std::time::Instant::now())
        },
        async {
            // Another instance: a read model handle and a projector of its own.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let other = ledgerflow::query::ReadModel::connect(&read_db.url)
                .await
                .expect("the read model");
            let metrics = Arc::new(ledgerflow::metrics::Metrics::default());
            let sink = relay::Sink::InProcess(Projector::new(other, metrics, "other"));
            while relay::backlog(&app.store).await.expect("backlog") > 0 {
                relay::relay_once(&app.store, &sink).await.expect("relay");
            }
            std::time::Instant::now()
        }
    );
    let (r, answered_at) = read;
    assert_eq!(
        (r.status.as_u16(), &r.body["version"]),
        (200, &json!(1)),
        "{:?}",
        r.body
    );
    let after = answered_at.saturating_duration_since(projected_at);
    assert!(
        after < Duration::from_millis(400),
        "answered {after:?} after the projection"
    );
}

async fn rebuild_repairs_what_verify_finds(backend: Backend) {
    // A read model of its own: in the event store's database, its accounts are the event
    // store's (`cli::verify_exits_non_zero_on_a_difference_and_rebuild_repairs_it` damages
    // that one).
    let db = Arc::new(TestDb::new(backend).await);
    let read_db = TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| c.read_model_url = Some(read_db.url.clone())).await;
    assert!(!app.read.shares_store());
    assert_eq!(
        kind_of(&app.read_sql, "rm_accounts").await.as_deref(),
        Some("table")
    );
    for i in 0..30 {
        let r = app
            .post(
                json!({"operation": "CREDIT_ADD", "owner_id": format!("o{}", i % 3),
                         "nonce": format!("r{i}"), "amount": "1.50"}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    assert_read_model_equals_store(&app).await;

    // Damage the read model: a wrong balance and a lost entry.
    let conn = &app.read_sql;
    conn.execute_unprepared("UPDATE rm_accounts SET balance = '999.00' WHERE owner_id = 'o1'")
        .await
        .expect("update");
    let victim = read::entry::Entity::find()
        .one(conn)
        .await
        .expect("read")
        .expect("an entry");
    read::entry::Entity::delete_by_id(victim.id)
        .exec(conn)
        .await
        .expect("delete");

    let report = verify::verify(&app.store, &app.read).await.expect("verify");
    assert!(!report.is_clean());
    let text = report.differences.join("\n");
    assert!(text.contains("\"o1\"") && text.contains("999"), "{text}");
    assert!(
        text.contains("entries: 30 in the event store, 29 in the read model"),
        "{text}"
    );

    let done = rebuild::rebuild(&app.store, &app.read, &ProgressBar::hidden())
        .await
        .expect("rebuild");
    assert_eq!((done.entries, done.postings), (30, 60));
    assert_read_model_equals_store(&app).await;
    let count = read::entry::Entity::find()
        .count(conn)
        .await
        .expect("count");
    assert_eq!(count, 30);
    assert_eq!(app.balance("o1").await, "15.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_lag_backlog_pending_and_batches() {
    let bus = TestBus::new().await;
    let db = Arc::new(TestDb::new(Backend::Postgres).await);
    let app = TestApp::spawn_on(db, |c| bus.configure(c, &bus.url.clone())).await;
    for i in 0..20 {
        app.post(
            json!({"operation": "CREDIT_ADD", "owner_id": "m", "nonce": format!("m{i}"),
                        "amount": "1.00"}),
        )
        .await;
    }
    app.projected().await;
    let text = app.metrics().await;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .to_owned()
    };
    assert_eq!(value("ledgerflow_projection_lag_seconds_count"), "20");
    assert_eq!(value("ledgerflow_projected_messages_total"), "20");
    assert_eq!(value("ledgerflow_outbox_backlog"), "0");
    assert_eq!(value("ledgerflow_consumer_pending"), "0");
    assert_eq!(value("ledgerflow_parked_messages_total"), "0");
    // One request at a time: twenty batches of one command each.
    assert_eq!(value("ledgerflow_batch_commands_count"), "20");
    assert_eq!(value("ledgerflow_batch_commands_sum"), "20.0");
    assert_eq!(value("ledgerflow_batch_seconds_count"), "20");
    assert!(
        text.contains("ledgerflow_projection_lag_seconds_bucket{le=\"0.1\"}"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_can_never_be_applied_is_parked_not_dropped_and_not_blocking() {
    let bus = TestBus::new().await;
    let db = Arc::new(TestDb::new(Backend::Postgres).await);
    let app = TestApp::spawn_on(db, |c| bus.configure(c, &bus.url.clone())).await;
    app.post(json!({"operation": "CREDIT_ADD", "owner_id": "p", "nonce": "p1", "amount": "1.00"}))
        .await;
    app.projected().await;

    let js = bus.jetstream().await;
    let garbage = async_nats::jetstream::message::PublishMessage::build()
        .payload("{\"not\": \"an entry\"}".into())
        .message_id("garbage-1");
    js.send_publish(format!("{}.entries", bus.subject), garbage)
        .await
        .expect("publish")
        .await
        .expect("ack");
    app.post(json!({"operation": "CREDIT_ADD", "owner_id": "p", "nonce": "p2", "amount": "1.00"}))
        .await;
    app.projected().await;

    let parked = read::parked::Entity::find()
        .all(&app.read_sql)
        .await
        .expect("parked");
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].message_id, "garbage-1");
    assert!(
        parked[0].reason.starts_with("undecodable"),
        "{}",
        parked[0].reason
    );
    assert_eq!(parked[0].payload, "{\"not\": \"an entry\"}");
    assert_eq!(app.ctx.metrics.parked.get(), 1);
    assert_eq!(app.balance("p").await, "2.00");
    assert_read_model_equals_store(&app).await;
}
