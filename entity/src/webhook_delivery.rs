use sea_orm::entity::prelude::*;

/// One event of an app for one of its webhooks, and its attempts so far. `body` is the
/// event as sent (the same bytes on every attempt); `status` is `pending`, `delivered` or
/// `failed`; times are µs since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub webhook_id: Uuid,
    /// The event's number in its app (`app_events.seq`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub owner_id: String,
    pub occurred_at: i64,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    /// The first attempt since the delivery became pending: the give-up window counts
    /// from it.
    pub first_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
