//! Errors as RFC 9457 problem details, mapped from the library's errors in this one place.

use super::model::Entry;
use crate::apps::AppError;
use crate::query::QueryError;
use crate::store::StoreError;
use crate::workflow::{EntryRecord, Rejection, WorkflowError};
use poem::Response;
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

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
    /// The nonce belongs to a different request.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The request body is larger than 64 KiB.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
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
    /// The event store cannot be reached or stayed contended; retry with the same nonce.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

pub fn problem(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
    Problem {
        type_: format!("urn:ledgerflow:problem:{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code: code.to_owned(),
        detail: detail.into(),
        entry_id: None,
        entry: None,
    }
}

impl ApiProblem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> ApiProblem {
        let body = Json(problem(status, code, detail));
        match status {
            StatusCode::BAD_REQUEST => ApiProblem::BadRequest(body),
            StatusCode::UNAUTHORIZED => ApiProblem::Unauthorized(body),
            StatusCode::NOT_FOUND => ApiProblem::NotFound(body),
            StatusCode::CONFLICT => ApiProblem::Conflict(body),
            StatusCode::PAYLOAD_TOO_LARGE => ApiProblem::PayloadTooLarge(body),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiProblem::UnsupportedMediaType(body),
            StatusCode::UNPROCESSABLE_ENTITY => ApiProblem::Unprocessable(body, None),
            _ => ApiProblem::Unavailable(body),
        }
    }

    /// A recorded entry that failed: 422 with its code, its id and the entry itself.
    pub fn failed_entry(record: &EntryRecord, replay: bool) -> ApiProblem {
        let mut body = problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            record.failure_code().unwrap_or("failed"),
            record.failure_detail().unwrap_or("the entry failed"),
        );
        body.entry_id = Some(record.entry.id);
        body.entry = Some(Entry::from(record));
        ApiProblem::Unprocessable(Json(body), replay.then(|| "true".to_owned()))
    }

    pub fn nonce_reused(entry_id: Uuid) -> ApiProblem {
        let mut body = problem(
            StatusCode::CONFLICT,
            "nonce_reused",
            "this nonce was used for a different request; use a new nonce for a new entry",
        );
        body.entry_id = Some(entry_id);
        ApiProblem::Conflict(Json(body))
    }

    /// The answer to a missing, unknown or revoked API key.
    pub fn unauthorized() -> ApiProblem {
        ApiProblem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            UNAUTHORIZED_DETAIL,
        )
    }

    pub fn not_found(what: &str) -> ApiProblem {
        ApiProblem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} was not found"),
        )
    }
}

impl From<Rejection> for ApiProblem {
    fn from(r: Rejection) -> Self {
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
        ApiProblem::new(status, r.code, r.detail)
    }
}

/// A 503: the caller may retry (with the same nonce, for entries).
fn unavailable(error: &dyn std::fmt::Display, code: &str, detail: &str) -> ApiProblem {
    tracing::error!(error = %error, code, "service unavailable");
    ApiProblem::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
}

impl From<StoreError> for ApiProblem {
    fn from(e: StoreError) -> Self {
        unavailable(
            &e,
            "store_unavailable",
            "the event store is unavailable; retry with the same nonce",
        )
    }
}

impl From<QueryError> for ApiProblem {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Behind { want, have } => ApiProblem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "read_model_behind",
                format!(
                    "the read model has version {have} of this account, not yet {want}; \
                     retry shortly"
                ),
            ),
            other => unavailable(
                &other,
                "read_model_unavailable",
                "the read model is unavailable; retry later",
            ),
        }
    }
}

impl From<WorkflowError> for ApiProblem {
    fn from(e: WorkflowError) -> Self {
        unavailable(
            &e,
            "store_unavailable",
            "the entry could not be stored; retry with the same nonce",
        )
    }
}

impl From<AppError> for ApiProblem {
    fn from(e: AppError) -> Self {
        unavailable(
            &e,
            "apps_unavailable",
            "the app could not be loaded; retry later",
        )
    }
}

const UNAUTHORIZED_DETAIL: &str = "send the app's API key as `Authorization: Bearer <key>`";

/// Turns any error that did not come from a handler (body parsing, authentication, unknown
/// route, body too large, …) into a problem with a stable code.
pub async fn any_error(err: poem::Error) -> Response {
    if err.is_from_response() {
        // A handler's own answer (an `ApiProblem`), already a problem body.
        return err.into_response();
    }
    let status = err.status();
    let (status, code) = match status {
        StatusCode::BAD_REQUEST => (status, "invalid_request"),
        StatusCode::UNAUTHORIZED => (status, "unauthorized"),
        StatusCode::NOT_FOUND => (status, "not_found"),
        StatusCode::METHOD_NOT_ALLOWED => (status, "method_not_allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => (status, "payload_too_large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (status, "unsupported_media_type"),
        s if s.is_client_error() => (s, "invalid_request"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let detail = match code {
        "unauthorized" => UNAUTHORIZED_DETAIL.to_owned(),
        _ => err.to_string(),
    };
    if code == "unavailable" {
        tracing::error!(error = %err, "unexpected error");
    }
    Response::builder()
        .status(status)
        .content_type("application/problem+json")
        .body(problem(status, code, detail).to_json_string())
}
