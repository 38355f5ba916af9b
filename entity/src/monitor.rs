use sea_orm::entity::prelude::*;

/// A balance monitor: `balance.low` when the account's available balance falls below
/// `below`, `balance.recovered` when it is back at or above it. Its state is written by the
/// batch that crossed the line.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "monitors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub account_id: Uuid,
    pub owner_id: String,
    pub asset: String,
    /// Decimal text: the threshold.
    pub below: String,
    /// `above` or `below` as last decided; none until the first batch that sees the account.
    pub state: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
