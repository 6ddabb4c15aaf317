//! `POST /api/v1/budget/check`, `POST /api/v1/budget/reserve` and
//! `DELETE /api/v1/budget/reserve/{id}` (ingest or admin tokens).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::body;
use crate::app::{App, AppError, AppResult, BudgetAnswer, BudgetRequest, Problems};
use crate::domain::Money;
use crate::domain::budget::Planned;
use crate::http::Segment;
use crate::http::auth::Token;
use crate::http::error::ApiError;
use crate::http::routes::{Access, Routes};

pub fn routes(r: Routes) -> Routes {
    r.post("/api/v1/budget/check", Access::Ingest, check)
        .post("/api/v1/budget/reserve", Access::Ingest, reserve)
        .delete("/api/v1/budget/reserve/{id}", Access::Ingest, release)
}

/// `{user, planned_cost_usd?, planned_tokens?, configuration?, task?}`;
/// every bad field is named at once, as for usage records.
fn parse(body: &[u8]) -> Result<BudgetRequest, AppError> {
    const FIELDS: [&str; 5] = [
        "user",
        "planned_cost_usd",
        "planned_tokens",
        "configuration",
        "task",
    ];
    let map = body::object(body)?;
    let mut p = Problems::default();
    for key in map.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        p.add(
            key.chars().take(64).collect::<String>(),
            "is not a known field",
        );
    }
    let text = |map: &Map<String, Value>, key: &str| -> AppResult<Option<String>> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AppError::invalid(key, "must be a string")),
        }
    };
    let user = p.take(
        text(&map, "user").and_then(|u| u.ok_or_else(|| AppError::invalid("user", "is required"))),
    );
    let cost = p.take(text(&map, "planned_cost_usd").and_then(|s| match s {
        None => Ok(Money::ZERO),
        Some(s) => {
            Money::parse_usd(&s).map_err(|e| AppError::invalid("planned_cost_usd", e.to_string()))
        }
    }));
    let tokens = p.take(match map.get("planned_tokens") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_i64()
            .filter(|t| (0..=crate::domain::record::MAX_TOKENS).contains(t))
            .ok_or_else(|| {
                AppError::invalid(
                    "planned_tokens",
                    "must be a whole number from 0 to 100000000",
                )
            }),
    });
    let configuration = p.take(text(&map, "configuration"));
    let task = p.take(text(&map, "task"));
    match (p.finish(), user, cost, tokens, configuration, task) {
        (Ok(()), Some(user), Some(cost), Some(tokens), Some(configuration), Some(task)) => {
            Ok(BudgetRequest {
                user,
                planned: Planned { cost, tokens },
                configuration,
                task,
            })
        }
        // A field that failed was noted as a problem, so this is an error.
        (result, ..) => Err(result
            .err()
            .unwrap_or_else(|| AppError::invalid("", "is not a budget request"))),
    }
}

fn answer(a: BudgetAnswer, with_reservation: bool) -> Json<Value> {
    let mut body = json!({
        "allowed": a.decision.allowed,
        "exceeded_limit": a.decision.exceeded_limit,
        "reason": a.decision.reason,
        "usage": a.usage,
    });
    if with_reservation {
        let (id, expires) = a
            .reservation
            .map(|(id, at)| (Some(id), Some(at.to_rfc3339())))
            .unwrap_or_default();
        body["reservation_id"] = json!(id);
        body["expires_at"] = json!(expires);
    }
    Json(body)
}

/// The request of a check or a reserve, from an ingest or admin token.
async fn request(token: &Token, body: Body) -> Result<BudgetRequest, ApiError> {
    token.require_ingest()?;
    Ok(parse(&body::read(body).await?)?)
}

#[tracing::instrument(skip_all)]
async fn check(
    State(app): State<Arc<App>>,
    token: Token,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let request = request(&token, body).await?;
    Ok(answer(app.check_budget(&request).await?, false))
}

#[tracing::instrument(skip_all)]
async fn reserve(
    State(app): State<Arc<App>>,
    token: Token,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let request = request(&token, body).await?;
    Ok(answer(app.reserve_budget(&request).await?, true))
}

#[tracing::instrument(skip_all)]
async fn release(
    State(app): State<Arc<App>>,
    token: Token,
    Segment(id): Segment,
) -> Result<Json<Value>, ApiError> {
    token.require_ingest()?;
    if app.release_reservation(&id).await? {
        Ok(Json(json!({ "released": true })))
    } else {
        Err(AppError::NotFound(format!("a live reservation {id:?}")).into())
    }
}
