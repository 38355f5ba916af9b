//! Which database errors mean "try the whole transaction again", and the loop that does.

use super::StoreError;
use super::direct::SqliteFailure;
use sea_orm::sqlx::error::DatabaseError;
use sea_orm::sqlx::sqlite::SqliteError;
use sea_orm::{DbErr, RuntimeErr};
use std::borrow::Cow;
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
    database_error(e)?.code().map(Cow::into_owned)
}

/// Whether a transaction that failed with `e` may succeed when run again from the start:
/// - SQLSTATE 40001 (serialization failure) or 40P01 (deadlock). 40001 can arrive on any
///   statement, not only on COMMIT, so every statement's error goes through here;
/// - a unique violation: another writer appended the same account version or claimed the
///   same nonce first; a fresh read sees its row and decides again;
/// - SQLite's BUSY and LOCKED results (primary codes 5 and 6).
pub fn is_retryable(e: &DbErr) -> bool {
    let Some(d) = database_error(e) else {
        return false;
    };
    let code = d.code();
    d.is_unique_violation()
        || matches!(code.as_deref(), Some("40001" | "40P01"))
        || is_sqlite(d)
            && code
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// Whether `e` is the unique `(app_id, nonce)` index of `entries` refusing a row: the
/// nonce is taken (by an entry committed, or being committed, by another transaction).
/// PostgreSQL and CockroachDB name the index; SQLite names its columns instead
/// (`UNIQUE constraint failed: entries.app_id, entries.nonce`).
pub fn is_nonce_taken(e: &StoreError) -> bool {
    let StoreError::Db(e) = e else {
        return false;
    };
    database_error(e).is_some_and(|d| {
        d.is_unique_violation()
            && match is_sqlite(d) {
                true => d.message().ends_with(": entries.app_id, entries.nonce"),
                false => d.constraint() == Some(migration::ENTRIES_NONCE_INDEX),
            }
    })
}

/// The database's own error inside `e`: sqlx's, or the SQLite writer's own connection's,
/// which carries its errors the same way ([`SqliteFailure`]).
fn database_error(e: &DbErr) -> Option<&dyn DatabaseError> {
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => e.as_database_error(),
        _ => None,
    }
}

fn is_sqlite(d: &dyn DatabaseError) -> bool {
    d.try_downcast_ref::<SqliteError>().is_some() || d.try_downcast_ref::<SqliteFailure>().is_some()
}
