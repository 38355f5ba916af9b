//! A `kill -9` of the service while it delivers loses no event: the deliveries and the
//! cursor are in the event store, and the restarted service (a new instance, which waits
//! for the dead one's lease to lapse) sends whatever was not answered 2xx.

use super::events_of;
use super::receiver::{Receiver, delivered};
use crate::common::process::{Env, Service};
use crate::common::{Backend, TestDb};
use entity::webhook_delivery;
use sea_orm::{ColumnTrait, Database, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

const EVENTS: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_delivery_loses_no_event() {
    let store = TestDb::new(Backend::Postgres).await;
    let env = Env::new(&store.url)
        .with("LEDGERFLOW_WEBHOOK_ALLOW_PRIVATE", "true")
        .with("LEDGERFLOW_WEBHOOK_LEASE_MS", "1500")
        .with("LEDGERFLOW_WEBHOOK_POLL_MS", "20")
        .with("LEDGERFLOW_WEBHOOK_BACKOFF_BASE_MS", "20")
        .with("LEDGERFLOW_WEBHOOK_BACKOFF_CAP_MS", "200");
    let key = env.create_app("hooks");
    let mut service = Service::start(&env).await;
    // Slow enough that the kill comes while deliveries are under way.
    let receiver = Receiver::start(|_| 200, Duration::from_millis(40)).await;
    let client = reqwest::Client::new();
    let created = client
        .post(service.url("/v1/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": receiver.url(), "event_types": ["entry.completed"]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        created.status(),
        201,
        "{}",
        created.text().await.unwrap_or_default()
    );

    let db = Database::connect(store.url.as_str())
        .await
        .expect("a connection");
    let owners = ["alice", "bob", "carol"];
    let mut entries = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let body = json!({"operation": "CREDIT_ADD", "owner_id": owners[i % owners.len()],
            "nonce": format!("n{i}"), "amount": "1"});
        let r = client
            .post(service.url("/v1/entries"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 201);
        let entry: serde_json::Value = r.json().await.expect("an entry");
        entries.push(entry["id"].as_str().expect("an id").to_owned());
    }
    let ids: HashSet<String> = events_of(&db, &entries)
        .await
        .iter()
        .map(ToString::to_string)
        .collect();
    receiver
        .until(Duration::from_secs(30), |got| delivered(got).len() >= 10)
        .await;
    service.kill();
    let at_kill = delivered(&receiver.received()).len();
    assert!(
        at_kill < EVENTS,
        "the kill came mid-delivery ({at_kill} of {EVENTS} delivered)"
    );

    service.restart().await;
    let got = receiver
        .until(Duration::from_secs(60), |got| delivered(got) == ids)
        .await;
    assert_eq!(
        delivered(&got),
        ids,
        "every event arrived after the restart"
    );
    // The last answers' records may trail the receiver by a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.ne("delivered"))
            .count(&db)
            .await
            .expect("deliveries");
        if left == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{left} deliveries are not recorded as delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
