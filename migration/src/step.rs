//! One migration step: exactly one DDL statement, with its inverse.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

/// A migration of one statement (a table, an index, a column, some SQL), with its inverse.
pub struct Step {
    name: String,
    ddl: Ddl,
}

enum Ddl {
    Table(Box<TableCreateStatement>),
    Index(Box<IndexCreateStatement>),
    /// A column added to an existing table, and its table.
    Column(DynIden, Box<ColumnDef>),
    /// A data migration in SQL that all three databases accept, and its inverse.
    Sql {
        up: String,
        down: String,
    },
    /// A tuning statement only PostgreSQL itself has (not CockroachDB, not SQLite), and its
    /// inverse; elsewhere the step does nothing.
    PostgresOnly {
        up: String,
        down: String,
    },
}

impl Step {
    pub fn table(name: &str, table: TableCreateStatement) -> Step {
        Step {
            name: name.to_owned(),
            ddl: Ddl::Table(Box::new(table)),
        }
    }

    pub fn index(name: &str, index: IndexCreateStatement) -> Step {
        Step {
            name: name.to_owned(),
            ddl: Ddl::Index(Box::new(index)),
        }
    }
}

impl Step {
    /// `ALTER TABLE … ADD COLUMN`; its inverse drops the column.
    pub fn add_column(name: &str, table: impl IntoIden, column: ColumnDef) -> Step {
        Step {
            name: name.to_owned(),
            ddl: Ddl::Column(table.into_iden(), Box::new(column)),
        }
    }
}

impl Step {
    pub fn sql(name: &str, up: &str, down: &str) -> Step {
        Step {
            name: name.to_owned(),
            ddl: Ddl::Sql {
                up: up.to_owned(),
                down: down.to_owned(),
            },
        }
    }
}

impl Step {
    pub fn postgres_only(name: &str, up: &str, down: &str) -> Step {
        Step {
            name: name.to_owned(),
            ddl: Ddl::PostgresOnly {
                up: up.to_owned(),
                down: down.to_owned(),
            },
        }
    }
}

/// PostgreSQL itself: CockroachDB speaks its protocol too, and says so in `version()`.
async fn is_postgres(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(false);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT version() AS v",
        ))
        .await?;
    let version: String = match row {
        Some(row) => row.try_get("", "v")?,
        None => String::new(),
    };
    Ok(!version.contains("CockroachDB"))
}

async fn run_sql(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(sql)
        .await
        .map(drop)
}

impl MigrationName for Step {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Step {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match &self.ddl {
            Ddl::Table(table) => manager.create_table((**table).clone()).await,
            Ddl::Index(index) => manager.create_index((**index).clone()).await,
            Ddl::Column(table, column) => {
                let alter = Table::alter()
                    .table(table.clone())
                    .add_column((**column).clone())
                    .to_owned();
                manager.alter_table(alter).await
            }
            Ddl::Sql { up, .. } => run_sql(manager, up).await,
            Ddl::PostgresOnly { up, .. } if is_postgres(manager).await? => {
                run_sql(manager, up).await
            }
            Ddl::PostgresOnly { .. } => Ok(()),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match &self.ddl {
            Ddl::Table(table) => {
                let name = table
                    .get_table_name()
                    .ok_or_else(|| DbErr::Migration(format!("{}: no table name", self.name)))?
                    .clone();
                manager
                    .drop_table(Table::drop().table(name).to_owned())
                    .await
            }
            Ddl::Index(index) => {
                // PostgreSQL, CockroachDB and SQLite name indexes per schema: no table needed.
                let name = index
                    .get_index_spec()
                    .get_name()
                    .unwrap_or_default()
                    .to_owned();
                manager
                    .drop_index(Index::drop().name(name).to_owned())
                    .await
            }
            Ddl::Column(table, column) => {
                let alter = Table::alter()
                    .table(table.clone())
                    .drop_column(column.get_column_name())
                    .to_owned();
                manager.alter_table(alter).await
            }
            Ddl::Sql { down, .. } => run_sql(manager, down).await,
            Ddl::PostgresOnly { down, .. } if is_postgres(manager).await? => {
                run_sql(manager, down).await
            }
            Ddl::PostgresOnly { .. } => Ok(()),
        }
    }
}
