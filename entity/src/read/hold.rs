use sea_orm::entity::prelude::*;

/// A hold as projected; the same columns as the event store's `holds`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rm_holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub account_id: Uuid,
    pub owner_id: String,
    pub asset: String,
    pub operation: String,
    pub amount: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub shares: String,
    pub status: String,
    pub closed_by: Option<Uuid>,
    pub closed_at: Option<i64>,
    pub captured: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<crate::hold::Model> for Model {
    fn from(h: crate::hold::Model) -> Self {
        Model {
            id: h.id,
            app_id: h.app_id,
            account_id: h.account_id,
            owner_id: h.owner_id,
            asset: h.asset,
            operation: h.operation,
            amount: h.amount,
            created_at: h.created_at,
            expires_at: h.expires_at,
            shares: h.shares,
            status: h.status,
            closed_by: h.closed_by,
            closed_at: h.closed_at,
            captured: h.captured,
        }
    }
}

impl From<Model> for crate::hold::Model {
    fn from(h: Model) -> Self {
        crate::hold::Model {
            id: h.id,
            app_id: h.app_id,
            account_id: h.account_id,
            owner_id: h.owner_id,
            asset: h.asset,
            operation: h.operation,
            amount: h.amount,
            created_at: h.created_at,
            expires_at: h.expires_at,
            shares: h.shares,
            status: h.status,
            closed_by: h.closed_by,
            closed_at: h.closed_at,
            captured: h.captured,
        }
    }
}
