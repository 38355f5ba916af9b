//! How a SQLite connection waits while another one holds the write lock.
//!
//! Under load the batch writer holds SQLite's one write lock nearly all the time and lets
//! go of it for well under a millisecond between batches. SQLite's own busy handler sleeps
//! 1, 2, 5, 10, 15, 20, 25, … ms between looks, so a connection that needed the lock for a
//! moment (the rate limiter's lease, an async entry's claim, a checkpoint's `RESTART`) got
//! it only when one of those looks happened to fall into such a pause, and every request
//! waiting for that lease waited as long (BENCHMARKS.md, issue 17, session 18). Every SQLite
//! connection of the service, the writer's own and the pool's, looks again every 100 µs
//! instead, and so gets the lock at the writer's next pause.

use sea_orm::sqlx::sqlite::SqliteConnection;
use std::ffi::{c_int, c_void};
use std::time::Duration;

/// Sleeps 100 µs before SQLite looks again, for at least 10 s in all (the count of
/// attempts bounds it; each takes a little more than its sleep); `false` gives up, and the
/// statement fails as busy.
pub(super) fn wait_briefly(attempt: i32) -> bool {
    std::thread::sleep(Duration::from_micros(100));
    attempt < 100_000
}

/// Makes [`wait_briefly`] the busy handler of `conn`, a new connection of a pool (in place
/// of sqlx's `busy_timeout`, which installs SQLite's own).
pub(super) async fn install(conn: &mut SqliteConnection) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked away from sqlx's worker thread while it is used here,
    // and the handler is a plain function that reads nothing through its (null) argument.
    let code = unsafe {
        rusqlite::ffi::sqlite3_busy_handler(
            handle.as_raw_handle().as_ptr(),
            Some(look_again),
            std::ptr::null_mut(),
        )
    };
    if code == rusqlite::ffi::SQLITE_OK {
        Ok(())
    } else {
        let e = format!("SQLite refused the busy handler (code {code})");
        Err(sea_orm::sqlx::Error::Configuration(e.into()))
    }
}

extern "C" fn look_again(_: *mut c_void, attempt: c_int) -> c_int {
    c_int::from(wait_briefly(attempt))
}

#[cfg(test)]
mod tests {
    use crate::store::Store;
    use sea_orm::ConnectionTrait;
    use std::time::{Duration, Instant};

    /// Another connection holds the write lock for 230 ms, and a pool connection's insert
    /// waits for it. SQLite's own handler would look again at 228 ms and next at 328 ms, so
    /// the insert would end about 100 ms after the lock is let go; looking every 100 µs, it
    /// ends within a few milliseconds of it (the bound leaves room for a busy machine).
    #[tokio::test]
    async fn a_pool_connection_takes_the_write_lock_as_soon_as_it_is_let_go() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("ledger.db");
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("a store");
        let db = store.conn();
        db.execute_unprepared("CREATE TABLE scratch (n INTEGER)")
            .await
            .expect("a table");
        let holder = rusqlite::Connection::open(&path).expect("a second connection");
        holder
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO scratch VALUES (1)")
            .expect("the write lock");
        let let_go = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(230));
            holder.execute_batch("COMMIT").expect("a commit");
            Instant::now()
        });
        db.execute_unprepared("INSERT INTO scratch VALUES (2)")
            .await
            .expect("the insert, once the lock is free");
        let done = Instant::now();
        let let_go = let_go.join().expect("the holder's thread");
        let late = done.saturating_duration_since(let_go);
        assert!(
            late < Duration::from_millis(40),
            "the insert ended {late:?} after the lock was let go"
        );
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT n FROM scratch",
            ))
            .await
            .expect("the rows");
        assert_eq!(rows.len(), 2, "both inserts are there");
    }
}
