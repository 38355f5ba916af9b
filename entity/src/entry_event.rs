use sea_orm::entity::prelude::*;

/// One workflow transition of an entry; `seq` orders them. The terminal event (`completed`
/// or `failed`) carries the failure code and detail.
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
