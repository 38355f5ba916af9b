//! Multi-row inserts, shared by the event store's batch write and the projector.
//!
//! On PostgreSQL (and CockroachDB) the rows of a table travel as one array per column
//! ([`array_insert`]): the statement's text depends only on the table, never on the number
//! of rows, so it is planned once per connection, and a batch binds one value per column
//! instead of one per cell. A single row is bound as itself. The inserts of one batch go as
//! one statement ([`Inserts`]). SQLite, in process, takes multi-row `VALUES` statements
//! ([`values_insert`]), a batch's together as one text. On both, a nullable column that is NULL in every row of a batch is
//! left out: most rows leave most closing and optional columns empty, and each cell sent
//! costs the writer, whose time bounds the rate.

use sea_orm::sea_query::value::postgres_array::NotU8;
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, InsertStatement, OnConflict, Query, ValueType,
};
use sea_orm::{
    ColumnTrait, ColumnType, ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, Iterable,
    ModelTrait, Statement, StatementBuilder, Value,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Bind parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// Inserts into several tables, sent together: on PostgreSQL as one statement (each
/// table's insert a data-modifying `WITH` part; the tables must differ), so a batch costs
/// one round trip instead of one per table; on SQLite as one text of statements, which the
/// driver runs one after another.
pub struct Inserts {
    backend: DbBackend,
    statements: Vec<Statement>,
    /// One statement per row (see [`Inserts::row_by_row`]).
    row_by_row: bool,
}

impl Inserts {
    pub fn new(backend: DbBackend) -> Inserts {
        Inserts {
            backend,
            statements: Vec::new(),
            row_by_row: false,
        }
    }

    /// For SQLite's writer on its own connection, which has no worker thread to send each
    /// statement to: one insert per row, whose text depends only on its table and its NULL
    /// cells, so that it is parsed once and found again among the prepared ones (a
    /// multi-row insert's text varies with its rows, and SQLite parsed it anew each batch).
    pub fn row_by_row() -> Inserts {
        Inserts {
            row_by_row: true,
            ..Inserts::new(DbBackend::Sqlite)
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
        M: ModelTrait<Entity = E>,
    {
        if rows.is_empty() {
            return Ok(self);
        }
        // One row (an outbox row, say, whose payload is one long string) is cheaper bound
        // as itself than escaped into JSON and unescaped again; its statement text is fixed
        // too.
        if self.backend == DbBackend::Postgres && rows.len() > 1 {
            self.statements
                .push(array_insert::<E, M>(rows, on_conflict)?);
            return Ok(self);
        }
        if self.row_by_row {
            // The texts built so far, by the columns they send: one per pattern of NULL
            // cells, and the rows after a pattern's first only bind their cells.
            let mut texts = HashMap::new();
            let nullable: Vec<bool> = E::Column::iter().map(|c| c.def().is_null()).collect();
            for row in rows {
                self.add_row(row, &nullable, &on_conflict, &mut texts)?;
            }
            return Ok(self);
        }
        let per_statement = (MAX_PARAMS / E::Column::iter().count()).max(1);
        for chunk in rows.chunks(per_statement) {
            let insert = values_insert::<E, M>(chunk, on_conflict.clone())?;
            self.statements
                .push(StatementBuilder::build(&insert, &self.backend));
        }
        Ok(self)
    }

    /// One row's insert: its text built by [`values_insert`] for the first row that sends
    /// these columns, and taken from `texts` for the rest (the cells bind in the columns'
    /// order either way).
    fn add_row<E, M>(
        &mut self,
        row: &M,
        nullable: &[bool],
        on_conflict: &Option<OnConflict>,
        texts: &mut HashMap<Vec<bool>, String>,
    ) -> Result<(), DbErr>
    where
        E: EntityTrait,
        M: ModelTrait<Entity = E>,
    {
        let cells: Vec<Value> = E::Column::iter().map(|column| row.get(column)).collect();
        let sent: Vec<bool> = (cells.iter().zip(nullable))
            .map(|(cell, nullable)| is_sent(*nullable, cell))
            .collect();
        let sql = match texts.get(&sent) {
            Some(sql) => sql.clone(),
            None => {
                let insert = values_insert::<E, M>(std::slice::from_ref(row), on_conflict.clone())?;
                let sql = StatementBuilder::build(&insert, &self.backend).sql;
                texts.insert(sent.clone(), sql.clone());
                sql
            }
        };
        let values = (cells.into_iter().zip(&sent))
            .filter(|(_, sent)| **sent)
            .map(|(cell, _)| cell);
        self.statements
            .push(Statement::from_sql_and_values(self.backend, sql, values));
        Ok(())
    }

    pub async fn run(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.statements.len() < 2 {
            for statement in self.statements {
                db.execute_raw(statement).await?;
            }
            return Ok(());
        }
        if self.backend != DbBackend::Postgres {
            return db.execute_raw(self.in_sequence()).await.map(drop);
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

    /// The statements, each to be run on its own: the SQLite writer's own connection,
    /// which has no worker thread to hand them to.
    pub(crate) fn into_statements(self) -> Vec<Statement> {
        self.statements
    }

    /// The statements as one: SQLite (through sqlx) runs a text of several statements one
    /// after another, binding each its share of the values, in order. One command to the
    /// driver's worker thread instead of one per table: each is a hand-off between the
    /// writer's thread and that one, there and back.
    fn in_sequence(self) -> Statement {
        let mut sql = String::new();
        let mut values = Vec::new();
        for statement in self.statements {
            sql.push_str(&statement.sql);
            sql.push_str(";\n");
            values.extend(statement.values.map(|v| v.0).unwrap_or_default());
        }
        Statement::from_sql_and_values(self.backend, sql, values)
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

/// Whether a column goes into an insert for this `cell`: a NOT NULL column always, a
/// `nullable` one where the cell holds a value (a column NULL in every row of an insert is
/// left out; NULL is every nullable column's default).
fn is_sent(nullable: bool, cell: &Value) -> bool {
    !nullable || !is_null(cell)
}

fn is_null(cell: &Value) -> bool {
    *cell == cell.as_null()
}

/// `INSERT INTO t (c…) VALUES (…), (…) [ON CONFLICT …]`, each cell bound as itself. The
/// cells are read off the models as they are (no active model in between), and a nullable
/// column that is NULL in every row is left out, as [`array_insert`] leaves it out.
fn values_insert<E, M>(
    rows: &[M],
    on_conflict: Option<OnConflict>,
) -> Result<InsertStatement, DbErr>
where
    E: EntityTrait,
    M: ModelTrait<Entity = E>,
{
    let columns: Vec<E::Column> = E::Column::iter()
        .filter(|column| {
            let nullable = column.def().is_null();
            rows.iter().any(|row| is_sent(nullable, &row.get(*column)))
        })
        .collect();
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(E::default().table_name()))
        .columns(columns.iter().map(|c| Alias::new(c.as_str())));
    for row in rows {
        let cells = columns.iter().map(|column| Expr::val(row.get(*column)));
        insert
            .values(cells)
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    if let Some(on_conflict) = on_conflict {
        insert.on_conflict(on_conflict);
    }
    Ok(insert)
}

/// `INSERT INTO t (c…) SELECT unnest(CAST($1 AS uuid[])), unnest(CAST($2 AS text[])), … [ON CONFLICT …]`.
///
/// Each column travels as one typed array, which sqlx sends in PostgreSQL's binary format:
/// the server decodes no text, where the JSON recordset this replaced cost PostgreSQL about
/// a quarter of its CPU under load (`json_lex`, text-to-uuid and text-to-bigint casts). The
/// set-returning functions of one select list advance in lockstep, so the arrays, all of
/// one length, zip into rows. A column with a NULL among its cells travels as a JSON array
/// instead (`json_array_elements_text` yields NULL for `null`, and each element is cast to
/// the column's type): the array binding cannot hold NULL elements. A nullable column whose
/// cells are all set goes as a typed array like any other, and one whose cells are all NULL
/// is left out (so a statement has one text per pattern of nullable columns, a handful per
/// table).
///
/// The statement's text is built around placeholders, and the arrays are bound as they
/// were made: built with them, every array would be copied once more, cell by cell.
fn array_insert<E, M>(rows: &[M], on_conflict: Option<OnConflict>) -> Result<Statement, DbErr>
where
    E: EntityTrait,
    M: ModelTrait<Entity = E>,
{
    let table = E::default().table_name().to_owned();
    let columns: Vec<E::Column> = E::Column::iter().collect();
    let placeholder = |sql_type: &str| Expr::val(Value::Bool(None)).cast_as(Alias::new(sql_type));
    let mut select = Query::select();
    let mut sent = Vec::with_capacity(columns.len());
    let mut values = Vec::with_capacity(columns.len());
    for column in &columns {
        let cells: Vec<Value> = rows.iter().map(|row| row.get(*column)).collect();
        let def = column.def();
        let nulls = cells.iter().filter(|cell| is_null(cell)).count();
        if nulls == cells.len() && def.is_null() {
            // Left out, it is NULL in every row (no nullable column has another default).
            continue;
        }
        sent.push(*column);
        let cells = cells.into_iter();
        let expr = if nulls > 0 {
            json_array(def.get_column_type(), cells).map(|(json, sql_type)| {
                values.push(Value::from(json));
                let texts = Func::cust("json_array_elements_text").arg(placeholder("json"));
                match sql_type {
                    "text" => Expr::expr(texts),
                    other => Expr::expr(texts).cast_as(Alias::new(other)),
                }
            })
        } else {
            typed_array(def.get_column_type(), cells).map(|(array, sql_type)| {
                values.push(array);
                Expr::expr(Func::cust("unnest").arg(placeholder(sql_type)))
            })
        };
        let expr = expr
            .map_err(|e| DbErr::Custom(format!("cannot send column {}: {e}", column.as_str())))?;
        select.expr(expr);
    }
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(table))
        .columns(sent.iter().map(|c| Alias::new(c.as_str())))
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    if let Some(on_conflict) = on_conflict {
        insert.on_conflict(on_conflict);
    }
    // The select's placeholders come first, in the order the arrays were made; values the
    // conflict clause binds itself (`… DO UPDATE … WHERE status = $n`) follow them.
    let statement = StatementBuilder::build(&insert, &DbBackend::Postgres);
    let mut bound = statement.values.map_or_else(Vec::new, |v| v.0);
    if bound.len() < values.len() {
        return Err(DbErr::Custom(format!(
            "an insert into {} has {} parameters for {} arrays",
            E::default().table_name(),
            bound.len(),
            values.len()
        )));
    }
    bound.splice(..values.len(), values);
    Ok(Statement::from_sql_and_values(
        DbBackend::Postgres,
        statement.sql,
        bound,
    ))
}

/// The cells of a NOT NULL column as one typed array value, and its SQL type. The type is
/// the column's declared one, and every cell must be of it: the binder panics on a mixed
/// array, so a NULL or a stray type is an error here.
fn typed_array(
    column_type: &ColumnType,
    cells: impl Iterator<Item = Value>,
) -> Result<(Value, &'static str), String> {
    fn array_of<T>(cells: impl Iterator<Item = Value>) -> Result<Value, String>
    where
        T: ValueType + NotU8 + Into<Value>,
    {
        let cells: Vec<T> = cells
            .map(<T as ValueType>::try_from)
            .collect::<Result<_, _>>()
            .map_err(|_| format!("a NULL or a cell that is not {}", T::type_name()))?;
        Ok(cells.into())
    }
    Ok(match column_type {
        ColumnType::Uuid => (array_of::<Uuid>(cells)?, "uuid[]"),
        ColumnType::String(_) | ColumnType::Text => (array_of::<String>(cells)?, "text[]"),
        ColumnType::BigInteger => (array_of::<i64>(cells)?, "int8[]"),
        ColumnType::Integer => (array_of::<i32>(cells)?, "int4[]"),
        ColumnType::Boolean => (array_of::<bool>(cells)?, "bool[]"),
        other => return Err(format!("{other:?} is a type this encoder does not carry")),
    })
}

/// The cells of a nullable column as a JSON array of strings and nulls, and the SQL type
/// to cast each element to.
fn json_array(
    column_type: &ColumnType,
    cells: impl Iterator<Item = Value>,
) -> Result<(String, &'static str), String> {
    fn texts<T: ValueType + sea_orm::sea_query::Nullable + ToString>(
        cells: impl Iterator<Item = Value>,
    ) -> Result<Vec<Option<String>>, String> {
        cells
            .map(|cell| {
                <Option<T> as ValueType>::try_from(cell)
                    .map(|v| v.map(|v| v.to_string()))
                    .map_err(|_| format!("a cell that is not {}", T::type_name()))
            })
            .collect()
    }
    let (cells, sql_type) = match column_type {
        ColumnType::String(_) | ColumnType::Text => (texts::<String>(cells)?, "text"),
        ColumnType::Uuid => (texts::<Uuid>(cells)?, "uuid"),
        ColumnType::BigInteger => (texts::<i64>(cells)?, "int8"),
        ColumnType::Integer => (texts::<i32>(cells)?, "int4"),
        other => {
            return Err(format!(
                "{other:?} is a nullable type this encoder does not carry"
            ));
        }
    };
    let json = serde_json::to_string(&cells).map_err(|e| e.to_string())?;
    Ok((json, sql_type))
}

#[cfg(test)]
mod tests;
