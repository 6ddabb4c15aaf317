//! `/tokens`: API tokens for programs. A new token's secret is shown once.

use std::sync::Arc;

use axum::extract::{Path, State};

use super::form::Form as PostForm;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use super::session::Admin;
use super::view::{Cell, Field, Form, ListPage, MessagePage, PageResult, Values, render};
use crate::app::{App, AppError};
use crate::domain::Scope;
use crate::http::routes::{Access, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/tokens", Access::Admin, list)
        .post("/tokens", Access::Admin, create)
        .post("/tokens/{id}/revoke", Access::Admin, revoke)
}

fn new_token_form(admin: &Admin) -> Form {
    let scopes = [
        ("ingest", "ingest: record usage, check budgets"),
        ("read", "read: analytics and catalog"),
        ("admin", "admin: everything"),
    ];
    Form {
        id: "new",
        title: "New API token",
        action: "/tokens".into(),
        submit: "Create token",
        csrf: admin.csrf(),
        fields: vec![
            Field::new("name", "Name", "text", "").hint("Who uses it, e.g. wiki-backend"),
            Field::new("scope", "Scope", "select", "ingest").options(
                scopes
                    .iter()
                    .map(|(v, l)| (v.to_string(), l.to_string()))
                    .collect(),
            ),
        ],
        error: None,
    }
}

async fn list_page(app: &App, admin: &Admin, form: Option<Form>, status: StatusCode) -> PageResult {
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let rows = app
        .tokens()
        .await?
        .into_iter()
        .map(|t| {
            vec![
                Cell::num(t.id.to_string()),
                Cell::text(&t.name),
                Cell::text(t.scope.as_str()),
                Cell::text(fmt(t.created_at)),
                Cell::text(t.last_used_at.map(fmt).unwrap_or_else(|| "never".into())),
                if t.revoked {
                    Cell::text("revoked")
                } else {
                    Cell::button("Revoke", format!("/tokens/{}/revoke", t.id))
                },
            ]
        })
        .collect();
    let page = ListPage {
        nav: admin.nav("/tokens"),
        title: "API tokens",
        intro: "Programs authenticate with a bearer token. Secrets are stored hashed and shown only when created.",
        csrf: admin.csrf(),
        headers: vec![
            ("Id", true),
            ("Name", false),
            ("Scope", false),
            ("Created", false),
            ("Last used", false),
            ("", false),
        ],
        rows,
        forms: vec![form.unwrap_or_else(|| new_token_form(admin))],
    };
    Ok(render(status, &page))
}

async fn list(State(app): State<Arc<App>>, admin: Admin) -> PageResult {
    list_page(&app, &admin, None, StatusCode::OK).await
}

async fn create(
    State(app): State<Arc<App>>,
    admin: Admin,
    PostForm(v): PostForm<Values>,
) -> PageResult {
    admin.check_csrf(&v)?;
    let name = v
        .get("name")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let scope = v
        .get("scope")
        .map(String::as_str)
        .unwrap_or("")
        .parse::<Scope>();
    let result = match scope {
        Ok(scope) => app.create_token(&name, scope).await,
        Err(e) => Err(AppError::invalid("scope", e)),
    };
    match result {
        Ok((token, secret)) => {
            let page = MessagePage {
                nav: admin.nav("/tokens"),
                title: format!("Token {:?} created", token.name),
                message: format!(
                    "Scope: {}. Use it as: Authorization: Bearer <secret>",
                    token.scope
                ),
                secret: Some(secret),
                link: Some(("/tokens".into(), "Back to API tokens".into())),
            };
            Ok(render(StatusCode::OK, &page))
        }
        Err(e @ AppError::Invalid(_)) => {
            let form = new_token_form(&admin).refill(&v).with_error(&e);
            list_page(&app, &admin, Some(form), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke(
    State(app): State<Arc<App>>,
    admin: Admin,
    Path(id): Path<i64>,
    PostForm(v): PostForm<Values>,
) -> PageResult {
    admin.check_csrf(&v)?;
    app.revoke_token(&id.to_string()).await?;
    Ok(Redirect::to("/tokens").into_response())
}
