//! `POST /api/v1/usage`: record one usage record or `{"records": [...]}`.

use std::sync::Arc;

use axum::Json;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;

use crate::app::App;
use crate::domain::record::MAX_BODY_BYTES;
use crate::http::auth::Token;
use crate::http::error::ApiError;
use crate::http::routes::{Access, Routes};
use crate::store::BatchOutcome;

pub fn routes(r: Routes) -> Routes {
    r.post("/api/v1/usage", Access::Ingest, record)
}

/// How long a client may take to send a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

#[tracing::instrument(skip_all, fields(token = token.0.id))]
async fn record(
    State(app): State<Arc<App>>,
    token: Token,
    body: Body,
) -> Result<Json<BatchOutcome>, ApiError> {
    token.require_ingest()?;
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY_BYTES))
        .await
    {
        Err(_) => return Err(ApiError::Timeout),
        Ok(Err(_)) => {
            return Err(ApiError::TooLarge(format!(
                "the body exceeds {MAX_BODY_BYTES} bytes"
            )));
        }
        Ok(Ok(bytes)) => bytes,
    };
    Ok(Json(app.record_json(&body).await?))
}
