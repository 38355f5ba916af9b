//! The writer's own connection against the pool's: the same rows either way, the same
//! errors retried, and nothing left of a transaction dropped before its commit.

use crate::apps::Apps;
use crate::store::txn::WriteTxn;
use crate::store::{Inserts, Store, is_retryable};
use entity::account;
use operations::Catalog;
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter};
use uuid::Uuid;

/// A migrated SQLite store with an app, and the writer's store of it.
async fn given() -> (tempfile::TempDir, Store, Store, Uuid) {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}/ledger.db", dir.path().display());
    let store = Store::connect(&url).await.expect("a store");
    store.migrate().await.expect("migrated");
    let writer = store.writer_pool(true).await.expect("the writer's store");
    let (app, _) = Apps::new(store.clone(), Catalog::base())
        .create("app")
        .await
        .expect("an app");
    (dir, store, writer, app.id)
}

fn head(app: Uuid, owner: &str, open_holds: i32) -> account::Model {
    account::Model {
        id: Uuid::new_v4(),
        app_id: app,
        owner_id: owner.into(),
        asset: "credits".into(),
        balance: "12.50".into(),
        version: 1 << 40,
        updated_at: 1_700_000_000_000_000,
        hash: "h".into(),
        shortfall: "0".into(),
        status: "active".into(),
        open_holds,
        monitors: 0,
    }
}

async fn insert(writer: &Store, rows: &[account::Model]) -> Result<(), sea_orm::DbErr> {
    let batch = writer.begin_batch().await.expect("a transaction");
    assert!(matches!(batch.txn, WriteTxn::Direct(_)), "the writer's own");
    let mut inserts = Inserts::new(DbBackend::Sqlite);
    inserts.add::<account::Entity, _>(rows, None)?;
    batch.txn.insert(inserts).await?;
    batch
        .commit()
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))
}

#[tokio::test]
async fn rows_read_the_same_through_the_writers_connection_and_the_pool() {
    let (_dir, store, writer, app) = given().await;
    let written = vec![head(app, "alice", 3), head(app, "bob", -7)];
    insert(&writer, &written).await.expect("inserted");
    let pooled = account::Entity::find()
        .filter(account::Column::AppId.eq(app))
        .all(store.conn())
        .await
        .expect("read by the pool");
    let batch = writer.begin_batch().await.expect("a transaction");
    let select = account::Entity::find().filter(account::Column::AppId.eq(app));
    let direct = batch.txn.all(select).await.expect("read by the writer");
    for read in [pooled, direct] {
        let mut read = read;
        read.sort_by(|a, b| a.owner_id.cmp(&b.owner_id));
        assert_eq!(read, written);
    }
}

#[tokio::test]
async fn a_unique_violation_on_the_writers_connection_is_retried_and_a_bad_statement_is_not() {
    let (_dir, _store, writer, app) = given().await;
    let row = head(app, "alice", 0);
    insert(&writer, std::slice::from_ref(&row))
        .await
        .expect("the first");
    let again = insert(&writer, &[row])
        .await
        .expect_err("the same id twice");
    assert!(is_retryable(&again), "{again}");
    let batch = writer.begin_batch().await.expect("a transaction");
    let bad =
        sea_orm::Statement::from_string(DbBackend::Sqlite, "INSERT INTO no_such_table VALUES (1)");
    let e = batch.txn.execute(bad).await.expect_err("no such table");
    assert!(!is_retryable(&e), "{e}");
}

#[tokio::test]
async fn a_transaction_dropped_before_its_commit_leaves_nothing() {
    let (_dir, store, writer, app) = given().await;
    let batch = writer.begin_batch().await.expect("a transaction");
    let mut inserts = Inserts::new(DbBackend::Sqlite);
    inserts
        .add::<account::Entity, _>(&[head(app, "alice", 0)], None)
        .expect("rows");
    batch.txn.insert(inserts).await.expect("inserted");
    drop(batch);
    let found = account::Entity::find()
        .filter(account::Column::AppId.eq(app))
        .all(store.conn())
        .await
        .expect("read");
    assert!(found.is_empty(), "rolled back: {found:?}");
    insert(&writer, &[head(app, "bob", 0)])
        .await
        .expect("the next transaction begins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_waits_for_another_connections_write_lock_and_then_begins() {
    let (_dir, store, writer, _app) = given().await;
    let other = store
        .begin_write()
        .await
        .expect("the write lock, on the pool");
    let started = std::time::Instant::now();
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        other.commit().await
    });
    let batch = writer
        .begin_batch()
        .await
        .expect("begun once the lock is free");
    let waited = started.elapsed();
    release.await.expect("the task").expect("committed");
    assert!(waited >= std::time::Duration::from_millis(45), "{waited:?}");
    assert!(waited < std::time::Duration::from_millis(500), "{waited:?}");
    batch.commit().await.expect("a commit");
}
