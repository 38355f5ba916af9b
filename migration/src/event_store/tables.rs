//! The event store's tables as first created, and the names of their columns (later
//! columns are added by steps of their own in `steps`).

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub(super) enum Apps {
    Table,
    Id,
    Name,
    KeyHash,
    Operations,
    CreatedAt,
    RevokedAt,
    RatePerSecond,
    RateBurst,
}

pub(super) fn apps() -> TableCreateStatement {
    Table::create()
        .table(Apps::Table)
        .col(ColumnDef::new(Apps::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Apps::Name).text().not_null().unique_key())
        .col(ColumnDef::new(Apps::KeyHash).text().not_null().unique_key())
        .col(ColumnDef::new(Apps::Operations).text().null())
        .col(ColumnDef::new(Apps::CreatedAt).big_integer().not_null())
        .col(ColumnDef::new(Apps::RevokedAt).big_integer().null())
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Accounts {
    Table,
    Id,
    AppId,
    OwnerId,
    Asset,
    Balance,
    Version,
    UpdatedAt,
    Hash,
    Shortfall,
    Status,
    OpenHolds,
    Monitors,
}

pub(super) fn accounts() -> TableCreateStatement {
    Table::create()
        .table(Accounts::Table)
        .col(ColumnDef::new(Accounts::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Accounts::AppId).uuid().not_null())
        .col(ColumnDef::new(Accounts::OwnerId).text().not_null())
        .col(ColumnDef::new(Accounts::Asset).text().not_null())
        .col(ColumnDef::new(Accounts::Balance).text().not_null())
        .col(ColumnDef::new(Accounts::Version).big_integer().not_null())
        .col(ColumnDef::new(Accounts::UpdatedAt).big_integer().not_null())
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Postings {
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
        .table(Postings::Table)
        .col(ColumnDef::new(Postings::AccountId).uuid().not_null())
        .col(ColumnDef::new(Postings::Version).big_integer().not_null())
        .col(ColumnDef::new(Postings::EntryId).uuid().not_null())
        .col(ColumnDef::new(Postings::AppId).uuid().not_null())
        .col(ColumnDef::new(Postings::OwnerId).text().not_null())
        .col(ColumnDef::new(Postings::Asset).text().not_null())
        .col(ColumnDef::new(Postings::Amount).text().not_null())
        .col(ColumnDef::new(Postings::BalanceAfter).text().not_null())
        .col(
            ColumnDef::new(Postings::RecordedAt)
                .big_integer()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .col(Postings::AccountId)
                .col(Postings::Version),
        )
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Entries {
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
    LotExpiresAt,
    LotPriority,
    HoldId,
    Reverses,
    State,
    Events,
}

pub(super) fn entries() -> TableCreateStatement {
    Table::create()
        .table(Entries::Table)
        .col(ColumnDef::new(Entries::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Entries::AppId).uuid().not_null())
        .col(ColumnDef::new(Entries::Nonce).text().not_null())
        .col(ColumnDef::new(Entries::RequestHash).text().not_null())
        .col(ColumnDef::new(Entries::Operation).text().not_null())
        .col(ColumnDef::new(Entries::OwnerId).text().not_null())
        .col(ColumnDef::new(Entries::CounterpartyId).text().null())
        .col(ColumnDef::new(Entries::Asset).text().not_null())
        .col(ColumnDef::new(Entries::Amount).text().not_null())
        .col(ColumnDef::new(Entries::Metadata).text().null())
        .col(ColumnDef::new(Entries::IsAsync).boolean().not_null())
        .col(ColumnDef::new(Entries::CreatedAt).big_integer().not_null())
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum EntryEvents {
    Table,
    EntryId,
    Seq,
    State,
    At,
    FailureCode,
    FailureDetail,
    Earlier,
}

pub(super) fn entry_events() -> TableCreateStatement {
    Table::create()
        .table(EntryEvents::Table)
        .col(ColumnDef::new(EntryEvents::EntryId).uuid().not_null())
        .col(ColumnDef::new(EntryEvents::Seq).integer().not_null())
        .col(ColumnDef::new(EntryEvents::State).text().not_null())
        .col(ColumnDef::new(EntryEvents::At).big_integer().not_null())
        .col(ColumnDef::new(EntryEvents::FailureCode).text().null())
        .col(ColumnDef::new(EntryEvents::FailureDetail).text().null())
        .primary_key(
            Index::create()
                .col(EntryEvents::EntryId)
                .col(EntryEvents::Seq),
        )
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum PendingEntries {
    Table,
    EntryId,
    AppId,
    ReceivedAt,
}

pub(super) fn pending_entries() -> TableCreateStatement {
    Table::create()
        .table(PendingEntries::Table)
        .col(
            ColumnDef::new(PendingEntries::EntryId)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(PendingEntries::AppId).uuid().not_null())
        .col(
            ColumnDef::new(PendingEntries::ReceivedAt)
                .big_integer()
                .not_null(),
        )
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Usage {
    Table,
    AppId,
    OwnerId,
    Operation,
    Window,
    Count,
    Total,
    LastAt,
}

pub(super) fn usage() -> TableCreateStatement {
    Table::create()
        .table(Usage::Table)
        .col(ColumnDef::new(Usage::AppId).uuid().not_null())
        .col(ColumnDef::new(Usage::OwnerId).text().not_null())
        .col(ColumnDef::new(Usage::Operation).text().not_null())
        .col(ColumnDef::new(Usage::Window).text().not_null())
        .col(ColumnDef::new(Usage::Count).big_integer().not_null())
        .col(ColumnDef::new(Usage::Total).text().not_null())
        .col(ColumnDef::new(Usage::LastAt).big_integer().not_null())
        .primary_key(
            Index::create()
                .col(Usage::AppId)
                .col(Usage::OwnerId)
                .col(Usage::Operation)
                .col(Usage::Window),
        )
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Outbox {
    Table,
    Id,
    Payload,
    CreatedAt,
    Messages,
}

pub(super) fn outbox() -> TableCreateStatement {
    Table::create()
        .table(Outbox::Table)
        .col(ColumnDef::new(Outbox::Id).text().not_null().primary_key())
        .col(ColumnDef::new(Outbox::Payload).text().not_null())
        .col(ColumnDef::new(Outbox::CreatedAt).big_integer().not_null())
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum ApiKeys {
    Table,
    Id,
    AppId,
    KeyHash,
    CreatedAt,
    RevokedAt,
}

pub(super) fn api_keys() -> TableCreateStatement {
    Table::create()
        .table(ApiKeys::Table)
        .col(ColumnDef::new(ApiKeys::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(ApiKeys::AppId).uuid().not_null())
        .col(
            ColumnDef::new(ApiKeys::KeyHash)
                .text()
                .not_null()
                .unique_key(),
        )
        .col(ColumnDef::new(ApiKeys::CreatedAt).big_integer().not_null())
        .col(ColumnDef::new(ApiKeys::RevokedAt).big_integer().null())
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum RateBuckets {
    Table,
    AppId,
    TokensMilli,
    CountedAt,
}

pub(super) fn rate_buckets() -> TableCreateStatement {
    Table::create()
        .table(RateBuckets::Table)
        .col(
            ColumnDef::new(RateBuckets::AppId)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(RateBuckets::TokensMilli)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(RateBuckets::CountedAt)
                .big_integer()
                .not_null(),
        )
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Lots {
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
        .table(Lots::Table)
        .col(ColumnDef::new(Lots::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Lots::AccountId).uuid().not_null())
        .col(ColumnDef::new(Lots::EntryId).uuid().null())
        .col(ColumnDef::new(Lots::Category).text().not_null())
        .col(ColumnDef::new(Lots::Priority).integer().not_null())
        .col(ColumnDef::new(Lots::ExpiresAt).big_integer().null())
        .col(ColumnDef::new(Lots::CreatedAt).big_integer().not_null())
        .col(ColumnDef::new(Lots::Amount).text().not_null())
        .col(ColumnDef::new(Lots::CounterAccount).text().not_null())
        .col(ColumnDef::new(Lots::Remaining).text().not_null())
        .col(ColumnDef::new(Lots::Status).text().not_null())
        .col(ColumnDef::new(Lots::ClosedBy).uuid().null())
        .col(ColumnDef::new(Lots::ClosedAt).big_integer().null())
        .col(ColumnDef::new(Lots::ClosedAmount).text().null())
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Allocations {
    Table,
    EntryId,
    Seq,
    LotId,
    AccountId,
    Amount,
    RemainingAfter,
}

pub(super) fn allocations() -> TableCreateStatement {
    Table::create()
        .table(Allocations::Table)
        .col(ColumnDef::new(Allocations::EntryId).uuid().not_null())
        .col(ColumnDef::new(Allocations::Seq).integer().not_null())
        .col(ColumnDef::new(Allocations::LotId).uuid().not_null())
        .col(ColumnDef::new(Allocations::AccountId).uuid().not_null())
        .col(ColumnDef::new(Allocations::Amount).text().not_null())
        .col(
            ColumnDef::new(Allocations::RemainingAfter)
                .text()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .col(Allocations::EntryId)
                .col(Allocations::Seq),
        )
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Holds {
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
        .table(Holds::Table)
        .col(ColumnDef::new(Holds::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Holds::AppId).uuid().not_null())
        .col(ColumnDef::new(Holds::AccountId).uuid().not_null())
        .col(ColumnDef::new(Holds::OwnerId).text().not_null())
        .col(ColumnDef::new(Holds::Asset).text().not_null())
        .col(ColumnDef::new(Holds::Operation).text().not_null())
        .col(ColumnDef::new(Holds::Amount).text().not_null())
        .col(ColumnDef::new(Holds::CreatedAt).big_integer().not_null())
        .col(ColumnDef::new(Holds::ExpiresAt).big_integer().not_null())
        .col(ColumnDef::new(Holds::Shares).text().not_null())
        .col(ColumnDef::new(Holds::Status).text().not_null())
        .col(ColumnDef::new(Holds::ClosedBy).uuid().null())
        .col(ColumnDef::new(Holds::ClosedAt).big_integer().null())
        .col(ColumnDef::new(Holds::Captured).text().null())
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Reversals {
    Table,
    EntryId,
    AppId,
    Reversed,
    Count,
    ReversalIds,
}

pub(super) fn reversals() -> TableCreateStatement {
    Table::create()
        .table(Reversals::Table)
        .col(
            ColumnDef::new(Reversals::EntryId)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Reversals::AppId).uuid().not_null())
        .col(ColumnDef::new(Reversals::Reversed).text().not_null())
        .col(ColumnDef::new(Reversals::Count).integer().not_null())
        .col(ColumnDef::new(Reversals::ReversalIds).text().not_null())
        .to_owned()
}
