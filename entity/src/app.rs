use sea_orm::entity::prelude::*;

/// An app: a tenant of the ledger. Its keys are in `api_keys`; `key_hash` is the hash of
/// the key it was created with (kept for the record: authentication reads `api_keys`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "apps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub name: String,
    #[sea_orm(unique)]
    pub key_hash: String,
    /// The app's own catalog extension (TOML), layered over the service's catalog.
    pub operations: Option<String>,
    pub created_at: i64,
    /// Not read: revocation is per key, in `api_keys` (kept so that old rows still load).
    pub revoked_at: Option<i64>,
    /// The app's own rate limit (`ledgerflow apps limits`), requests per second; 0 is no
    /// limit. Unset: the service's default.
    pub rate_per_second: Option<i64>,
    /// The app's own burst; set with `rate_per_second`.
    pub rate_burst: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
