//! A JSON answer written straight from its shape by serde. poem-openapi's own `Json` turns a
//! shape into a `serde_json::Value` first (every object a `BTreeMap` of owned keys) and
//! writes that: for a posted entry, building and dropping that tree was the largest part
//! of its answer's work. The shape still gives the spec its schema (its `Object` derive),
//! and `tests` hold each shape's serde form equal to its `ToJSON` form, so the body and the
//! spec cannot drift apart.

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use serde::Serialize;

/// A JSON body, `application/json; charset=utf-8`, as `Json<T>` but written by serde: to
/// the spec it is `Json<T>` (every entry of the spec below is `Json<T>`'s own).
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        <Json<T> as Payload>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as Payload>::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for JsonBody<T> {
    fn into_response(self) -> Response {
        poem::web::Json(self.0).into_response()
    }
}

impl<T: ToJSON + Serialize> ApiResponse for JsonBody<T> {
    fn meta() -> MetaResponses {
        <Json<T> as ApiResponse>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as ApiResponse>::register(registry);
    }
}

#[cfg(test)]
mod tests;
