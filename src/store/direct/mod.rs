//! The SQLite batch writer's own connection (rusqlite), run on the writer's thread.
//!
//! Through sqlx every statement of a batch was a hand-off to the driver's worker thread
//! and back, and each hand-off waited for that thread to get a core: about twenty a batch.
//! Here a batch's `BEGIN`, reads and inserts run on the thread that decides it, and only
//! its `COMMIT` (the WAL's flush) goes to a blocking thread, so that the next batch is
//! decided meanwhile.
//!
//! A batch builds its statements with SeaORM as on any connection ([`super::txn::WriteTxn`]
//! picks the connection). Values are bound as sqlx-sqlite binds them, and rows decoded
//! into the types their entity declares ([`values`]), since the pool's connections read and
//! write the same file. (SeaORM's own ways in, a `ConnectionTrait` answering `ProxyRow`s
//! and its `rusqlite` driver, do not build beside `sqlx-sqlite` in 2.0.4.)

mod values;

use super::busy::wait_briefly;
use rusqlite::{CachedStatement, Connection};
use sea_orm::sqlx::error::{DatabaseError, ErrorKind};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, DbErr, EntityTrait, IdenStatic, Iterable,
    RuntimeErr, Statement, TryIntoModel, Value,
};
use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};
use values::{Bound, decode};

/// Prepared statements kept: a batch's inserts, one text per table and pattern of NULL
/// cells ([`super::Inserts::row_by_row`]), `BEGIN`, the mark. Its reads' texts vary with
/// their keys and are seldom met again.
const STATEMENTS: usize = 64;

/// The page cache, in KiB (negative: a size, not a page count).
const CACHE: &str = "-32768";

/// The batch writer's connection to a SQLite event store.
pub struct Direct {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Direct")
    }
}

impl Direct {
    /// Opens the store at `url` (`sqlite:…`, made by the pool already) with the pool's
    /// durability (WAL, `synchronous = FULL`), and what only the writer wants: it never
    /// checkpoints the WAL itself (the checkpoint task does, beside it), a larger page
    /// cache, statement journals in memory; then runs `setup` (the statement that names
    /// the writer's connection, for [`super::Mark`]).
    pub fn open(url: &str, setup: &str) -> Result<Direct, DbErr> {
        use sea_orm::sqlx::sqlite::SqliteConnectOptions;
        let options: SqliteConnectOptions = url.parse().map_err(|e| DbErr::Conn(sqlx(e)))?;
        let conn = Connection::open(options.get_filename()).map_err(db_err)?;
        conn.busy_handler(Some(wait_briefly)).map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        let pragmas = format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = {CACHE}; \
             PRAGMA temp_store = memory; {setup};"
        );
        conn.execute_batch(&pragmas).map_err(db_err)?;
        Ok(Direct {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Opens an IMMEDIATE transaction: the write lock is taken up front.
    pub fn begin(&self) -> Result<DirectTxn, DbErr> {
        lock(&self.conn)?
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut begin| begin.execute([]))
            .map_err(db_err)?;
        Ok(DirectTxn {
            conn: self.conn.clone(),
        })
    }
}

/// A transaction of [`Direct`]: rolled back if dropped before its commit.
pub struct DirectTxn {
    conn: Arc<Mutex<Connection>>,
}

impl DirectTxn {
    /// Commits on a blocking thread: the caller's thread is free while the WAL flushes.
    /// The transaction goes to that thread with it, and is dropped there once its commit
    /// has run: a commit whose caller stopped waiting still ends.
    pub async fn commit(self) -> Result<(), DbErr> {
        tokio::task::spawn_blocking(move || {
            let conn = lock(&self.conn)?;
            let committed = conn.execute_batch("COMMIT").map_err(db_err);
            if committed.is_err() && !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            committed
        })
        .await
        .map_err(|e| DbErr::Custom(format!("the commit's thread: {e}")))?
    }

    /// Runs `stmt` (one statement).
    pub fn execute(&self, stmt: Statement) -> Result<(), DbErr> {
        let conn = lock(&self.conn)?;
        let mut statement = bound(&conn, stmt)?;
        statement.raw_execute().map_err(db_err).map(drop)
    }

    /// The rows of `stmt`, each as the values of its columns in order, of the `declared`
    /// types (one per column).
    pub fn rows(&self, stmt: Statement, declared: &[ColumnType]) -> Result<Vec<Vec<Value>>, DbErr> {
        self.rows_named(stmt, |_, i| declared.get(i).cloned())
    }

    /// The models `stmt` (a `find` of `E`, all of its columns) reads.
    pub fn models<E>(&self, stmt: Statement) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        let columns: Vec<E::Column> = E::Column::iter().collect();
        let rows = self.rows_named(stmt, |name, i| {
            let column = columns.get(i).filter(|c| c.as_str() == name)?;
            Some(column.def().get_column_type().clone())
        })?;
        rows.into_iter()
            .map(|row| {
                let mut model = <E::ActiveModel as ActiveModelTrait>::default();
                for (column, value) in columns.iter().zip(row) {
                    model.try_set(*column, value)?;
                }
                model.try_into_model()
            })
            .collect()
    }

    /// [`DirectTxn::rows`], each column's type given by `declared(name, position)`.
    fn rows_named(
        &self,
        stmt: Statement,
        declared: impl Fn(&str, usize) -> Option<ColumnType>,
    ) -> Result<Vec<Vec<Value>>, DbErr> {
        let conn = lock(&self.conn)?;
        let mut statement = bound(&conn, stmt)?;
        let columns = statement
            .column_names()
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let ty = declared(name, i).ok_or_else(|| {
                    DbErr::Type(format!("no type is declared for column {i}, {name}"))
                })?;
                Ok((name.to_owned(), ty))
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let mut rows = statement.raw_query();
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(db_err)? {
            let values = columns
                .iter()
                .enumerate()
                .map(|(i, (name, ty))| decode(row.get_ref(i).map_err(db_err)?, ty, name))
                .collect::<Result<Vec<_>, DbErr>>()?;
            found.push(values);
        }
        Ok(found)
    }
}

impl Drop for DirectTxn {
    /// A transaction still open here never ran its commit (a failed commit rolls back).
    fn drop(&mut self) {
        if let Ok(conn) = self.conn.lock()
            && !conn.is_autocommit()
        {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

fn lock(conn: &Mutex<Connection>) -> Result<MutexGuard<'_, Connection>, DbErr> {
    conn.lock()
        .map_err(|_| DbErr::Custom("the writer's connection was poisoned".into()))
}

/// `stmt` prepared (or found among those prepared before) with its values bound. A text of
/// several statements is refused.
fn bound(conn: &Connection, stmt: Statement) -> Result<CachedStatement<'_>, DbErr> {
    let mut statement = conn.prepare_cached(&stmt.sql).map_err(db_err)?;
    let values = stmt.values.map(|v| v.0).unwrap_or_default();
    if values.len() != statement.parameter_count() {
        return Err(DbErr::Custom(format!(
            "{} values for the {} placeholders of {}",
            values.len(),
            statement.parameter_count(),
            stmt.sql
        )));
    }
    for (i, value) in values.into_iter().enumerate() {
        statement
            .raw_bind_parameter(i + 1, Bound(value))
            .map_err(db_err)?;
    }
    Ok(statement)
}

fn sqlx(e: sea_orm::sqlx::Error) -> RuntimeErr {
    RuntimeErr::SqlxError(Arc::new(e))
}

/// A rusqlite error as the DbErr sqlx would give, so that [`super::retry`] tells a busy
/// database or a unique violation from the rest the same way on either connection.
fn db_err(e: rusqlite::Error) -> DbErr {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let error = SqliteFailure {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            };
            DbErr::Exec(sqlx(sea_orm::sqlx::Error::Database(Box::new(error))))
        }
        other => DbErr::Custom(format!("sqlite: {other}")),
    }
}

/// An error SQLite returned on the writer's connection, with its extended result code.
#[derive(Debug, thiserror::Error)]
#[error("(code: {code}) {message}")]
pub struct SqliteFailure {
    code: i32,
    message: String,
}

impl DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.code {
            // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
            2067 | 1555 => ErrorKind::UniqueViolation,
            787 => ErrorKind::ForeignKeyViolation,
            1299 => ErrorKind::NotNullViolation,
            275 => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests;
