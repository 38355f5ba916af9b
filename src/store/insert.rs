//! Multi-row inserts, shared by the event store's batch write and the projector.
//!
//! On PostgreSQL (and CockroachDB) the rows of a table travel as one JSON array bound to
//! one parameter and expanded by `json_populate_recordset`: the statement's text depends
//! only on the table, never on the number of rows, so it is planned once per connection,
//! and the service builds one string instead of a bind value per cell. A single row is
//! bound as itself (no JSON escaping of a long payload). The inserts of one batch go as
//! one statement ([`Inserts`]). SQLite, in process, takes multi-row `VALUES` statements.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, InsertStatement, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, IntoActiveModel,
    Iterable, ModelTrait, QueryTrait, Statement, StatementBuilder, Value,
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
    let mut inserts = Inserts::new(db.get_database_backend());
    inserts.add::<E, M>(rows, on_conflict)?;
    inserts.run(db).await
}

/// Inserts into several tables, sent together: on PostgreSQL as one statement (each
/// table's insert a data-modifying `WITH` part; the tables must differ), so a batch costs
/// one round trip instead of one per table; on SQLite, in process, one after another.
pub struct Inserts {
    backend: DbBackend,
    statements: Vec<Statement>,
}

impl Inserts {
    pub fn new(backend: DbBackend) -> Inserts {
        Inserts {
            backend,
            statements: Vec::new(),
        }
    }

    /// Adds the insert of `rows` (nothing when there are none).
    pub fn add<E, M>(
        &mut self,
        rows: &[M],
        on_conflict: Option<OnConflict>,
    ) -> Result<&mut Inserts, DbErr>
    where
        E: EntityTrait,
        M: ModelTrait<Entity = E> + IntoActiveModel<E::ActiveModel> + Clone,
        E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    {
        if rows.is_empty() {
            return Ok(self);
        }
        // One row (an outbox row, say, whose payload is one long string) is cheaper bound
        // as itself than escaped into JSON and unescaped again; its statement text is fixed
        // too.
        if self.backend == DbBackend::Postgres && rows.len() > 1 {
            self.statements.push(StatementBuilder::build(
                &json_insert::<E, M>(rows, on_conflict)?,
                &self.backend,
            ));
            return Ok(self);
        }
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
            self.statements.push(insert.build(self.backend));
        }
        Ok(self)
    }

    pub async fn run(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.backend != DbBackend::Postgres || self.statements.len() < 2 {
            for statement in self.statements {
                db.execute_raw(statement).await?;
            }
            return Ok(());
        }
        // Every part numbers its parameters from $1; they are shifted past the parts before
        // it. `WITH` parts all run, whether or not the main statement reads them.
        let mut sql = String::new();
        let mut values = Vec::new();
        let last = self.statements.len() - 1;
        for (i, statement) in self.statements.into_iter().enumerate() {
            let part = shift_parameters(&statement.sql, values.len());
            if i < last {
                sql.push_str(if i == 0 { "WITH " } else { ", " });
                sql.push_str(&format!("w{i} AS ({part})"));
            } else {
                sql.push(' ');
                sql.push_str(&part);
            }
            values.extend(statement.values.map(|v| v.0).unwrap_or_default());
        }
        db.execute_raw(Statement::from_sql_and_values(self.backend, sql, values))
            .await?;
        Ok(())
    }
}

/// `sql` with every `$n` made `$(n + by)`. The statements built here hold no `$` but in
/// their placeholders: identifiers are the entities' own and every value is bound.
fn shift_parameters(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// `INSERT INTO t (c…) SELECT c… FROM json_populate_recordset(NULL::t, $1::json) [ON CONFLICT …]`.
/// The JSON keys are the column names, so the table's column order does not matter.
fn json_insert<E, M>(rows: &[M], on_conflict: Option<OnConflict>) -> Result<InsertStatement, DbErr>
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
    Ok(insert)
}

/// The rows as a JSON array of objects keyed by column name.
fn json_rows<M: ModelTrait>(
    rows: &[M],
    columns: &[<M::Entity as EntityTrait>::Column],
) -> Result<String, DbErr> {
    // Column names are the entities' own snake_case identifiers: nothing to escape.
    let keys: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(j, c)| format!("{}\"{}\":", if j == 0 { "" } else { "," }, c.as_str()))
        .collect();
    let mut json = Vec::with_capacity(rows.len() * 64 * columns.len());
    json.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        json.extend_from_slice(if i == 0 { b"{" } else { b",{" });
        for (column, key) in columns.iter().zip(&keys) {
            json.extend_from_slice(key.as_bytes());
            push_json_value(&mut json, row.get(*column)).map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::shift_parameters;

    #[test]
    fn parameters_shift_past_the_parts_before() {
        assert_eq!(
            shift_parameters("INSERT INTO t VALUES ($1, $2, $10)", 3),
            "INSERT INTO t VALUES ($4, $5, $13)"
        );
        assert_eq!(shift_parameters("SELECT 1", 5), "SELECT 1");
    }
}
