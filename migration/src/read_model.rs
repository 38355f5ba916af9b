//! The read model's tables (`rm_*`), migrated by [`crate::ReadModelMigrator`] with its own
//! migration table, so that they can live in the event store's database or in their own.

use crate::Step;
use sea_orm_migration::prelude::*;

pub fn steps() -> Vec<Step> {
    vec![
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
            Index::create()
                .name("ix_rm_entries_owner")
                .table(RmEntries::Table)
                .col(RmEntries::AppId)
                .col(RmEntries::OwnerId)
                .col(RmEntries::CreatedAt)
                .to_owned(),
        ),
        Step::index(
            "m20261121_100006_index_rm_entries_counterparty",
            Index::create()
                .name("ix_rm_entries_counterparty")
                .table(RmEntries::Table)
                .col(RmEntries::AppId)
                .col(RmEntries::CounterpartyId)
                .col(RmEntries::CreatedAt)
                .to_owned(),
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
            ColumnDef::new(RmEntries::Lots).text().null().to_owned(),
        ),
        Step::add_column(
            "m20261121_100013_add_rm_entries_allocations",
            RmEntries::Table,
            ColumnDef::new(RmEntries::Allocations)
                .text()
                .null()
                .to_owned(),
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
            ColumnDef::new(RmEntries::LotExpiresAt)
                .big_integer()
                .null()
                .to_owned(),
        ),
        Step::add_column(
            "m20261121_100016_add_rm_entries_lot_priority",
            RmEntries::Table,
            ColumnDef::new(RmEntries::LotPriority)
                .integer()
                .null()
                .to_owned(),
        ),
        Step::add_column(
            "m20261204_100017_add_rm_entries_hold_id",
            RmEntries::Table,
            ColumnDef::new(RmEntries::HoldId).uuid().null().to_owned(),
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
            ColumnDef::new(RmEntries::Reverses).uuid().null().to_owned(),
        ),
        Step::table("m20261204_100021_create_rm_reversals", reversals()),
    ]
}

#[derive(DeriveIden)]
enum RmAccounts {
    Table,
    Id,
    AppId,
    OwnerId,
    Asset,
    Balance,
    Version,
    UpdatedAt,
}

fn accounts() -> TableCreateStatement {
    Table::create()
        .table(RmAccounts::Table)
        .col(
            ColumnDef::new(RmAccounts::Id)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(RmAccounts::AppId).uuid().not_null())
        .col(ColumnDef::new(RmAccounts::OwnerId).text().not_null())
        .col(ColumnDef::new(RmAccounts::Asset).text().not_null())
        .col(ColumnDef::new(RmAccounts::Balance).text().not_null())
        .col(ColumnDef::new(RmAccounts::Version).big_integer().not_null())
        .col(
            ColumnDef::new(RmAccounts::UpdatedAt)
                .big_integer()
                .not_null(),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum RmPostings {
    Table,
    AccountId,
    Version,
    EntryId,
    AppId,
    OwnerId,
    Asset,
    Amount,
    BalanceAfter,
    RecordedAt,
    PrevHash,
    Hash,
}

fn postings() -> TableCreateStatement {
    Table::create()
        .table(RmPostings::Table)
        .col(ColumnDef::new(RmPostings::AccountId).uuid().not_null())
        .col(ColumnDef::new(RmPostings::Version).big_integer().not_null())
        .col(ColumnDef::new(RmPostings::EntryId).uuid().not_null())
        .col(ColumnDef::new(RmPostings::AppId).uuid().not_null())
        .col(ColumnDef::new(RmPostings::OwnerId).text().not_null())
        .col(ColumnDef::new(RmPostings::Asset).text().not_null())
        .col(ColumnDef::new(RmPostings::Amount).text().not_null())
        .col(ColumnDef::new(RmPostings::BalanceAfter).text().not_null())
        .col(
            ColumnDef::new(RmPostings::RecordedAt)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(RmPostings::PrevHash).text().not_null())
        .col(ColumnDef::new(RmPostings::Hash).text().not_null())
        .primary_key(
            Index::create()
                .col(RmPostings::AccountId)
                .col(RmPostings::Version),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum RmEntries {
    Table,
    Id,
    AppId,
    Nonce,
    RequestHash,
    Operation,
    OwnerId,
    CounterpartyId,
    Asset,
    Amount,
    Metadata,
    IsAsync,
    CreatedAt,
    State,
    LastSeq,
    Events,
    LotExpiresAt,
    LotPriority,
    Lots,
    Allocations,
    HoldId,
    Reverses,
}

fn entries() -> TableCreateStatement {
    Table::create()
        .table(RmEntries::Table)
        .col(
            ColumnDef::new(RmEntries::Id)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(RmEntries::AppId).uuid().not_null())
        .col(ColumnDef::new(RmEntries::Nonce).text().not_null())
        .col(ColumnDef::new(RmEntries::RequestHash).text().not_null())
        .col(ColumnDef::new(RmEntries::Operation).text().not_null())
        .col(ColumnDef::new(RmEntries::OwnerId).text().not_null())
        .col(ColumnDef::new(RmEntries::CounterpartyId).text().null())
        .col(ColumnDef::new(RmEntries::Asset).text().not_null())
        .col(ColumnDef::new(RmEntries::Amount).text().not_null())
        .col(ColumnDef::new(RmEntries::Metadata).text().null())
        .col(ColumnDef::new(RmEntries::IsAsync).boolean().not_null())
        .col(
            ColumnDef::new(RmEntries::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(RmEntries::State).text().not_null())
        .col(ColumnDef::new(RmEntries::LastSeq).integer().not_null())
        .col(ColumnDef::new(RmEntries::Events).text().not_null())
        .to_owned()
}

#[derive(DeriveIden)]
enum RmCheckpoints {
    Table,
    Name,
    Position,
    LastCommittedAt,
    UpdatedAt,
}

fn checkpoints() -> TableCreateStatement {
    Table::create()
        .table(RmCheckpoints::Table)
        .col(
            ColumnDef::new(RmCheckpoints::Name)
                .text()
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(RmCheckpoints::Position)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(RmCheckpoints::LastCommittedAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(RmCheckpoints::UpdatedAt)
                .big_integer()
                .not_null(),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum RmParked {
    Table,
    MessageId,
    StreamSequence,
    Payload,
    Reason,
    ParkedAt,
}

fn parked() -> TableCreateStatement {
    Table::create()
        .table(RmParked::Table)
        .col(
            ColumnDef::new(RmParked::MessageId)
                .text()
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(RmParked::StreamSequence)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(RmParked::Payload).text().not_null())
        .col(ColumnDef::new(RmParked::Reason).text().not_null())
        .col(ColumnDef::new(RmParked::ParkedAt).big_integer().not_null())
        .to_owned()
}

#[derive(DeriveIden)]
enum RmLots {
    Table,
    Id,
    AccountId,
    EntryId,
    Category,
    Priority,
    ExpiresAt,
    CreatedAt,
    Amount,
    CounterAccount,
    Remaining,
    Status,
    ClosedBy,
    ClosedAt,
    ClosedAmount,
}

fn lots() -> TableCreateStatement {
    Table::create()
        .table(RmLots::Table)
        .col(ColumnDef::new(RmLots::Id).uuid().not_null())
        .col(ColumnDef::new(RmLots::AccountId).uuid().not_null())
        .col(ColumnDef::new(RmLots::EntryId).uuid().null())
        .col(ColumnDef::new(RmLots::Category).text().not_null())
        .col(ColumnDef::new(RmLots::Priority).integer().not_null())
        .col(ColumnDef::new(RmLots::ExpiresAt).big_integer().null())
        .col(ColumnDef::new(RmLots::CreatedAt).big_integer().not_null())
        .col(ColumnDef::new(RmLots::Amount).text().not_null())
        .col(ColumnDef::new(RmLots::CounterAccount).text().not_null())
        .col(ColumnDef::new(RmLots::Remaining).text().not_null())
        .col(ColumnDef::new(RmLots::Status).text().not_null())
        .col(ColumnDef::new(RmLots::ClosedBy).uuid().null())
        .col(ColumnDef::new(RmLots::ClosedAt).big_integer().null())
        .col(ColumnDef::new(RmLots::ClosedAmount).text().null())
        // Keyed by account first: every read of the read model's lots is one account's, so
        // the key serves them, and a lot costs no second index.
        .primary_key(Index::create().col(RmLots::AccountId).col(RmLots::Id))
        .to_owned()
}

#[derive(DeriveIden)]
enum RmHolds {
    Table,
    Id,
    AppId,
    AccountId,
    OwnerId,
    Asset,
    Operation,
    Amount,
    CreatedAt,
    ExpiresAt,
    Shares,
    Status,
    ClosedBy,
    ClosedAt,
    Captured,
}

fn holds() -> TableCreateStatement {
    Table::create()
        .table(RmHolds::Table)
        .col(ColumnDef::new(RmHolds::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(RmHolds::AppId).uuid().not_null())
        .col(ColumnDef::new(RmHolds::AccountId).uuid().not_null())
        .col(ColumnDef::new(RmHolds::OwnerId).text().not_null())
        .col(ColumnDef::new(RmHolds::Asset).text().not_null())
        .col(ColumnDef::new(RmHolds::Operation).text().not_null())
        .col(ColumnDef::new(RmHolds::Amount).text().not_null())
        .col(ColumnDef::new(RmHolds::CreatedAt).big_integer().not_null())
        .col(ColumnDef::new(RmHolds::ExpiresAt).big_integer().not_null())
        .col(ColumnDef::new(RmHolds::Shares).text().not_null())
        .col(ColumnDef::new(RmHolds::Status).text().not_null())
        .col(ColumnDef::new(RmHolds::ClosedBy).uuid().null())
        .col(ColumnDef::new(RmHolds::ClosedAt).big_integer().null())
        .col(ColumnDef::new(RmHolds::Captured).text().null())
        .to_owned()
}

#[derive(DeriveIden)]
enum RmReversals {
    Table,
    EntryId,
    AppId,
    Reversed,
    Count,
    ReversalIds,
}

fn reversals() -> TableCreateStatement {
    Table::create()
        .table(RmReversals::Table)
        .col(
            ColumnDef::new(RmReversals::EntryId)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(RmReversals::AppId).uuid().not_null())
        .col(ColumnDef::new(RmReversals::Reversed).text().not_null())
        .col(ColumnDef::new(RmReversals::Count).integer().not_null())
        .col(ColumnDef::new(RmReversals::ReversalIds).text().not_null())
        .to_owned()
}
