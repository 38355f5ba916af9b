use sea_orm::entity::prelude::*;

/// A message the projector can never apply (it does not decode as an event of this
/// version). It is kept here with the reason instead of being dropped, and acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rm_parked")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: String,
    pub stream_sequence: i64,
    pub payload: String,
    pub reason: String,
    pub parked_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
