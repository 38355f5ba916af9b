//! Holds under faults: a `kill -9` with 1,000 open holds, half of them expiring during the
//! outage; after the restart every hold ends exactly once (captured, voided, or expired by
//! one `HOLD_EXPIRY`), and `verify` is clean.

use crate::common::process::{Env, Service};
use crate::common::{Backend, TestDb};
use chrono::{SecondsFormat, Utc};
use entity::{entry, hold};
use futures::StreamExt;
use sea_orm::{ColumnTrait, Database, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const HOLDS: usize = 1_000;
const OWNERS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_a_thousand_open_holds_ends_each_exactly_once() {
    let store = TestDb::new(Backend::Postgres).await;
    let env = Env::new(&store.url);
    let key = env.create_app("holds");
    let mut service = Service::start(&env).await;
    let client = crate::common::http_client()
        .build()
        .expect("an HTTP client");
    // The same port after the restart.
    let base = service.url("");
    let post = |path: String, body: Value| {
        let req = client
            .post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body);
        async move {
            let r = req.send().await.expect("sent");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for o in 0..OWNERS {
        let body = json!({"operation": "CREDIT_ADD", "owner_id": format!("o{o}"), "nonce": format!("c{o}"), "amount": "100"});
        assert_eq!(post("/v1/entries".into(), body).await.0, 201);
    }
    // Even holds end at one instant well after they are all placed, during the outage
    // below; odd ones in ten minutes.
    let short = Utc::now() + chrono::Duration::seconds(15);
    let long = Utc::now() + chrono::Duration::seconds(600);
    let placing = futures::stream::iter(0..HOLDS).map(|i| {
        let at = if i % 2 == 0 { short } else { long };
        let at = at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let body = json!({"operation": "CREDIT_SPEND", "owner_id": format!("o{}", i % OWNERS),
            "nonce": format!("h{i}"), "amount": "1", "expires_at": at});
        let placed = post("/v1/holds".into(), body);
        async move {
            let (status, body) = placed.await;
            assert_eq!(status, 201, "{body}");
            (i, body["id"].as_str().expect("an id").to_owned())
        }
    });
    let mut ids: Vec<(usize, String)> = placing.buffer_unordered(32).collect().await;
    ids.sort();
    let db = Database::connect(store.url.as_str())
        .await
        .expect("a connection");
    let open = || {
        hold::Entity::find()
            .filter(hold::Column::Status.eq("held"))
            .count(&db)
    };
    assert_eq!(open().await.expect("counted"), HOLDS as u64);

    service.kill();
    let outage = (short - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(outage + Duration::from_millis(500)).await;
    service.restart().await;
    // The odd holds are captured (1 in 2) or voided; the even ones ran out during the
    // outage: capturing one is 409 hold_expired, and the recorder ends them.
    let ending = futures::stream::iter(ids.iter().cloned()).map(|(i, id)| {
        let (path, nonce) = match i % 4 {
            1 => (format!("/v1/holds/{id}/capture"), format!("cap{i}")),
            3 => (format!("/v1/holds/{id}/void"), format!("void{i}")),
            _ => (format!("/v1/holds/{id}/capture"), format!("late{i}")),
        };
        let ended = post(path, json!({"nonce": nonce}));
        async move {
            let (status, body) = ended.await;
            match i % 2 {
                1 => assert_eq!(status, 200, "{body}"),
                _ => assert!(status == 409 && body["code"] == "hold_expired", "{body}"),
            }
        }
    });
    ending.buffer_unordered(32).collect::<Vec<()>>().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while open().await.expect("counted") > 0 {
        assert!(
            Instant::now() < deadline,
            "holds left open after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Each hold ended once: by its capture or void, or by one HOLD_EXPIRY naming it.
    let holds = hold::Entity::find().all(&db).await.expect("holds");
    let enders: HashSet<uuid::Uuid> = holds.iter().filter_map(|h| h.closed_by).collect();
    assert_eq!(enders.len(), HOLDS, "each hold names its own ending entry");
    let expiries = entry::Entity::find()
        .filter(entry::Column::Operation.eq("HOLD_EXPIRY"))
        .all(&db)
        .await
        .expect("entries");
    assert_eq!(expiries.len(), HOLDS / 2);
    let expired: HashSet<Option<uuid::Uuid>> = expiries.iter().map(|e| e.hold_id).collect();
    assert_eq!(expired.len(), HOLDS / 2, "one HOLD_EXPIRY per expired hold");
    for h in &holds {
        let i: usize = ids
            .iter()
            .find(|(_, id)| *id == h.id.to_string())
            .map(|(i, _)| *i)
            .expect("a placed hold");
        let expected = match i % 4 {
            1 => "captured",
            3 => "voided",
            _ => "expired",
        };
        assert_eq!(h.status, expected, "hold {i}");
    }
    env.converged(Duration::from_secs(30)).await;
}
