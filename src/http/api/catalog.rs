//! The catalog through the API: `GET /api/v1/{providers,models,configurations,tasks}`
//! lists each kind, every item with `usage_30d` (`null` without usage in the
//! last 30 days); `PUT /api/v1/{kind}/{identifier}` creates or updates one
//! record; `GET /api/v1/catalog` and `POST /api/v1/catalog` export and apply
//! the whole catalog file as JSON. Writes take an `admin` token and go
//! through the catalog file logic (`App::apply_catalog`), so the API, the
//! web UI, the CLI and the file validate alike.

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::body;
use crate::app::catalog_file::{ConfigurationEntry, ModelEntry, ProviderEntry, TaskEntry};
use crate::app::catalog_json::{Entry, read_catalog, read_entry};
use crate::app::{App, AppError, AppResult, CatalogFile, Listed, Problems};
use crate::domain::{Configuration, Model, Provider, Task, Totals};
use crate::http::Segment;
use crate::http::auth::{Manager, Reader};
use crate::http::error::ApiError;
use crate::http::routes::{Access, Routes};

pub fn routes(r: Routes) -> Routes {
    let r = kind_routes::<Providers>(r);
    let r = kind_routes::<Models>(r);
    let r = kind_routes::<Configurations>(r);
    kind_routes::<Tasks>(r)
        .get("/api/v1/catalog", Access::Read, export)
        .post("/api/v1/catalog", Access::Manage, apply)
}

fn kind_routes<K: Kind>(r: Routes) -> Routes {
    r.get(K::PATH, Access::Read, list::<K>).put(
        &format!("{}/{{id}}", K::PATH),
        Access::Manage,
        put::<K>,
    )
}

/// One kind of catalog record.
trait Kind: Send + Sync + 'static {
    /// Its fields as the catalog file has them.
    type Entry: Entry + Send;
    const PATH: &'static str;
    fn list(app: &App) -> impl Future<Output = AppResult<Vec<Value>>> + Send;
    fn file(entry: Self::Entry) -> CatalogFile;
}

struct Providers;
struct Models;
struct Configurations;
struct Tasks;

impl Kind for Providers {
    type Entry = ProviderEntry;
    const PATH: &'static str = "/api/v1/providers";
    async fn list(app: &App) -> AppResult<Vec<Value>> {
        Ok(app.providers().await?.into_iter().map(provider).collect())
    }
    fn file(entry: ProviderEntry) -> CatalogFile {
        CatalogFile {
            providers: vec![entry],
            ..CatalogFile::default()
        }
    }
}

impl Kind for Models {
    type Entry = ModelEntry;
    const PATH: &'static str = "/api/v1/models";
    async fn list(app: &App) -> AppResult<Vec<Value>> {
        Ok(app.models().await?.into_iter().map(model).collect())
    }
    fn file(entry: ModelEntry) -> CatalogFile {
        CatalogFile {
            models: vec![entry],
            ..CatalogFile::default()
        }
    }
}

impl Kind for Configurations {
    type Entry = ConfigurationEntry;
    const PATH: &'static str = "/api/v1/configurations";
    async fn list(app: &App) -> AppResult<Vec<Value>> {
        Ok(app
            .configurations()
            .await?
            .into_iter()
            .map(configuration)
            .collect())
    }
    fn file(entry: ConfigurationEntry) -> CatalogFile {
        CatalogFile {
            configurations: vec![entry],
            ..CatalogFile::default()
        }
    }
}

impl Kind for Tasks {
    type Entry = TaskEntry;
    const PATH: &'static str = "/api/v1/tasks";
    async fn list(app: &App) -> AppResult<Vec<Value>> {
        Ok(app.tasks().await?.into_iter().map(task).collect())
    }
    fn file(entry: TaskEntry) -> CatalogFile {
        CatalogFile {
            tasks: vec![entry],
            ..CatalogFile::default()
        }
    }
}

async fn list<K: Kind>(
    State(app): State<Arc<App>>,
    _reader: Reader,
) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(K::list(&app).await?))
}

/// Creates (201) or updates (200) the record named by the path; answers
/// the record as the list shows it.
async fn put<K: Kind>(
    State(app): State<Arc<App>>,
    _manager: Manager,
    Segment(id): Segment,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut fields = body::object(&body::read(body).await?)?;
    match fields.get("identifier") {
        None => {}
        Some(Value::String(given)) if *given == id => {}
        Some(_) => {
            let why = "must be the path's identifier, or left out";
            return Err(AppError::invalid("identifier", why).into());
        }
    }
    fields.insert("identifier".into(), Value::String(id.clone()));
    let mut found = Problems::default();
    let Some(entry) = read_entry::<K::Entry>(0, Value::Object(fields), &mut found) else {
        return Err(found
            .finish()
            .err()
            .unwrap_or_else(|| AppError::invalid("body", "must be an object"))
            .into());
    };
    let summary = app.apply_catalog_read(&K::file(entry), found).await?;
    let item = K::list(&app)
        .await?
        .into_iter()
        .find(|item| item["identifier"] == id.as_str())
        .ok_or_else(|| AppError::Internal(format!("{id:?} was saved but is not listed")))?;
    let status = if summary.created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(item)))
}

/// The catalog file's content as JSON (what `catalog export` writes).
async fn export(
    State(app): State<Arc<App>>,
    _reader: Reader,
) -> Result<Json<CatalogFile>, ApiError> {
    Ok(Json(app.export_catalog().await?))
}

/// Applies a whole catalog (the catalog file's content as JSON), checked
/// whole before anything is written; answers what changed.
async fn apply(
    State(app): State<Arc<App>>,
    _manager: Manager,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let fields = body::object(&body::read(body).await?)?;
    let mut found = Problems::default();
    let file = read_catalog(Value::Object(fields), &mut found);
    let s = app.apply_catalog_read(&file, found).await?;
    Ok(Json(
        json!({"created": s.created, "updated": s.updated, "unchanged": s.unchanged}),
    ))
}

fn with_usage(mut item: Value, usage: Option<Totals>) -> Value {
    item["usage_30d"] = json!(usage);
    item
}

fn provider(p: Listed<Provider>) -> Value {
    let i = p.item;
    with_usage(
        json!({
            "identifier": i.identifier, "name": i.name, "adapter_type": i.adapter_type,
            "active": i.active, "discovered": i.discovered,
        }),
        p.usage_30d,
    )
}

fn model(m: Listed<Model>) -> Value {
    let i = m.item;
    let price = |p: Option<crate::domain::Price>| p.map(|p| p.to_string());
    let pricing = i.pricing;
    with_usage(
        json!({
            "identifier": i.identifier, "name": i.name, "provider": i.provider, "model_id": i.model_id,
            "input_price": price(pricing.map(|p| p.input)),
            "output_price": price(pricing.map(|p| p.output)),
            "cache_read_price": price(pricing.and_then(|p| p.cache_read)),
            "cache_write_price": price(pricing.and_then(|p| p.cache_write)),
            "priced": pricing.is_some(), "active": i.active, "discovered": i.discovered,
        }),
        m.usage_30d,
    )
}

fn configuration(c: Listed<Configuration>) -> Value {
    let i = c.item;
    with_usage(
        json!({
            "identifier": i.identifier, "name": i.name, "model": i.model,
            "max_requests_per_day": i.limits.max_requests_per_day,
            "max_tokens_per_day": i.limits.max_tokens_per_day,
            "max_cost_per_day": i.limits.max_cost_per_day,
            "discovered": i.discovered,
        }),
        c.usage_30d,
    )
}

fn task(t: Listed<Task>) -> Value {
    let i = t.item;
    with_usage(
        json!({
            "identifier": i.identifier, "name": i.name, "configuration": i.configuration,
            "discovered": i.discovered,
        }),
        t.usage_30d,
    )
}
