//! The event store's tables, one step per DDL statement.

mod outbound;
mod tables;
mod webhooks;

use crate::Step;
use outbound::*;
use sea_orm_migration::prelude::*;
use tables::*;
use webhooks::*;

/// The rate limiter's buckets as a table of their own, created if missing: for a store that
/// keeps them in a file beside its own (SQLite).
pub fn rate_buckets_table() -> TableCreateStatement {
    rate_buckets().if_not_exists().to_owned()
}

pub fn steps() -> Vec<Step> {
    vec![
        Step::table("m20261121_000001_create_apps", apps()),
        Step::table("m20261121_000002_create_accounts", accounts()),
        Step::index(
            "m20261121_000003_index_accounts_owner",
            Index::create()
                .name("ux_accounts_owner")
                .table(Accounts::Table)
                .col(Accounts::AppId)
                .col(Accounts::OwnerId)
                .col(Accounts::Asset)
                .unique()
                .to_owned(),
        ),
        Step::table("m20261121_000004_create_postings", postings()),
        Step::index(
            "m20261121_000005_index_postings_time",
            Index::create()
                .name("ix_postings_time")
                .table(Postings::Table)
                .col(Postings::AccountId)
                .col(Postings::RecordedAt)
                .to_owned(),
        ),
        Step::index(
            "m20261121_000006_index_postings_entry",
            Index::create()
                .name("ix_postings_entry")
                .table(Postings::Table)
                .col(Postings::EntryId)
                .to_owned(),
        ),
        Step::table("m20261121_000007_create_entries", entries()),
        Step::index(
            "m20261121_000008_index_entries_nonce",
            Index::create()
                .name(crate::ENTRIES_NONCE_INDEX)
                .table(Entries::Table)
                .col(Entries::AppId)
                .col(Entries::Nonce)
                .unique()
                .to_owned(),
        ),
        Step::index(
            "m20261121_000009_index_entries_owner",
            Index::create()
                .name("ix_entries_owner")
                .table(Entries::Table)
                .col(Entries::AppId)
                .col(Entries::OwnerId)
                .col(Entries::CreatedAt)
                .to_owned(),
        ),
        Step::index(
            "m20261121_000010_index_entries_counterparty",
            Index::create()
                .name("ix_entries_counterparty")
                .table(Entries::Table)
                .col(Entries::AppId)
                .col(Entries::CounterpartyId)
                .col(Entries::CreatedAt)
                .to_owned(),
        ),
        Step::table("m20261121_000011_create_entry_events", entry_events()),
        Step::table("m20261121_000012_create_pending_entries", pending_entries()),
        Step::table("m20261121_000013_create_usage", usage()),
        Step::table("m20261121_000014_create_outbox", outbox()),
        Step::index(
            "m20261121_000015_index_outbox_created",
            Index::create()
                .name("ix_outbox_created")
                .table(Outbox::Table)
                .col(Outbox::CreatedAt)
                .to_owned(),
        ),
        // The postings' hash chain. Rows written before it have '' and fail `verify`'s
        // chain check, which is the truth about them.
        Step::add_column(
            "m20261121_000016_add_postings_prev_hash",
            Postings::Table,
            ColumnDef::new(Postings::PrevHash)
                .text()
                .not_null()
                .default("")
                .to_owned(),
        ),
        Step::add_column(
            "m20261121_000017_add_postings_hash",
            Postings::Table,
            ColumnDef::new(Postings::Hash)
                .text()
                .not_null()
                .default("")
                .to_owned(),
        ),
        Step::add_column(
            "m20261121_000018_add_accounts_hash",
            Accounts::Table,
            ColumnDef::new(Accounts::Hash)
                .text()
                .not_null()
                .default("")
                .to_owned(),
        ),
        Step::table("m20261121_000019_create_api_keys", api_keys()),
        Step::index(
            "m20261121_000020_index_api_keys_app",
            Index::create()
                .name("ix_api_keys_app")
                .table(ApiKeys::Table)
                .col(ApiKeys::AppId)
                .to_owned(),
        ),
        // Keys of apps created before `api_keys` existed keep working.
        Step::sql(
            "m20261121_000021_copy_app_keys",
            "INSERT INTO api_keys (id, app_id, key_hash, created_at, revoked_at) \
             SELECT id, id, key_hash, created_at, revoked_at FROM apps",
            "DELETE FROM api_keys WHERE id IN (SELECT id FROM apps)",
        ),
        // An outbox row carries a batch's messages; rows written before held one each.
        Step::add_column(
            "m20261121_000022_add_outbox_messages",
            Outbox::Table,
            ColumnDef::new(Outbox::Messages)
                .integer()
                .not_null()
                .default(1)
                .to_owned(),
        ),
        // Owner history is read from the read model since it exists; on the event store these
        // two indexes only cost every entry two index insertions, and PostgreSQL's generic
        // plan for the nonce probe picked the (app_id, …) one of them over the unique index
        // while the table was young, then kept it.
        Step::sql(
            "m20261121_000023_drop_entries_owner_index",
            "DROP INDEX IF EXISTS ix_entries_owner",
            "CREATE INDEX ix_entries_owner ON entries (app_id, owner_id, created_at)",
        ),
        Step::sql(
            "m20261121_000024_drop_entries_counterparty_index",
            "DROP INDEX IF EXISTS ix_entries_counterparty",
            "CREATE INDEX ix_entries_counterparty ON entries (app_id, counterparty_id, created_at)",
        ),
        // An outbox row lives for milliseconds: compressing its payload (TOAST's default for
        // long values) cost PostgreSQL more than storing it as it is.
        Step::postgres_only(
            "m20261121_000025_outbox_payload_uncompressed",
            "ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTERNAL",
            "ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTENDED",
        ),
        Step::add_column(
            "m20261121_000026_add_entry_events_earlier",
            EntryEvents::Table,
            ColumnDef::new(EntryEvents::Earlier)
                .text()
                .null()
                .to_owned(),
        ),
        Step::add_column(
            "m20261121_000027_add_accounts_shortfall",
            Accounts::Table,
            ColumnDef::new(Accounts::Shortfall)
                .text()
                .not_null()
                .default("0")
                .to_owned(),
        ),
        Step::table("m20261121_000028_create_lots", lots()),
        Step::sql(
            "m20261121_000029_index_lots_account",
            "CREATE INDEX ix_lots_account ON lots (account_id, expires_at)",
            "DROP INDEX IF EXISTS ix_lots_account",
        ),
        Step::sql(
            "m20261121_000030_index_lots_expiring",
            "CREATE INDEX ix_lots_expiring ON lots (expires_at) \
             WHERE status = 'open' AND expires_at IS NOT NULL",
            "DROP INDEX IF EXISTS ix_lots_expiring",
        ),
        Step::table("m20261121_000032_create_allocations", allocations()),
        // Balances recorded before lots existed keep being spendable, as lots and shortfalls.
        Step::sql(
            "m20261121_000033_open_lots_of_balances",
            "INSERT INTO lots (id, account_id, entry_id, category, priority, expires_at, \
             created_at, amount, counter_account, remaining, status, closed_by, closed_at, \
             closed_amount) \
             SELECT id, id, NULL, 'paid', 50, NULL, updated_at, \
             balance, '@system:opening', balance, 'open', NULL, NULL, NULL FROM accounts \
             WHERE owner_id NOT LIKE '@%' AND balance NOT LIKE '-%' \
             AND CAST(balance AS DECIMAL) > 0",
            "DELETE FROM lots WHERE entry_id IS NULL",
        ),
        Step::sql(
            "m20261121_000034_shortfall_of_balances",
            "UPDATE accounts SET shortfall = substr(balance, 2) \
             WHERE owner_id NOT LIKE '@%' AND balance LIKE '-%'",
            "UPDATE accounts SET shortfall = '0'",
        ),
        // The lot terms a request set, kept with the request, so that an async entry
        // finished after a restart opens the lot it asked for.
        Step::add_column(
            "m20261121_000035_add_entries_lot_expires_at",
            Entries::Table,
            ColumnDef::new(Entries::LotExpiresAt)
                .big_integer()
                .null()
                .to_owned(),
        ),
        Step::add_column(
            "m20261121_000036_add_entries_lot_priority",
            Entries::Table,
            ColumnDef::new(Entries::LotPriority)
                .integer()
                .null()
                .to_owned(),
        ),
        Step::add_column(
            "m20261203_000037_add_apps_rate_per_second",
            Apps::Table,
            ColumnDef::new(Apps::RatePerSecond)
                .big_integer()
                .null()
                .to_owned(),
        ),
        Step::add_column(
            "m20261203_000038_add_apps_rate_burst",
            Apps::Table,
            ColumnDef::new(Apps::RateBurst)
                .big_integer()
                .null()
                .to_owned(),
        ),
        Step::table("m20261203_000039_create_rate_buckets", rate_buckets()),
        Step::add_column(
            "m20261204_000040_add_entries_hold_id",
            Entries::Table,
            ColumnDef::new(Entries::HoldId).uuid().null().to_owned(),
        ),
        Step::table("m20261204_000041_create_holds", holds()),
        // A batch loads the open holds of the accounts it debits; an account's closed holds
        // are read with its history.
        Step::sql(
            "m20261204_000042_index_holds_account",
            "CREATE INDEX ix_holds_account ON holds (account_id, status)",
            "DROP INDEX IF EXISTS ix_holds_account",
        ),
        Step::sql(
            "m20261204_000043_index_holds_expiring",
            "CREATE INDEX ix_holds_expiring ON holds (expires_at) WHERE status = 'held'",
            "DROP INDEX IF EXISTS ix_holds_expiring",
        ),
        Step::add_column(
            "m20261204_000044_add_accounts_status",
            Accounts::Table,
            ColumnDef::new(Accounts::Status)
                .text()
                .not_null()
                .default("active")
                .to_owned(),
        ),
        Step::add_column(
            "m20261204_000045_add_entries_reverses",
            Entries::Table,
            ColumnDef::new(Entries::Reverses).uuid().null().to_owned(),
        ),
        Step::table("m20261204_000046_create_reversals", reversals()),
        Step::add_column(
            "m20261204_000047_add_accounts_open_holds",
            Accounts::Table,
            ColumnDef::new(Accounts::OpenHolds)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ),
        // Read by app and number only (the feed's copy, webhooks, rebuild, the retention):
        // no index beyond the key, so that an event costs its batch one row.
        Step::table("m20261205_000048_create_app_events", app_events()),
        Step::table("m20261205_000049_create_event_seqs", event_seqs()),
        Step::table("m20261205_000050_create_monitors", monitors()),
        Step::sql(
            "m20261205_000051_index_monitors_account",
            "CREATE INDEX ix_monitors_account ON monitors (account_id)",
            "DROP INDEX IF EXISTS ix_monitors_account",
        ),
        Step::add_column(
            "m20261205_000052_add_accounts_monitors",
            Accounts::Table,
            ColumnDef::new(Accounts::Monitors)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ),
        // Webhooks (issue 14): numbered from 60 so that they never collide with the feed's.
        Step::table("m20261205_000060_create_webhooks", webhooks()),
        Step::sql(
            "m20261205_000061_index_webhooks_app",
            "CREATE INDEX ix_webhooks_app ON webhooks (app_id, created_at)",
            "DROP INDEX IF EXISTS ix_webhooks_app",
        ),
        Step::table(
            "m20261205_000062_create_webhook_deliveries",
            webhook_deliveries(),
        ),
        // The dispatcher reads a webhook's pending deliveries in order; the list reads them
        // by status.
        Step::sql(
            "m20261205_000063_index_webhook_deliveries_status",
            "CREATE INDEX ix_webhook_deliveries_status \
             ON webhook_deliveries (webhook_id, status, seq)",
            "DROP INDEX IF EXISTS ix_webhook_deliveries_status",
        ),
        // A retry names its delivery by the event's id.
        Step::sql(
            "m20261205_000064_index_webhook_deliveries_event",
            "CREATE INDEX ix_webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id)",
            "DROP INDEX IF EXISTS ix_webhook_deliveries_event",
        ),
        // An outbox row carries a batch's messages, tens of kilobytes of JSON: lz4 makes its
        // WAL and TOAST a fraction of that for little CPU (pglz cost more than it saved). A
        // server without lz4 (built without it, or older than 14) keeps it uncompressed.
        Step::postgres_only(
            "m20261206_000065_outbox_payload_lz4",
            "DO $$ BEGIN \
               EXECUTE 'ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTENDED, \
                        ALTER COLUMN payload SET COMPRESSION lz4'; \
             EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL; \
             END $$",
            "ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTERNAL",
        ),
        // A batch's new entry carries the transitions of the write that inserted it, in
        // place of an `entry_events` row (DESIGN.md, "Each fact written once").
        Step::add_column(
            "m20261206_000066_add_entries_state",
            Entries::Table,
            ColumnDef::new(Entries::State).text().null().to_owned(),
        ),
        Step::add_column(
            "m20261206_000067_add_entries_events",
            Entries::Table,
            ColumnDef::new(Entries::Events).text().null().to_owned(),
        ),
    ]
}
