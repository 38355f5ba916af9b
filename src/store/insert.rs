//! Multi-row inserts, shared by the event store's batch write and the projector.
//!
//! On PostgreSQL (and CockroachDB) a batch of rows travels as one JSON array bound to one
//! parameter and is expanded by `json_populate_recordset`. The statement's text then
//! depends only on the table, never on the number of rows, so it is parsed and planned
//! once per connection and reused, and the service builds one string instead of a bind
//! value per cell. SQLite, in process, takes multi-row `VALUES` statements.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, IntoActiveModel,
    Iterable, ModelTrait, Value,
};
use std::io::Write as _;

/// Bind parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// Inserts `rows` in as few statements as the backend allows.
pub async fn insert_all<E, M>(
    db: &impl ConnectionTrait,
    rows: &[M],
    on_conflict: Option<OnConflict>,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    M: ModelTrait<Entity = E> + IntoActiveModel<E::ActiveModel> + Clone,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    if rows.is_empty() {
        return Ok(());
    }
    match db.get_database_backend() {
        DbBackend::Postgres => insert_json::<E, M>(db, rows, on_conflict).await,
        _ => insert_values::<E, M>(db, rows, on_conflict).await,
    }
}

async fn insert_values<E, M>(
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

/// `INSERT INTO t (c…) SELECT c… FROM json_populate_recordset(NULL::t, $1::json) [ON CONFLICT …]`.
/// The JSON keys are the column names, so the table's column order does not matter.
async fn insert_json<E, M>(
    db: &impl ConnectionTrait,
    rows: &[M],
    on_conflict: Option<OnConflict>,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    M: ModelTrait<Entity = E>,
{
    let table = E::default().table_name().to_owned();
    let columns: Vec<E::Column> = E::Column::iter().collect();
    let recordset = Func::cust("json_populate_recordset")
        .arg(Expr::cust(format!("NULL::\"{table}\"")))
        .arg(Expr::val(json_rows(rows, &columns)?).cast_as("json"));
    let mut select = Query::select();
    select
        .columns(columns.iter().map(|c| Alias::new(c.as_str())))
        .from_function(recordset, Alias::new("r"));
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(table))
        .columns(columns.iter().map(|c| Alias::new(c.as_str())))
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    if let Some(on_conflict) = on_conflict {
        insert.on_conflict(on_conflict);
    }
    db.execute(&insert).await?;
    Ok(())
}

/// The rows as a JSON array of objects keyed by column name.
fn json_rows<M: ModelTrait>(
    rows: &[M],
    columns: &[<M::Entity as EntityTrait>::Column],
) -> Result<String, DbErr> {
    let mut json = Vec::with_capacity(rows.len() * 64 * columns.len());
    json.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        json.extend_from_slice(if i == 0 { b"{" } else { b",{" });
        for (j, column) in columns.iter().enumerate() {
            if j > 0 {
                json.push(b',');
            }
            push_json_value(&mut json, Value::from(column.as_str()))
                .and_then(|()| {
                    json.push(b':');
                    push_json_value(&mut json, row.get(*column))
                })
                .map_err(|e| {
                    DbErr::Custom(format!("cannot send column {}: {e}", column.as_str()))
                })?;
        }
        json.push(b'}');
    }
    json.push(b']');
    String::from_utf8(json).map_err(|e| DbErr::Custom(e.to_string()))
}

fn push_json_value(json: &mut Vec<u8>, value: Value) -> Result<(), std::io::Error> {
    match value {
        // serde_json escapes exactly what JSON requires.
        Value::String(Some(s)) => serde_json::to_writer(json, &s).map_err(Into::into),
        Value::Uuid(Some(u)) => write!(json, "\"{u}\""),
        Value::BigInt(Some(n)) => write!(json, "{n}"),
        Value::Int(Some(n)) => write!(json, "{n}"),
        Value::Bool(Some(b)) => write!(json, "{b}"),
        Value::String(None)
        | Value::Uuid(None)
        | Value::BigInt(None)
        | Value::Int(None)
        | Value::Bool(None) => json.write_all(b"null"),
        other => Err(std::io::Error::other(format!(
            "{other:?} is a type this encoder does not carry"
        ))),
    }
}
