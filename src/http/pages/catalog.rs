//! `/providers`, `/models`, `/configurations`, `/tasks`: catalog lists with
//! their 30-day usage, and create/edit forms. A form is saved through the
//! catalog file logic (`App::apply_catalog`), so the web UI, the CLI and
//! the file validate alike and nothing is half-saved.

use std::sync::Arc;

use axum::extract::State;

use super::form::Form as PostForm;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use super::session::Admin;
use super::view::{
    Cell, EditPage, Field, Form, ListPage, PageResult, Values, checked, optional, render, text,
    whole,
};
use crate::app::catalog_file::{ConfigurationEntry, Decimal, ModelEntry, ProviderEntry, TaskEntry};
use crate::app::{App, AppError, AppResult, CatalogFile, Problems};
use crate::domain::Totals;
use crate::domain::money::format_count;
use crate::http::Segment;
use crate::http::routes::{Access, Routes};

/// Choices for the reference fields of the forms.
struct Choices {
    providers: Vec<(String, String)>,
    models: Vec<(String, String)>,
    configurations: Vec<(String, String)>,
}

async fn choices(app: &App) -> AppResult<Choices> {
    let none = || vec![(String::new(), "— none —".to_string())];
    let mut models = none();
    models.extend(
        app.models()
            .await?
            .into_iter()
            .map(|m| (m.item.identifier.clone(), m.item.name)),
    );
    let mut configurations = none();
    configurations.extend(
        app.configurations()
            .await?
            .into_iter()
            .map(|c| (c.item.identifier.clone(), c.item.name)),
    );
    Ok(Choices {
        providers: app
            .providers()
            .await?
            .into_iter()
            .map(|p| (p.item.identifier.clone(), p.item.name))
            .collect(),
        models,
        configurations,
    })
}

fn usage_cells(usage: Option<Totals>) -> [Cell; 3] {
    match usage {
        None => [Cell::num(""), Cell::num(""), Cell::num("")],
        Some(t) => [
            Cell::num(t.cost.display_estimate()),
            Cell::num(format_count(t.requests)),
            Cell::num(format_count(t.tokens)),
        ],
    }
}

/// One kind of catalog record and its page.
trait Kind: Send + Sync + 'static {
    const PATH: &'static str;
    const TITLE: &'static str;
    const INTRO: &'static str;
    const NEW: &'static str;
    const HEADERS: &'static [(&'static str, bool)];

    /// Rows (identifier, cells, the record as form values).
    fn rows(app: &App) -> impl Future<Output = AppResult<Vec<(String, Vec<Cell>, Values)>>> + Send;
    fn fields(choices: &Choices, editing: bool) -> Vec<Field>;
    /// The form's record as a catalog file; a field that cannot be read is
    /// noted in `p` (and carries a stand-in value).
    fn entry(values: &Values, p: &mut Problems) -> CatalogFile;
}

fn form<K: Kind>(admin: &Admin, choices: &Choices, editing: Option<&str>, values: &Values) -> Form {
    let action = match editing {
        Some(id) => format!("{}/{}", K::PATH, urlencode(id)),
        None => K::PATH.to_string(),
    };
    let mut fields = K::fields(choices, editing.is_some());
    for f in &mut fields {
        if let Some(v) = values.get(f.name) {
            f.value = v.clone();
        }
    }
    Form {
        id: if editing.is_some() { "edit" } else { "new" },
        title: if editing.is_some() { "Edit" } else { K::NEW },
        action,
        submit: "Save",
        csrf: admin.csrf(),
        fields,
        error: None,
    }
}

/// Percent-encodes an identifier for a path segment.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn list_page<K: Kind>(
    app: &App,
    admin: &Admin,
    new_form: Option<Form>,
    status: StatusCode,
) -> PageResult {
    let rows = K::rows(app).await?;
    let choices = choices(app).await?;
    let new_form = new_form.unwrap_or_else(|| form::<K>(admin, &choices, None, &Values::new()));
    let page = ListPage {
        nav: admin.nav(K::PATH),
        title: K::TITLE,
        intro: K::INTRO,
        csrf: admin.csrf(),
        headers: K::HEADERS.to_vec(),
        rows: rows.into_iter().map(|(_, cells, _)| cells).collect(),
        forms: vec![new_form],
    };
    Ok(render(status, &page))
}

async fn list<K: Kind>(State(app): State<Arc<App>>, admin: Admin) -> PageResult {
    list_page::<K>(&app, &admin, None, StatusCode::OK).await
}

async fn edit_page<K: Kind>(
    app: &App,
    admin: &Admin,
    id: &str,
    edit_form: Option<Form>,
    status: StatusCode,
) -> PageResult {
    let rows = K::rows(app).await?;
    let Some((_, _, values)) = rows.into_iter().find(|(i, _, _)| i == id) else {
        return Err(not_found::<K>(id).into());
    };
    let choices = choices(app).await?;
    let page = EditPage {
        nav: admin.nav(K::PATH),
        title: format!("{} · {id}", K::TITLE.trim_end_matches('s')),
        back_href: K::PATH,
        back_label: K::TITLE,
        forms: vec![edit_form.unwrap_or_else(|| form::<K>(admin, &choices, Some(id), &values))],
    };
    Ok(render(status, &page))
}

fn not_found<K: Kind>(id: &str) -> AppError {
    AppError::NotFound(format!(
        "{} {id:?}",
        K::TITLE.trim_end_matches('s').to_lowercase()
    ))
}

async fn edit<K: Kind>(
    State(app): State<Arc<App>>,
    admin: Admin,
    Segment(id): Segment,
) -> PageResult {
    edit_page::<K>(&app, &admin, &id, None, StatusCode::OK).await
}

async fn save<K: Kind>(app: &App, values: &Values) -> AppResult<()> {
    let mut found = Problems::default();
    let file = K::entry(values, &mut found);
    app.apply_catalog_read(&file, found).await.map(|_| ())
}

async fn create<K: Kind>(
    State(app): State<Arc<App>>,
    admin: Admin,
    PostForm(values): PostForm<Values>,
) -> PageResult {
    admin.check_csrf(&values)?;
    let exists = K::rows(&app)
        .await?
        .iter()
        .any(|(id, _, _)| *id == text(&values, "identifier"));
    let result = if exists {
        Err(AppError::invalid(
            "identifier",
            "is taken; edit the existing record instead",
        ))
    } else {
        save::<K>(&app, &values).await
    };
    match result {
        Ok(()) => Ok(Redirect::to(K::PATH).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::NotFound(_))) => {
            let choices = choices(&app).await?;
            let form = form::<K>(&admin, &choices, None, &Values::new())
                .refill(&values)
                .with_error(&e);
            list_page::<K>(&app, &admin, Some(form), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn update<K: Kind>(
    State(app): State<Arc<App>>,
    admin: Admin,
    Segment(id): Segment,
    PostForm(mut values): PostForm<Values>,
) -> PageResult {
    admin.check_csrf(&values)?;
    // Editing does not create: that is the list page's form.
    if !K::rows(&app).await?.iter().any(|(i, _, _)| *i == id) {
        return Err(not_found::<K>(&id).into());
    }
    // The identifier is the record's name: it comes from the path.
    values.insert("identifier".into(), id.clone());
    match save::<K>(&app, &values).await {
        Ok(()) => Ok(Redirect::to(K::PATH).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::NotFound(_))) => {
            let choices = choices(&app).await?;
            // The identifier is read-only, so refilling skips it: it is
            // shown from the path.
            let shown = Values::from([("identifier".to_string(), id.clone())]);
            let form = form::<K>(&admin, &choices, Some(&id), &shown)
                .refill(&values)
                .with_error(&e);
            edit_page::<K>(&app, &admin, &id, Some(form), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(e.into()),
    }
}

fn kind_routes<K: Kind>(r: Routes) -> Routes {
    let record = format!("{}/{{id}}", K::PATH);
    r.get(K::PATH, Access::Admin, list::<K>)
        .post(K::PATH, Access::Admin, create::<K>)
        .get(&record, Access::Admin, edit::<K>)
        .post(&record, Access::Admin, update::<K>)
}

pub fn routes(r: Routes) -> Routes {
    let r = kind_routes::<Providers>(r);
    let r = kind_routes::<Models>(r);
    let r = kind_routes::<Configurations>(r);
    kind_routes::<Tasks>(r)
}

const USAGE_HEADERS: [(&str, bool); 3] = [
    ("Cost (30d)", true),
    ("Requests (30d)", true),
    ("Tokens (30d)", true),
];

fn discovered(flag: bool) -> Option<&'static str> {
    flag.then_some("discovered")
}

fn values(pairs: &[(&str, String)]) -> Values {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

struct Providers;

impl Kind for Providers {
    const PATH: &'static str = "/providers";
    const TITLE: &'static str = "Providers";
    const INTRO: &'static str = "Connections to LLM vendors. Usage is attributed to each provider record, even when several share an adapter type.";
    const NEW: &'static str = "New provider";
    const HEADERS: &'static [(&'static str, bool)] = &[
        ("Provider", false),
        ("Identifier", false),
        ("Adapter", false),
        ("Active", false),
        USAGE_HEADERS[0],
        USAGE_HEADERS[1],
        USAGE_HEADERS[2],
    ];

    async fn rows(app: &App) -> AppResult<Vec<(String, Vec<Cell>, Values)>> {
        Ok(app
            .providers()
            .await?
            .into_iter()
            .map(|l| {
                let p = l.item;
                let mut cells = vec![
                    Cell::link(&p.name, format!("/providers/{}", urlencode(&p.identifier)))
                        .badge(discovered(p.discovered)),
                    Cell::text(&p.identifier),
                    Cell::text(&p.adapter_type),
                    Cell::text(if p.active { "yes" } else { "no" }),
                ];
                cells.extend(usage_cells(l.usage_30d));
                let v = values(&[
                    ("identifier", p.identifier.clone()),
                    ("name", p.name),
                    ("adapter_type", p.adapter_type),
                    ("active", p.active.to_string()),
                ]);
                (p.identifier, cells, v)
            })
            .collect())
    }

    fn fields(_: &Choices, editing: bool) -> Vec<Field> {
        vec![
            Field::new("identifier", "Identifier", "text", "")
                .readonly(editing)
                .hint("A unique slug, e.g. openai-prod"),
            Field::new("name", "Name", "text", ""),
            Field::new("adapter_type", "Adapter type", "text", "")
                .hint("openai, anthropic, google, ollama, mistral, deepl, …"),
            Field::new("active", "Active", "checkbox", "true"),
        ]
    }

    fn entry(v: &Values, _: &mut Problems) -> CatalogFile {
        CatalogFile {
            providers: vec![ProviderEntry {
                identifier: text(v, "identifier"),
                name: text(v, "name"),
                adapter_type: text(v, "adapter_type"),
                active: checked(v, "active"),
                discovered: false,
                from_usage: false,
            }],
            ..CatalogFile::default()
        }
    }
}

struct Models;

impl Kind for Models {
    const PATH: &'static str = "/models";
    const TITLE: &'static str = "Models";
    const INTRO: &'static str = "Prices are US cents per 1M tokens and apply to calls recorded from now on; recorded costs never change. Discovered models have no price yet and count as $0.";
    const NEW: &'static str = "New model";
    const HEADERS: &'static [(&'static str, bool)] = &[
        ("Model", false),
        ("Provider", false),
        ("Vendor id", false),
        ("Input ¢/1M", true),
        ("Output ¢/1M", true),
        ("Cache read ¢/1M", true),
        ("Active", false),
        USAGE_HEADERS[0],
        USAGE_HEADERS[1],
        USAGE_HEADERS[2],
    ];

    async fn rows(app: &App) -> AppResult<Vec<(String, Vec<Cell>, Values)>> {
        Ok(app
            .models()
            .await?
            .into_iter()
            .map(|l| {
                let m = l.item;
                let p = m.pricing;
                let price =
                    |x: Option<crate::domain::Price>| x.map(|x| x.to_string()).unwrap_or_default();
                let badge = if m.discovered && p.is_none() {
                    Some("unpriced")
                } else {
                    discovered(m.discovered)
                };
                let mut cells = vec![
                    Cell::link(&m.name, format!("/models/{}", urlencode(&m.identifier)))
                        .badge(badge),
                    Cell::text(&m.provider),
                    Cell::text(&m.model_id),
                    Cell::num(price(p.map(|p| p.input))),
                    Cell::num(price(p.map(|p| p.output))),
                    Cell::num(price(p.and_then(|p| p.cache_read))),
                    Cell::text(if m.active { "yes" } else { "no" }),
                ];
                cells.extend(usage_cells(l.usage_30d));
                let v = values(&[
                    ("identifier", m.identifier.clone()),
                    ("name", m.name),
                    ("provider", m.provider),
                    ("model_id", m.model_id),
                    ("input_price", price(p.map(|p| p.input))),
                    ("output_price", price(p.map(|p| p.output))),
                    ("cache_read_price", price(p.and_then(|p| p.cache_read))),
                    ("cache_write_price", price(p.and_then(|p| p.cache_write))),
                    ("active", m.active.to_string()),
                ]);
                (m.identifier, cells, v)
            })
            .collect())
    }

    fn fields(c: &Choices, editing: bool) -> Vec<Field> {
        vec![
            Field::new("identifier", "Identifier", "text", "").readonly(editing),
            Field::new("name", "Name", "text", ""),
            Field::new("provider", "Provider", "select", "").options(c.providers.clone()),
            Field::new("model_id", "Vendor model id", "text", "")
                .hint("The vendor's name, e.g. gpt-4o"),
            Field::new("input_price", "Input price", "text", "")
                .hint("US cents per 1M prompt tokens, up to 4 decimals"),
            Field::new("output_price", "Output price", "text", "")
                .hint("US cents per 1M completion tokens"),
            Field::new("cache_read_price", "Cache read price", "text", "")
                .hint("Optional; default: the input price"),
            Field::new("cache_write_price", "Cache write price", "text", "")
                .hint("Optional; default: the input price"),
            Field::new("active", "Active", "checkbox", "true"),
        ]
    }

    // A missing price is named by the catalog check, as for the API.
    fn entry(v: &Values, _: &mut Problems) -> CatalogFile {
        CatalogFile {
            models: vec![ModelEntry {
                identifier: text(v, "identifier"),
                name: text(v, "name"),
                provider: text(v, "provider"),
                model_id: text(v, "model_id"),
                input_price: optional(v, "input_price").map(Decimal::Text),
                output_price: optional(v, "output_price").map(Decimal::Text),
                cache_read_price: optional(v, "cache_read_price").map(Decimal::Text),
                cache_write_price: optional(v, "cache_write_price").map(Decimal::Text),
                active: checked(v, "active"),
                discovered: false,
                from_usage: false,
            }],
            ..CatalogFile::default()
        }
    }
}

struct Configurations;

impl Kind for Configurations {
    const PATH: &'static str = "/configurations";
    const TITLE: &'static str = "Configurations";
    const INTRO: &'static str =
        "Named use-case presets with optional daily limits across all users (0 = unlimited).";
    const NEW: &'static str = "New configuration";
    const HEADERS: &'static [(&'static str, bool)] = &[
        ("Configuration", false),
        ("Model", false),
        ("Requests/day", true),
        ("Tokens/day", true),
        ("Cost/day", true),
        USAGE_HEADERS[0],
        USAGE_HEADERS[1],
        USAGE_HEADERS[2],
    ];

    async fn rows(app: &App) -> AppResult<Vec<(String, Vec<Cell>, Values)>> {
        let limit = |n: i64| {
            if n == 0 {
                "unlimited".to_string()
            } else {
                format_count(n)
            }
        };
        Ok(app
            .configurations()
            .await?
            .into_iter()
            .map(|l| {
                let c = l.item;
                let cost = c.limits.max_cost_per_day;
                let mut cells = vec![
                    Cell::link(
                        &c.name,
                        format!("/configurations/{}", urlencode(&c.identifier)),
                    )
                    .badge(discovered(c.discovered)),
                    Cell::text(c.model.clone().unwrap_or_default()),
                    Cell::num(limit(c.limits.max_requests_per_day)),
                    Cell::num(limit(c.limits.max_tokens_per_day)),
                    Cell::num(if cost.picos() == 0 {
                        "unlimited".into()
                    } else {
                        cost.display_estimate()
                    }),
                ];
                cells.extend(usage_cells(l.usage_30d));
                let v = values(&[
                    ("identifier", c.identifier.clone()),
                    ("name", c.name),
                    ("model", c.model.unwrap_or_default()),
                    (
                        "max_requests_per_day",
                        c.limits.max_requests_per_day.to_string(),
                    ),
                    (
                        "max_tokens_per_day",
                        c.limits.max_tokens_per_day.to_string(),
                    ),
                    ("max_cost_per_day", cost.to_string()),
                ]);
                (c.identifier, cells, v)
            })
            .collect())
    }

    fn fields(c: &Choices, editing: bool) -> Vec<Field> {
        vec![
            Field::new("identifier", "Identifier", "text", "").readonly(editing),
            Field::new("name", "Name", "text", ""),
            Field::new("model", "Model", "select", "").options(c.models.clone()),
            Field::new(
                "max_requests_per_day",
                "Max requests per day",
                "number",
                "0",
            )
            .hint("0 = unlimited"),
            Field::new("max_tokens_per_day", "Max tokens per day", "number", "0")
                .hint("0 = unlimited"),
            Field::new("max_cost_per_day", "Max cost per day (USD)", "text", "0")
                .hint("0 = unlimited"),
        ]
    }

    fn entry(v: &Values, p: &mut Problems) -> CatalogFile {
        CatalogFile {
            configurations: vec![ConfigurationEntry {
                identifier: text(v, "identifier"),
                name: text(v, "name"),
                model: optional(v, "model"),
                max_requests_per_day: p.take(whole(v, "max_requests_per_day")).unwrap_or(0),
                max_tokens_per_day: p.take(whole(v, "max_tokens_per_day")).unwrap_or(0),
                max_cost_per_day: optional(v, "max_cost_per_day").map(Decimal::Text),
                discovered: false,
                from_usage: false,
            }],
            ..CatalogFile::default()
        }
    }
}

struct Tasks;

impl Kind for Tasks {
    const PATH: &'static str = "/tasks";
    const TITLE: &'static str = "Tasks";
    const INTRO: &'static str = "Predefined tasks that run through a configuration. A task's columns count only usage recorded with that task.";
    const NEW: &'static str = "New task";
    const HEADERS: &'static [(&'static str, bool)] = &[
        ("Task", false),
        ("Configuration", false),
        USAGE_HEADERS[0],
        USAGE_HEADERS[1],
        USAGE_HEADERS[2],
    ];

    async fn rows(app: &App) -> AppResult<Vec<(String, Vec<Cell>, Values)>> {
        Ok(app
            .tasks()
            .await?
            .into_iter()
            .map(|l| {
                let t = l.item;
                let mut cells = vec![
                    Cell::link(&t.name, format!("/tasks/{}", urlencode(&t.identifier)))
                        .badge(discovered(t.discovered)),
                    Cell::text(t.configuration.clone().unwrap_or_default()),
                ];
                cells.extend(usage_cells(l.usage_30d));
                let v = values(&[
                    ("identifier", t.identifier.clone()),
                    ("name", t.name),
                    ("configuration", t.configuration.unwrap_or_default()),
                ]);
                (t.identifier, cells, v)
            })
            .collect())
    }

    fn fields(c: &Choices, editing: bool) -> Vec<Field> {
        vec![
            Field::new("identifier", "Identifier", "text", "").readonly(editing),
            Field::new("name", "Name", "text", ""),
            Field::new("configuration", "Configuration", "select", "")
                .options(c.configurations.clone()),
        ]
    }

    fn entry(v: &Values, _: &mut Problems) -> CatalogFile {
        CatalogFile {
            tasks: vec![TaskEntry {
                identifier: text(v, "identifier"),
                name: text(v, "name"),
                configuration: optional(v, "configuration"),
                discovered: false,
                from_usage: false,
            }],
            ..CatalogFile::default()
        }
    }
}
