use sea_orm::entity::prelude::*;

/// A posting as projected; the same columns as the event store's `postings`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rm_postings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    pub entry_id: Uuid,
    pub app_id: Uuid,
    pub owner_id: String,
    pub asset: String,
    pub amount: String,
    pub balance_after: String,
    pub recorded_at: i64,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<crate::posting::Model> for Model {
    fn from(p: crate::posting::Model) -> Self {
        Model {
            account_id: p.account_id,
            version: p.version,
            entry_id: p.entry_id,
            app_id: p.app_id,
            owner_id: p.owner_id,
            asset: p.asset,
            amount: p.amount,
            balance_after: p.balance_after,
            recorded_at: p.recorded_at,
            prev_hash: p.prev_hash,
            hash: p.hash,
        }
    }
}

impl From<Model> for crate::posting::Model {
    fn from(p: Model) -> Self {
        crate::posting::Model {
            account_id: p.account_id,
            version: p.version,
            entry_id: p.entry_id,
            app_id: p.app_id,
            owner_id: p.owner_id,
            asset: p.asset,
            amount: p.amount,
            balance_after: p.balance_after,
            recorded_at: p.recorded_at,
            prev_hash: p.prev_hash,
            hash: p.hash,
        }
    }
}
