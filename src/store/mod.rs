//! The event store: persistence only. It loads what the workflow asks for, writes the rows
//! the workflow decided, and reads entries and balances back; it decides nothing, and of the
//! workflow it knows only the data types. SQL on the event store's tables is written here,
//! in `projection/` (relay, rebuild, verify), `query/`, `apps` and `webhooks` (their own
//! tables): the connection ([`Store::conn`]) is visible inside the crate only.
//!
//! - [`write`]: a batch's write transaction ([`BatchWrite`]) and an async entry's claim.
//! - [`txn`]: the statements a batch runs, on the pool's transaction or the writer's own.
//! - [`load`]: what a batch reads before it is decided.
//! - [`mark`]: whether another connection committed between two of the writer's batches.
//! - [`read`]: entries, postings in order, balances at a time, pending entries.
//! - [`insert`]: multi-row inserts, one statement per batch where the database allows (row
//!   by row on the SQLite writer's own connection).
//! - [`events`]: how transitions are stored (one row per write).
//! - `lots`, `holds`: lots and holds by id, of entries, at a time, and due to expire.
//! - [`retry`]: which errors mean "run the transaction again", and the loop that does.
//! - [`backup`]: backup and restore of an embedded (SQLite) event store.
//! - [`direct`]: the SQLite batch writer's own connection, on its thread.
//! - [`limits`]: where the rate limiter's buckets are kept (beside a SQLite store's file).
//! - [`pool`]: the pools, their sizes and their connections' settings; a read-only snapshot.

mod app_events;
mod backup;
mod busy;
pub mod checkpoint;
mod direct;
pub mod events;
mod handoff;
mod holds;
mod insert;
mod limits;
mod load;
mod lots;
mod mark;
mod monitors;
mod pool;
mod read;
mod retry;
mod reversals;
#[cfg(test)]
mod test_db;
mod txn;
mod write;

pub use backup::{BackupError, restore};
pub use insert::Inserts;
pub use mark::Mark;
pub use pool::{KEYED_READS, KEYED_READS_IN_TXN, connect, snapshot};
pub use read::{Balance, entry_records, live_keys, postings_after};
pub use retry::{Attempts, is_nonce_taken, is_retryable, retrying, sqlstate};
#[cfg(test)]
pub(crate) use test_db::{TestDatabase, test_postgres_url};
pub use write::{BatchRows, BatchWrite, Claimed};

use migration::{Migrator, MigratorTrait};
use pool::{PoolRole, connect_pool};
use sea_orm::{
    AccessMode, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, IsolationLevel,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::sync::Arc;

/// Errors of the event store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("event store: {0}")]
    Db(#[from] DbErr),
    /// A batch kept conflicting with other writers for every allowed attempt.
    #[error("event store: gave up after {attempts} conflicting attempts: {last}")]
    Contended { attempts: u32, last: DbErr },
    /// A stored row that this code did not write as it is (corruption or a foreign writer).
    #[error("event store: corrupt data: {0}")]
    Corrupt(String),
    /// The batch writer's thread or runtime could not start.
    #[error("event store: batch writer: {0}")]
    Writer(String),
}

/// A handle to the event store database (cheap to clone: a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// To open another pool ([`Store::writer_pool`]).
    url: Arc<str>,
    /// Whether the pool's connections start transactions SERIALIZABLE by themselves.
    serializable: bool,
    /// The SQLite batch writer's own connection, which its batches use instead of the pool.
    direct: Option<Arc<direct::Direct>>,
    /// The batch writer's next transaction on PostgreSQL itself, begun by the last batch's
    /// commit ([`write::Carried`]); `None` in every other store.
    carried: Option<Arc<write::Carried>>,
    /// The outbox rows of every commit, handed to the relay, which need then neither poll
    /// for them nor read them back.
    handoff: Arc<handoff::Handoff>,
    /// Where the rate limiter's buckets are kept ([`limits`]).
    limits: Arc<limits::Limits>,
}

impl Store {
    pub async fn connect(url: &str) -> Result<Store, DbErr> {
        Ok(Store {
            db: connect_pool(url, PoolRole::EventStore).await?,
            url: url.into(),
            serializable: false,
            direct: None,
            carried: None,
            handoff: Arc::default(),
            limits: Arc::new(limits::Limits::of(url)),
        })
    }

    /// The same store through a pool of its own, for the batch writer (see
    /// [`connect_pool`]): its connections belong to the calling runtime; on PostgreSQL
    /// their transactions are SERIALIZABLE by default, which saves each batch the round trip
    /// of a `SET TRANSACTION`. On SQLite, with `own_connection`, the batches run on a
    /// connection of the writer's own, on the calling thread ([`direct`]).
    pub async fn writer_pool(&self, own_connection: bool) -> Result<Store, DbErr> {
        let direct = match self.backend() {
            DbBackend::Sqlite if own_connection => {
                let name = mark::name_connection();
                Some(Arc::new(direct::Direct::open(&self.url, &name)?))
            }
            _ => None,
        };
        // Asked once here, not by each new connection: CockroachDB speaks PostgreSQL's
        // protocol too.
        let postgres_itself = migration::is_postgres_itself(&self.db).await?;
        let role = PoolRole::Writer {
            keyed_reads: postgres_itself,
        };
        Ok(Store {
            db: connect_pool(&self.url, role).await?,
            url: self.url.clone(),
            serializable: true,
            direct,
            carried: postgres_itself.then(Arc::default),
            handoff: self.handoff.clone(),
            limits: self.limits.clone(),
        })
    }

    /// Waits until a transaction has written outbox rows since the last call.
    pub async fn outbox_written(&self) {
        self.handoff.written().await;
    }

    /// The outbox rows committed since the last call ([`handoff`]).
    pub(crate) fn handed_outbox(&self) -> handoff::Handed {
        self.handoff.take()
    }

    /// Hands the relay the outbox rows of a commit, and wakes it.
    fn hand_to_relay(&self, rows: Vec<entity::outbox::Model>) {
        self.handoff.hand(rows);
    }

    /// Brings the schema up to date. Run from one place at a time (sea-orm-migration takes no
    /// lock): the `migrate` command, or the start-up of a single node.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.db, None).await
    }

    /// The connection, for the modules that own SQL (see the module docs).
    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// How many of the event store's migrations are not applied yet (read only: nothing is
    /// created); an instance whose schema is behind its code must not take writes.
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        Ok(Migrator::get_pending_migrations_read_only(&self.db)
            .await?
            .len())
    }

    /// Whether the event store answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        use sea_orm::ConnectionTrait;
        self.db.execute_unprepared("SELECT 1").await?;
        Ok(())
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Opens a transaction whose writes contend only on unique keys: the database's own
    /// isolation on PostgreSQL (READ COMMITTED; CockroachDB is always SERIALIZABLE), and on
    /// SQLite an IMMEDIATE one.
    async fn begin_claim(&self) -> Result<DatabaseTransaction, DbErr> {
        match self.backend() {
            DbBackend::Sqlite => self.begin_write().await,
            _ => self.db.begin().await,
        }
    }

    /// Opens a write transaction: SERIALIZABLE on PostgreSQL and CockroachDB; on SQLite an
    /// IMMEDIATE one, which takes the single write lock up front instead of failing at the
    /// first write when another writer got there first.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = match self.backend() {
            DbBackend::Postgres if self.serializable => return self.db.begin().await,
            DbBackend::Sqlite => TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            },
            _ => TransactionOptions {
                isolation_level: Some(IsolationLevel::Serializable),
                access_mode: Some(AccessMode::ReadWrite),
                ..TransactionOptions::default()
            },
        };
        self.db.begin_with_options(options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, Statement};

    /// The batch writer's pool starts transactions SERIALIZABLE by the connection's default
    /// (one `BEGIN`, no `SET TRANSACTION`); any other pool's write transactions ask for it.
    #[tokio::test]
    async fn write_transactions_are_serializable_on_postgres() {
        let url = test_postgres_url();
        let store = Store::connect(&url).await.unwrap_or_else(|e| {
            panic!("this test needs PostgreSQL at {url} (LEDGERFLOW_TEST_POSTGRES): {e}")
        });
        let writer = store.writer_pool(true).await.expect("the writer's pool");
        for (store, seqscan) in [(writer, "off"), (store, "on")] {
            let txn = store.begin_write().await.expect("a write transaction");
            assert_eq!(show(&txn, "transaction_isolation").await, "serializable");
            // Only the writer's connections, which read by key alone, plan without
            // sequential scans (`KEYED_READS`).
            assert_eq!(show(&txn, "enable_seqscan").await, seqscan);
        }
    }

    async fn show(txn: &DatabaseTransaction, setting: &str) -> String {
        let show = Statement::from_string(DbBackend::Postgres, format!("SHOW {setting}"));
        let row = txn.query_one_raw(show).await.expect("SHOW").expect("a row");
        row.try_get("", setting).expect("a value")
    }
}
