//! The admin web UI: server-rendered pages that work without JavaScript.

mod catalog;
pub mod charts;
mod dashboard;
mod form;
mod session;
mod tokens;
mod users;
mod view;

use axum::http::header;
use axum::response::{IntoResponse, Redirect};

use super::routes::{Access, Routes};

pub use session::session_of;
pub use view::PageError;

const CSS: &str = include_str!("../../../static/app.css");

pub fn routes(r: Routes) -> Routes {
    let r = r
        .get("/", Access::Public, || async { Redirect::to("/analytics") })
        .get("/login", Access::Public, session::show_login)
        .post("/login", Access::Public, session::login)
        .post("/logout", Access::Admin, session::logout)
        .get("/analytics", Access::Admin, dashboard::analytics)
        .get("/static/app.css", Access::Public, css);
    let r = catalog::routes(r);
    let r = users::routes(r);
    tokens::routes(r)
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
