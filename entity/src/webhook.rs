use sea_orm::entity::prelude::*;

/// An app's webhook: where its events go, which of them, and how far they were fanned out.
/// `cursor` is the last of the app's event numbers (`app_events.seq`) turned into
/// deliveries; `lease_owner` and `lease_until` (µs) say which instance delivers now
/// (`src/webhooks/lease.rs`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub url: String,
    /// JSON array of event type names.
    pub event_types: String,
    /// `whsec_` and 64 hex digits: the HMAC key, kept as given out (it must sign).
    pub secret: String,
    /// `active` or `disabled`.
    pub state: String,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub cursor: i64,
    pub lease_owner: Option<Uuid>,
    pub lease_until: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
