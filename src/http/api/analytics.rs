//! `GET /api/v1/analytics?range=7d|30d|90d|month` (default and fallback: 30d).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};

use crate::app::App;
use crate::domain::Range;
use crate::domain::analytics::Analytics;
use crate::http::auth::Reader;
use crate::http::error::ApiError;

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/api/v1/analytics", get(analytics))
}

/// Query parameters are read leniently: a bad or missing range is `30d`.
#[tracing::instrument(skip_all)]
async fn analytics(
    State(app): State<Arc<App>>,
    _reader: Reader,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Analytics>, ApiError> {
    let range = Range::parse_or_default(query.get("range").map(String::as_str));
    Ok(Json(app.analytics(range).await?))
}
