use sea_orm::entity::prelude::*;

/// An entry accepted with `Prefer: respond-async` whose workflow has not finished. The row
/// is deleted in the transaction that records the entry's terminal state; at start-up every
/// remaining row is resumed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: Uuid,
    pub app_id: Uuid,
    pub received_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
