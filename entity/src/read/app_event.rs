use sea_orm::entity::prelude::*;

/// An app's event, as projected: the feed and the stream read these. The event store's
/// `app_events`; kept for the retention (`rm_event_floors` says how far it was pruned).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rm_app_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub app_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub id: Uuid,
    pub event_type: String,
    pub owner_id: String,
    pub occurred_at: i64,
    pub entry_id: Uuid,
    /// As the event store's: empty for an event of its entry, whose data the feed builds
    /// from the entry as projected.
    pub data: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<crate::app_event::Model> for Model {
    fn from(e: crate::app_event::Model) -> Self {
        Model {
            app_id: e.app_id,
            seq: e.seq,
            id: e.id,
            event_type: e.event_type,
            owner_id: e.owner_id,
            occurred_at: e.occurred_at,
            entry_id: e.entry_id,
            data: e.data,
        }
    }
}
