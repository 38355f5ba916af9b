use sea_orm::entity::prelude::*;

/// The head of an account `(app, owner, asset)`: the balance and version of its last posting.
/// The id is a UUIDv5 of the three, so every instance derives the same id without a lookup.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub owner_id: String,
    pub asset: String,
    pub balance: String,
    pub version: i64,
    /// `recorded_at` of the last posting; the next posting never records an earlier time.
    pub updated_at: i64,
    /// `hash` of the last posting: the next posting's `prev_hash`.
    pub hash: String,
    /// What debits that overdrew took beyond the owner's lots; the next credits cover it
    /// before they open a lot. Always zero for system accounts, which have no lots.
    pub shortfall: String,
    /// `active`, `frozen` (debits and holds refused) or `closed` (everything refused).
    pub status: String,
    /// How many holds of the account are not closed: a batch reads the account's holds
    /// only when there are some.
    pub open_holds: i32,
    /// How many balance monitors watch the account (a batch reads them only when some do).
    pub monitors: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
