use sea_orm::entity::prelude::*;

/// A credit lot: what one credit granted an owner's account (whose head names its app,
/// owner and asset), what is left of it, and where it stands in the drawdown order. The columns up to `counter_account` never change; the
/// rest is bookkeeping beside the events, like an account's head, and is derivable from
/// the lot's allocations.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "lots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// The entry that granted it; none for a lot that holds a balance older than lots.
    pub entry_id: Option<Uuid>,
    /// `promotional` or `paid`.
    pub category: String,
    /// 0–100; lower is spent first.
    pub priority: i32,
    /// The instant (µs) from which it no longer counts; none: it never expires.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    /// What it granted: the credit, less the part of it that covered a shortfall.
    pub amount: String,
    /// The system account a void returns the remainder to.
    pub counter_account: String,
    pub remaining: String,
    /// `open`, `spent`, `expired` or `voided`.
    pub status: String,
    /// The entry that expired or voided it.
    pub closed_by: Option<Uuid>,
    /// `recorded_at` of that entry's posting.
    pub closed_at: Option<i64>,
    /// What that entry moved out of it.
    pub closed_amount: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
