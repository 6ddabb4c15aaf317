//! The route registry: a route can only be added with its access rule, so
//! the table of rules is always the whole router (the auth matrix test walks
//! it, and a route added without a rule cannot exist).

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, delete, get, post, put};

use crate::app::App;

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, sign-in, the stylesheet.
    Public,
    /// A token with the `ingest` or `admin` scope.
    Ingest,
    /// A `read` or `admin` token, or an administrator's session.
    Read,
    /// An administrator's session; forms also need the session's CSRF token.
    Admin,
    /// A token with the `admin` scope: changes made through the API.
    Manage,
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub method: &'static str,
    pub path: String,
    pub access: Access,
}

#[derive(Default)]
pub struct Routes {
    router: Router<Arc<App>>,
    rules: Vec<Rule>,
}

impl Routes {
    fn add(
        mut self,
        method: &'static str,
        path: &str,
        access: Access,
        route: MethodRouter<Arc<App>>,
    ) -> Routes {
        // Several methods on one path are merged by axum.
        self.router = self.router.route(path, route);
        self.rules.push(Rule {
            method,
            path: path.to_string(),
            access,
        });
        self
    }

    pub fn get<H, T>(self, path: &str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        self.add("GET", path, access, get(handler))
    }

    pub fn post<H, T>(self, path: &str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        self.add("POST", path, access, post(handler))
    }

    pub fn put<H, T>(self, path: &str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        self.add("PUT", path, access, put(handler))
    }

    pub fn delete<H, T>(self, path: &str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        self.add("DELETE", path, access, delete(handler))
    }

    pub fn into_parts(self) -> (Router<Arc<App>>, Vec<Rule>) {
        (self.router, self.rules)
    }
}
