use sea_orm::entity::prelude::*;

/// One event for an app (`entry.completed`, `hold.captured`, `balance.low`, …), written in
/// the transaction of the change it tells of. `(app_id, seq)` is the primary key, and `seq`
/// counts from 1 without a gap per app (`event_seq` holds the last one given).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "app_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub app_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub id: Uuid,
    /// `entry.completed`, `hold.held`, … (`ledgerflow::ledger::app_events::EventType`).
    pub event_type: String,
    pub owner_id: String,
    pub occurred_at: i64,
    /// The entry whose transaction wrote the event.
    pub entry_id: Uuid,
    /// JSON: the entity as that change left it; empty for an event of its entry
    /// (`entry.completed`, `entry.failed`), whose data the entry's row and postings hold
    /// (`ledgerflow::ledger::app_events::entry_data` builds it when the event is read).
    pub data: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
