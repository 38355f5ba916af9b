//! The event store's tables of what goes out to apps: their events, numbered per app, and
//! the balance monitors that add `balance.*` events.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub(super) enum AppEvents {
    Table,
    AppId,
    Seq,
    Id,
    EventType,
    OwnerId,
    OccurredAt,
    EntryId,
    Data,
}

pub(super) fn app_events() -> TableCreateStatement {
    Table::create()
        .table(AppEvents::Table)
        .col(ColumnDef::new(AppEvents::AppId).uuid().not_null())
        .col(ColumnDef::new(AppEvents::Seq).big_integer().not_null())
        .col(ColumnDef::new(AppEvents::Id).uuid().not_null())
        .col(ColumnDef::new(AppEvents::EventType).text().not_null())
        .col(ColumnDef::new(AppEvents::OwnerId).text().not_null())
        .col(
            ColumnDef::new(AppEvents::OccurredAt)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(AppEvents::EntryId).uuid().not_null())
        .col(ColumnDef::new(AppEvents::Data).text().not_null())
        .primary_key(Index::create().col(AppEvents::AppId).col(AppEvents::Seq))
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum EventSeqs {
    Table,
    AppId,
    Seq,
}

pub(super) fn event_seqs() -> TableCreateStatement {
    Table::create()
        .table(EventSeqs::Table)
        .col(
            ColumnDef::new(EventSeqs::AppId)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(EventSeqs::Seq).big_integer().not_null())
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum Monitors {
    Table,
    Id,
    AppId,
    AccountId,
    OwnerId,
    Asset,
    Below,
    State,
    CreatedAt,
}

pub(super) fn monitors() -> TableCreateStatement {
    Table::create()
        .table(Monitors::Table)
        .col(ColumnDef::new(Monitors::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Monitors::AppId).uuid().not_null())
        .col(ColumnDef::new(Monitors::AccountId).uuid().not_null())
        .col(ColumnDef::new(Monitors::OwnerId).text().not_null())
        .col(ColumnDef::new(Monitors::Asset).text().not_null())
        .col(ColumnDef::new(Monitors::Below).text().not_null())
        .col(ColumnDef::new(Monitors::State).text().null())
        .col(ColumnDef::new(Monitors::CreatedAt).big_integer().not_null())
        .to_owned()
}
