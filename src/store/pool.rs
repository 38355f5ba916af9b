//! The event store's pools: how many connections each role gets, and the settings its
//! connections start with (SQLite's journal and checkpoints, PostgreSQL's isolation and
//! keyed plans); and a read-only snapshot of either database.

use super::busy;
use sea_orm::{
    AccessMode, ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, IsolationLevel, TransactionTrait,
};
use std::time::Duration;

/// Connects to `url`: `sqlite://FILE` (created if missing) or `postgres://…` (PostgreSQL or
/// CockroachDB). Used for a database apart from the event store (a read model of its own,
/// the rate buckets beside a SQLite store: [`super::limits`]); [`super::Store::connect`]
/// for the event store.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_pool(url, PoolRole::Apart).await
}

/// Whom a pool serves, which sets its size and its connections' settings.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PoolRole {
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
/// run on a connection of their own ([`super::direct`]); its pool, of one connection, reads the
/// entries that replays answer with.
///
/// No connection to a SQLite event store checkpoints by itself (`wal_autocheckpoint = 0`):
/// the batch writer's task does ([`super::checkpoint`]). Otherwise every commit on a pool
/// connection (the rate limiter's lease, an async entry's claim) would copy the WAL into
/// the database file and flush it while the WAL holds over 1,000 pages, which under load is
/// always, and those writes met the writer's commits (BENCHMARKS.md, issue 17, session 19).
/// A process that never starts the writer (the CLI's commands, which write a few pages)
/// leaves them in the WAL, which is as durable as the database file, for the next server's
/// task to copy.
pub(super) async fn connect_pool(url: &str, role: PoolRole) -> Result<DatabaseConnection, DbErr> {
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
