//! Expiries under faults: a `kill -9` while the recorder records, and a restart that
//! records the rest; each lot's expiry is one `EXPIRY` entry.

use crate::common::process::{Env, Service};
use crate::common::{Backend, TestDb};
use chrono::{SecondsFormat, Utc};
use entity::{allocation, entry, lot};
use futures::StreamExt;
use sea_orm::{
    ColumnTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const LOTS: usize = 3_000;

async fn expired(db: &DatabaseConnection) -> u64 {
    lot::Entity::find()
        .filter(lot::Column::Status.eq("expired"))
        .count(db)
        .await
        .expect("lots counted")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_expiries_are_recorded_records_each_once() {
    let store = TestDb::new(Backend::Postgres).await;
    let env = Env::new(&store.url);
    let key = env.create_app("expiries");
    // The writer records none: the recorder below is the only one.
    let writer = Service::start(&env.clone().with("LEDGERFLOW_RECORD_EXPIRIES", "false")).await;
    // Each lot expires a few seconds after it is posted, however slow the posting is:
    // by the time the last lot is due, the recorder has a backlog of the others.
    let client = crate::common::http_client()
        .build()
        .expect("an HTTP client");
    let posts = futures::stream::iter(0..LOTS).map(|i| {
        let (client, url, key) = (&client, writer.url("/v1/entries"), &key);
        async move {
            let at = (Utc::now() + chrono::Duration::seconds(5))
                .to_rfc3339_opts(SecondsFormat::Micros, true);
            let body = json!({"operation": "CREDIT_ADD", "owner_id": format!("o{}", i % 50), "nonce": format!("g{i}"), "amount": "2", "expires_at": at});
            let r = client.post(url).bearer_auth(key).json(&body).send().await.expect("sent");
            let status = r.status();
            assert_eq!(status, 201, "{}", r.text().await.unwrap_or_default());
        }
    });
    posts.buffer_unordered(32).collect::<Vec<()>>().await;

    let db = Database::connect(store.url.as_str())
        .await
        .expect("a connection");
    let mut recorder = Service::start(&env).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut at_kill = expired(&db).await;
    while at_kill == 0 {
        assert!(Instant::now() < deadline, "no expiry was recorded");
        tokio::time::sleep(Duration::from_millis(2)).await;
        at_kill = expired(&db).await;
    }
    recorder.kill();
    let at_kill = expired(&db).await;
    assert!(
        (at_kill as usize) < LOTS,
        "the kill came while expiries were being recorded ({at_kill} of {LOTS} recorded)"
    );

    recorder.restart().await;
    while (expired(&db).await as usize) < LOTS {
        assert!(
            Instant::now() < deadline,
            "not every expiry was recorded after the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each lot's expiry is one EXPIRY entry, which drew from that lot alone.
    let expiries: Vec<uuid::Uuid> = entry::Entity::find()
        .filter(entry::Column::Operation.eq("EXPIRY"))
        .all(&db)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(expiries.len(), LOTS);
    let mut per_lot: HashMap<uuid::Uuid, usize> = HashMap::new();
    for a in allocation::Entity::find()
        .filter(allocation::Column::EntryId.is_in(expiries))
        .all(&db)
        .await
        .expect("allocations")
    {
        *per_lot.entry(a.lot_id).or_default() += 1;
    }
    assert_eq!(per_lot.len(), LOTS);
    assert!(per_lot.values().all(|n| *n == 1));
    env.converged(Duration::from_secs(30)).await;
    drop(writer);
}
