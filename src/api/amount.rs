//! The amount field: a JSON string, never a number.
//!
//! poem-openapi's `String` accepts JSON numbers and its `Decimal` parses them through f64,
//! which would round `12345678901234567.89`. This type takes strings only, so an amount
//! never passes through a float; a number is a 400.

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;
use std::borrow::Cow;

/// A decimal amount as a string, e.g. `"12.50"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountText(pub String);

impl Type for AmountText {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string(decimal)".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            format: Some("decimal"),
            pattern: Some(r"^-?[0-9]+(\.[0-9]+)?$".to_owned()),
            max_length: Some(40),
            example: Some(Value::String("12.50".to_owned())),
            ..MetaSchema::new("string")
        }))
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

impl ParseFromJSON for AmountText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => Ok(AmountText(s)),
            _ => Err(ParseError::custom(
                "amount must be a JSON string such as \"12.50\", not a number",
            )),
        }
    }
}

impl ToJSON for AmountText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}
