//! SQLite's WAL checkpoints, run beside the batch writer instead of inside its commits.
//!
//! No connection of the event store checkpoints by itself (`wal_autocheckpoint = 0`): a
//! writer's commit that did would copy the WAL into the database file while every caller of
//! the batch waits, and a pool connection's would write and flush the database file beside
//! the writer's commits. This task checkpoints through a connection of the store's pool,
//! `PASSIVE`: it copies what no reader still needs and never waits for the writer. Under
//! load the writer always appends while a passive checkpoint runs, so the WAL would never
//! start over and grows without end: once it holds [`RESTART_AT`] pages, a `RESTART`
//! checkpoint copies the frames the passive ones left and makes the writer's next
//! transaction start the WAL over. The writer waits while a `RESTART` runs (it flushes the
//! database file and waits for the WAL's readers), which is why they are rare.

use super::Store;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use std::time::Duration;

/// How often the WAL is checkpointed.
pub const EVERY: Duration = Duration::from_millis(200);

/// Pages in the WAL past which it is started over (256 MiB of 4 KiB pages). A `RESTART`
/// keeps the writer out while it runs, so fewer of them make fewer runs of slow batches;
/// the price is a longer WAL on disk, and to read back after a crash (BENCHMARKS.md,
/// issue 17, session 18).
pub const RESTART_AT: i64 = 65_536;

/// Checkpoints the WAL of `store`, a SQLite store, every [`EVERY`] from a task of the
/// calling runtime, until that runtime ends (the batch writer's, beside which it runs).
pub fn start(store: &Store) {
    let store = store.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = once(&store, RESTART_AT).await {
                tracing::warn!(error = %e, "a WAL checkpoint failed; again shortly");
            }
        }
    });
}

/// One passive checkpoint, and a restarting one if the WAL holds `restart_at` pages or more.
pub async fn once(store: &Store, restart_at: i64) -> Result<(), DbErr> {
    if checkpoint(store, "PASSIVE").await? >= restart_at {
        checkpoint(store, "RESTART").await?;
    }
    Ok(())
}

/// Runs a checkpoint of `mode` and answers how many pages the WAL holds.
async fn checkpoint(store: &Store, mode: &str) -> Result<i64, DbErr> {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    let row = store
        .conn()
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?;
    // The row is (busy, pages in the WAL, pages checkpointed).
    row.map_or(Ok(0), |row| row.try_get_by_index::<i64>(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commits `n` transactions of 16 KiB each through the writer's connection.
    async fn write(writer: &Store, n: usize) {
        for _ in 0..n {
            let batch = writer.begin_batch().await.expect("a transaction");
            let sql = "INSERT INTO scratch VALUES (randomblob(16384))";
            let insert = Statement::from_string(DbBackend::Sqlite, sql);
            batch.txn.execute(insert).await.expect("a write");
            batch.commit().await.expect("a commit");
        }
    }

    /// A SQLite event store in `dir` with a table `scratch` of blobs, and its file.
    async fn scratch_store(dir: &std::path::Path) -> (Store, std::path::PathBuf) {
        let file = dir.join("ledger.db");
        let store = Store::connect(&format!("sqlite://{}", file.display()))
            .await
            .expect("a store");
        store
            .conn()
            .execute_unprepared("CREATE TABLE scratch (b BLOB)")
            .await
            .expect("a table");
        (store, file)
    }

    #[tokio::test]
    async fn no_pool_connection_checkpoints_by_itself() {
        let dir = tempfile::tempdir().expect("a directory");
        let (store, file) = scratch_store(dir.path()).await;
        // About 1,500 pages of WAL: past SQLite's default of 1,000, where a commit would copy
        // the WAL into the database file by itself.
        for _ in 0..300 {
            store
                .conn()
                .execute_unprepared("INSERT INTO scratch VALUES (randomblob(16384))")
                .await
                .expect("a write");
        }
        let size = || std::fs::metadata(&file).expect("the database file").len();
        let before = size();
        assert!(before < 1 << 20, "the database file holds {before} bytes");
        once(&store, RESTART_AT).await.expect("a checkpoint");
        let after = size();
        assert!(after > 4 << 20, "checkpointed: {after} bytes");
    }

    #[tokio::test]
    async fn the_writer_never_checkpoints_and_a_long_wal_is_started_over() {
        let dir = tempfile::tempdir().expect("a directory");
        let (store, _) = scratch_store(dir.path()).await;
        let writer = store.writer_pool(true).await.expect("the writer's pool");
        // Past SQLite's default of 1,000 pages, where a commit would checkpoint by itself.
        write(&writer, 300).await;
        let before = checkpoint(&store, "PASSIVE").await.expect("a checkpoint");
        assert!(before > 1_000, "the WAL holds {before} pages");
        once(&store, 1_000).await.expect("a checkpoint");
        write(&writer, 1).await;
        let after = checkpoint(&store, "PASSIVE").await.expect("a checkpoint");
        assert!(after < 10, "the WAL started over: {after} pages");
    }
}
