//! Migrations of ledgerflow. The same steps run on SQLite, PostgreSQL and CockroachDB.
//!
//! Rules that keep them portable to CockroachDB:
//! - one DDL statement per migration (CockroachDB commits an open transaction on DDL);
//! - no sequential keys: UUIDs or composite natural keys;
//! - 64-bit integers only (`BIGINT`), money as decimal text, times as i64 microseconds.

pub use sea_orm_migration::prelude::*;

mod event_store;
mod read_model;
mod step;

pub use event_store::rate_buckets_table;
pub use step::{Step, is_postgres_itself, shares_event_store};

/// The unique `(app_id, nonce)` index of `entries`: one entry per nonce. A write that
/// violates it names it, which is how the batch writer tells a taken nonce from other
/// conflicts.
pub const ENTRIES_NONCE_INDEX: &str = "ux_entries_nonce";

/// The event store's migrator (tables of `entity`, see its crate docs).
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        boxed(event_store::steps())
    }
}

/// The read model's migrator (`entity::read`). It keeps its own migration table, so it can
/// share the event store's database, and `refresh` drops only the read model's tables.
pub struct ReadModelMigrator;

impl MigratorTrait for ReadModelMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        boxed(read_model::steps())
    }

    fn migration_table_name() -> DynIden {
        "seaql_migrations_read_model".into_iden()
    }
}

fn boxed(steps: Vec<Step>) -> Vec<Box<dyn MigrationTrait>> {
    steps
        .into_iter()
        .map(|s| Box::new(s) as Box<dyn MigrationTrait>)
        .collect()
}
