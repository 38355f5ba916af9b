//! Values across the writer's own connection, in both directions, as the pool's
//! connections (sqlx) store and read them: both open the same file, so a row written by
//! one must read the same through the other.

use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};
use sea_orm::sea_query::OptionEnum;
use sea_orm::{ColumnType, DbErr, Value};

/// A SeaORM value bound to a statement as sqlx-sqlite binds it: a UUID as its 16 bytes, a
/// bool as 0 or 1, JSON and characters as text. (Money is stored as text already.)
pub(super) struct Bound(pub(super) Value);

impl ToSql for Bound {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as Owned;
        let owned = |v: Option<Owned>| Ok(ToSqlOutput::Owned(v.unwrap_or(Owned::Null)));
        let int = |v: Option<i64>| owned(v.map(Owned::Integer));
        let null = || owned(None);
        match &self.0 {
            Value::Bool(v) => int(v.map(i64::from)),
            Value::TinyInt(v) => int(v.map(i64::from)),
            Value::SmallInt(v) => int(v.map(i64::from)),
            Value::Int(v) => int(v.map(i64::from)),
            Value::BigInt(v) => int(*v),
            Value::TinyUnsigned(v) => int(v.map(i64::from)),
            Value::SmallUnsigned(v) => int(v.map(i64::from)),
            Value::Unsigned(v) => int(v.map(i64::from)),
            Value::BigUnsigned(Some(v)) => i64::try_from(*v)
                .map(|v| ToSqlOutput::Owned(Owned::Integer(v)))
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e))),
            Value::BigUnsigned(None) => null(),
            Value::Float(v) => owned(v.map(|v| Owned::Real(v.into()))),
            Value::Double(v) => owned(v.map(Owned::Real)),
            Value::String(Some(v)) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes()))),
            Value::String(None) => null(),
            Value::Char(v) => owned(v.map(|c| Owned::Text(c.to_string()))),
            Value::Enum(OptionEnum::Some(v)) => owned(Some(Owned::Text(v.value.to_string()))),
            Value::Enum(OptionEnum::None(_)) => null(),
            Value::Bytes(Some(v)) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(v))),
            Value::Bytes(None) => null(),
            Value::Uuid(Some(v)) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(v.as_bytes()))),
            Value::Uuid(None) => null(),
            Value::Json(v) => owned(v.as_ref().map(|j| Owned::Text(j.to_string()))),
            other => Err(rusqlite::Error::ToSqlConversionFailure(
                format!("SQLite takes no value of this type: {other:?}").into(),
            )),
        }
    }
}

/// A stored value as the SeaORM value of the `declared` type, of the variant its entity's
/// field reads (`Value::Int` for an `i32`: SQLite stores both integers alike).
pub(super) fn decode(
    stored: ValueRef<'_>,
    declared: &ColumnType,
    column: &str,
) -> Result<Value, DbErr> {
    let unexpected = || {
        DbErr::Type(format!(
            "column {column}: a stored {:?} is not a {declared:?}",
            stored.data_type()
        ))
    };
    let text = |t: &[u8]| {
        std::str::from_utf8(t)
            .map(str::to_owned)
            .map_err(|e| DbErr::Type(format!("column {column}: {e}")))
    };
    use ColumnType as T;
    use ValueRef as V;
    Ok(match (declared, stored) {
        (T::Integer, V::Null) => Value::Int(None),
        (T::Integer, V::Integer(i)) => {
            Value::Int(Some(i32::try_from(i).map_err(|_| unexpected())?))
        }
        (T::BigInteger, V::Null) => Value::BigInt(None),
        (T::BigInteger, V::Integer(i)) => Value::BigInt(Some(i)),
        (T::Boolean, V::Null) => Value::Bool(None),
        (T::Boolean, V::Integer(i)) => Value::Bool(Some(i != 0)),
        (T::Uuid, V::Null) => Value::Uuid(None),
        (T::Uuid, V::Blob(b)) => {
            Value::Uuid(Some(uuid::Uuid::from_slice(b).map_err(|_| unexpected())?))
        }
        (T::String(_) | T::Text | T::Char(_), V::Null) => Value::String(None),
        (T::String(_) | T::Text | T::Char(_), V::Text(t)) => Value::String(Some(text(t)?)),
        _ => return Err(unexpected()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_decide_the_variant_and_nulls_are_typed() {
        let int = decode(ValueRef::Integer(7), &ColumnType::Integer, "c");
        assert_eq!(int.ok(), Some(Value::Int(Some(7))));
        let big = decode(ValueRef::Integer(7), &ColumnType::BigInteger, "c");
        assert_eq!(big.ok(), Some(Value::BigInt(Some(7))));
        let null = decode(ValueRef::Null, &ColumnType::Uuid, "c");
        assert_eq!(null.ok(), Some(Value::Uuid(None)));
        let id = uuid::Uuid::from_u128(42);
        let uuid = decode(ValueRef::Blob(id.as_bytes()), &ColumnType::Uuid, "c");
        assert_eq!(uuid.ok(), Some(Value::Uuid(Some(id))));
        let text = decode(ValueRef::Text(b"x"), &ColumnType::Text, "c");
        assert_eq!(text.ok(), Some(Value::String(Some("x".into()))));
    }

    #[test]
    fn a_value_of_another_type_or_size_is_refused() {
        assert!(decode(ValueRef::Integer(1 << 40), &ColumnType::Integer, "c").is_err());
        assert!(decode(ValueRef::Text(b"1"), &ColumnType::BigInteger, "c").is_err());
        assert!(decode(ValueRef::Blob(&[1, 2]), &ColumnType::Uuid, "c").is_err());
        assert!(decode(ValueRef::Real(1.5), &ColumnType::Double, "c").is_err());
    }

    #[test]
    fn values_are_bound_as_sqlx_binds_them() {
        let id = uuid::Uuid::from_u128(42);
        let bound = Bound(Value::Uuid(Some(id)));
        let Ok(ToSqlOutput::Borrowed(ValueRef::Blob(bytes))) = bound.to_sql() else {
            panic!("a UUID is bound as a blob");
        };
        assert_eq!(bytes, id.as_bytes());
        let flag = Bound(Value::Bool(Some(true)));
        assert!(matches!(
            flag.to_sql(),
            Ok(ToSqlOutput::Owned(rusqlite::types::Value::Integer(1)))
        ));
    }
}
