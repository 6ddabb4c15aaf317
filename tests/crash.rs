//! Crash durability (SPEC §3): a `serve` process killed with SIGKILL in the
//! middle of concurrent ingest loses nothing it acknowledged, and clients
//! that retry with their idempotency keys count every record exactly once.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use common::{ServeProcess, TestDb, cli, run_ok, totals};

const CLIENTS: usize = 16;
const RECORDS: usize = 4_000;

fn body(i: usize) -> serde_json::Value {
    json!({"service": "chat", "provider": "p", "model": "m", "user": format!("u{}", i % 9),
           "prompt_tokens": i, "idempotency_key": format!("crash-{i}")})
}

/// Sends each index until the first failure; returns the acknowledged ones.
async fn send(
    base: String,
    secret: Arc<String>,
    indexes: Vec<usize>,
    acked: Arc<Mutex<BTreeSet<usize>>>,
) {
    let client = reqwest::Client::new();
    for i in indexes {
        let response = client
            .post(format!("{base}/api/v1/usage"))
            .bearer_auth(secret.as_str())
            .json(&body(i))
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => {
                acked.lock().unwrap().insert(i);
            }
            _ => return,
        }
    }
}

async fn a_killed_server_loses_nothing_it_acknowledged(db: &TestDb) {
    let secret = run_ok(cli(&db.url).args(["token", "create", "crash", "--scope", "ingest"]));
    let secret = Arc::new(secret.lines().last().unwrap().to_string());
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let server = ServeProcess::start(&db.url);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let indexes: Vec<usize> = (c..RECORDS).step_by(CLIENTS).collect();
            tokio::spawn(send(
                server.base.clone(),
                secret.clone(),
                indexes,
                acked.clone(),
            ))
        })
        .collect();
    // Kill the server once part of the load is acknowledged, mid-flight.
    while acked.lock().unwrap().len() < RECORDS / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(server); // SIGKILL
    for t in tasks {
        t.await.unwrap();
    }
    let before_restart = acked.lock().unwrap().clone();
    assert!(
        before_restart.len() < RECORDS,
        "the kill came too late to test anything"
    );
    println!(
        "acknowledged before SIGKILL: {} of {RECORDS}",
        before_restart.len()
    );

    // Everything acknowledged survived the kill.
    let app = db.open("UTC").await;
    let stored = totals(&app).await.0;
    assert!(
        stored >= before_restart.len() as i64,
        "stored {stored} < acknowledged {}",
        before_restart.len()
    );
    drop(app);

    // Clients retry what they did not see acknowledged, and re-send every
    // fifth record they did.
    let server = ServeProcess::start(&db.url);
    let retry: Vec<usize> = (0..RECORDS)
        .filter(|i| !before_restart.contains(i) || i % 5 == 0)
        .collect();
    let again = Arc::new(Mutex::new(BTreeSet::new()));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let part: Vec<usize> = retry.iter().copied().skip(c).step_by(CLIENTS).collect();
            tokio::spawn(send(
                server.base.clone(),
                secret.clone(),
                part,
                again.clone(),
            ))
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        again.lock().unwrap().len(),
        retry.len(),
        "every retry is acknowledged"
    );
    drop(server);
    let app = db.open("UTC").await;
    let expected_tokens: i64 = (0..RECORDS as i64).sum();
    let (requests, tokens, _) = totals(&app).await;
    assert_eq!(
        (requests, tokens),
        (RECORDS as i64, expected_tokens),
        "every record counted exactly once"
    );
}

both_stores!(a_killed_server_loses_nothing_it_acknowledged);
