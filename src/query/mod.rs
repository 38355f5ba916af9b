//! The read model as the query endpoints see it: current balances, entries and owners'
//! histories, as far as the projector has applied them. Time travel (`?at=`) reads the
//! event store instead, where every posting is.

mod read;

pub use read::{EntryPage, PageCursor};

use migration::{MigratorTrait, ReadModelMigrator};
use sea_orm::{DatabaseConnection, DbErr};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("read model: {0}")]
    Db(#[from] DbErr),
    #[error("read model: corrupt data: {0}")]
    Corrupt(String),
    /// The read model did not reach the version asked for within the wait.
    #[error("the read model has version {have} of the account, not yet {want}")]
    Behind { want: i64, have: i64 },
}

/// A handle to the read model database (cheap to clone: a connection pool).
#[derive(Clone, Debug)]
pub struct ReadModel {
    db: DatabaseConnection,
}

impl ReadModel {
    /// The read model in its own database, at `url`.
    pub async fn connect(url: &str) -> Result<ReadModel, DbErr> {
        Ok(ReadModel::on(crate::store::connect(url).await?))
    }

    /// The read model in an already open database (the event store's, by default).
    pub fn on(db: DatabaseConnection) -> ReadModel {
        ReadModel { db }
    }

    /// Brings the read model's tables up to date.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        ReadModelMigrator::up(&self.db, None).await
    }

    /// Drops the read model's tables (only those: it may share a database) and creates them
    /// empty.
    pub async fn reset(&self) -> Result<(), DbErr> {
        ReadModelMigrator::refresh(&self.db).await
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }
}
