//! HTTP: the router and the server.

mod api;
mod auth;
mod error;
mod linger;
pub mod routes;
mod server;

use routes::Routes;
pub use routes::{Access, Rule};
pub(crate) mod pages;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::app::{App, AppError};
use crate::domain::record::MAX_BODY_BYTES;

/// Every route with its access rule.
fn routes() -> Routes {
    let r = Routes::default().get("/healthz", Access::Public, healthz);
    let r = api::routes(r);
    pages::routes(r)
}

/// The access rule of every route of the router.
pub fn route_table() -> Vec<Rule> {
    routes().into_parts().1
}

pub fn router(app: Arc<App>) -> Router {
    routes()
        .into_parts()
        .0
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::map_response(security_headers))
        .with_state(app)
}

/// No script runs on any page; nothing may frame the UI.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Spend figures, forms and a new token's secret are not for any cache;
    // only the stylesheet says otherwise.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// An error as the path's audience reads it: JSON under `/api/`, a page
/// elsewhere.
fn answer(uri: &Uri, e: AppError) -> Response {
    if uri.path().starts_with("/api/") {
        error::ApiError::App(e).into_response()
    } else {
        pages::PageError::App(e).into_response()
    }
}

/// The path parameter of a route, as text. A malformed one (say `%FF`,
/// not UTF-8) is a 400 in the route's own format, not axum's plain text.
pub struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Segment, Response> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(text)) => Ok(Segment(text)),
            Err(e) => Err(answer(&parts.uri, AppError::invalid("path", e.body_text()))),
        }
    }
}

/// An unknown path.
async fn not_found(uri: Uri) -> Response {
    answer(
        &uri,
        AppError::NotFound(format!("the page {:?}", uri.path())),
    )
}

/// A known path asked with a method it does not take.
async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let why = format!("is not taken by {}", uri.path());
    let mut response = answer(&uri, AppError::invalid(method.to_string(), why));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// Liveness: answers without touching the database.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Serves until `shutdown` completes, then drains open requests.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::run(router(app), listener, shutdown).await
}
