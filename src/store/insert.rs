//! Multi-row inserts, shared by the event store's batch write and the projector.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Iterable};

/// Bind parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// Inserts `rows` in as few multi-row statements as the bind-parameter limit allows.
pub async fn insert_all<E, M>(
    db: &impl ConnectionTrait,
    rows: &[M],
    on_conflict: Option<OnConflict>,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    M: IntoActiveModel<E::ActiveModel> + Clone,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let per_statement = (MAX_PARAMS / E::Column::iter().count()).max(1);
    for chunk in rows.chunks(per_statement) {
        let mut insert = E::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        );
        if let Some(on_conflict) = &on_conflict {
            insert = insert.on_conflict(on_conflict.clone());
        }
        insert.exec_without_returning(db).await?;
    }
    Ok(())
}
