//! `POST /api/v1/usage`: record one usage record or `{"records": [...]}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;

use super::body;
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
    body: Body,
) -> Result<Json<BatchOutcome>, ApiError> {
    token.require_ingest()?;
    let body = body::read(body).await?;
    Ok(Json(app.record_json(&body).await?))
}
