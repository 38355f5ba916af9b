use sea_orm::entity::prelude::*;

/// Messages waiting to be published: written in the same transaction as the events they
/// carry, deleted by the relay once the bus has acknowledged all of them. The payload holds
/// one line per message, `<Nats-Msg-Id>\t<message JSON>` (see
/// `ledgerflow::projection::message`); the id is its first message's id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The message body (JSON of an entry and what it wrote).
    pub payload: String,
    pub created_at: i64,
    /// How many messages the payload holds.
    pub messages: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
