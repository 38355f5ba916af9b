use sea_orm::entity::prelude::*;

/// A hold: credits of an owner's account reserved by a placement entry (whose id it shares)
/// until it is captured, voided or expires. The columns up to `shares` never change; the
/// rest is bookkeeping beside the events, like a lot's remaining: the entry that closed it
/// says how.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "holds")]
pub struct Model {
    /// The id of the entry that placed it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    pub account_id: Uuid,
    pub owner_id: String,
    pub asset: String,
    /// The debit operation its capture records.
    pub operation: String,
    pub amount: String,
    pub created_at: i64,
    /// The instant (µs) from which it no longer holds anything.
    pub expires_at: i64,
    /// JSON array of the lots' parts it reserves, in drawdown order:
    /// `[{"lot_id", "amount", "lot_expires_at"}]`.
    pub shares: String,
    /// `held`, `captured`, `voided` or `expired`.
    pub status: String,
    /// The entry that captured, voided or expired it.
    pub closed_by: Option<Uuid>,
    /// When that entry was recorded (for an expiry: the hold's own `expires_at`).
    pub closed_at: Option<i64>,
    /// What its capture debited.
    pub captured: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
