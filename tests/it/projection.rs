//! The projection through real NATS JetStream into a PostgreSQL read model: convergence,
//! a projector that is down, duplicate and late deliveries, a relay crash between publish
//! and delete, and NATS down at write time. Each test has its own event store, read model,
//! stream and consumer.

use crate::common::bus::{Proxy, TestBus, nats_addr};
use crate::common::{
    Backend, TestApp, TestDb, assert_ledger_consistent, assert_read_model_equals_store,
};
use entity::read;
use futures::future::join_all;
use ledgerflow::bus::EntryMessage;
use ledgerflow::config::Config;
use ledgerflow::projection::relay;
use ledgerflow::projection::verify::verify;
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The three stores of a distributed deployment, for one test.
struct Deployment {
    store: Arc<TestDb>,
    read: TestDb,
    bus: TestBus,
}

impl Deployment {
    async fn new() -> Deployment {
        Deployment {
            store: Arc::new(TestDb::new(Backend::Postgres).await),
            read: TestDb::new(Backend::Postgres).await,
            bus: TestBus::new().await,
        }
    }

    /// The configuration of one instance; `nats` is the URL it reaches NATS by.
    fn config(&self, nats: &str, projector: bool) -> Config {
        let mut config = Config::with_store(&self.store.url);
        config.read_model_url = Some(self.read.url.clone());
        self.bus.configure(&mut config, nats);
        config.projector = projector;
        config
    }

    async fn spawn(&self, projector: bool) -> TestApp {
        let config = self.config(&self.bus.url, projector);
        TestApp::spawn_on(self.store.clone(), |c| *c = config).await
    }
}

/// Posts `count` entries over `owners` owners, 16 at a time: credits, spends and transfers.
/// Returns how many were answered 201.
async fn post_many(app: &TestApp, count: usize, owners: usize, tag: &str) -> usize {
    let mut created = 0;
    let bodies: Vec<Value> = (0..count)
        .map(|i| {
            let owner = format!("owner-{}", i % owners);
            match i % 4 {
                0 | 1 => json!({"operation": "CREDIT_ADD", "owner_id": owner,
                               "nonce": format!("{tag}-{i}"), "amount": "10.00"}),
                2 => json!({"operation": "CREDIT_SPEND", "owner_id": owner,
                            "nonce": format!("{tag}-{i}"), "amount": "3.50"}),
                _ => json!({"operation": "TRANSFER", "owner_id": owner,
                            "counterparty_id": format!("owner-{}", (i + 7) % owners),
                            "nonce": format!("{tag}-{i}"), "amount": "1.25"}),
            }
        })
        .collect();
    for chunk in bodies.chunks(16) {
        let replies = join_all(chunk.iter().map(|b| app.post(b.clone()))).await;
        for r in replies {
            assert!(
                r.status == 201 || r.body["code"] == "insufficient_balance",
                "{:?}",
                r.body
            );
            created += usize::from(r.status == 201);
        }
    }
    created
}

/// The read model's accounts and counts, to compare before and after.
async fn snapshot(app: &TestApp) -> (Vec<read::account::Model>, u64, u64) {
    let conn = &app.read_sql;
    let accounts = read::account::Entity::find()
        .order_by_asc(read::account::Column::Id)
        .all(conn)
        .await
        .expect("accounts");
    let entries = read::entry::Entity::find()
        .count(conn)
        .await
        .expect("entries");
    let postings = read::posting::Entity::find()
        .count(conn)
        .await
        .expect("postings");
    (accounts, entries, postings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_entries_over_fifty_owners_converge() {
    let d = Deployment::new().await;
    let app = d.spawn(true).await;
    let created = post_many(&app, 1000, 50, "c").await;
    assert!(created > 900, "{created} of 1000 created");

    assert_ledger_consistent(&app).await; // includes verify
    let (accounts, entries, postings) = snapshot(&app).await;
    assert_eq!(entries, 1000, "failed entries are projected too");
    assert_eq!(postings, 2 * created as u64);
    assert_eq!(
        accounts.len(),
        50 + 1 + 1,
        "50 owners, @system:mint and @system:spend"
    );
    // The queries read the read model, which now answers what the event store holds.
    let owner = app.get("/v1/accounts/owner-7").await;
    let head = accounts
        .iter()
        .find(|a| a.owner_id == "owner-7")
        .expect("owner-7");
    assert_eq!(owner.body["version"], head.version);
    // An entry's own event is built from the entry as the read model holds it.
    let feed = crate::events::read_feed(&app, &app.key, 0, 200, "&owner_id=owner-7").await;
    let of_entries: Vec<&Value> = (feed.iter())
        .filter(|e| e["type"] == "entry.completed" || e["type"] == "entry.failed")
        .collect();
    assert_eq!(of_entries.len(), 20, "owner-7's 20 entries");
    for event in of_entries {
        let data = &event["data"];
        let id = data["id"].as_str().expect("an entry's id");
        let entry = app.get(&format!("/v1/entries/{id}")).await;
        for field in [
            "state",
            "amount",
            "balance_after",
            "version",
            "failure_code",
        ] {
            assert_eq!(data[field], entry.body[field], "{field} of entry {id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_go_on_while_the_projector_is_down_and_it_catches_up() {
    let d = Deployment::new().await;
    let writer = d.spawn(false).await;
    let created = post_many(&writer, 200, 20, "down").await;

    let (_, entries, _) = snapshot(&writer).await;
    assert_eq!(entries, 0, "nothing projected while no projector runs");
    let backlog = relay::backlog(&writer.store).await.expect("backlog");
    assert_eq!(backlog, 200, "the outbox holds every entry");
    let r = writer.get_now(&writer.key, "/v1/accounts/owner-1").await;
    assert_eq!(r.body["version"], 0, "{:?}", r.body);

    // A second instance with a projector starts: it relays the outbox and projects it all.
    let projector = writer
        .another_instance(&writer.key, &d.config(&d.bus.url, true))
        .await;
    projector.projected().await;
    assert_read_model_equals_store(&projector).await;
    let (_, entries, postings) = snapshot(&projector).await;
    assert_eq!((entries, postings), (200, 2 * created as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_late_deliveries_change_nothing() {
    let d = Deployment::new().await;
    let app = d.spawn(true).await;
    post_many(&app, 120, 6, "dup").await;
    app.projected().await;
    let before = snapshot(&app).await;

    // Every entry's message again, newest first, each twice, under fresh message ids so that
    // the stream's duplicate window does not drop them: the projector must.
    let ids: Vec<uuid::Uuid> = entity::entry::Entity::find()
        .order_by_desc(entity::entry::Column::CreatedAt)
        .all(&app.store_sql)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| e.id)
        .collect();
    let records = app.store.entries(&ids).await.expect("records");
    let js = d.bus.jetstream().await;
    let subject = format!("{}.entries", d.bus.subject);
    for round in 0..2 {
        for id in &ids {
            let message = EntryMessage {
                committed_at: 0,
                record: records[id].clone(),
            };
            let payload = serde_json::to_vec(&message).expect("json");
            let publish = async_nats::jetstream::message::PublishMessage::build()
                .payload(payload.into())
                .message_id(format!("{}.again.{round}", message.id()));
            js.send_publish(subject.clone(), publish)
                .await
                .expect("publish")
                .await
                .expect("ack");
        }
    }
    app.projected().await;
    assert_eq!(snapshot(&app).await, before);
    assert_read_model_equals_store(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_crashed_after_publishing_and_before_deleting_has_no_double_effect() {
    let d = Deployment::new().await;
    let writer = d.spawn(false).await;
    let created = post_many(&writer, 100, 10, "crash").await;

    // The crashed relay's half: published (and acknowledged by the stream), not deleted.
    let nats = ledgerflow::bus::Nats::connect(d.config(&d.bus.url, false).nats().expect("nats"))
        .await
        .expect("NATS");
    nats.ensure_stream().await.expect("the stream");
    let rows = relay::oldest(&writer.store, 1_000).await.expect("rows");
    let messages: i32 = rows.iter().map(|r| r.messages).sum();
    assert_eq!(
        messages, 100,
        "a message per entry, in as many rows as batches"
    );
    let carriers: Vec<(&str, &str)> = rows
        .iter()
        .flat_map(|row| EntryMessage::carriers(row, nats.max_payload()))
        .collect();
    assert_eq!(carriers.len(), rows.len(), "a bus message per row");
    assert!(nats.publish(&carriers).await.into_iter().all(|acked| acked));

    // The restarted relay publishes the same rows again, then deletes them.
    let projector = writer
        .another_instance(&writer.key, &d.config(&d.bus.url, true))
        .await;
    projector.projected().await;
    let stream = d.bus.jetstream().await.get_stream(&d.bus.stream).await;
    let state = stream
        .expect("the stream")
        .info()
        .await
        .expect("info")
        .state
        .clone();
    assert_eq!(
        state.messages,
        rows.len() as u64,
        "the stream dropped the re-published rows"
    );
    let (_, entries, postings) = snapshot(&projector).await;
    assert_eq!((entries, postings), (100, 2 * created as u64));
    assert_read_model_equals_store(&projector).await;
}

/// The relay publishes what its own process commits as the commits hand it over, without
/// reading the outbox; rows it was never handed (another instance's, here one without a
/// relay) are still read from the table and relayed while its own commits keep coming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_another_instance_left_in_the_outbox_are_relayed_while_this_one_keeps_writing() {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    let d = Deployment::new().await;
    let other = d.spawn(false).await;
    let app = other
        .another_instance(&other.key, &d.config(&d.bus.url, true))
        .await;
    let writing = AtomicBool::new(true);
    let steady = async {
        let mut rounds = 0;
        while writing.load(Ordering::Relaxed) {
            post_many(&app, 16, 8, &format!("steady-{rounds}")).await;
            rounds += 1;
        }
        rounds
    };
    let left_behind = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(post_many(&other, 40, 10, "left").await > 0);
        let ids = |rows: Vec<entity::outbox::Model>| -> HashSet<String> {
            rows.into_iter().map(|r| r.id).collect()
        };
        let left = ids(relay::oldest(&other.store, 10_000).await.expect("rows"));
        let started = std::time::Instant::now();
        let mut still = left.len();
        while still > 0 && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = ids(relay::oldest(&other.store, 10_000).await.expect("rows"));
            still = left.intersection(&now).count();
        }
        writing.store(false, Ordering::Relaxed);
        (left.len(), still)
    };
    let (rounds, (left, still)) = tokio::join!(steady, left_behind);
    assert!(left > 0, "the other instance left rows in the outbox");
    assert_eq!(
        still, 0,
        "{still} of {left} rows were still in the outbox after 10 s"
    );
    assert!(rounds > 1, "this instance kept writing meanwhile");
    app.projected().await;
    assert_read_model_equals_store(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_succeed_while_nats_is_unreachable_and_are_projected_once_it_is_back() {
    let d = Deployment::new().await;
    let proxy = Proxy::start(nats_addr(), false).await;
    let config = d.config(&proxy.url(), true);
    let app = TestApp::spawn_on(d.store.clone(), |c| *c = config).await;

    let created = post_many(&app, 100, 10, "nats-down").await;
    assert!(created > 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let backlog = relay::backlog(&app.store).await.expect("backlog");
    assert_eq!(backlog, 100, "the outbox holds what NATS could not take");
    assert_eq!(snapshot(&app).await.1, 0);

    proxy.restore();
    app.projected().await;
    assert_read_model_equals_store(&app).await;
    assert_eq!(snapshot(&app).await.1, 100);

    // And once more: NATS drops out under a live service and comes back.
    proxy.cut();
    post_many(&app, 40, 10, "nats-cut").await;
    proxy.restore();
    app.projected().await;
    assert_read_model_equals_store(&app).await;
    assert_eq!(snapshot(&app).await.1, 140);
}

/// `verify` on a live system: while entries are written and projected through NATS, every
/// run of it is clean (the read model behind, perhaps, never different from the event
/// store); once the projection has drained, the two are equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_during_load_reports_lag_and_never_a_difference() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let d = Deployment::new().await;
    let app = d.spawn(true).await;
    let done = AtomicBool::new(false);
    let (created, runs) = tokio::join!(
        async {
            let created = post_many(&app, 400, 20, "live").await;
            done.store(true, Ordering::Relaxed);
            created
        },
        async {
            let mut runs = 0;
            while !done.load(Ordering::Relaxed) {
                let report = verify(&app.store, &app.read).await.expect("verify runs");
                assert!(
                    report.is_clean(),
                    "verify mid-load: {:#?}",
                    report.differences
                );
                runs += 1;
            }
            runs
        }
    );
    assert!(
        created > 0 && runs > 0,
        "{created} entries, {runs} runs of verify"
    );
    app.projected().await;
    let report = verify(&app.store, &app.read).await.expect("verify runs");
    assert!(report.is_clean() && report.behind.is_none(), "{report:?}");
}

/// `verify` checks each app's events: numbered without a gap up to what its `event_seqs`
/// row gave, in the event store; the same rows in a read model of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_a_gap_in_an_apps_events_and_an_event_the_read_model_lost_or_changed() {
    use entity::{app_event, event_seq};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    let d = Deployment::new().await;
    let app = d.spawn(true).await;
    assert!(post_many(&app, 12, 3, "events").await > 0);
    app.projected().await;
    let report = verify(&app.store, &app.read).await.expect("verify runs");
    assert!(report.is_clean(), "{:?}", report.differences);

    // The read model: one event changed, another lost.
    read::app_event::Entity::update_many()
        .col_expr(read::app_event::Column::Data, Expr::value("{}"))
        .filter(read::app_event::Column::Seq.eq(2))
        .exec(&app.read_sql)
        .await
        .expect("damaged");
    read::app_event::Entity::delete_many()
        .filter(read::app_event::Column::Seq.eq(3))
        .exec(&app.read_sql)
        .await
        .expect("damaged");
    // The event store: a gap, and one number more given than there are events.
    app_event::Entity::delete_many()
        .filter(app_event::Column::Seq.eq(5))
        .exec(&app.store_sql)
        .await
        .expect("damaged");
    let last = event_seq::Entity::find()
        .one(&app.store_sql)
        .await
        .expect("read")
        .expect("the app's event number");
    event_seq::Entity::update_many()
        .col_expr(event_seq::Column::Seq, Expr::value(last.seq + 1))
        .exec(&app.store_sql)
        .await
        .expect("damaged");

    let report = verify(&app.store, &app.read).await.expect("verify runs");
    let text = report.differences.join("\n");
    for wanted in [
        "event 2 differs in the read model".to_owned(),
        "event 3 is missing from the read model".to_owned(),
        "event 6 follows event 4: the events have a gap".to_owned(),
        format!(
            "its last event is {}, but {} were numbered",
            last.seq,
            last.seq + 1
        ),
        "the read model has event 5, which the event store has not".to_owned(),
    ] {
        assert!(text.contains(&wanted), "{wanted:?} not in:\n{text}");
    }
}
