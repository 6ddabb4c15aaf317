//! The reference design's write path, served over the same HTTP stack so
//! that only the write path differs: for every call, look up today's row,
//! then UPDATE or INSERT it, in a transaction of its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::{Headers, batch, fresh_sqlite, load, post_json, record};

type Db = Arc<Mutex<Connection>>;

fn number(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// "user-17" → 17 (the baseline has no catalog lookups of its own).
fn id(v: &Value, key: &str) -> i64 {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.rsplit('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn write_call(conn: &mut Connection, day: i64, r: &Value) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let key = params![day, 1, 1, 1, 0, 0, id(r, "user"), id(r, "source")];
    let (prompt, completion) = (number(r, "prompt_tokens"), number(r, "completion_tokens"));
    // The reference keeps one cost column; the baseline's file uses ours of
    // picodollars as that column (nothing reads it back).
    let cost = prompt * 2_500_000 + completion * 10_000_000;
    let existing: Option<i64> = tx
        .query_row(
            "SELECT requests FROM usage_daily WHERE day = ?1 AND service = ?2 AND provider_id = ?3 AND model_id = ?4
             AND configuration_id = ?5 AND task_id = ?6 AND user_id = ?7 AND source_id = ?8",
            key,
            |row| row.get(0),
        )
        .optional()?;
    if existing.is_some() {
        tx.execute(
            "UPDATE usage_daily SET requests = requests + 1, prompt_tokens = prompt_tokens + ?9,
                completion_tokens = completion_tokens + ?10, cost_picos = cost_picos + ?11
             WHERE day = ?1 AND service = ?2 AND provider_id = ?3 AND model_id = ?4
             AND configuration_id = ?5 AND task_id = ?6 AND user_id = ?7 AND source_id = ?8",
            params![
                day,
                1,
                1,
                1,
                0,
                0,
                id(r, "user"),
                id(r, "source"),
                prompt,
                completion,
                cost
            ],
        )?;
    } else {
        tx.execute(
            "INSERT INTO usage_daily (day, service, provider_id, model_id, configuration_id, task_id, user_id,
                source_id, requests, prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens,
                characters, audio_seconds, images, cost_picos)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, 0, 0, 0, 0, 0, ?11)",
            params![day, 1, 1, 1, 0, 0, id(r, "user"), id(r, "source"), prompt, completion, cost],
        )?;
    }
    tx.commit()
}

async fn ingest(State(db): State<Db>, body: Bytes) -> StatusCode {
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let records = match value.get("records") {
        Some(Value::Array(items)) => items.clone(),
        _ => vec![value],
    };
    let day = chrono::Utc::now().timestamp() / 86_400;
    let done = tokio::task::spawn_blocking(move || {
        let mut conn = db.lock().unwrap();
        records
            .iter()
            .try_for_each(|r| write_call(&mut conn, day, r))
    })
    .await;
    match done {
        Ok(Ok(())) => StatusCode::OK,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Records per second through the reference write path, with the same
/// durability (WAL, synchronous=FULL) as the ledger.
pub async fn reference_ingest(time: Duration, per_request: u64) -> f64 {
    let url = fresh_sqlite(&format!("baseline-{per_request}.db"));
    drop(
        llm_ledger::app::App::open(&url, Some("UTC"))
            .await
            .expect("create the schema"),
    );
    let conn = Connection::open(url.trim_start_matches("sqlite://")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    let db: Db = Arc::new(Mutex::new(conn));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/api/v1/usage", post(ingest))
        .with_state(db);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let clients = if per_request == 1 { 64 } else { 16 };
    let headers = Headers::new(addr, None);
    let outcome = load(addr, clients, time, move |c, n| {
        let body = if per_request == 1 {
            record("single", c, n, 0)
        } else {
            batch(c, n, per_request)
        };
        post_json(&headers, "/api/v1/usage", body)
    })
    .await;
    server.abort();
    outcome.rate() * per_request as f64
}
