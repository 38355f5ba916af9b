//! How rows travel: typed arrays or JSON on PostgreSQL, bound cells on SQLite, and the
//! columns a NULL in every row leaves out.

use super::{array_insert, shift_parameters, values_insert};
use entity::entry_event::Column;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{DbBackend, StatementBuilder, Value};

#[test]
fn columns_travel_as_typed_arrays_and_columns_with_a_null_as_json() {
    let row = entity::entry_event::Model {
        entry_id: uuid::Uuid::nil(),
        seq: 6,
        state: "completed".into(),
        at: 1,
        failure_code: Some("c".into()),
        failure_detail: Some("x".into()),
        earlier: Some("[]".into()),
    };
    let other = entity::entry_event::Model {
        failure_code: None,
        failure_detail: None,
        ..row.clone()
    };
    let statement = array_insert::<entity::entry_event::Entity, _>(&[row, other], None).unwrap();
    // failure_code and failure_detail hold a NULL: JSON; earlier is set in every row:
    // a typed array, though the column is nullable.
    assert!(
        statement.sql.contains(r#"SELECT unnest(CAST($1 AS uuid[])), unnest(CAST($2 AS int4[])), unnest(CAST($3 AS text[])), unnest(CAST($4 AS int8[])), json_array_elements_text(CAST($5 AS json)), json_array_elements_text(CAST($6 AS json)), unnest(CAST($7 AS text[]))"#),
        "{}",
        statement.sql
    );
    let values = statement.values.unwrap().0;
    assert_eq!(values.len(), 7);
    assert_eq!(values[5], Value::from(r#"["x",null]"#.to_owned()));
}

#[test]
fn the_arrays_are_bound_before_what_the_conflict_clause_binds() {
    let row = |seq| entity::entry_event::Model {
        entry_id: uuid::Uuid::nil(),
        seq,
        state: "held".into(),
        at: 1,
        failure_code: None,
        failure_detail: None,
        earlier: None,
    };
    let only_held = OnConflict::columns([Column::EntryId, Column::Seq])
        .update_column(Column::State)
        .action_and_where(Expr::col(Column::State).eq("held"))
        .to_owned();
    let statement =
        array_insert::<entity::entry_event::Entity, _>(&[row(1), row(2)], Some(only_held)).unwrap();
    assert!(
        statement.sql.ends_with(r#"WHERE "state" = $5"#),
        "{}",
        statement.sql
    );
    let values = statement.values.unwrap().0;
    assert_eq!(values.len(), 5);
    assert_eq!(values[1], Value::from(vec![1i32, 2]));
    assert_eq!(values[4], Value::from("held"));
}

#[test]
fn a_nullable_column_with_a_null_is_cast_from_json_text_and_one_all_null_is_left_out() {
    let row = |expires_at| entity::lot::Model {
        id: uuid::Uuid::nil(),
        account_id: uuid::Uuid::nil(),
        entry_id: Some(uuid::Uuid::nil()),
        category: "paid".into(),
        priority: 50,
        expires_at,
        created_at: 1,
        amount: "1".into(),
        counter_account: "@system:x".into(),
        remaining: "1".into(),
        status: "open".into(),
        closed_by: None,
        closed_at: None,
        closed_amount: None,
    };
    let statement =
        array_insert::<entity::lot::Entity, _>(&[row(Some(7)), row(None)], None).unwrap();
    assert!(
        statement
            .sql
            .contains("CAST(json_array_elements_text(CAST($6 AS json)) AS int8)"),
        "{}",
        statement.sql
    );
    assert!(
        statement.sql.contains("unnest(CAST($3 AS uuid[]))"),
        "{}",
        statement.sql
    );
    let values = statement.values.unwrap().0;
    assert_eq!(values[5], Value::from(r#"["7",null]"#.to_owned()));
}

#[test]
fn values_inserts_bind_each_cell_and_leave_out_a_column_null_in_every_row() {
    let row = |failure_code: Option<&str>| entity::entry_event::Model {
        entry_id: uuid::Uuid::nil(),
        seq: 6,
        state: "completed".into(),
        at: 1,
        failure_code: failure_code.map(str::to_owned),
        failure_detail: None,
        earlier: None,
    };
    let insert = |rows: &[entity::entry_event::Model]| {
        StatementBuilder::build(
            &values_insert::<entity::entry_event::Entity, _>(rows, None).unwrap(),
            &DbBackend::Sqlite,
        )
    };
    let statement = insert(&[row(None), row(Some("c"))]);
    assert_eq!(
        statement.sql,
        r#"INSERT INTO "entry_events" ("entry_id", "seq", "state", "at", "failure_code") VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)"#
    );
    let values = statement.values.unwrap().0;
    assert_eq!(values[4], Value::String(None));
    assert_eq!(values[9], Value::from("c".to_owned()));
    assert!(!insert(&[row(None)]).sql.contains("failure_code"));
}

#[test]
fn row_by_row_each_row_is_a_statement_whose_text_depends_on_its_null_cells_only() {
    let row = |seq: i32, failure_code: Option<&str>| entity::entry_event::Model {
        entry_id: uuid::Uuid::nil(),
        seq,
        state: "failed".into(),
        at: 1,
        failure_code: failure_code.map(str::to_owned),
        failure_detail: None,
        earlier: None,
    };
    let mut inserts = super::Inserts::row_by_row();
    let rows = [
        row(1, None),
        row(2, Some("c")),
        row(3, None),
        row(4, Some("d")),
    ];
    inserts
        .add::<entity::entry_event::Entity, _>(&rows, None)
        .unwrap();
    let statements = inserts.into_statements();
    assert_eq!(statements.len(), 4);
    assert_eq!(statements[0].sql, statements[2].sql);
    assert_eq!(statements[1].sql, statements[3].sql);
    assert_ne!(statements[0].sql, statements[1].sql);
    assert!(statements[1].sql.ends_with("VALUES (?, ?, ?, ?, ?)"));
    // A text taken again binds its own row's cells.
    let cells = |i: usize| statements[i].values.clone().unwrap().0;
    assert_eq!(cells(2)[1], Value::Int(Some(3)));
    assert_eq!(cells(3)[1], Value::Int(Some(4)));
    assert_eq!(cells(3)[4], Value::from("d".to_owned()));
    // The same rows into the same table with another conflict clause: texts of their own.
    let upsert = OnConflict::columns([Column::EntryId, Column::Seq])
        .update_column(Column::State)
        .to_owned();
    let mut inserts = super::Inserts::row_by_row();
    (inserts.add::<entity::entry_event::Entity, _>(&rows, None))
        .and_then(|i| i.add::<entity::entry_event::Entity, _>(&rows, Some(upsert)))
        .unwrap();
    let statements = inserts.into_statements();
    assert!(!statements[0].sql.contains("ON CONFLICT"));
    assert!(
        statements[4].sql.contains("ON CONFLICT"),
        "{}",
        statements[4].sql
    );
}

#[test]
fn parameters_shift_past_the_parts_before() {
    assert_eq!(
        shift_parameters("INSERT INTO t VALUES ($1, $2, $10)", 3),
        "INSERT INTO t VALUES ($4, $5, $13)"
    );
    assert_eq!(shift_parameters("SELECT 1", 5), "SELECT 1");
}
