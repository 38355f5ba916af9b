use sea_orm::entity::prelude::*;

/// What has been reversed of one entry, as projected; the event store's `reversals`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rm_reversals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: Uuid,
    pub app_id: Uuid,
    pub reversed: String,
    pub count: i32,
    pub reversal_ids: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<crate::reversal::Model> for Model {
    fn from(r: crate::reversal::Model) -> Self {
        Model {
            entry_id: r.entry_id,
            app_id: r.app_id,
            reversed: r.reversed,
            count: r.count,
            reversal_ids: r.reversal_ids,
        }
    }
}

impl From<Model> for crate::reversal::Model {
    fn from(r: Model) -> Self {
        crate::reversal::Model {
            entry_id: r.entry_id,
            app_id: r.app_id,
            reversed: r.reversed,
            count: r.count,
            reversal_ids: r.reversal_ids,
        }
    }
}
