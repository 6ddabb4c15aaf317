//! `GET /api/v1/analytics?range=7d|30d|90d|month` (default and fallback: 30d).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};

use crate::app::App;
use crate::domain::Range;
use crate::domain::analytics::Analytics;
use crate::http::auth::Reader;
use crate::http::error::ApiError;
use crate::http::routes::{Access, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/api/v1/analytics", Access::Read, analytics)
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
