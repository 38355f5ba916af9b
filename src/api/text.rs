//! Text fields that must arrive as JSON strings.
//!
//! poem-openapi's `String` accepts JSON numbers and booleans and turns them into text (so
//! `"owner_id": 1` would record owner "1"), and its `Decimal` parses numbers through f64,
//! which would round `12345678901234567.89`. These types take strings only; anything else
//! is a 400, and an amount never passes through a float.

use crate::ledger::command::Amount;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;
use std::borrow::Cow;

/// Declares a string-only JSON type `$name` with the schema `$schema` and the error `$wrong`.
macro_rules! json_string {
    ($(#[$doc:meta])* $name:ident, $schema_name:literal, $schema:expr, $wrong:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                $schema_name.into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value.unwrap_or_default() {
                    Value::String(s) => Ok($name(s)),
                    _ => Err(ParseError::custom($wrong)),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

json_string!(
    /// A decimal amount as a string, e.g. `"12.50"`.
    AmountText,
    "string(decimal)",
    MetaSchema {
        format: Some("decimal"),
        pattern: Some(Amount::PATTERN.to_owned()),
        max_length: Some(Amount::MAX_TEXT_LEN),
        example: Some(Value::String("12.50".to_owned())),
        ..MetaSchema::new("string")
    },
    "amount must be a JSON string such as \"12.50\", not a number"
);

json_string!(
    /// A name or id as a string: an operation, an owner, a nonce.
    Text,
    "string",
    // The limits of ids and nonces are added to the document by `api::spec`.
    MetaSchema::new("string"),
    "this field must be a JSON string"
);
