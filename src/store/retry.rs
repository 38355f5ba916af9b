//! Which database errors mean "try the whole transaction again", and the loop that does.

use super::StoreError;
use super::direct::SqliteFailure;
use sea_orm::{DbErr, RuntimeErr, SqlErr};
use std::time::Duration;

/// How often a transaction is tried before its callers are told the store is contended.
const MAX_ATTEMPTS: u32 = 12;

/// Runs `attempt` until it succeeds, fails for good, or conflicts `MAX_ATTEMPTS` times.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempts = Attempts::default();
    loop {
        match attempt().await {
            Err(e) => attempts.again(e).await?,
            done => return done,
        }
    }
}

/// The attempts of one transaction, for a caller that runs them itself ([`retrying`] is
/// the plain loop).
#[derive(Debug, Default)]
pub struct Attempts {
    tries: u32,
}

impl Attempts {
    /// After an attempt failed with `e`: waits and returns `Ok` if the transaction may run
    /// again, or returns the error it ends with.
    pub async fn again(&mut self, e: StoreError) -> Result<(), StoreError> {
        self.tries += 1;
        let e = match e {
            StoreError::Db(e) if is_retryable(&e) => e,
            other => return Err(other),
        };
        if self.tries >= MAX_ATTEMPTS {
            return Err(StoreError::Contended {
                attempts: self.tries,
                last: e,
            });
        }
        tracing::debug!(tries = self.tries, error = %e, "retrying a conflicting transaction");
        // Jittered exponential backoff, so that two conflicting writers part ways.
        let ceiling = 1u64 << self.tries.min(7);
        let wait = rand::random_range(ceiling / 2..=ceiling);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        Ok(())
    }
}

/// The SQLSTATE (PostgreSQL, CockroachDB) or extended result code (SQLite) of an error.
pub fn sqlstate(e: &DbErr) -> Option<String> {
    let runtime = match e {
        DbErr::Exec(r) | DbErr::Query(r) | DbErr::Conn(r) => r,
        _ => return None,
    };
    match runtime {
        RuntimeErr::SqlxError(e) => e.as_database_error()?.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// Whether a transaction that failed with `e` may succeed when run again from the start:
/// - SQLSTATE 40001 (serialization failure) or 40P01 (deadlock). 40001 can arrive on any
///   statement, not only on COMMIT, so every statement's error goes through here;
/// - a unique violation: another writer appended the same account version or claimed the
///   same nonce first; a fresh read sees its row and decides again;
/// - SQLite's BUSY and LOCKED results (primary codes 5 and 6).
pub fn is_retryable(e: &DbErr) -> bool {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return true;
    }
    if matches!(sqlstate(e).as_deref(), Some("40001" | "40P01")) {
        return true;
    }
    // SQLITE_CONSTRAINT_UNIQUE and _PRIMARYKEY: `sql_err` knows only sqlx's own errors.
    sqlite_code(e).is_some_and(|c| matches!(c & 0xff, 5 | 6) || matches!(c, 2067 | 1555))
}

/// SQLite's extended result code, from a pool's connection or the writer's own.
fn sqlite_code(e: &DbErr) -> Option<i32> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = e
    else {
        return None;
    };
    let d = e.as_database_error()?;
    let sqlite = d
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some()
        || d.try_downcast_ref::<SqliteFailure>().is_some();
    sqlite.then(|| d.code()?.parse().ok()).flatten()
}
