use sea_orm::entity::prelude::*;

/// One lot's part of an entry that drew from the owner's lots (a debit, the sending side of
/// a transfer, an expiry, a void). Append-only, like the postings: `remaining_after` is
/// the lot's remaining once this draw is taken, as `balance_after` is an account's.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "allocations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: Uuid,
    /// The allocation's place in the drawdown order, from 0.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    pub lot_id: Uuid,
    pub account_id: Uuid,
    pub amount: String,
    pub remaining_after: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
