//! The read model's tables (`rm_*`), migrated by [`crate::ReadModelMigrator`] with its own
//! migration table, so that they can live in the event store's database or in their own.

mod feed;
mod tables;

use crate::Step;
use feed::*;
use sea_orm_migration::prelude::*;
use tables::*;

pub fn steps() -> Vec<Step> {
    let mut steps = vec![
        Step::table("m20261121_100001_create_rm_accounts", accounts()),
        Step::table("m20261121_100002_create_rm_postings", postings()),
        Step::index(
            "m20261121_100003_index_rm_postings_entry",
            Index::create()
                .name("ix_rm_postings_entry")
                .table(RmPostings::Table)
                .col(RmPostings::EntryId)
                .to_owned(),
        ),
        Step::table("m20261121_100004_create_rm_entries", entries()),
        Step::index(
            "m20261121_100005_index_rm_entries_owner",
            entries_by_owner(),
        ),
        Step::index(
            "m20261121_100006_index_rm_entries_counterparty",
            entries_by_counterparty(),
        ),
        Step::table("m20261121_100007_create_rm_checkpoints", checkpoints()),
        Step::table("m20261121_100008_create_rm_parked", parked()),
        Step::table("m20261121_100009_create_rm_lots", lots()),
        Step::sql(
            "m20261121_100011_index_rm_lots_expiring",
            "CREATE INDEX ix_rm_lots_expiring ON rm_lots (account_id, expires_at) \
             WHERE status = 'open' AND expires_at IS NOT NULL",
            "DROP INDEX IF EXISTS ix_rm_lots_expiring",
        ),
        Step::add_column(
            "m20261121_100012_add_rm_entries_lots",
            RmEntries::Table,
            added_entry_column(RmEntries::Lots),
        ),
        Step::add_column(
            "m20261121_100013_add_rm_entries_allocations",
            RmEntries::Table,
            added_entry_column(RmEntries::Allocations),
        ),
        // Balances projected before lots existed keep being spendable, as the event store's.
        Step::sql(
            "m20261121_100014_open_rm_lots_of_balances",
            "INSERT INTO rm_lots (id, account_id, entry_id, category, priority, expires_at, \
             created_at, amount, counter_account, remaining, status, closed_by, closed_at, \
             closed_amount) \
             SELECT id, id, NULL, 'paid', 50, NULL, updated_at, \
             balance, '@system:opening', balance, 'open', NULL, NULL, NULL FROM rm_accounts \
             WHERE owner_id NOT LIKE '@%' AND balance NOT LIKE '-%' \
             AND CAST(balance AS DECIMAL) > 0",
            "DELETE FROM rm_lots WHERE entry_id IS NULL",
        ),
        Step::add_column(
            "m20261121_100015_add_rm_entries_lot_expires_at",
            RmEntries::Table,
            added_entry_column(RmEntries::LotExpiresAt),
        ),
        Step::add_column(
            "m20261121_100016_add_rm_entries_lot_priority",
            RmEntries::Table,
            added_entry_column(RmEntries::LotPriority),
        ),
        Step::add_column(
            "m20261204_100017_add_rm_entries_hold_id",
            RmEntries::Table,
            added_entry_column(RmEntries::HoldId),
        ),
        Step::table("m20261204_100018_create_rm_holds", holds()),
        Step::sql(
            "m20261204_100019_index_rm_holds_account",
            "CREATE INDEX ix_rm_holds_account ON rm_holds (account_id, status)",
            "DROP INDEX IF EXISTS ix_rm_holds_account",
        ),
        Step::add_column(
            "m20261204_100020_add_rm_entries_reverses",
            RmEntries::Table,
            added_entry_column(RmEntries::Reverses),
        ),
        Step::table("m20261204_100021_create_rm_reversals", reversals()),
        // A filtered page reads a window of numbers by the key, then filters in it: no
        // index beyond the key.
        Step::table("m20261205_100022_create_rm_app_events", app_events()),
        Step::table("m20261205_100023_create_rm_event_floors", event_floors()),
    ];
    steps.extend(shared_views());
    steps.extend(shared_entries());
    steps.extend(separate_entries());
    steps
}

/// `rm_entries`' index of an owner's history as owner.
fn entries_by_owner() -> IndexCreateStatement {
    entries_by("ix_rm_entries_owner", RmEntries::OwnerId)
}

/// `rm_entries`' index of an owner's history as counterparty.
fn entries_by_counterparty() -> IndexCreateStatement {
    entries_by("ix_rm_entries_counterparty", RmEntries::CounterpartyId)
}

fn entries_by(name: &str, who: RmEntries) -> IndexCreateStatement {
    Index::create()
        .name(name)
        .table(RmEntries::Table)
        .col(RmEntries::AppId)
        .col(who)
        .col(RmEntries::CreatedAt)
        .to_owned()
}

/// Where the read model shares the event store's database, its entries are the event
/// store's (`query::entries` reads them there), so `rm_entries` goes, and the histories page
/// by indexes on `entries` instead (DESIGN.md, "Each fact written once").
/// - The owner leads them, not the app: the nonce probe (`app_id = ? AND nonce = ?`) then
///   has one index to take, the unique one. PostgreSQL's generic plan once took an
///   `(app_id, …)` index of `entries` over it while the table was young, and kept it (the
///   event store's migration `…000023` dropped those).
/// - The counterparty's holds no row of the entries without one, most of them.
fn shared_entries() -> Vec<Step> {
    vec![
        Step::drop_index_where_shared(
            "m20261206_100036_drop_ix_rm_entries_owner_where_shared",
            entries_by_owner(),
        ),
        Step::drop_index_where_shared(
            "m20261206_100037_drop_ix_rm_entries_counterparty_where_shared",
            entries_by_counterparty(),
        ),
        Step::drop_where_shared(
            "m20261206_100038_drop_rm_entries_where_shared",
            entries_as_now(),
        ),
        Step::sql_where_shared(
            "m20261206_100039_index_entries_history_owner_where_shared",
            "CREATE INDEX ix_entries_history_owner ON entries (owner_id, app_id, created_at)",
            "DROP INDEX IF EXISTS ix_entries_history_owner",
        ),
        Step::sql_where_shared(
            "m20261206_100040_index_entries_history_counterparty_where_shared",
            "CREATE INDEX ix_entries_history_counterparty ON entries (counterparty_id, app_id, \
             created_at) WHERE counterparty_id IS NOT NULL",
            "DROP INDEX IF EXISTS ix_entries_history_counterparty",
        ),
    ]
}

/// Where the read model shares the event store's database, each of its tables that holds
/// what an event store table holds becomes a view of that table, so that a fact is written
/// once (DESIGN.md, "Each fact written once"). Elsewhere these steps do nothing.
fn shared_views() -> Vec<Step> {
    let views = [
        (
            "accounts",
            accounts(),
            // An event-store head with no posting yet (an account frozen first) was never
            // projected.
            "SELECT id, app_id, owner_id, asset, balance, version, updated_at FROM accounts \
             WHERE version > 0",
        ),
        (
            "postings",
            postings(),
            "SELECT account_id, version, entry_id, app_id, owner_id, asset, amount, \
             balance_after, recorded_at, prev_hash, hash FROM postings",
        ),
        (
            "lots",
            lots(),
            "SELECT account_id, id, entry_id, category, priority, expires_at, created_at, \
             amount, counter_account, remaining, status, closed_by, closed_at, closed_amount \
             FROM lots",
        ),
        (
            "holds",
            holds(),
            "SELECT id, app_id, account_id, owner_id, asset, operation, amount, created_at, \
             expires_at, shares, status, closed_by, closed_at, captured FROM holds",
        ),
        (
            "reversals",
            reversals(),
            "SELECT entry_id, app_id, reversed, count, reversal_ids FROM reversals",
        ),
        (
            "app_events",
            app_events(),
            "SELECT app_id, seq, id, event_type, owner_id, occurred_at, entry_id, data \
             FROM app_events",
        ),
    ];
    let mut steps = Vec::new();
    for (i, (table, create, select)) in views.into_iter().enumerate() {
        let n = 100_024 + 2 * i;
        steps.push(Step::drop_where_shared(
            &format!("m20261206_{n}_drop_rm_{table}_where_shared"),
            create,
        ));
        steps.push(Step::view_where_shared(
            &format!("m20261206_{}_view_rm_{table}_where_shared", n + 1),
            &format!("rm_{table}"),
            select,
        ));
    }
    steps
}

/// Where the read model has a database of its own, `rm_entries`' counterparty index holds
/// only the entries with a counterparty, as the event store's does where they share one: the
/// others, most of them, cost it an index entry each for nothing (a history page's
/// `counterparty_id = ?` implies the index's condition). It takes a new name: on SQLite a
/// pooled connection whose copy of the schema predates a drop would refuse to create an
/// index under the dropped one's name.
fn separate_entries() -> Vec<Step> {
    vec![
        Step::sql_where_separate(
            "m20261207_100041_index_rm_entries_with_counterparty_where_separate",
            "CREATE INDEX ix_rm_entries_with_counterparty ON rm_entries (app_id, \
             counterparty_id, created_at) WHERE counterparty_id IS NOT NULL",
            "DROP INDEX ix_rm_entries_with_counterparty",
        ),
        Step::sql_where_separate(
            "m20261207_100042_drop_ix_rm_entries_counterparty_where_separate",
            "DROP INDEX ix_rm_entries_counterparty",
            "CREATE INDEX ix_rm_entries_counterparty ON rm_entries (app_id, counterparty_id, \
             created_at)",
        ),
    ]
}
