//! Building blocks the page templates share: navigation, tables, forms,
//! and turning errors into pages.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::app::AppError;

/// A submitted form: field name → value.
pub type Values = std::collections::HashMap<String, String>;

/// A field's value, trimmed; empty when absent.
pub fn text(values: &Values, key: &str) -> String {
    values
        .get(key)
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// A field's value, trimmed; `None` when absent or empty.
pub fn optional(values: &Values, key: &str) -> Option<String> {
    Some(text(values, key)).filter(|v| !v.is_empty())
}

/// Whether a checkbox was ticked.
pub fn checked(values: &Values, key: &str) -> bool {
    values.get(key).is_some_and(|v| v == "true" || v == "on")
}

/// A limit given as a whole number; empty means 0 (unlimited).
pub fn whole(values: &Values, key: &'static str) -> Result<i64, AppError> {
    let v = text(values, key);
    if v.is_empty() {
        return Ok(0);
    }
    v.parse()
        .ok()
        .filter(|n: &i64| *n >= 0)
        .ok_or_else(|| AppError::invalid(key, "must be a whole number, 0 or more (0 = unlimited)"))
}

/// The navigation bar of a signed-in administrator.
pub struct Nav {
    pub user: String,
    pub csrf: String,
    /// The path of the current section.
    pub active: &'static str,
}

impl Nav {
    pub fn links(&self) -> [(&'static str, &'static str); 7] {
        [
            ("/analytics", "Analytics"),
            ("/providers", "Providers"),
            ("/models", "Models"),
            ("/configurations", "Configurations"),
            ("/tasks", "Tasks"),
            ("/users", "Users"),
            ("/tokens", "API tokens"),
        ]
    }
}

/// One table cell: text, optionally a link, a one-button POST form, or a badge.
#[derive(Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub post: Option<String>,
    pub badge: Option<&'static str>,
    pub numeric: bool,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    pub fn num(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            numeric: true,
            ..Cell::default()
        }
    }

    pub fn link(text: impl Into<String>, href: String) -> Cell {
        Cell {
            text: text.into(),
            href: Some(href),
            ..Cell::default()
        }
    }

    pub fn button(text: impl Into<String>, action: String) -> Cell {
        Cell {
            text: text.into(),
            post: Some(action),
            ..Cell::default()
        }
    }

    pub fn badge(mut self, badge: Option<&'static str>) -> Cell {
        self.badge = badge;
        self
    }
}

/// One form field. `kind` is an input type, `select` or `checkbox`.
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub hint: Option<&'static str>,
    pub error: Option<String>,
    pub readonly: bool,
}

impl Field {
    pub fn new(
        name: &'static str,
        label: &'static str,
        kind: &'static str,
        value: impl Into<String>,
    ) -> Field {
        Field {
            name,
            label,
            kind,
            value: value.into(),
            options: Vec::new(),
            hint: None,
            error: None,
            readonly: false,
        }
    }

    pub fn hint(mut self, hint: &'static str) -> Field {
        self.hint = Some(hint);
        self
    }

    pub fn options(mut self, options: Vec<(String, String)>) -> Field {
        self.options = options;
        self
    }

    pub fn readonly(mut self, readonly: bool) -> Field {
        self.readonly = readonly;
        self
    }
}

pub struct Form {
    /// Prefix of the field ids, unique on the page.
    pub id: &'static str,
    pub title: &'static str,
    pub action: String,
    pub submit: &'static str,
    pub csrf: String,
    pub fields: Vec<Field>,
    /// An error that belongs to no single field.
    pub error: Option<String>,
}

impl Form {
    /// Shows an error beside its field, or above the form.
    /// Shows each problem beside its field; the others above the form.
    pub fn with_error(mut self, error: &AppError) -> Form {
        let AppError::Invalid(problems) = error else {
            self.error = Some(error.to_string());
            return self;
        };
        let mut elsewhere = Vec::new();
        for p in problems {
            // Errors from the catalog file name `model[0].input_price`.
            let field = p.field.rsplit('.').next().unwrap_or(&p.field);
            match self.fields.iter_mut().find(|f| f.name == field) {
                Some(f) if f.error.is_none() => f.error = Some(p.message.clone()),
                _ => elsewhere.push(format!("{}: {}", p.field, p.message)),
            }
        }
        if !elsewhere.is_empty() {
            self.error = Some(elsewhere.join("; "));
        }
        self
    }

    /// Puts submitted values back into the fields.
    pub fn refill(mut self, submitted: &std::collections::HashMap<String, String>) -> Form {
        for f in &mut self.fields {
            if f.kind == "password" || f.readonly {
                continue;
            }
            f.value = submitted.get(f.name).cloned().unwrap_or_else(|| {
                if f.kind == "checkbox" {
                    "false".into()
                } else {
                    String::new()
                }
            });
        }
        self
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub nav: Option<Nav>,
    pub title: String,
    pub message: String,
    pub secret: Option<String>,
    pub link: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub nav: Option<Nav>,
    pub title: &'static str,
    pub intro: &'static str,
    pub csrf: String,
    pub headers: Vec<(&'static str, bool)>,
    pub rows: Vec<Vec<Cell>>,
    pub forms: Vec<Form>,
}

#[derive(Template)]
#[template(path = "edit.html")]
pub struct EditPage {
    pub nav: Option<Nav>,
    pub title: String,
    pub back_href: &'static str,
    pub back_label: &'static str,
    pub forms: Vec<Form>,
}

/// Renders a template with a status.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// A page handler's failure.
pub enum PageError {
    /// Not signed in: go to the sign-in page.
    SignIn,
    Forbidden(String),
    /// A request refused before it reached the ledger: status, title, why.
    Status(StatusCode, &'static str, String),
    App(AppError),
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> PageError {
        PageError::App(e)
    }
}

fn message(status: StatusCode, title: &str, message: String) -> Response {
    let page = MessagePage {
        nav: None,
        title: title.into(),
        message,
        secret: None,
        link: Some(("/analytics".into(), "Back to the dashboard".into())),
    };
    render(status, &page)
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/login").into_response(),
            PageError::Forbidden(why) => message(StatusCode::FORBIDDEN, "Not allowed", why),
            PageError::Status(status, title, why) => message(status, title, why),
            PageError::App(AppError::NotFound(what)) => message(
                StatusCode::NOT_FOUND,
                "Not found",
                format!("{what} does not exist."),
            ),
            PageError::App(AppError::Unavailable(why)) => {
                tracing::warn!(error = %why, "a page could not reach the database");
                let mut response = message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The ledger's database is unavailable",
                    "The page cannot be shown right now. It will work again as soon as the database is back; try again in a moment.".into(),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
                response
            }
            PageError::App(
                e @ (AppError::Invalid(_) | AppError::Conflict(_) | AppError::Rejected(_)),
            ) => message(StatusCode::BAD_REQUEST, "That did not work", e.to_string()),
            PageError::App(AppError::Internal(why)) => {
                tracing::error!(error = %why, "a page failed");
                message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The error has been logged.".into(),
                )
            }
        }
    }
}

pub type PageResult = Result<Response, PageError>;
