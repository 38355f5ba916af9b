use sea_orm::entity::prelude::*;

/// An API key of an app, stored only as the SHA-256 of the key. An app may hold several
/// keys at once, so that a rotation needs no downtime; a revoked key is refused from the
/// next request on.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub app_id: Uuid,
    #[sea_orm(unique)]
    pub key_hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
