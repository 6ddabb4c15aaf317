//! The JSON API under `/api/v1`.

mod analytics;
mod budget;
mod catalog;
mod usage;

use std::sync::Arc;

use axum::Router;

use crate::app::App;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .merge(usage::router())
        .merge(analytics::router())
        .merge(catalog::router())
        .merge(budget::router())
}
