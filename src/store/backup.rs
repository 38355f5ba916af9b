//! Backup and restore of an embedded (SQLite) event store, which in the embedded mode holds
//! the read model too. PostgreSQL and CockroachDB have their own tools (README).
//!
//! A backup is `VACUUM INTO`: SQLite writes a consistent snapshot of the database to a new
//! file inside one read transaction, while the service goes on writing. It is written next
//! to its destination, synced, and renamed into place, so a backup file is whole or absent.
//! A restore first proves that no process has the event store open (leaving WAL mode needs
//! the only connection), then puts the backup in its place the same way.

use super::{Store, StoreError};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use std::path::{Path, PathBuf};

/// Why a backup or a restore cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backup and restore are for the embedded SQLite event store; for PostgreSQL use \
         pg_dump or pg_basebackup, for CockroachDB its BACKUP and RESTORE"
    )]
    NotSqlite,
    #[error("{0} exists already; choose a new file")]
    Exists(PathBuf),
    #[error("{0} is not a ledgerflow event store: {1}")]
    NotAStore(PathBuf, String),
    #[error("the event store {0} is in use; stop the service first")]
    InUse(PathBuf),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The file of a `sqlite://FILE[?…]` URL.
fn sqlite_file(url: &str) -> Result<PathBuf, BackupError> {
    let rest = url
        .strip_prefix("sqlite://")
        .ok_or(BackupError::NotSqlite)?;
    Ok(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

/// `path` with `suffix` added to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Syncs `temp` and renames it to `path`, then syncs the directory, so that `path` is
/// either the whole new file or what it was.
fn put_in_place(temp: &Path, path: &Path) -> Result<(), BackupError> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |e| BackupError::Io(p, e)
    };
    std::fs::File::open(temp)
        .and_then(|f| f.sync_all())
        .map_err(io(temp))?;
    std::fs::rename(temp, path).map_err(io(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

impl Store {
    /// Writes a consistent copy of this (SQLite) event store to `file`, which must not
    /// exist, while the service may go on writing.
    pub async fn backup(&self, file: &Path) -> Result<(), BackupError> {
        if self.backend() != DbBackend::Sqlite {
            return Err(BackupError::NotSqlite);
        }
        if file.exists() {
            return Err(BackupError::Exists(file.to_owned()));
        }
        let temp = beside(file, ".partial");
        let _ = std::fs::remove_file(&temp);
        let into = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "VACUUM INTO ?",
            [temp.display().to_string().into()],
        );
        self.conn()
            .execute_raw(into)
            .await
            .map_err(StoreError::from)?;
        put_in_place(&temp, file)
    }
}

/// Puts the backup `file` in place of the event store at `url` (SQLite), which no process
/// may have open.
pub async fn restore(url: &str, file: &Path) -> Result<(), BackupError> {
    let target = sqlite_file(url)?;
    check_backup(file).await?;
    if target.exists() {
        // Leaving WAL mode needs the only connection to the database: it fails while a
        // service has it open, and on success the WAL is checkpointed and removed.
        // (SQLite answers with the mode it is in afterwards: still `wal` when it could not.)
        let db = Database::connect(url).await.map_err(StoreError::from)?;
        let pragma = Statement::from_string(DbBackend::Sqlite, "PRAGMA journal_mode = DELETE");
        let mode: Option<String> = match db.query_one_raw(pragma).await {
            Ok(row) => row.and_then(|r| r.try_get_by_index(0).ok()),
            Err(_) => None,
        };
        db.close().await.map_err(StoreError::from)?;
        if mode.as_deref() != Some("delete") || beside(&target, "-wal").exists() {
            return Err(BackupError::InUse(target));
        }
    }
    let temp = beside(&target, ".restoring");
    std::fs::copy(file, &temp).map_err(|e| BackupError::Io(file.to_owned(), e))?;
    put_in_place(&temp, &target)?;
    let _ = std::fs::remove_file(beside(&target, "-shm"));
    Ok(())
}

/// `file` is a whole SQLite database that holds a ledgerflow event store.
async fn check_backup(file: &Path) -> Result<(), BackupError> {
    let not_a_store = |why: String| BackupError::NotAStore(file.to_owned(), why);
    if !file.is_file() {
        return Err(not_a_store("no such file".into()));
    }
    let url = format!("sqlite://{}?mode=ro", file.display());
    let db = Database::connect(url.as_str())
        .await
        .map_err(|e| not_a_store(e.to_string()))?;
    let check = |sql: &'static str| {
        let db = &db;
        async move {
            db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .map_err(|e| not_a_store(e.to_string()))
        }
    };
    let integrity = check("PRAGMA integrity_check").await?;
    let ok: Option<String> = integrity.and_then(|row| row.try_get_by_index(0).ok());
    if ok.as_deref() != Some("ok") {
        return Err(not_a_store(format!("integrity check: {ok:?}")));
    }
    check("SELECT COUNT(*) FROM seaql_migrations").await?;
    check("SELECT COUNT(*) FROM entries").await?;
    db.close().await.map_err(|e| not_a_store(e.to_string()))?;
    Ok(())
}
