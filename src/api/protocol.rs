//! Requests that could be read two ways are refused before any handler sees them, and the
//! answers that RFC 9110 says must name what to do next carry the header that says it.
//!
//! Refused (nothing is recorded):
//! - two `Authorization` headers (which app is asking?): 400;
//! - a transfer coding other than `chunked` (the body would be read as if it were not
//!   there): 400;
//! - a charset other than UTF-8 (the body would be read as UTF-8 anyway): 415;
//! - a JSON body with a duplicate key at any depth (which value counts?): 400.
//!
//! Added: `WWW-Authenticate: Bearer` to every 401, and `Allow` to every 405, listing the
//! methods the path has in the OpenAPI spec.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// Runs `next` unless the request is ambiguous.
pub async fn unambiguous<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    if let Some((status, why)) = ambiguous_head(&req) {
        return Err(poem::Error::from_string(why, status));
    }
    if is_json(&req) {
        // The body is already in memory (read within its limit by `limits::limit_body`).
        let body = req.take_body().into_bytes().await?;
        if let Some(why) = duplicate_key(&body) {
            return Err(poem::Error::from_string(why, StatusCode::BAD_REQUEST));
        }
        req.set_body(body);
    }
    Ok(next.call(req).await?.into_response())
}

fn ambiguous_head(req: &Request) -> Option<(StatusCode, String)> {
    let headers = req.headers();
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        let why = "send one Authorization header, not several";
        return Some((StatusCode::BAD_REQUEST, why.to_owned()));
    }
    for value in headers.get_all(header::TRANSFER_ENCODING) {
        let text = value.to_str().unwrap_or("?");
        let unknown = text
            .split(',')
            .map(str::trim)
            .find(|coding| !coding.eq_ignore_ascii_case("chunked"));
        if let Some(coding) = unknown {
            let coding: String = coding.chars().take(40).collect();
            let why = format!("the transfer coding {coding:?} is not supported; only chunked");
            return Some((StatusCode::BAD_REQUEST, why));
        }
    }
    let charset = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').skip(1).find_map(|p| charset_of(p.trim())));
    match charset {
        Some(c) if !c.eq_ignore_ascii_case("utf-8") && !c.eq_ignore_ascii_case("\"utf-8\"") => {
            let c: String = c.chars().take(40).collect();
            let why = format!("the charset {c:?} is not supported; send UTF-8");
            Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, why))
        }
        _ => None,
    }
}

fn charset_of(param: &str) -> Option<&str> {
    let (name, value) = param.split_once('=')?;
    name.trim()
        .eq_ignore_ascii_case("charset")
        .then(|| value.trim())
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"))
}

/// Why `body` is ambiguous JSON (an object with a key twice), if it is. A body that is not
/// JSON at all is the handler's to refuse.
fn duplicate_key(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Unique>(body) {
        Err(e) if e.is_data() => Some(e.to_string()),
        _ => None,
    }
}

/// Any JSON value whose objects each hold every key once.
struct Unique;

impl<'de> de::Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key.clone()) {
                let key: String = key.chars().take(40).collect();
                return Err(de::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
}

/// The methods each path of the API has, read from its OpenAPI spec, for `Allow`.
pub struct Allowed(Vec<(Vec<String>, String)>);

impl Allowed {
    /// From the spec's `paths` (templates such as `/v1/entries/{id}`), with `extra`
    /// GET-only paths that are not in it.
    pub fn from_spec(spec: &str, extra: &[&str]) -> Allowed {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let mut routes: Vec<(Vec<String>, String)> = Vec::new();
        if let Some(paths) = spec["paths"].as_object() {
            for (path, operations) in paths {
                let methods: Vec<String> = operations
                    .as_object()
                    .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                routes.push((segments(path), methods.join(", ")));
            }
        }
        routes.extend(extra.iter().map(|p| (segments(p), "GET".to_owned())));
        Allowed(routes)
    }

    /// The `Allow` value of `path`, if the API has it.
    fn of(&self, path: &str) -> Option<&str> {
        let asked = segments(path);
        self.0
            .iter()
            .find(|(template, _)| {
                template.len() == asked.len()
                    && template
                        .iter()
                        .zip(&asked)
                        .all(|(t, a)| t.starts_with('{') || t == a)
            })
            .map(|(_, methods)| methods.as_str())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Adds `WWW-Authenticate` to a 401 and `Allow` to a 405 that lack them.
pub async fn answer_headers<E: Endpoint>(
    next: E,
    req: Request,
    allowed: &Allowed,
) -> poem::Result<Response> {
    // A `Uri` clones by reference count; the path is read only for a 405.
    let uri = req.uri().clone();
    let mut response = next.call(req).await?.into_response();
    let status = response.status();
    let headers = response.headers_mut();
    match status {
        StatusCode::UNAUTHORIZED if !headers.contains_key(header::WWW_AUTHENTICATE) => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::METHOD_NOT_ALLOWED if !headers.contains_key(header::ALLOW) => {
            if let Some(value) = allowed
                .of(uri.path())
                .and_then(|m| HeaderValue::from_str(m).ok())
            {
                headers.insert(header::ALLOW, value);
            }
        }
        _ => {}
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_at_any_depth_is_ambiguous_and_anything_else_is_not() {
        for body in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"m": {"x": [1, {"k": 1, "k": 1}]}}"#,
            r#"{"a": 1, "\u0061": 1}"#,
        ] {
            assert!(duplicate_key(body.as_bytes()).is_some(), "{body}");
        }
        for body in [
            r#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#,
            "not json",
            "[1, 2]",
        ] {
            assert_eq!(duplicate_key(body.as_bytes()), None, "{body}");
        }
    }

    #[test]
    fn allow_lists_the_methods_of_the_spec_path_that_matches() {
        let spec = r#"{"paths": {"/v1/entries": {"post": {}},
                                  "/v1/entries/{id}": {"get": {}},
                                  "/v1/accounts/{owner_id}/entries": {"get": {}}}}"#;
        let allowed = Allowed::from_spec(spec, &["/metrics"]);
        assert_eq!(allowed.of("/v1/entries"), Some("POST"));
        assert_eq!(allowed.of("/v1/entries/123"), Some("GET"));
        assert_eq!(allowed.of("/v1/accounts/amy/entries"), Some("GET"));
        assert_eq!(allowed.of("/metrics"), Some("GET"));
        assert_eq!(allowed.of("/v2/nothing"), None);
    }
}
