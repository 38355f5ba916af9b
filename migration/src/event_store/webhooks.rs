//! The event store's tables of webhooks: each app's endpoints, and the deliveries of its
//! events to them (one row per event and webhook, with its attempts so far).

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub(super) enum Webhooks {
    Table,
    Id,
    AppId,
    Url,
    EventTypes,
    Secret,
    State,
    DisabledAt,
    DisabledReason,
    Cursor,
    LeaseOwner,
    LeaseUntil,
    CreatedAt,
}

pub(super) fn webhooks() -> TableCreateStatement {
    Table::create()
        .table(Webhooks::Table)
        .col(ColumnDef::new(Webhooks::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Webhooks::AppId).uuid().not_null())
        .col(ColumnDef::new(Webhooks::Url).text().not_null())
        .col(ColumnDef::new(Webhooks::EventTypes).text().not_null())
        .col(ColumnDef::new(Webhooks::Secret).text().not_null())
        .col(ColumnDef::new(Webhooks::State).text().not_null())
        .col(ColumnDef::new(Webhooks::DisabledAt).big_integer().null())
        .col(ColumnDef::new(Webhooks::DisabledReason).text().null())
        .col(ColumnDef::new(Webhooks::Cursor).big_integer().not_null())
        .col(ColumnDef::new(Webhooks::LeaseOwner).uuid().null())
        .col(
            ColumnDef::new(Webhooks::LeaseUntil)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(Webhooks::CreatedAt).big_integer().not_null())
        .to_owned()
}

#[derive(DeriveIden)]
pub(super) enum WebhookDeliveries {
    Table,
    WebhookId,
    Seq,
    EventId,
    EventType,
    OwnerId,
    OccurredAt,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    FirstAttemptAt,
    LastAttemptAt,
    LastStatus,
    LastError,
    LastLatencyMs,
    CreatedAt,
    DeliveredAt,
}

pub(super) fn webhook_deliveries() -> TableCreateStatement {
    use WebhookDeliveries as D;
    Table::create()
        .table(D::Table)
        .col(ColumnDef::new(D::WebhookId).uuid().not_null())
        .col(ColumnDef::new(D::Seq).big_integer().not_null())
        .col(ColumnDef::new(D::EventId).uuid().not_null())
        .col(ColumnDef::new(D::EventType).text().not_null())
        .col(ColumnDef::new(D::OwnerId).text().not_null())
        .col(ColumnDef::new(D::OccurredAt).big_integer().not_null())
        .col(ColumnDef::new(D::Body).text().not_null())
        .col(ColumnDef::new(D::Status).text().not_null())
        .col(ColumnDef::new(D::Attempts).integer().not_null())
        .col(ColumnDef::new(D::NextAttemptAt).big_integer().not_null())
        .col(ColumnDef::new(D::FirstAttemptAt).big_integer().null())
        .col(ColumnDef::new(D::LastAttemptAt).big_integer().null())
        .col(ColumnDef::new(D::LastStatus).integer().null())
        .col(ColumnDef::new(D::LastError).text().null())
        .col(ColumnDef::new(D::LastLatencyMs).big_integer().null())
        .col(ColumnDef::new(D::CreatedAt).big_integer().not_null())
        .col(ColumnDef::new(D::DeliveredAt).big_integer().null())
        .primary_key(Index::create().col(D::WebhookId).col(D::Seq))
        .to_owned()
}
