use sea_orm::entity::prelude::*;

/// One account event. `(account_id, version)` is the primary key: two writers can never both
/// append the same version, which is the ledger's optimistic concurrency control.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "postings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    pub entry_id: Uuid,
    pub app_id: Uuid,
    pub owner_id: String,
    pub asset: String,
    /// Signed: positive credits the account, negative debits it.
    pub amount: String,
    pub balance_after: String,
    pub recorded_at: i64,
    /// `hash` of the account's previous posting (64 zeros for version 1).
    pub prev_hash: String,
    /// SHA-256 over `prev_hash` and this posting's content: the account's postings form a
    /// hash chain that `ledgerflow verify` checks (see `ledgerflow::workflow::chain`).
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
