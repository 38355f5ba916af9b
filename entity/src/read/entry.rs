use sea_orm::entity::prelude::*;

/// An entry as projected: the entry row of the event store, its current state, and its
/// transitions as JSON. `last_seq` is the seq of the newest transition applied; an older
/// message of the same entry never overwrites a newer one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rm_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub nonce: String,
    pub request_hash: String,
    pub operation: String,
    pub owner_id: String,
    pub counterparty_id: Option<String>,
    pub asset: String,
    pub amount: String,
    pub metadata: Option<String>,
    pub is_async: bool,
    pub created_at: i64,
    pub lot_expires_at: Option<i64>,
    pub lot_priority: Option<i32>,
    pub state: String,
    pub last_seq: i32,
    /// JSON array of the entry's `entry_events` rows, in order.
    pub events: String,
    /// JSON array of the ids of the lots the entry opened, if any (`rm_lots` holds them).
    pub lots: Option<String>,
    /// JSON array of the entry's `allocations` rows, in order, if any.
    pub allocations: Option<String>,
    pub hold_id: Option<Uuid>,
    pub reverses: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
