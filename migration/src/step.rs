//! One migration step: exactly one DDL statement, with its inverse.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseConnection, DbBackend, Statement};

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
    /// SQL and its inverse, run where `only` says; elsewhere the step does nothing.
    Sql {
        up: String,
        down: String,
        only: Only,
    },
    /// A step of the read model that runs only where it shares the event store's database
    /// (see [`shares_event_store`]); elsewhere it does nothing.
    Shared(Shared),
}

/// Where a SQL step runs.
#[derive(Clone, Copy)]
enum Only {
    /// Everywhere: a data migration that all three databases accept.
    Everywhere,
    /// On PostgreSQL itself (not CockroachDB, not SQLite): a tuning statement.
    Postgres,
    /// Where the read model shares the event store's database.
    Shared,
    /// Where the read model has a database of its own.
    Separate,
}

impl Only {
    async fn holds(self, manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
        Ok(match self {
            Only::Everywhere => true,
            Only::Postgres => is_postgres(manager).await?,
            Only::Shared => holds_event_store(manager).await?,
            Only::Separate => !holds_event_store(manager).await?,
        })
    }
}

/// What a step does where the read model shares the event store's database.
enum Shared {
    /// Drops a read-model table that repeats one of the event store; its inverse creates it
    /// again, empty, as first created.
    DropTable(Box<TableCreateStatement>),
    /// `CREATE VIEW name AS select`; its inverse drops the view.
    View { name: String, select: String },
    /// Drops an index of a read-model table that a later step drops; its inverse creates it
    /// again.
    DropIndex(Box<IndexCreateStatement>),
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
    /// SQL that all three databases accept, and its inverse.
    pub fn sql(name: &str, up: &str, down: &str) -> Step {
        Step::sql_only(name, up, down, Only::Everywhere)
    }

    /// A statement only PostgreSQL itself has, and its inverse.
    pub fn postgres_only(name: &str, up: &str, down: &str) -> Step {
        Step::sql_only(name, up, down, Only::Postgres)
    }

    /// Where the read model shares the event store's database, runs `up` (`down` undoes it).
    pub fn sql_where_shared(name: &str, up: &str, down: &str) -> Step {
        Step::sql_only(name, up, down, Only::Shared)
    }

    /// Where the read model has a database of its own, runs `up` (`down` undoes it).
    pub fn sql_where_separate(name: &str, up: &str, down: &str) -> Step {
        Step::sql_only(name, up, down, Only::Separate)
    }

    fn sql_only(name: &str, up: &str, down: &str, only: Only) -> Step {
        Step {
            name: name.to_owned(),
            ddl: Ddl::Sql {
                up: up.to_owned(),
                down: down.to_owned(),
                only,
            },
        }
    }
}

impl Step {
    /// Where the read model shares the event store's database, drops `table`, a read-model
    /// table that repeats one of the event store's (a view takes its place in a later step).
    pub fn drop_where_shared(name: &str, table: TableCreateStatement) -> Step {
        Step {
            name: name.to_owned(),
            ddl: Ddl::Shared(Shared::DropTable(Box::new(table))),
        }
    }

    /// Where the read model shares the event store's database, drops `index` (of a table a
    /// later step drops, so that undoing that step leaves the table as it was).
    pub fn drop_index_where_shared(name: &str, index: IndexCreateStatement) -> Step {
        Step {
            name: name.to_owned(),
            ddl: Ddl::Shared(Shared::DropIndex(Box::new(index))),
        }
    }

    /// Where the read model shares the event store's database, creates the view `view` of
    /// `select` (which reads the event store's tables).
    pub fn view_where_shared(name: &str, view: &str, select: &str) -> Step {
        Step {
            name: name.to_owned(),
            ddl: Ddl::Shared(Shared::View {
                name: view.to_owned(),
                select: select.to_owned(),
            }),
        }
    }
}

/// Whether the database the manager migrates holds the event store too: its `postings`
/// table is there. The event store is migrated before the read model that shares it.
pub async fn shares_event_store(db: &DatabaseConnection) -> Result<bool, DbErr> {
    holds_event_store(&SchemaManager::new(db)).await
}

async fn holds_event_store(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    manager.has_table("postings").await
}

/// Whether `db` is PostgreSQL itself: CockroachDB speaks its protocol too, and says so in
/// `version()`.
pub async fn is_postgres_itself(db: &DatabaseConnection) -> Result<bool, DbErr> {
    is_postgres(&SchemaManager::new(db)).await
}

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
            Ddl::Sql { up, only, .. } if only.holds(manager).await? => run_sql(manager, up).await,
            Ddl::Sql { .. } => Ok(()),
            Ddl::Shared(_) if !holds_event_store(manager).await? => Ok(()),
            Ddl::Shared(Shared::DropTable(table)) => {
                let name = table_name(&self.name, table)?;
                manager
                    .drop_table(Table::drop().table(name).to_owned())
                    .await
            }
            Ddl::Shared(Shared::View { name, select }) => {
                run_sql(manager, &format!("CREATE VIEW {name} AS {select}")).await
            }
            Ddl::Shared(Shared::DropIndex(index)) => {
                manager
                    .drop_index(Index::drop().name(index_name(index)).to_owned())
                    .await
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match &self.ddl {
            Ddl::Table(table) => {
                let name = table_name(&self.name, table)?;
                manager
                    .drop_table(Table::drop().table(name).to_owned())
                    .await
            }
            Ddl::Index(index) => {
                // `IF EXISTS`: where the read model shares the event store's database, a
                // later step dropped the table, and with it its indexes.
                manager
                    .drop_index(Index::drop().name(index_name(index)).if_exists().to_owned())
                    .await
            }
            Ddl::Column(table, column) => {
                let alter = Table::alter()
                    .table(table.clone())
                    .drop_column(column.get_column_name())
                    .to_owned();
                manager.alter_table(alter).await
            }
            Ddl::Sql { down, only, .. } if only.holds(manager).await? => {
                run_sql(manager, down).await
            }
            Ddl::Sql { .. } => Ok(()),
            Ddl::Shared(_) if !holds_event_store(manager).await? => Ok(()),
            Ddl::Shared(Shared::DropTable(table)) => manager.create_table((**table).clone()).await,
            Ddl::Shared(Shared::View { name, .. }) => {
                run_sql(manager, &format!("DROP VIEW {name}")).await
            }
            Ddl::Shared(Shared::DropIndex(index)) => manager.create_index((**index).clone()).await,
        }
    }
}

/// PostgreSQL, CockroachDB and SQLite name indexes per schema: dropping one needs no table.
fn index_name(index: &IndexCreateStatement) -> String {
    index
        .get_index_spec()
        .get_name()
        .unwrap_or_default()
        .to_owned()
}

fn table_name(step: &str, table: &TableCreateStatement) -> Result<TableRef, DbErr> {
    table
        .get_table_name()
        .cloned()
        .ok_or_else(|| DbErr::Migration(format!("{step}: no table name")))
}
