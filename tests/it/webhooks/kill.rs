//! A `kill -9` of the service while it delivers loses no event: the deliveries and the
//! cursor are in the event store, and the restarted service (a new instance, which waits
//! for the dead one's lease to lapse) sends whatever was not answered 2xx.

use super::events_of;
use super::receiver::{Receiver, delivered};
use crate::common::process::{Env, Service};
use crate::common::{Backend, TestDb};
use entity::webhook_delivery;
use sea_orm::{
    ColumnTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const EVENTS: usize = 60;

/// POSTs `body` to `path` of `service` with `key`; the answer's body, after checking its
/// status.
async fn post(service: &Service, key: &str, path: &str, body: Value, status: u16) -> Value {
    let r = crate::common::http_client()
        .build()
        .expect("an HTTP client")
        .post(service.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), status, "{path}");
    r.json().await.expect("a JSON body")
}

/// Waits until no delivery is left other than delivered (the last answers' records may
/// trail the receiver by a moment).
async fn all_recorded_delivered(db: &DatabaseConnection) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.ne("delivered"))
            .count(db)
            .await
            .expect("deliveries");
        if left == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{left} deliveries are not recorded as delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

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
    // Slow enough that the kill comes while deliveries are under way: each owner's 20
    // events take 2 s at least.
    let receiver = Receiver::start(|_| 200, Duration::from_millis(100)).await;
    let hook = json!({"url": receiver.url(), "event_types": ["entry.completed"]});
    post(&service, &key, "/v1/webhooks", hook, 201).await;
    let owners = ["alice", "bob", "carol"];
    let mut entries = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let body = json!({"operation": "CREDIT_ADD", "owner_id": owners[i % owners.len()],
            "nonce": format!("n{i}"), "amount": "1"});
        let entry = post(&service, &key, "/v1/entries", body, 201).await;
        entries.push(entry["id"].as_str().expect("an id").to_owned());
    }
    let db = Database::connect(store.url.as_str())
        .await
        .expect("a connection");
    let ids: HashSet<String> = events_of(&db, &entries)
        .await
        .iter()
        .map(ToString::to_string)
        .collect();
    receiver
        .until(Duration::from_secs(30), |got| delivered(got).len() >= 5)
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
    all_recorded_delivered(&db).await;
}
