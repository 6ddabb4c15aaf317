//! `/users`: people, roles, passwords and budget ceilings.

use std::sync::Arc;

use axum::extract::State;

use super::form::Form as PostForm;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use super::catalog::urlencode;
use super::session::Admin;
use super::view::{Cell, EditPage, Field, Form, ListPage, PageResult, Values, render, text, whole};
use crate::app::{App, AppError, AppResult, Problems};
use crate::domain::money::format_count;
use crate::domain::{Budget, Money, Role, User};
use crate::http::Segment;
use crate::http::routes::{Access, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/users", Access::Admin, list)
        .post("/users", Access::Admin, create)
        .get("/users/{username}", Access::Admin, edit)
        .post("/users/{username}/role", Access::Admin, set_role)
        .post("/users/{username}/password", Access::Admin, set_password)
        .post("/users/{username}/budget", Access::Admin, set_budget)
        .post("/users/{username}/profile", Access::Admin, set_profile)
}

fn roles() -> Vec<(String, String)> {
    vec![
        ("member".into(), "member".into()),
        ("admin".into(), "admin (may sign in)".into()),
    ]
}

fn new_user_form(admin: &Admin) -> Form {
    Form {
        id: "new",
        title: "New user",
        action: "/users".into(),
        submit: "Add user",
        csrf: admin.csrf(),
        fields: vec![
            Field::new("username", "Username", "text", "").hint("As usage records name the user"),
            Field::new("display_name", "Display name", "text", ""),
            Field::new("role", "Role", "select", "member").options(roles()),
            Field::new("password", "Password", "password", "")
                .hint("Needed only for administrators; at least 8 characters"),
        ],
        error: None,
    }
}

async fn list_page(app: &App, admin: &Admin, form: Option<Form>, status: StatusCode) -> PageResult {
    let mut rows = Vec::new();
    for u in app.users().await? {
        let budget = app.budget(&u.username).await?;
        let limit = |n: i64| {
            if n == 0 {
                String::new()
            } else {
                format_count(n)
            }
        };
        let money = |m: Money| {
            if m == Money::ZERO {
                String::new()
            } else {
                m.display_estimate()
            }
        };
        rows.push(vec![
            Cell::link(
                &u.display_name,
                format!("/users/{}", urlencode(&u.username)),
            )
            .badge(match (u.active, u.discovered) {
                (false, _) => Some("inactive"),
                (true, true) => Some("discovered"),
                (true, false) => None,
            }),
            Cell::text(&u.username),
            Cell::text(u.role.as_str()),
            Cell::text(if u.has_password { "set" } else { "" }),
            Cell::num(
                budget
                    .map(|b| limit(b.max_requests_per_day))
                    .unwrap_or_default(),
            ),
            Cell::num(
                budget
                    .map(|b| money(b.max_cost_per_day))
                    .unwrap_or_default(),
            ),
            Cell::num(
                budget
                    .map(|b| money(b.max_cost_per_month))
                    .unwrap_or_default(),
            ),
            Cell::text(match budget {
                None => "no budget",
                Some(b) if b.enforced => "enforced",
                Some(_) => "not enforced",
            }),
        ]);
    }
    let page = ListPage {
        nav: admin.nav("/users"),
        title: "Users",
        intro: "People usage is attributed to. Only administrators sign in to this UI; members are named by the programs that record their usage.",
        csrf: admin.csrf(),
        headers: vec![
            ("User", false),
            ("Username", false),
            ("Role", false),
            ("Password", false),
            ("Requests/day", true),
            ("Cost/day", true),
            ("Cost/month", true),
            ("Budget", false),
        ],
        rows,
        forms: vec![form.unwrap_or_else(|| new_user_form(admin))],
    };
    Ok(render(status, &page))
}

async fn list(State(app): State<Arc<App>>, admin: Admin) -> PageResult {
    list_page(&app, &admin, None, StatusCode::OK).await
}

fn role(v: &Values) -> AppResult<Role> {
    text(v, "role")
        .parse()
        .map_err(|e: String| AppError::invalid("role", e))
}

async fn create(
    State(app): State<Arc<App>>,
    admin: Admin,
    PostForm(v): PostForm<Values>,
) -> PageResult {
    admin.check_csrf(&v)?;
    let result = async {
        let role = role(&v)?;
        let password = v.get("password").filter(|p| !p.is_empty());
        let display = Some(text(&v, "display_name")).filter(|d| !d.is_empty());
        app.create_user(
            &text(&v, "username"),
            display.as_deref(),
            role,
            password.map(String::as_str),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to("/users").into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let e = match e {
                AppError::Conflict(_) => AppError::invalid("username", "is taken"),
                other => other,
            };
            let form = new_user_form(&admin).refill(&v).with_error(&e);
            list_page(&app, &admin, Some(form), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(e.into()),
    }
}

fn budget_values(b: &Budget) -> Values {
    let money = |m: Money| {
        if m == Money::ZERO {
            "0".to_string()
        } else {
            m.to_string()
        }
    };
    [
        ("max_requests_per_day", b.max_requests_per_day.to_string()),
        ("max_tokens_per_day", b.max_tokens_per_day.to_string()),
        ("max_cost_per_day", money(b.max_cost_per_day)),
        (
            "max_requests_per_month",
            b.max_requests_per_month.to_string(),
        ),
        ("max_tokens_per_month", b.max_tokens_per_month.to_string()),
        ("max_cost_per_month", money(b.max_cost_per_month)),
        ("enforced", b.enforced.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn user_forms(admin: &Admin, user: &User, budget: &Budget) -> Vec<Form> {
    let base = format!("/users/{}", urlencode(&user.username));
    let b = budget_values(budget);
    let value = |k: &str| b.get(k).cloned().unwrap_or_default();
    vec![
        Form {
            id: "budget",
            title: "Budget",
            action: format!("{base}/budget"),
            submit: "Save budget",
            csrf: admin.csrf(),
            fields: vec![
                Field::new(
                    "max_requests_per_day",
                    "Max requests per day",
                    "number",
                    value("max_requests_per_day"),
                )
                .hint("0 = unlimited"),
                Field::new(
                    "max_tokens_per_day",
                    "Max tokens per day",
                    "number",
                    value("max_tokens_per_day"),
                )
                .hint("0 = unlimited"),
                Field::new(
                    "max_cost_per_day",
                    "Max cost per day (USD)",
                    "text",
                    value("max_cost_per_day"),
                )
                .hint("0 = unlimited"),
                Field::new(
                    "max_requests_per_month",
                    "Max requests per month",
                    "number",
                    value("max_requests_per_month"),
                )
                .hint("0 = unlimited"),
                Field::new(
                    "max_tokens_per_month",
                    "Max tokens per month",
                    "number",
                    value("max_tokens_per_month"),
                )
                .hint("0 = unlimited"),
                Field::new(
                    "max_cost_per_month",
                    "Max cost per month (USD)",
                    "text",
                    value("max_cost_per_month"),
                )
                .hint("0 = unlimited; shown as the budget bar on the dashboard"),
                Field::new("enforced", "Enforced", "checkbox", value("enforced")),
            ],
            error: None,
        },
        Form {
            id: "role",
            title: "Role",
            action: format!("{base}/role"),
            submit: "Save role",
            csrf: admin.csrf(),
            fields: vec![Field::new("role", "Role", "select", user.role.as_str()).options(roles())],
            error: None,
        },
        Form {
            id: "password",
            title: "Password",
            action: format!("{base}/password"),
            submit: "Set password",
            csrf: admin.csrf(),
            fields: vec![
                Field::new("password", "New password", "password", "")
                    .hint("At least 8 characters"),
            ],
            error: None,
        },
        Form {
            id: "profile",
            title: "Profile",
            action: format!("{base}/profile"),
            submit: "Save profile",
            csrf: admin.csrf(),
            fields: vec![
                Field::new("display_name", "Display name", "text", &user.display_name),
                Field::new("active", "Active", "checkbox", user.active.to_string())
                    .hint("An inactive user cannot sign in; usage naming it is still recorded"),
            ],
            error: None,
        },
    ]
}

async fn edit_page(
    app: &App,
    admin: &Admin,
    username: &str,
    failed: Option<(usize, Values, AppError)>,
) -> PageResult {
    let user = app.user(username).await?;
    let budget = app.budget(username).await?.unwrap_or(Budget {
        enforced: true,
        ..Budget::default()
    });
    let mut forms = user_forms(admin, &user, &budget);
    let status = if let Some((i, values, e)) = failed {
        let form = forms.remove(i).refill(&values).with_error(&e);
        forms.insert(i, form);
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = EditPage {
        nav: admin.nav("/users"),
        title: format!("{} ({})", user.display_name, user.username),
        back_href: "/users",
        back_label: "Users",
        forms,
    };
    Ok(render(status, &page))
}

async fn edit(State(app): State<Arc<App>>, admin: Admin, Segment(username): Segment) -> PageResult {
    edit_page(&app, &admin, &username, None).await
}

/// Redirects back on success; re-renders the form `index` with the error.
async fn after(
    app: &App,
    admin: &Admin,
    username: &str,
    index: usize,
    v: Values,
    result: AppResult<()>,
) -> PageResult {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/users/{}", urlencode(username))).into_response()),
        Err(e @ AppError::Invalid(_)) => edit_page(app, admin, username, Some((index, v, e))).await,
        Err(e) => Err(e.into()),
    }
}

async fn set_budget(
    State(app): State<Arc<App>>,
    admin: Admin,
    Segment(username): Segment,
    PostForm(v): PostForm<Values>,
) -> PageResult {
    admin.check_csrf(&v)?;
    // Every unreadable field is named at once.
    let mut p = Problems::default();
    let usd = |key: &'static str| -> AppResult<Money> {
        let s = text(&v, key);
        if s.is_empty() {
            return Ok(Money::ZERO);
        }
        Money::parse_usd(&s).map_err(|e| AppError::invalid(key, e.to_string()))
    };
    let budget = Budget {
        max_requests_per_day: p.take(whole(&v, "max_requests_per_day")).unwrap_or(0),
        max_tokens_per_day: p.take(whole(&v, "max_tokens_per_day")).unwrap_or(0),
        max_cost_per_day: p.take(usd("max_cost_per_day")).unwrap_or_default(),
        max_requests_per_month: p.take(whole(&v, "max_requests_per_month")).unwrap_or(0),
        max_tokens_per_month: p.take(whole(&v, "max_tokens_per_month")).unwrap_or(0),
        max_cost_per_month: p.take(usd("max_cost_per_month")).unwrap_or_default(),
        enforced: v.get("enforced").is_some_and(|e| e == "true"),
    };
    let result = match p.finish() {
        Ok(()) => app.set_budget(&username, &budget).await,
        Err(e) => Err(e),
    };
    after(&app, &admin, &username, 0, v, result).await
}

async fn set_role(
    State(app): State<Arc<App>>,
    admin: Admin,
    Segment(username): Segment,
    PostForm(v): PostForm<Values>,
) -> PageResult {
    admin.check_csrf(&v)?;
    let result = match role(&v) {
        Ok(role) if role != Role::Admin && username == admin.session.user.username => Err(
            AppError::invalid("role", "you cannot take away your own administrator role"),
        ),
        Ok(role) => app.set_role(&username, role).await,
        Err(e) => Err(e),
    };
    after(&app, &admin, &username, 1, v, result).await
}

async fn set_password(
    State(app): State<Arc<App>>,
    admin: Admin,
    Segment(username): Segment,
    PostForm(v): PostForm<Values>,
) -> PageResult {
    admin.check_csrf(&v)?;
    let result = app
        .set_password(
            &username,
            v.get("password").map(String::as_str).unwrap_or(""),
        )
        .await;
    after(&app, &admin, &username, 2, v, result).await
}

async fn set_profile(
    State(app): State<Arc<App>>,
    admin: Admin,
    Segment(username): Segment,
    PostForm(v): PostForm<Values>,
) -> PageResult {
    admin.check_csrf(&v)?;
    let active = v.get("active").is_some_and(|a| a == "true");
    let result = if !active && username == admin.session.user.username {
        Err(AppError::invalid(
            "active",
            "you cannot deactivate yourself",
        ))
    } else {
        app.set_profile(&username, &text(&v, "display_name"), active)
            .await
    };
    after(&app, &admin, &username, 3, v, result).await
}
