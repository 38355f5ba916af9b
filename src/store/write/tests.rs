//! The batch writer's transactions on PostgreSQL: each commit begins the next batch's in the
//! same round trip, and a commit that fails leaves none behind.

use crate::store::{Store, TestDatabase};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

fn sql(text: &str) -> Statement {
    Statement::from_string(DbBackend::Postgres, text.to_owned())
}

/// The one number `text` selects, read on another connection than the writer's.
async fn number(store: &Store, text: &str) -> i64 {
    let row = store.conn().query_one_raw(sql(text)).await.expect(text);
    row.expect("a row").try_get("", "n").expect("a number")
}

/// Sessions of the test's database that have begun a transaction and sit idle in it.
async fn idle_in_transaction(store: &Store) -> i64 {
    let idle = "SELECT count(*) AS n FROM pg_stat_activity \
                WHERE datname = current_database() AND state = 'idle in transaction'";
    number(store, idle).await
}

async fn written(store: &Store) -> i64 {
    number(store, "SELECT count(*) AS n FROM written").await
}

/// A fresh database with the table `written` made by `ddl`, its store, and the batch
/// writer's store on it.
async fn given(ddl: &str) -> (TestDatabase, Store, Store) {
    let db = TestDatabase::create("lf_carry").await;
    let store = Store::connect(&db.url).await.expect("a store");
    store.conn().execute_raw(sql(ddl)).await.expect("a table");
    let writer = store.writer_pool(true).await.expect("the writer's store");
    (db, store, writer)
}

/// Given the writer's store: a batch's commit makes its rows visible to other connections
/// and leaves one transaction begun, which the next batch takes instead of beginning its
/// own (still one open after that batch's commit, not two), and which `end_carried` rolls
/// back.
#[tokio::test]
async fn a_commit_begins_the_next_batchs_transaction_on_postgres() {
    let (db, store, writer) = given("CREATE TABLE written (x int)").await;
    for x in 1..=2 {
        let batch = writer.begin_batch().await.expect("a batch");
        let insert = format!("INSERT INTO written VALUES ({x})");
        batch.txn.execute(sql(&insert)).await.expect("a row");
        batch.commit().await.expect("committed");
        assert_eq!(written(&store).await, x);
        assert_eq!(idle_in_transaction(&store).await, 1);
    }
    writer.end_carried().await;
    assert_eq!(idle_in_transaction(&store).await, 0);
    db.drop().await;
}

/// Given a batch whose commit fails (a deferred unique check, which PostgreSQL runs at
/// `COMMIT`): the commit answers the error, none of the batch's rows are kept, no
/// transaction is left begun, and the next batch begins its own and commits.
#[tokio::test]
async fn a_failed_commit_leaves_no_transaction_begun_on_postgres() {
    let ddl = "CREATE TABLE written (x int UNIQUE DEFERRABLE INITIALLY DEFERRED)";
    let (db, store, writer) = given(ddl).await;
    let batch = writer.begin_batch().await.expect("a batch");
    let twice = "INSERT INTO written VALUES (1), (1)";
    batch
        .txn
        .execute(sql(twice))
        .await
        .expect("checked at the commit");
    let failed = batch
        .commit()
        .await
        .expect_err("a unique violation at COMMIT");
    assert!(failed.to_string().contains("unique"), "{failed}");
    assert_eq!(written(&store).await, 0);
    assert_eq!(idle_in_transaction(&store).await, 0);
    let batch = writer.begin_batch().await.expect("a batch");
    let once = "INSERT INTO written VALUES (2)";
    batch.txn.execute(sql(once)).await.expect("a row");
    batch.commit().await.expect("committed");
    assert_eq!(written(&store).await, 1);
    db.drop().await;
}
