//! `GET /api/v1/{providers,models,configurations,tasks}`: the catalog, each
//! item with `usage_30d` (`null` without usage in the last 30 days).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::{App, Listed};
use crate::domain::{Configuration, Model, Provider, Task, Totals};
use crate::http::auth::Reader;
use crate::http::error::ApiError;
use crate::http::routes::{Access, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/api/v1/providers", Access::Read, providers)
        .get("/api/v1/models", Access::Read, models)
        .get("/api/v1/configurations", Access::Read, configurations)
        .get("/api/v1/tasks", Access::Read, tasks)
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

async fn providers(
    State(app): State<Arc<App>>,
    _reader: Reader,
) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(
        app.providers().await?.into_iter().map(provider).collect(),
    ))
}

async fn models(
    State(app): State<Arc<App>>,
    _reader: Reader,
) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(app.models().await?.into_iter().map(model).collect()))
}

async fn configurations(
    State(app): State<Arc<App>>,
    _reader: Reader,
) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(
        app.configurations()
            .await?
            .into_iter()
            .map(configuration)
            .collect(),
    ))
}

async fn tasks(State(app): State<Arc<App>>, _reader: Reader) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(app.tasks().await?.into_iter().map(task).collect()))
}
