//! The plan of a history page on SQLite, which keeps no statistics unless asked to: where
//! the read model shares the event store's database, and where it has one of its own.

use super::*;
use crate::store::Store;
use sea_orm::{DbBackend, QueryTrait, Statement, TransactionTrait};

/// A page reads the owner's and the counterparty's history index, each in its order (so no
/// further than the page), never every entry of the app through the `(app_id, nonce)`
/// index.
#[tokio::test]
async fn a_history_page_reads_the_history_indexes_of_entries() {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}/ledger.db", dir.path().display());
    let store = Store::connect(&url).await.expect("a store");
    store.migrate().await.expect("the event store migrated");
    let read = ReadModel::sharing(&store);
    read.migrate().await.expect("the read model migrated");
    for round in 0..6 {
        let history = History {
            app_id: Uuid::now_v7(),
            owner: "alice",
            asset: (round % 2 == 0).then_some("CREDIT"),
            after: (round % 3 == 0).then(|| PageCursor {
                created_at: round,
                id: Uuid::now_v7(),
            }),
        };
        let branches = history.branches::<entry::Entity>(51);
        let indexes = [
            "ix_entries_history_owner",
            "ix_entries_history_counterparty",
        ];
        for (branch, index) in branches.into_iter().zip(indexes) {
            let plan = plan_of(&read, branch).await;
            assert!(plan.iter().any(|s| s.contains(index)), "{index}: {plan:?}");
            assert!(!plan.iter().any(|s| s.contains("nonce")), "{plan:?}");
            assert_in_index_order(&plan);
        }
    }
}

/// In a read model of its own, a page reads `rm_entries`' two history indexes, the
/// counterparty's holding only the entries that have one.
#[tokio::test]
async fn a_history_page_of_a_read_model_of_its_own_reads_its_two_indexes() {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}/read.db", dir.path().display());
    let read = ReadModel::connect(&url).await.expect("a read model");
    assert!(!read.shares_store());
    read.migrate().await.expect("the read model migrated");
    let history = History {
        app_id: Uuid::now_v7(),
        owner: "alice",
        asset: Some("CREDIT"),
        after: None,
    };
    let branches = history.branches::<rm_entry::Entity>(51);
    let indexes = ["ix_rm_entries_owner", "ix_rm_entries_with_counterparty"];
    for (branch, index) in branches.into_iter().zip(indexes) {
        let plan = plan_of(&read, branch).await;
        assert!(plan.iter().any(|s| s.contains(index)), "{index}: {plan:?}");
        assert_in_index_order(&plan);
    }
    let index: Vec<String> = read
        .conn()
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE name LIKE 'ix_rm_entries_%counterparty'",
        ))
        .await
        .expect("the index")
        .iter()
        .map(|row| row.try_get("", "sql").expect("its definition"))
        .collect();
    assert!(
        matches!(&index[..], [sql] if sql.ends_with("WHERE counterparty_id IS NOT NULL")),
        "{index:?}"
    );
}

/// The plan of `select` on SQLite.
async fn plan_of<E: EntityTrait>(read: &ReadModel, select: Select<E>) -> Vec<String> {
    let mut statement = select.build(DbBackend::Sqlite);
    statement.sql = format!("EXPLAIN QUERY PLAN {}", statement.sql);
    explain(read, statement).await
}

/// A plan that reads its index in the page's order: at most the ties of one `created_at`
/// sorted by id, never every row found sorted before the limit.
fn assert_in_index_order(plan: &[String]) {
    assert!(
        !plan.iter().any(|s| s == "USE TEMP B-TREE FOR ORDER BY"),
        "{plan:?}"
    );
}

/// The steps of an `EXPLAIN QUERY PLAN`. `EXPLAIN` does not check that the connection's
/// copy of the schema is current, as a query does: the catalog is read first, in the same
/// transaction, so that a pooled connection opened before the read model's migrations plans
/// with its indexes.
async fn explain(read: &ReadModel, statement: Statement) -> Vec<String> {
    let txn = read.conn().begin().await.expect("a transaction");
    txn.query_all_raw(Statement::from_string(
        DbBackend::Sqlite,
        "SELECT COUNT(*) FROM sqlite_master",
    ))
    .await
    .expect("the catalog");
    txn.query_all_raw(statement)
        .await
        .expect("a plan")
        .iter()
        .map(|row| row.try_get("", "detail").expect("a step"))
        .collect()
}
