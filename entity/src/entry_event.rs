use sea_orm::entity::prelude::*;

/// A workflow transition of an entry, stored once per write with the transitions before it
/// in `earlier`; `seq` orders them. The terminal event (`completed` or `failed`) carries the
/// failure code and detail.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "entry_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    pub state: String,
    pub at: i64,
    pub failure_code: Option<String>,
    pub failure_detail: Option<String>,
    /// The transitions the same write made before this one, as JSON; see
    /// `ledgerflow::store::events`. Empty in memory and on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
