//! One migration step: exactly one DDL statement, with its inverse.

use sea_orm_migration::prelude::*;

/// A migration that runs one `CREATE TABLE` or `CREATE INDEX`.
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
            Ddl::Sql { up, .. } => manager
                .get_connection()
                .execute_unprepared(up)
                .await
                .map(drop),
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
            Ddl::Sql { down, .. } => manager
                .get_connection()
                .execute_unprepared(down)
                .await
                .map(drop),
        }
    }
}
