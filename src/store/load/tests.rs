//! What every batch reads, in one statement: the heads of its accounts, each app's last
//! event number and which of its keys are unrevoked.

use crate::apps::Apps;
use crate::ledger::account::AccountStatus;
use crate::ledger::decide::{Head, Wanted};
use crate::store::{Store, TestDatabase};
use entity::{account, event_seq};
use operations::Catalog;
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Given an app with a numbered event, a revoked key, a live one and an account, and an app
/// with no event yet: a batch reads the account's head as stored (and none for an account
/// without one), the first app's number, no number for the other, and only the live key; a
/// batch that names no key reads the heads and the numbers alone.
async fn a_batch_reads_its_heads_its_apps_numbers_and_its_live_keys(url: &str) {
    let store = Store::connect(url).await.expect("a store");
    store.migrate().await.expect("migrated");
    let apps = Apps::new(store.clone(), Catalog::base());
    let (numbered, _) = apps.create("numbered").await.expect("an app");
    let (quiet, _) = apps.create("quiet").await.expect("an app");
    let revoked = apps.keys("numbered").await.expect("keys")[0].id;
    let (live, _) = apps.rotate("numbered").await.expect("a second key");
    apps.revoke("numbered", Some(revoked))
        .await
        .expect("revoked");
    let seq = event_seq::Model {
        app_id: numbered.id,
        seq: 7,
    };
    seq.into_active_model()
        .insert(store.conn())
        .await
        .expect("an event number");
    let (held, absent) = (Uuid::now_v7(), Uuid::now_v7());
    let stored = account::Model {
        id: held,
        app_id: numbered.id,
        owner_id: "alice".into(),
        asset: "coins".into(),
        balance: "12.50".into(),
        version: 3,
        updated_at: 1_700_000_000_000_123,
        hash: "ab".repeat(32),
        shortfall: "0.25".into(),
        status: "frozen".into(),
        open_holds: 2,
        monitors: 1,
    };
    stored
        .into_active_model()
        .insert(store.conn())
        .await
        .expect("a head");
    let head = Head {
        app_id: numbered.id,
        owner_id: "alice".into(),
        asset: "coins".into(),
        balance: Decimal::new(1250, 2),
        version: 3,
        updated_at: 1_700_000_000_000_123,
        hash: "ab".repeat(32),
        shortfall: Decimal::new(25, 2),
        status: AccountStatus::Frozen,
        open_holds: 2,
        monitors: 1,
    };

    let writer = store.writer_pool(true).await.expect("the writer's store");
    let read = |keys: &[Uuid]| {
        let wanted = Wanted {
            apps: [numbered.id, quiet.id].into(),
            accounts: [held, absent].into(),
            keys: keys.iter().copied().collect(),
            ..Wanted::default()
        };
        let writer = writer.clone();
        async move {
            let batch = writer.begin_batch().await.expect("a transaction");
            batch.load(&wanted).await.expect("the batch's reads")
        }
    };
    let loaded = read(&[revoked, live.id]).await;
    assert_eq!(loaded.heads, HashMap::from([(held, head.clone())]));
    assert_eq!(loaded.event_seqs, HashMap::from([(numbered.id, 7)]));
    assert_eq!(loaded.live_keys, HashSet::from([live.id]));
    let loaded = read(&[]).await;
    assert_eq!(loaded.heads, HashMap::from([(held, head)]));
    assert_eq!(loaded.event_seqs, HashMap::from([(numbered.id, 7)]));
    assert!(loaded.live_keys.is_empty());
}

#[tokio::test]
async fn a_batch_reads_its_heads_its_apps_numbers_and_its_live_keys_on_sqlite() {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}/ledger.db", dir.path().display());
    a_batch_reads_its_heads_its_apps_numbers_and_its_live_keys(&url).await;
}

#[tokio::test]
async fn a_batch_reads_its_heads_its_apps_numbers_and_its_live_keys_on_postgres() {
    let db = TestDatabase::create("lf_load").await;
    a_batch_reads_its_heads_its_apps_numbers_and_its_live_keys(&db.url).await;
    db.drop().await;
}
