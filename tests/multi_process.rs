//! Two `serve` processes sharing one PostgreSQL database: the deployment
//! for organisations that outgrow one machine.

mod common;

use std::sync::Arc;

use serde_json::json;

use common::{ServeProcess, TestDb, cli, run_ok, totals};

const CLIENTS: usize = 32;
const RECORDS: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_count_every_record_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let secret = run_ok(cli(&db.url).args(["token", "create", "load", "--scope", "ingest"]));
    let secret = Arc::new(secret.lines().last().unwrap().to_string());
    let servers = [ServeProcess::start(&db.url), ServeProcess::start(&db.url)];
    let bases: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.base.clone()).collect());
    let client = reqwest::Client::new();

    let send = |indexes: Vec<usize>| {
        let per_client = indexes.len().div_ceil(CLIENTS);
        indexes
            .chunks(per_client)
            .enumerate()
            .map(|(c, chunk)| {
                let (client, bases, secret, chunk) = (
                    client.clone(),
                    bases.clone(),
                    secret.clone(),
                    chunk.to_vec(),
                );
                tokio::spawn(async move {
                    let mut counted = (0u64, 0u64);
                    for i in chunk {
                        // Clients alternate between the two servers.
                        let base = &bases[(c + i) % 2];
                        let body = json!({
                            "service": "chat", "provider": "shared", "model": "m",
                            "user": format!("u{}", i % 5), "prompt_tokens": 10,
                            "idempotency_key": format!("k{i}"),
                        });
                        let response = client
                            .post(format!("{base}/api/v1/usage"))
                            .bearer_auth(secret.as_str())
                            .json(&body)
                            .send()
                            .await
                            .unwrap();
                        assert!(
                            response.status().is_success(),
                            "{}",
                            response.text().await.unwrap()
                        );
                        let v: serde_json::Value = response.json().await.unwrap();
                        counted.0 += v["recorded"].as_u64().unwrap();
                        counted.1 += v["duplicates"].as_u64().unwrap();
                    }
                    counted
                })
            })
            .collect::<Vec<_>>()
    };
    let mut sum = (0, 0);
    for t in send((0..RECORDS).collect()) {
        let (r, d) = t.await.unwrap();
        sum = (sum.0 + r, sum.1 + d);
    }
    assert_eq!(sum, (RECORDS as u64, 0));
    let mut resent = (0, 0);
    for t in send((0..RECORDS).step_by(10).collect()) {
        let (r, d) = t.await.unwrap();
        resent = (resent.0 + r, resent.1 + d);
    }
    assert_eq!(resent, (0, 1000));
    drop(servers);
    let app = db.open("UTC").await;
    assert_eq!(totals(&app).await.0, RECORDS as i64);
    // Both processes registered the same discovered names without duplicates.
    assert_eq!(
        app.users()
            .await
            .unwrap()
            .iter()
            .filter(|u| u.discovered)
            .count(),
        5
    );
}
