//! `POST /api/v1/usage`: record one usage record or `{"records": [...]}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;

use crate::app::App;
use crate::http::auth::Token;
use crate::http::error::ApiError;
use crate::http::routes::{Access, Routes};
use crate::store::BatchOutcome;

pub fn routes(r: Routes) -> Routes {
    r.post("/api/v1/usage", Access::Ingest, record)
}

#[tracing::instrument(skip_all, fields(token = token.0.id))]
async fn record(
    State(app): State<Arc<App>>,
    token: Token,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BatchOutcome>, ApiError> {
    token.require_ingest()?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "the body exceeds {} bytes",
                crate::domain::record::MAX_BODY_BYTES
            ))
        } else {
            ApiError::App(crate::app::AppError::invalid("body", e.body_text()))
        }
    })?;
    Ok(Json(app.record_json(&body).await?))
}
