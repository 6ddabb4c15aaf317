//! `POST /api/v1/usage` over real HTTP on loopback, on both stores.

mod common;

use std::sync::Arc;

use llm_ledger::domain::Scope;
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{TestDb, TestServer, totals, with_catalog};

const CLIENTS: usize = 32;
const RECORDS: usize = 10_000;

fn record(i: usize) -> Value {
    json!({
        "service": "chat",
        "model": "gpt-4o",
        "user": format!("user-{}", i % 7),
        "source": if i.is_multiple_of(3) { Value::Null } else { json!("wiki") },
        "prompt_tokens": 100,
        "completion_tokens": 10,
        "idempotency_key": format!("req-{i}"),
    })
}

async fn post(
    client: &reqwest::Client,
    server: &TestServer,
    token: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = client
        .post(server.url("/api/v1/usage"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn concurrent_clients_are_each_counted_once(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let (_, secret) = app.create_token("load", Scope::Ingest).await.unwrap();
    let server = TestServer::start(app).await;
    let client = reqwest::Client::new();
    let secret = Arc::new(secret);
    let server = Arc::new(server);

    let send = |indexes: Vec<usize>| {
        let mut tasks = Vec::new();
        for chunk in indexes.chunks(indexes.len().div_ceil(CLIENTS)) {
            let (client, server, secret, chunk) = (
                client.clone(),
                server.clone(),
                secret.clone(),
                chunk.to_vec(),
            );
            tasks.push(tokio::spawn(async move {
                let mut counts = (0, 0);
                for i in chunk {
                    let (status, body) = post(&client, &server, &secret, &record(i)).await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                    counts.0 += body["recorded"].as_u64().unwrap();
                    counts.1 += body["duplicates"].as_u64().unwrap();
                }
                counts
            }));
        }
        tasks
    };
    let mut acknowledged = (0, 0);
    for task in send((0..RECORDS).collect()) {
        let (r, d) = task.await.unwrap();
        acknowledged = (acknowledged.0 + r, acknowledged.1 + d);
    }
    assert_eq!(acknowledged, (RECORDS as u64, 0));
    assert_eq!(totals(&server.app).await.0, RECORDS as i64);

    // Re-sending 1,000 of them with their keys adds nothing.
    let mut resent = (0, 0);
    for task in send((0..RECORDS).step_by(10).collect()) {
        let (r, d) = task.await.unwrap();
        resent = (resent.0 + r, resent.1 + d);
    }
    assert_eq!(resent, (0, 1000));
    // 100 prompt tokens at 250 + 10 completion tokens at 1000 cents per 1M = $0.00035 each.
    assert_eq!(
        totals(&server.app).await,
        (RECORDS as i64, RECORDS as i64 * 110, "3.500000".into())
    );
}

async fn batches_are_atomic_and_errors_name_index_and_field(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let (_, secret) = app.create_token("ingest", Scope::Ingest).await.unwrap();
    let server = TestServer::start(app).await;
    let client = reqwest::Client::new();

    let mut records: Vec<Value> = (0..50).map(record).collect();
    records[12]["prompt_tokens"] = json!(-5);
    records[40]["service"] = json!("telepathy");
    let (status, body) = post(&client, &server, &secret, &json!({ "records": records })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let errors: Vec<(u64, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, vec![(12, "prompt_tokens"), (40, "service")]);
    assert_eq!(totals(&server.app).await.0, 0);

    // Malformed JSON is a 400, nothing stored.
    let response = client
        .post(server.url("/api/v1/usage"))
        .bearer_auth(&secret)
        .body("{\"service\": \"chat\",")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
    assert_eq!(body["errors"][0]["field"], "body", "{body}");
    let (status, body) = post(&client, &server, &secret, &json!({ "records": null })).await;
    assert_eq!(
        (status, &body["errors"][0]["field"]),
        (StatusCode::BAD_REQUEST, &json!("body")),
        "{body}"
    );

    // A good batch of 1,000 is fine; 1,001 records or more than 1 MiB is 413.
    let batch: Vec<Value> = (0..1000).map(record).collect();
    let (status, body) = post(&client, &server, &secret, &json!({ "records": batch })).await;
    assert_eq!(
        (status, body["recorded"].as_u64()),
        (StatusCode::OK, Some(1000))
    );
    let too_many: Vec<Value> = (0..1001).map(|i| record(i + 5000)).collect();
    let (status, _) = post(&client, &server, &secret, &json!({ "records": too_many })).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let huge = json!({"service": "chat", "model": "gpt-4o", "source": "x".repeat(1024 * 1024 + 1)});
    let (status, _) = post(&client, &server, &secret, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(totals(&server.app).await.0, 1000);
}

async fn tokens_and_scopes_guard_ingest(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let (_, ingest) = app.create_token("ingest", Scope::Ingest).await.unwrap();
    let (_, admin) = app.create_token("admin", Scope::Admin).await.unwrap();
    let (_, read) = app.create_token("read", Scope::Read).await.unwrap();
    let (_, revoked) = app.create_token("old", Scope::Ingest).await.unwrap();
    app.revoke_token("old").await.unwrap();
    let server = TestServer::start(app).await;
    let client = reqwest::Client::new();
    let body = record(1);

    let anonymous = client
        .post(server.url("/api/v1/usage"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    for (token, expected) in [
        ("llmledger_not-a-token", StatusCode::UNAUTHORIZED),
        (revoked.as_str(), StatusCode::UNAUTHORIZED),
        (read.as_str(), StatusCode::FORBIDDEN),
        (ingest.as_str(), StatusCode::OK),
        (admin.as_str(), StatusCode::OK),
    ] {
        let mut b = body.clone();
        b["idempotency_key"] = json!(token);
        assert_eq!(
            post(&client, &server, token, &b).await.0,
            expected,
            "token {token}"
        );
    }
    assert_eq!(totals(&server.app).await.0, 2);

    // The scheme's name is case-insensitive; anything else is refused.
    for (header, expected) in [
        (format!("bearer {ingest}"), StatusCode::OK),
        (format!("BEARER {ingest}"), StatusCode::OK),
        (format!("Basic {ingest}"), StatusCode::UNAUTHORIZED),
        (ingest.clone(), StatusCode::UNAUTHORIZED),
        ("Bearer ".to_string(), StatusCode::UNAUTHORIZED),
    ] {
        let mut b = body.clone();
        b["idempotency_key"] = json!(header);
        let response = client
            .post(server.url("/api/v1/usage"))
            .header("authorization", &header)
            .json(&b)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{header}");
    }
    assert_eq!(totals(&server.app).await.0, 4);

    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

both_stores!(
    concurrent_clients_are_each_counted_once,
    batches_are_atomic_and_errors_name_index_and_field,
    tokens_and_scopes_guard_ingest,
);
