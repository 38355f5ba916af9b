use sea_orm::entity::prelude::*;

/// A lot as projected; the same columns as the event store's `lots`, keyed by
/// `(account_id, id)`: every read of the read model's lots is one account's.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rm_lots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub entry_id: Option<Uuid>,
    pub category: String,
    pub priority: i32,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub amount: String,
    pub counter_account: String,
    pub remaining: String,
    pub status: String,
    pub closed_by: Option<Uuid>,
    pub closed_at: Option<i64>,
    pub closed_amount: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<crate::lot::Model> for Model {
    fn from(l: crate::lot::Model) -> Self {
        Model {
            id: l.id,
            account_id: l.account_id,
            entry_id: l.entry_id,
            category: l.category,
            priority: l.priority,
            expires_at: l.expires_at,
            created_at: l.created_at,
            amount: l.amount,
            counter_account: l.counter_account,
            remaining: l.remaining,
            status: l.status,
            closed_by: l.closed_by,
            closed_at: l.closed_at,
            closed_amount: l.closed_amount,
        }
    }
}

impl From<Model> for crate::lot::Model {
    fn from(l: Model) -> Self {
        crate::lot::Model {
            id: l.id,
            account_id: l.account_id,
            entry_id: l.entry_id,
            category: l.category,
            priority: l.priority,
            expires_at: l.expires_at,
            created_at: l.created_at,
            amount: l.amount,
            counter_account: l.counter_account,
            remaining: l.remaining,
            status: l.status,
            closed_by: l.closed_by,
            closed_at: l.closed_at,
            closed_amount: l.closed_amount,
        }
    }
}
