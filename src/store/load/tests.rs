//! What a batch reads of its apps and keys: each app's last event number and which of its
//! keys are unrevoked, read together.

use crate::apps::Apps;
use crate::ledger::decide::Wanted;
use crate::store::{Store, TestDatabase};
use entity::event_seq;
use operations::Catalog;
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Given an app with a numbered event, a revoked key and a live one, and an app with no
/// event yet: a batch reads the first app's number, no number for the other, and only the
/// live key; a batch that names no key reads the numbers alone.
async fn a_batch_reads_its_apps_numbers_and_its_live_keys(url: &str) {
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

    let writer = store.writer_pool(true).await.expect("the writer's store");
    let read = |keys: &[Uuid]| {
        let wanted = Wanted {
            apps: [numbered.id, quiet.id].into(),
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
    assert_eq!(loaded.event_seqs, HashMap::from([(numbered.id, 7)]));
    assert_eq!(loaded.live_keys, HashSet::from([live.id]));
    let loaded = read(&[]).await;
    assert_eq!(loaded.event_seqs, HashMap::from([(numbered.id, 7)]));
    assert!(loaded.live_keys.is_empty());
}

#[tokio::test]
async fn a_batch_reads_its_apps_numbers_and_its_live_keys_on_sqlite() {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}/ledger.db", dir.path().display());
    a_batch_reads_its_apps_numbers_and_its_live_keys(&url).await;
}

#[tokio::test]
async fn a_batch_reads_its_apps_numbers_and_its_live_keys_on_postgres() {
    let db = TestDatabase::create("lf_load").await;
    a_batch_reads_its_apps_numbers_and_its_live_keys(&db.url).await;
    db.drop().await;
}
