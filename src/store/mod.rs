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
mod read;
mod retry;
mod reversals;
mod txn;
mod write;

pub use backup::{BackupError, restore};
pub use insert::Inserts;
pub use mark::Mark;
pub use read::{Balance, entry_records, live_keys, postings_after};
pub use retry::{Attempts, is_nonce_taken, is_retryable, retrying, sqlstate};
pub use write::{BatchRows, BatchWrite, Claimed};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    AccessMode, ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, IsolationLevel, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::sync::Arc;
use std::time::Duration;

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

/// Connects to `url`: `sqlite://FILE` (created if missing) or `postgres://…` (PostgreSQL or
/// CockroachDB). Used for a database apart from the event store (a read model of its own,
/// the rate buckets beside a SQLite store: [`limits`]); [`Store::connect`] for the event
/// store.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_pool(url, PoolRole::Apart).await
}

/// Whom a pool serves, which sets its size and its connections' settings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PoolRole {
    /// A database apart from the event store ([`connect`]), which checkpoints its own WAL.
    Apart,
    /// The event store, shared by the requests and the background tasks.
    EventStore,
    /// The event store's batch writer; `keyed_reads` on PostgreSQL itself.
    Writer { keyed_reads: bool },
}

/// A pool of `role`'s connections to `url`. The batch writer's: on PostgreSQL and
/// CockroachDB every connection starts its transactions SERIALIZABLE by default, so that
/// `BEGIN` alone opens one, and there are at most four: the writer runs one batch at a
/// time, but sqlx pings each connection it takes back (a round trip), and with spare ones
/// the writer's next query does not wait for that ping. On PostgreSQL itself they also
/// plan with `enable_seqscan = off` ([`KEYED_READS`]). On SQLite the writer's batches
/// run on a connection of their own ([`direct`]); its pool, of one connection, reads the
/// entries that replays answer with.
///
/// No connection to a SQLite event store checkpoints by itself (`wal_autocheckpoint = 0`):
/// the batch writer's task does ([`checkpoint`]). Otherwise every commit on a pool
/// connection (the rate limiter's lease, an async entry's claim) would copy the WAL into
/// the database file and flush it while the WAL holds over 1,000 pages, which under load is
/// always, and those writes met the writer's commits (BENCHMARKS.md, issue 17, session 19).
/// A process that never starts the writer (the CLI's commands, which write a few pages)
/// leaves them in the WAL, which is as durable as the database file, for the next server's
/// task to copy.
async fn connect_pool(url: &str, role: PoolRole) -> Result<DatabaseConnection, DbErr> {
    let for_writer = matches!(role, PoolRole::Writer { .. });
    let mut url = url.to_owned();
    let sqlite = url.starts_with("sqlite:");
    if sqlite && !url.contains("mode=") {
        url.push_str(if url.contains('?') {
            "&mode=rwc"
        } else {
            "?mode=rwc"
        });
    }
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10));
    if sqlite {
        options
            .max_connections(if for_writer { 1 } else { 8 })
            .map_sqlx_sqlite_opts(move |o| {
                use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
                // WAL lets reads run beside the writer; FULL makes every commit durable
                // before it is acknowledged, which a ledger owes its callers.
                let o = o
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full);
                match role {
                    PoolRole::Apart => o,
                    PoolRole::EventStore | PoolRole::Writer { .. } => {
                        o.pragma("wal_autocheckpoint", "0")
                    }
                }
            })
            .map_sqlx_sqlite_pool_opts(|pool| {
                pool.after_connect(|conn, _| Box::pin(busy::install(conn)))
            });
    } else {
        let most = if for_writer { 4 } else { 16 };
        options.max_connections(most).min_connections(1);
        if let PoolRole::Writer { keyed_reads } = role {
            options.test_before_acquire_if_idle_for(WRITER_PING_AFTER_IDLE);
            options.map_sqlx_postgres_pool_opts(move |pool| {
                pool.after_connect(move |conn, _| {
                    Box::pin(async move {
                        use sea_orm::sqlx::Executor as _;
                        conn.execute("SET default_transaction_isolation = 'serializable'")
                            .await?;
                        if keyed_reads {
                            conn.execute(KEYED_READS).await?;
                        }
                        Ok(())
                    })
                })
            });
        }
    }
    Database::connect(options).await
}

/// How long the batch writer's PostgreSQL connection must have sat idle before its pool
/// pings it on handing it out. Under load the writer takes a connection every few
/// milliseconds, and a ping each time would be one more round trip on the writer's chain;
/// sqlx still pings every connection it takes back, and closes one that does not answer,
/// so a connection the database dropped does not come back from a batch. Other pools
/// ping every time: after an outage their first query must not fail on a dropped
/// connection (`readiness::not_ready_while_the_event_store_does_not_answer`).
const WRITER_PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Why a connection that only reads by key plans with `enable_seqscan = off` on PostgreSQL
/// (the batch writer's, and the projector's transactions on a read model of its own).
/// PostgreSQL keeps a generic plan for a prepared statement after five runs, planned for
/// the table as it was then. A young ledger's heads table (`accounts`, `rm_accounts`) is
/// tiny when the first batches run, so the `id IN (…)` reads of a batch's heads (one
/// statement per number of heads) got plans that scan the whole table, and kept them as
/// the table grew, until an `ANALYZE` (autovacuum's, where it runs) made them plan again:
/// batch after batch read every head. Every read of these transactions is by a key or an
/// index's prefix, so a sequential scan there is always that mistake; the setting only
/// makes the planner take the index path that exists (BENCHMARKS.md, issue 17, session
/// 21). Not set on CockroachDB, whose planner and settings are its own.
pub const KEYED_READS: &str = "SET enable_seqscan = off";

/// [`KEYED_READS`] for the rest of one transaction, on a connection that serves other reads
/// too.
pub const KEYED_READS_IN_TXN: &str = "SET LOCAL enable_seqscan = off";

/// Opens a read-only transaction on `db` that sees one snapshot of the database, whatever is
/// written meanwhile: REPEATABLE READ on PostgreSQL and CockroachDB; on SQLite (WAL) a
/// transaction's reads see one snapshot by themselves. For the event store and the read
/// model alike.
pub async fn snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => db.begin().await,
        _ => {
            let level = Some(IsolationLevel::RepeatableRead);
            db.begin_with_config(level, Some(AccessMode::ReadOnly))
                .await
        }
    }
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

/// The PostgreSQL server the unit tests use, as the integration tests do:
/// `LEDGERFLOW_TEST_POSTGRES`, a URL ending in `/DATABASE`.
#[cfg(test)]
pub(crate) fn test_postgres_url() -> String {
    std::env::var("LEDGERFLOW_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database of its own on the unit tests' PostgreSQL server ([`test_postgres_url`]), for
/// a test that needs a fresh store; [`TestDatabase::drop`] removes it.
#[cfg(test)]
pub(crate) struct TestDatabase {
    admin: DatabaseConnection,
    name: String,
    pub url: String,
}

#[cfg(test)]
impl TestDatabase {
    pub async fn create(prefix: &str) -> TestDatabase {
        use sea_orm::ConnectionTrait;
        let admin_url = test_postgres_url();
        let admin = Database::connect(admin_url.as_str())
            .await
            .unwrap_or_else(|e| panic!("this test needs PostgreSQL at {admin_url}: {e}"));
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let create =
            sea_orm::Statement::from_string(DbBackend::Postgres, format!("CREATE DATABASE {name}"));
        admin.execute_raw(create).await.expect("CREATE DATABASE");
        let (server, _) = admin_url
            .rsplit_once('/')
            .expect("a URL ending in /DATABASE");
        let url = format!("{server}/{name}");
        TestDatabase { admin, name, url }
    }

    pub async fn drop(self) {
        use sea_orm::ConnectionTrait;
        let sql = format!("DROP DATABASE {} WITH (FORCE)", self.name);
        let drop = sea_orm::Statement::from_string(DbBackend::Postgres, sql);
        self.admin.execute_raw(drop).await.expect("DROP DATABASE");
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
