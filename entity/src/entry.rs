use sea_orm::entity::prelude::*;

/// A recorded entry: the request as the workflow accepted it. `(app_id, nonce)` is unique.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
)]
#[sea_orm(table_name = "entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub nonce: String,
    /// SHA-256 of the canonical request: a replay must match it, or it is `nonce_reused`.
    pub request_hash: String,
    pub operation: String,
    pub owner_id: String,
    pub counterparty_id: Option<String>,
    pub asset: String,
    pub amount: String,
    /// Canonical JSON text.
    pub metadata: Option<String>,
    /// Whether the request asked for `Prefer: respond-async`.
    pub is_async: bool,
    pub created_at: i64,
    /// The request's `expires_at` for the lot it opens (µs), where its operation lets a
    /// request set one.
    #[serde(default)]
    pub lot_expires_at: Option<i64>,
    /// The request's `priority` for the lot it opens, where its operation lets it set one.
    #[serde(default)]
    pub lot_priority: Option<i32>,
    /// The hold this entry captured or released (captures, voids and expiries of holds).
    #[serde(default)]
    pub hold_id: Option<Uuid>,
    /// The entry this one reverses (reversals only).
    #[serde(default)]
    pub reverses: Option<Uuid>,
    /// The state the row was written in and the transitions of the write that inserted
    /// it (`events`, a list as `entry_events.earlier` holds them): an entry's first
    /// transitions cost no row of their own. `state` is the last of `events`, kept as a
    /// column so that a query can count by it (`verify` does). Null on rows written
    /// before. The store moves them into a record's `events`; nothing above it sees them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
