use sea_orm::entity::prelude::*;

/// A message waiting to be published: written in the same transaction as the events it
/// carries, deleted by the relay once the bus has acknowledged it. The id is the message's
/// `Nats-Msg-Id` (`<entry id>.<last event seq>`), so a re-publish is recognised as the same.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The message body (JSON of an entry and what it wrote).
    pub payload: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
