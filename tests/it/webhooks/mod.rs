//! Signed webhooks, end to end: a receiver of the test's own (`receiver`) gets the app's
//! events as the service's dispatcher sends them.
//!
//! - `delivery`: retries keep each owner's order and repeat the same event; signatures;
//!   isolation between apps; a delivery given up disables its webhook; two instances send
//!   each event once.
//! - `api`: the endpoints' answers and codes, and the address policy.
//! - `kill`: a `kill -9` of the service mid-delivery loses no event.
//!
//! The events come from real entries (`credit`): each credit announces `entry.completed`.

mod api;
mod delivery;
mod kill;
mod receiver;

use crate::common::TestApp;
use entity::app_event;
use ledgerflow::config::Config;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

/// A service that sends to the test's receivers on 127.0.0.1, and fast: retries after
/// 20 ms (at most 200 ms), leases of 2 s, new events looked for every 20 ms.
pub fn fast(config: &mut Config) {
    config.webhook_allow_private = true;
    config.webhook_backoff_base_ms = 20;
    config.webhook_backoff_cap_ms = 200;
    config.webhook_lease_ms = 2_000;
    config.webhook_poll_ms = 20;
}

/// The app of `key` on `app`'s service.
pub async fn app_id(app: &TestApp, key: &str) -> Uuid {
    let found = app.ctx.apps.identify(key).await.expect("the apps");
    found.expect("a known key").app.id
}

/// Posts `n` credits of 1 with `key`, one after another, the owners taken in turn: the
/// ids of the `entry.completed` events they announced, in `seq` order.
pub async fn credit(app: &TestApp, key: &str, owners: &[&str], n: usize) -> Vec<Uuid> {
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({"operation": "CREDIT_ADD", "owner_id": owners[i % owners.len()],
            "nonce": Uuid::new_v4().to_string(), "amount": "1"});
        let r = app.post_with(key, body, &[]).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        entries.push(r.body["id"].as_str().expect("an entry id").to_owned());
    }
    events_of(&app.store_sql, &entries).await
}

/// The ids of the events the entries `entries` announced, in `seq` order.
pub async fn events_of(db: &DatabaseConnection, entries: &[String]) -> Vec<Uuid> {
    let ids: Vec<Uuid> = entries
        .iter()
        .map(|e| e.parse().expect("an entry id"))
        .collect();
    let events = app_event::Entity::find()
        .filter(app_event::Column::EntryId.is_in(ids))
        .order_by_asc(app_event::Column::Seq)
        .all(db)
        .await
        .expect("the events");
    assert_eq!(events.len(), entries.len(), "one event per entry");
    events.into_iter().map(|e| e.id).collect()
}

/// Registers a webhook of `key`'s app for `types` at `url`: its id and secret.
pub async fn register(app: &TestApp, key: &str, url: &str, types: &[&str]) -> (String, String) {
    let r = app
        .client
        .post(app.url("/v1/webhooks"))
        .bearer_auth(key)
        .json(&json!({"url": url, "event_types": types}))
        .send()
        .await
        .expect("sent");
    let r = TestApp::read(r).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("an id").to_owned();
    let secret = r.body["secret"].as_str().expect("a secret").to_owned();
    (id, secret)
}
