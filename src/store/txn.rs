//! A batch's transaction, on the pool's connection or on the SQLite writer's own
//! ([`super::direct`]): the few kinds of statement a batch runs, the same on either.

use super::Inserts;
use super::direct::DirectTxn;
use sea_orm::sea_query::ValueType;
use sea_orm::{
    ColumnType, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryResult,
    QueryTrait, Select, Statement, TryIntoModel, Value,
};

/// A batch's write transaction: the pool's, or the SQLite writer's own connection's.
pub enum WriteTxn {
    Pooled(DatabaseTransaction),
    Direct(DirectTxn),
}

impl WriteTxn {
    pub fn backend(&self) -> DbBackend {
        match self {
            WriteTxn::Pooled(txn) => txn.get_database_backend(),
            WriteTxn::Direct(_) => DbBackend::Sqlite,
        }
    }

    /// The models `select` finds (all of their columns).
    pub async fn all<E>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        match self {
            WriteTxn::Pooled(txn) => select.all(txn).await,
            WriteTxn::Direct(txn) => txn.models::<E>(select.build(DbBackend::Sqlite)),
        }
    }

    /// The rows of `stmt`, each as its columns' values in order, of the `declared` types.
    pub async fn rows(
        &self,
        stmt: Statement,
        declared: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>, DbErr> {
        match self {
            WriteTxn::Direct(txn) => txn.rows(stmt, declared),
            WriteTxn::Pooled(txn) => txn
                .query_all_raw(stmt)
                .await?
                .iter()
                .map(|row| {
                    (declared.iter().enumerate())
                        .map(|(i, ty)| value_at(row, i, ty))
                        .collect()
                })
                .collect(),
        }
    }

    pub async fn execute(&self, stmt: Statement) -> Result<(), DbErr> {
        match self {
            WriteTxn::Pooled(txn) => txn.execute_raw(stmt).await.map(drop),
            WriteTxn::Direct(txn) => txn.execute(stmt),
        }
    }

    pub async fn insert(&self, inserts: Inserts) -> Result<(), DbErr> {
        match self {
            WriteTxn::Pooled(txn) => inserts.run(txn).await,
            WriteTxn::Direct(txn) => {
                for statement in inserts.into_statements() {
                    txn.execute(statement)?;
                }
                Ok(())
            }
        }
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            WriteTxn::Pooled(txn) => txn.commit().await,
            WriteTxn::Direct(txn) => txn.commit().await,
        }
    }
}

/// A value of [`WriteTxn::rows`] as the Rust type it holds.
pub fn take<T: ValueType>(value: Value) -> Result<T, DbErr> {
    T::try_from(value).map_err(|e| DbErr::Type(e.to_string()))
}

/// Column `i` of a pool's row, as the value of the `declared` type.
fn value_at(row: &QueryResult, i: usize, declared: &ColumnType) -> Result<Value, DbErr> {
    use ColumnType as T;
    Ok(match declared {
        T::Integer => Value::Int(row.try_get_by_index(i)?),
        T::BigInteger => Value::BigInt(row.try_get_by_index(i)?),
        T::Boolean => Value::Bool(row.try_get_by_index(i)?),
        T::Uuid => Value::Uuid(row.try_get_by_index(i)?),
        T::String(_) | T::Text | T::Char(_) => Value::String(row.try_get_by_index(i)?),
        other => return Err(DbErr::Type(format!("no {other:?} column is read here"))),
    })
}
