//! The read model's feed: each app's events as projected, and how far they were pruned.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub(super) enum RmAppEvents {
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
        .table(RmAppEvents::Table)
        .col(ColumnDef::new(RmAppEvents::AppId).uuid().not_null())
        .col(ColumnDef::new(RmAppEvents::Seq).big_integer().not_null())
        .col(ColumnDef::new(RmAppEvents::Id).uuid().not_null())
        .col(ColumnDef::new(RmAppEvents::EventType).text().not_null())
        .col(ColumnDef::new(RmAppEvents::OwnerId).text().not_null())
        .col(
            ColumnDef::new(RmAppEvents::OccurredAt)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(RmAppEvents::EntryId).uuid().not_null())
        .col(ColumnDef::new(RmAppEvents::Data).text().not_null())
        .primary_key(
            Index::create()
                .col(RmAppEvents::AppId)
                .col(RmAppEvents::Seq),
        )
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum RmEventFloors {
    Table,
    AppId,
    Seq,
}

pub(super) fn event_floors() -> TableCreateStatement {
    Table::create()
        .table(RmEventFloors::Table)
        .col(
            ColumnDef::new(RmEventFloors::AppId)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(RmEventFloors::Seq).big_integer().not_null())
        .to_owned()
}
