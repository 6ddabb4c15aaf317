//! The admin web UI: server-rendered pages that work without JavaScript.

mod catalog;
pub mod charts;
mod dashboard;
mod session;
mod tokens;
mod users;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};

use crate::app::App;

pub use session::session_of;

const CSS: &str = include_str!("../../../static/app.css");

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/analytics") }))
        .route("/login", get(session::show_login).post(session::login))
        .route("/logout", post(session::logout))
        .route("/analytics", get(dashboard::analytics))
        .route("/static/app.css", get(css))
        .merge(catalog::router())
        .merge(users::router())
        .merge(tokens::router())
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}
