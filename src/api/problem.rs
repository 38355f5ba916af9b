//! Errors as RFC 9457 problem details. The one place where a code becomes an HTTP status
//! ([`status`]) and where the library's errors become problems.

use super::model::Entry;
use crate::apps::AppError;
use crate::ledger::{Class, Code, EntryRecord, Refusal};
use crate::query::QueryError;
use crate::workflow::WorkflowError;
use poem::Response;
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Object};
use std::time::Duration;
use uuid::Uuid;

/// The HTTP status of every code of a class.
pub fn status(class: Class) -> StatusCode {
    match class {
        Class::Malformed => StatusCode::BAD_REQUEST,
        Class::Unauthenticated => StatusCode::UNAUTHORIZED,
        Class::NotFound => StatusCode::NOT_FOUND,
        Class::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Class::Conflict => StatusCode::CONFLICT,
        Class::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Class::HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        Class::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Class::Refused | Class::Failed => StatusCode::UNPROCESSABLE_ENTITY,
        Class::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Class::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// An error: `code` is stable for machines, `detail` is for people.
#[derive(Debug, Object)]
pub struct Problem {
    /// `urn:ledgerflow:problem:<code>`.
    #[oai(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// Stable machine code, e.g. `insufficient_balance`, `nonce_reused`.
    pub code: String,
    pub detail: String,
    /// The entry this problem is about, when one was recorded.
    #[oai(skip_serializing_if_is_none)]
    pub entry_id: Option<Uuid>,
    /// The recorded entry, for failures of the workflow.
    #[oai(skip_serializing_if_is_none)]
    pub entry: Option<Entry>,
}

/// Every error response of the API.
#[derive(Debug, ApiResponse)]
pub enum ApiProblem {
    /// Malformed request.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Missing, unknown or revoked API key.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// No such resource for this app.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The route has no such method.
    #[oai(status = 405, content_type = "application/problem+json")]
    MethodNotAllowed(Json<Problem>),
    /// The nonce belongs to a different request.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The request body is larger than 64 KiB.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The request line and headers are too large.
    #[oai(status = 431, content_type = "application/problem+json")]
    HeadTooLarge(Json<Problem>),
    /// The request body is not `application/json`.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// Refused by the catalog (nothing recorded), or recorded as failed (`entry_id` set).
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(
        Json<Problem>,
        /// `true` when this answers a repeated nonce.
        #[oai(header = "Idempotent-Replay")]
        Option<String>,
    ),
    /// The app is over its rate limit; retry after `Retry-After` seconds. A request whose
    /// nonce is recorded already is answered anyway, with its first answer.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(
        Json<Problem>,
        /// Whole seconds until the app's next request is taken.
        #[oai(header = "Retry-After")]
        String,
    ),
    /// The event store cannot be reached or stayed contended; retry with the same nonce.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

/// Longest `detail`, in characters: a detail that quotes a request's text (a 10 KB operation
/// name, a framework's parse error) is cut here, never echoed whole.
const MAX_DETAIL_CHARS: usize = 300;

/// The body of a problem with `code`, at `status`.
fn problem(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
    let mut detail: String = detail.into();
    if let Some((cut, _)) = detail.char_indices().nth(MAX_DETAIL_CHARS) {
        detail.truncate(cut);
        detail.push('…');
    }
    Problem {
        type_: format!("urn:ledgerflow:problem:{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code: code.to_owned(),
        detail,
        entry_id: None,
        entry: None,
    }
}

impl ApiProblem {
    pub fn new(code: Code, detail: impl Into<String>) -> ApiProblem {
        let class = code.class();
        ApiProblem::of_class(class, problem(status(class), code.as_str(), detail))
    }

    fn of_class(class: Class, body: Problem) -> ApiProblem {
        let body = Json(body);
        match class {
            Class::Malformed => ApiProblem::BadRequest(body),
            Class::Unauthenticated => ApiProblem::Unauthorized(body),
            Class::NotFound => ApiProblem::NotFound(body),
            Class::MethodNotAllowed => ApiProblem::MethodNotAllowed(body),
            Class::Conflict => ApiProblem::Conflict(body),
            Class::TooLarge => ApiProblem::PayloadTooLarge(body),
            Class::HeadTooLarge => ApiProblem::HeadTooLarge(body),
            Class::UnsupportedMediaType => ApiProblem::UnsupportedMediaType(body),
            Class::Refused | Class::Failed => ApiProblem::Unprocessable(body, None),
            Class::RateLimited => ApiProblem::TooManyRequests(body, "1".to_owned()),
            Class::Unavailable => ApiProblem::Unavailable(body),
        }
    }

    /// Over the app's rate limit: 429, `Retry-After` in whole seconds, rounded up.
    pub fn rate_limited(wait: Duration) -> ApiProblem {
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let code = Code::RateLimited;
        let body = problem(
            status(code.class()),
            code.as_str(),
            format!("this app is over its rate limit; retry in {seconds} s"),
        );
        ApiProblem::TooManyRequests(Json(body), seconds.to_string())
    }

    /// A recorded entry that failed: its stored code, its id and the entry itself.
    pub fn failed_entry(record: &EntryRecord, replay: bool) -> ApiProblem {
        let code = record.failure_code().unwrap_or("failed");
        // A failure the ledger decided is `Failed` (422), or, for a state that conflicts
        // with the request (a closed lot), `Conflict` (409); recorded and replayed alike.
        let class = Code::parse(code).map_or(Class::Failed, Code::class);
        let mut body = problem(
            status(class),
            code,
            record.failure_detail().unwrap_or("the entry failed"),
        );
        body.entry_id = Some(record.entry.id);
        body.entry = Some(Entry::from(record));
        match class {
            Class::Conflict => ApiProblem::of_class(class, body),
            _ => ApiProblem::Unprocessable(Json(body), replay.then(|| "true".to_owned())),
        }
    }

    pub fn nonce_reused(entry_id: Uuid) -> ApiProblem {
        let code = Code::NonceReused;
        let mut body = problem(
            status(code.class()),
            code.as_str(),
            "this nonce was used for a different request; use a new nonce for a new entry",
        );
        body.entry_id = Some(entry_id);
        ApiProblem::of_class(code.class(), body)
    }

    /// The answer to a missing, unknown or revoked API key.
    pub fn unauthorized() -> ApiProblem {
        ApiProblem::new(Code::Unauthorized, UNAUTHORIZED_DETAIL)
    }

    pub fn not_found(what: &str) -> ApiProblem {
        ApiProblem::new(Code::NotFound, format!("{what} was not found"))
    }
}

impl From<Refusal> for ApiProblem {
    fn from(r: Refusal) -> Self {
        ApiProblem::new(r.code, r.detail)
    }
}

/// A 503: the caller may retry (with the same nonce, for entries).
fn unavailable(error: &dyn std::fmt::Display, code: Code, detail: &str) -> ApiProblem {
    tracing::error!(error = %error, %code, "service unavailable");
    ApiProblem::new(code, detail)
}

impl From<QueryError> for ApiProblem {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Behind { want, have } => ApiProblem::new(
                Code::ReadModelBehind,
                format!(
                    "the read model has version {have} of this account, not yet {want}; \
                     retry shortly"
                ),
            ),
            QueryError::VersionNotFound { want, head } => ApiProblem::new(
                Code::VersionNotFound,
                format!(
                    "the account is at version {head}; version {want} does not exist, so a \
                     read that waits for it would wait in vain"
                ),
            ),
            QueryError::TooManyHeld(n) => ApiProblem::new(
                Code::ReadModelBehind,
                format!(
                    "{n} reads of this app are waiting for the read model already; retry shortly"
                ),
            ),
            QueryError::Store(e) => unavailable(
                &e,
                Code::StoreUnavailable,
                "the event store is unavailable; retry with the same nonce",
            ),
            other => unavailable(
                &other,
                Code::ReadModelUnavailable,
                "the read model is unavailable; retry later",
            ),
        }
    }
}

impl From<WorkflowError> for ApiProblem {
    fn from(e: WorkflowError) -> Self {
        unavailable(
            &e,
            Code::StoreUnavailable,
            "the entry could not be stored; retry with the same nonce",
        )
    }
}

impl From<AppError> for ApiProblem {
    fn from(e: AppError) -> Self {
        unavailable(
            &e,
            Code::AppsUnavailable,
            "the app could not be loaded; retry later",
        )
    }
}

const UNAUTHORIZED_DETAIL: &str = "send the app's API key as `Authorization: Bearer <key>`";

/// The code of an error the HTTP layer raised itself, by its status. A client error this
/// table does not name keeps its status, with `invalid_request`; a server error is a 503.
fn framework_code(status: StatusCode) -> (StatusCode, Code) {
    let code = match status {
        StatusCode::BAD_REQUEST => Code::InvalidRequest,
        StatusCode::UNAUTHORIZED => Code::Unauthorized,
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Code::RequestHeadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
        s if s.is_client_error() => return (s, Code::InvalidRequest),
        _ => Code::Unavailable,
    };
    (self::status(code.class()), code)
}

/// Turns any error that did not come from a handler (body parsing, authentication, unknown
/// route, body too large, …) into a problem with a stable code.
pub async fn any_error(err: poem::Error) -> Response {
    if err.is_from_response() {
        // A handler's own answer (an `ApiProblem`), already a problem body.
        return err.into_response();
    }
    let (status, code) = framework_code(err.status());
    let detail = match code {
        Code::Unauthorized => UNAUTHORIZED_DETAIL.to_owned(),
        _ => err.to_string(),
    };
    if code == Code::Unavailable {
        tracing::error!(error = %err, "unexpected error");
    }
    Response::builder()
        .status(status)
        .content_type("application/problem+json")
        .body(problem(status, code.as_str(), detail).to_json_string())
}

/// The status and problem body that stand for the answer hyper gave, with `status`, to a
/// request head it could not read (see `listener::head_errors`).
pub fn head_error(status: StatusCode) -> (StatusCode, String) {
    let (status, code) = framework_code(status);
    let detail = match code {
        Code::RequestHeadTooLarge => "the request line and headers are too large",
        _ => "the request head cannot be read as HTTP/1.1",
    };
    (
        status,
        problem(status, code.as_str(), detail.to_owned()).to_json_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::IntoResponse;

    /// Every code answers with its class's status, and the body says the same status and
    /// code: a code with no place here fails this test instead of turning into a 503.
    #[test]
    fn every_code_becomes_its_classs_status() {
        for &code in Code::ALL {
            let response = ApiProblem::new(code, "x").into_response();
            assert_eq!(response.status(), status(code.class()), "{code}");
            let expected = match code.class() {
                Class::Malformed => 400,
                Class::Unauthenticated => 401,
                Class::NotFound => 404,
                Class::MethodNotAllowed => 405,
                Class::Conflict => 409,
                Class::TooLarge => 413,
                Class::HeadTooLarge => 431,
                Class::UnsupportedMediaType => 415,
                Class::Refused | Class::Failed => 422,
                Class::RateLimited => 429,
                Class::Unavailable => 503,
            };
            assert_eq!(response.status().as_u16(), expected, "{code}");
        }
    }

    #[test]
    fn framework_errors_get_codes_and_only_server_errors_become_503() {
        for (status, code) in [
            (StatusCode::BAD_REQUEST, Code::InvalidRequest),
            (StatusCode::METHOD_NOT_ALLOWED, Code::MethodNotAllowed),
            (StatusCode::PAYLOAD_TOO_LARGE, Code::PayloadTooLarge),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::UnsupportedMediaType,
            ),
        ] {
            assert_eq!(framework_code(status), (status, code));
        }
        assert_eq!(
            framework_code(StatusCode::NOT_ACCEPTABLE),
            (StatusCode::NOT_ACCEPTABLE, Code::InvalidRequest)
        );
        assert_eq!(
            framework_code(StatusCode::INTERNAL_SERVER_ERROR),
            (StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable)
        );
    }
}
