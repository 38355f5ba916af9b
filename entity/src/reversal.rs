use sea_orm::entity::prelude::*;

/// What has been reversed of one entry: bookkeeping beside the events (the reversal entries
/// say the same), updated by the batch that records a reversal.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "reversals")]
pub struct Model {
    /// The reversed entry.
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: Uuid,
    pub app_id: Uuid,
    /// The sum of its completed reversals.
    pub reversed: String,
    /// How many there are.
    pub count: i32,
    /// JSON array of their entry ids, oldest first.
    pub reversal_ids: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
