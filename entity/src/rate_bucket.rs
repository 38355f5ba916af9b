use sea_orm::entity::prelude::*;

/// An app's rate-limit token bucket, shared by every instance: tokens in thousandths,
/// counted at `counted_at` (µs since the epoch). Changed only by compare-and-set on both
/// columns (`src/apps/rate.rs`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_buckets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub app_id: Uuid,
    pub tokens_milli: i64,
    pub counted_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
