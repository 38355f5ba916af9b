//! The read model's tables as first created.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub(super) enum RmAccounts {
    Table,
    Id,
    AppId,
    OwnerId,
    Asset,
    Balance,
    Version,
    UpdatedAt,
}

pub(super) fn accounts() -> TableCreateStatement {
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
pub(super) enum RmPostings {
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

pub(super) fn postings() -> TableCreateStatement {
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

#[derive(DeriveIden, Clone, Copy)]
pub(super) enum RmEntries {
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

pub(super) fn entries() -> TableCreateStatement {
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

/// The columns `rm_entries` gained after it was first created, in the order they came.
pub(super) const ADDED_ENTRY_COLUMNS: [RmEntries; 6] = [
    RmEntries::Lots,
    RmEntries::Allocations,
    RmEntries::LotExpiresAt,
    RmEntries::LotPriority,
    RmEntries::HoldId,
    RmEntries::Reverses,
];

/// One of [`ADDED_ENTRY_COLUMNS`], as it was added.
pub(super) fn added_entry_column(column: RmEntries) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    match column {
        RmEntries::LotExpiresAt => def.big_integer(),
        RmEntries::LotPriority => def.integer(),
        RmEntries::HoldId | RmEntries::Reverses => def.uuid(),
        _ => def.text(),
    };
    def.null().to_owned()
}

/// `rm_entries` with every column it has gained.
pub(super) fn entries_as_now() -> TableCreateStatement {
    let mut table = entries();
    for column in ADDED_ENTRY_COLUMNS {
        table.col(added_entry_column(column));
    }
    table
}

#[derive(DeriveIden)]
pub(super) enum RmCheckpoints {
    Table,
    Name,
    Position,
    LastCommittedAt,
    UpdatedAt,
}

pub(super) fn checkpoints() -> TableCreateStatement {
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
pub(super) enum RmParked {
    Table,
    MessageId,
    StreamSequence,
    Payload,
    Reason,
    ParkedAt,
}

pub(super) fn parked() -> TableCreateStatement {
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
pub(super) enum RmLots {
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

pub(super) fn lots() -> TableCreateStatement {
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
pub(super) enum RmHolds {
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

pub(super) fn holds() -> TableCreateStatement {
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
pub(super) enum RmReversals {
    Table,
    EntryId,
    AppId,
    Reversed,
    Count,
    ReversalIds,
}

pub(super) fn reversals() -> TableCreateStatement {
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
