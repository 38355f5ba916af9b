//! What every request passes through before its handler: a tracing span, so that each log
//! line names the request it belongs to, and the body-size limit.

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Runs the request in a span `request{id, method, path}`, ids numbered per process.
pub async fn in_span<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let span = tracing::info_span!(
        "request",
        id = NEXT.fetch_add(1, Ordering::Relaxed),
        method = %req.method(),
        path = %req.uri().path(),
    );
    async move { Ok(next.call(req).await?.into_response()) }
        .instrument(span)
        .await
}

/// Reads at most `MAX_BODY_BYTES` of a request body, whether it declares its length or is
/// chunked; a larger body is a 413 before any handler sees it.
pub async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let too_large = || {
        poem::Error::from_string(
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let body = req
        .take_body()
        .into_bytes_limit(MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => too_large(),
            other => poem::Error::from_string(other.to_string(), StatusCode::BAD_REQUEST),
        })?;
    req.set_body(body);
    Ok(next.call(req).await?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::{EndpointExt, Route, handler};

    #[handler]
    fn logs() -> &'static str {
        tracing::warn!("inside the handler");
        "ok"
    }

    #[test]
    fn a_requests_log_lines_name_the_request() {
        let text = crate::test_log::capture(tracing::Level::INFO, async {
            let app = Route::new()
                .at("/owners/:id", poem::get(logs))
                .around(in_span);
            for owner in ["x", "y"] {
                let req = Request::builder()
                    .uri_str(format!("/owners/{owner}"))
                    .finish();
                let response = app.call(req).await.expect("an answer");
                assert_eq!(response.status(), StatusCode::OK);
            }
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for (line, owner) in lines.iter().zip(["x", "y"]) {
            assert!(
                line.contains("request{id=")
                    && line.contains(&format!("method=GET path=/owners/{owner}}}: ")),
                "{line}"
            );
            assert!(line.ends_with("inside the handler"), "{line}");
        }
        assert_ne!(
            lines[0]
                .split("request{id=")
                .nth(1)
                .and_then(|r| r.split(' ').next()),
            lines[1]
                .split("request{id=")
                .nth(1)
                .and_then(|r| r.split(' ').next()),
            "each request has an id of its own"
        );
    }
}
