//! The one error type of the HTTP layer: every failure becomes a status and
//! a JSON body `{"error": "...", "errors": [...]}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppError;
use crate::domain::RejectReason;

#[derive(Debug)]
pub enum ApiError {
    /// No credentials, or unknown or revoked ones.
    Unauthorized(&'static str),
    /// Valid credentials that may not do this.
    Forbidden(&'static str),
    /// A body too large for the route.
    TooLarge(String),
    /// The client did not send its body in time.
    Timeout,
    App(AppError),
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        ApiError::App(e)
    }
}

fn body(status: StatusCode, message: String, errors: serde_json::Value) -> Response {
    (status, Json(json!({ "error": message, "errors": errors }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthorized(why) => {
                let mut response = body(StatusCode::UNAUTHORIZED, why.into(), json!([]));
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            ApiError::Forbidden(why) => body(StatusCode::FORBIDDEN, why.into(), json!([])),
            ApiError::TooLarge(why) => body(StatusCode::PAYLOAD_TOO_LARGE, why, json!([])),
            ApiError::Timeout => body(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time; nothing was recorded".into(),
                json!([]),
            ),
            ApiError::App(e) => match e {
                AppError::Rejected(RejectReason::Invalid(errors)) => body(
                    StatusCode::BAD_REQUEST,
                    format!("{} invalid field(s); nothing was recorded", errors.len()),
                    json!(errors),
                ),
                AppError::Rejected(reason @ RejectReason::TooMany(_)) => {
                    body(StatusCode::PAYLOAD_TOO_LARGE, reason.to_string(), json!([]))
                }
                // Malformed JSON or the wrong shape: the body as a whole.
                AppError::Rejected(reason) => body(
                    StatusCode::BAD_REQUEST,
                    reason.to_string(),
                    json!([{ "field": "body", "message": reason.to_string() }]),
                ),
                AppError::Invalid(problems) => {
                    let errors = json!(problems);
                    // Its Display names every problem.
                    let message = AppError::Invalid(problems).to_string();
                    body(StatusCode::BAD_REQUEST, message, errors)
                }
                AppError::NotFound(what) => body(
                    StatusCode::NOT_FOUND,
                    format!("{what} does not exist"),
                    json!([]),
                ),
                AppError::Conflict(what) => body(
                    StatusCode::CONFLICT,
                    format!("{what} exists already"),
                    json!([]),
                ),
                AppError::Unavailable(why) => {
                    tracing::warn!(error = %why, "answering 503");
                    let mut response = body(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the ledger's database is unavailable; retry later".into(),
                        json!([]),
                    );
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                    response
                }
                AppError::Internal(why) => {
                    tracing::error!(error = %why, "answering 500");
                    body(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal error".into(),
                        json!([]),
                    )
                }
            },
        }
    }
}
