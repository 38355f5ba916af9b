//! Whether anything but the batch writer committed between two of its transactions, on
//! SQLite: what lets a batch be read and decided in the transaction before its own.
//!
//! `PRAGMA data_version` answers the same number on one connection until *another*
//! connection commits (its own commits and the WAL's checkpoints leave it alone). The
//! batch writer reads it, with its connection's name, right after `BEGIN IMMEDIATE` has
//! taken the write lock. Two such readings that are equal mean that nothing else committed
//! between the two `BEGIN`s, since the first batch held the lock until its commit. The
//! name is there because two connections' numbers are not comparable: a pool that opened
//! another connection meanwhile would otherwise compare two unrelated counters.

use super::txn::take;
use super::{BatchWrite, StoreError};
use sea_orm::{ColumnType, DbBackend, Statement, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// One reading of what other connections committed, by the writer's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    connection: String,
    data_version: i64,
}

/// The temporary table that names a writer's connection (see the module docs): temporary
/// tables belong to the connection that made them.
const NAME_PREFIX: &str = "ledgerflow_writer_";

/// The statement that names a new writer connection, each with a name of its own.
pub(super) fn name_connection() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("CREATE TEMP TABLE {NAME_PREFIX}{n} (unused INTEGER)")
}

impl BatchWrite<'_> {
    /// What other connections have committed, as seen now; `None` where there is no such
    /// reading (PostgreSQL and CockroachDB, or a SQLite connection that is not a writer's).
    pub async fn mark(&self) -> Result<Option<Mark>, StoreError> {
        if self.txn.backend() != DbBackend::Sqlite {
            return Ok(None);
        }
        let sql = format!(
            "SELECT name, (SELECT data_version FROM pragma_data_version) \
             FROM sqlite_temp_master WHERE type = 'table' AND name LIKE '{NAME_PREFIX}%'"
        );
        let declared = [ColumnType::Text, ColumnType::BigInteger];
        let stmt = Statement::from_string(DbBackend::Sqlite, sql);
        let Some([connection, data_version]) = (self.txn.rows(stmt, &declared).await?)
            .into_iter()
            .find_map(|row| <[Value; 2]>::try_from(row).ok())
        else {
            return Ok(None);
        };
        Ok(Some(Mark {
            connection: take(connection)?,
            data_version: take(data_version)?,
        }))
    }
}
