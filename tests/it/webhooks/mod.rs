//! Signed webhooks, end to end: a receiver of the test's own (`receiver`) gets the app's
//! events as the service's dispatcher sends them.
//!
//! - `delivery`: retries keep each owner's order and repeat the same event; signatures;
//!   isolation between apps; a delivery given up disables its webhook.
//! - `api`: the endpoints' answers and codes, and the address policy.
//! - `kill`: a `kill -9` of the service mid-delivery loses no event.

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

/// Writes `n` events of `app_id` after its last one, the owners taken in turn, each
/// committed before the next (as the ledger commits them): their ids in `seq` order.
pub async fn emit(db: &DatabaseConnection, app_id: Uuid, owners: &[&str], n: usize) -> Vec<Uuid> {
    let last = app_event::Entity::find()
        .filter(app_event::Column::AppId.eq(app_id))
        .order_by_desc(app_event::Column::Seq)
        .one(db)
        .await
        .expect("the last event")
        .map_or(0, |e| e.seq);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = Uuid::now_v7();
        let seq = last + 1 + i as i64;
        let row = app_event::Model {
            app_id,
            seq,
            id,
            event_type: "entry.completed".to_owned(),
            owner_id: owners[i % owners.len()].to_owned(),
            occurred_at: ledgerflow::time::now_micros(),
            entry_id: Uuid::new_v4(),
            data: json!({"n": seq, "amount": "1.00"}).to_string(),
        };
        app_event::Entity::insert(sea_orm::IntoActiveModel::into_active_model(row))
            .exec_without_returning(db)
            .await
            .expect("an event");
        ids.push(id);
    }
    ids
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
