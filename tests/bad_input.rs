//! Bad input over HTTP: thousands of generated malformed payloads, each
//! answered 4xx, nothing stored, and the server healthy afterwards.

mod common;

use std::sync::Arc;

use llm_ledger::domain::Scope;
use serde_json::{Value, json};

use common::{TestDb, TestServer, totals};
use llm_ledger::rng::Rng;

fn good() -> Value {
    json!({"service": "chat", "provider": "p", "model": "m", "prompt_tokens": 10, "completion_tokens": 5})
}

/// (field, a bad value for it).
fn bad_fields() -> Vec<(&'static str, Value)> {
    vec![
        ("service", json!("telepathy")),
        ("service", json!(7)),
        ("service", json!(null)),
        ("service", json!(["chat"])),
        ("prompt_tokens", json!(-1)),
        ("prompt_tokens", json!(1.5)),
        ("prompt_tokens", json!("12")),
        ("prompt_tokens", json!(1e30)),
        ("prompt_tokens", json!(u64::MAX)),
        ("prompt_tokens", json!(i64::MIN)),
        ("completion_tokens", json!(100_000_001)),
        ("characters", json!(-5)),
        ("audio_seconds", json!(true)),
        ("images", json!({"n": 1})),
        ("cache_read_tokens", json!(11)),
        ("provider", json!("")),
        ("provider", json!(" padded")),
        ("provider", json!("tab\there")),
        ("provider", json!("x".repeat(129))),
        ("model", json!(42)),
        ("user", json!("nul\u{0}byte")),
        ("user", json!("bell\u{7}")),
        ("user", json!("admin\u{200B}")),
        ("source", json!("\u{202E}gnp.exe")),
        ("source", json!("s".repeat(65))),
        ("configuration", json!(["a"])),
        ("task", json!({"t": 1})),
        ("cost_usd", json!("-0.01")),
        ("cost_usd", json!(0.01)),
        ("cost_usd", json!("1e5")),
        ("cost_usd", json!("0.0000000000001")),
        ("cost_usd", json!("NaN")),
        ("counts_as_request", json!("yes")),
        ("occurred_at", json!("2999-01-01T00:00:00Z")),
        ("occurred_at", json!("yesterday")),
        ("occurred_at", json!(1700000000)),
        ("idempotency_key", json!("k".repeat(129))),
        ("reservation_id", json!("res_never_issued")),
        ("colour", json!("red")),
    ]
}

fn payload(rng: &mut Rng, n: usize) -> Vec<u8> {
    match n % 10 {
        // One bad field in one record of a batch of good ones.
        0..=4 => {
            let (field, value) = rng.pick(&bad_fields()).clone();
            let size = 1 + (rng.next_u64() % 20) as usize;
            let bad = (rng.next_u64() % size as u64) as usize;
            let mut records: Vec<Value> = (0..size).map(|_| good()).collect();
            records[bad][field] = value;
            if field == "cache_read_tokens" {
                records[bad]["prompt_tokens"] = json!(10);
            }
            let body = if size == 1 && n.is_multiple_of(2) {
                records.remove(0)
            } else {
                json!({ "records": records })
            };
            serde_json::to_vec(&body).unwrap()
        }
        // Not JSON at all, or not valid UTF-8.
        5 => {
            let len = (rng.next_u64() % 200) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            bytes.insert(0, b'{');
            bytes.push(0xff);
            bytes
        }
        // JSON of the wrong shape.
        6 => {
            let shapes = [
                json!([good()]),
                json!("chat"),
                json!(42),
                json!(null),
                json!({"records": good()}),
                json!({"records": []}),
                json!({"records": [good()], "extra": 1}),
                json!({"records": [1, 2, 3]}),
            ];
            serde_json::to_vec(rng.pick(&shapes)).unwrap()
        }
        // Deep nesting.
        7 => {
            let depth = 200 + (rng.next_u64() % 5000) as usize;
            let mut s = "[".repeat(depth);
            s.push_str(&"]".repeat(depth));
            format!("{{\"records\": {s}}}").into_bytes()
        }
        // Duplicate keys, raw control characters, invalid UTF-8 in a string.
        8 => {
            let variants: [&[u8]; 5] = [
                br#"{"service":"chat","provider":"p","service":"chat"}"#,
                br#"{"records":[{"service":"chat","provider":"p","prompt_tokens":1,"prompt_tokens":2}]}"#,
                b"{\"service\":\"chat\",\"provider\":\"p\x01q\"}",
                b"{\"service\":\"chat\",\"provider\":\"\xff\xfe\"}",
                br#"{"service":"chat","provider":"p","user":"\ud800"}"#,
            ];
            rng.pick(&variants).to_vec()
        }
        // Truncated JSON.
        _ => {
            let mut body = serde_json::to_vec(&json!({"records": [good(), good()]})).unwrap();
            let cut = 1 + (rng.next_u64() as usize % (body.len() - 1));
            body.truncate(cut);
            body
        }
    }
}

async fn thousands_of_bad_payloads_store_nothing(db: &TestDb) {
    let app = db.open("UTC").await;
    let (_, secret) = app.create_token("fuzz", Scope::Ingest).await.unwrap();
    let server = Arc::new(TestServer::start(app).await);
    let secret = Arc::new(secret);
    const PAYLOADS: usize = 10_000;
    const TASKS: usize = 8;
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (server, secret) = (server.clone(), secret.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut rng = Rng::new(t as u64 + 1);
                let mut answered = 0;
                for n in (t..PAYLOADS).step_by(TASKS) {
                    let body = payload(&mut rng, n);
                    let response = client
                        .post(server.url("/api/v1/usage"))
                        .bearer_auth(secret.as_str())
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    let status = response.status();
                    assert!(
                        status.is_client_error(),
                        "payload {n} answered {status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    );
                    if status == 400 {
                        let answer: Value = response.json().await.expect("a JSON error body");
                        assert!(answer["error"].is_string());
                    }
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    let mut answered = 0;
    for t in tasks {
        answered += t.await.unwrap();
    }
    // A few oversized bodies and batches on top.
    let client = reqwest::Client::new();
    for size in [1024 * 1024 + 1, 2 * 1024 * 1024, 5 * 1024 * 1024] {
        let body = format!("{{\"records\": [{}]}}", "1,".repeat(size / 2));
        // The server answers 413 from Content-Length without reading the
        // body; a client still writing may see the connection close instead.
        match client
            .post(server.url("/api/v1/usage"))
            .bearer_auth(secret.as_str())
            .body(body)
            .send()
            .await
        {
            Ok(response) => assert_eq!(response.status(), 413),
            Err(e) => assert!(e.is_request(), "{e}"),
        }
        answered += 1;
    }
    let too_many: Vec<Value> = (0..1001).map(|_| good()).collect();
    let status = client
        .post(server.url("/api/v1/usage"))
        .bearer_auth(secret.as_str())
        .json(&json!({"records": too_many}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 413);
    answered += 1;
    println!("bad payloads answered 4xx: {answered}");
    assert!(answered > 10_000);

    // Nothing was stored, no catalog record was discovered, and the server
    // still works.
    assert_eq!(totals(&server.app).await, (0, 0, "0.000000".into()));
    assert!(server.app.providers().await.unwrap().is_empty());
    assert!(server.app.users().await.unwrap().is_empty());
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let ok = client
        .post(server.url("/api/v1/usage"))
        .bearer_auth(secret.as_str())
        .json(&good())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(totals(&server.app).await.0, 1);
}

/// A body that trickles in and stops is cut off with 408 on every route
/// that reads one, nothing stored.
async fn a_stalled_body_times_out(db: &TestDb) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = db.open("UTC").await;
    let (_, secret) = app.create_token("slow", Scope::Ingest).await.unwrap();
    let server = TestServer::start(app).await;
    let stalls: Vec<_> = ["/api/v1/usage", "/api/v1/budget/check", "/api/v1/budget/reserve"]
        .into_iter()
        .map(|path| {
            let (addr, secret) = (server.addr, secret.clone());
            tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let head = format!(
                    "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {secret}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"service\":"
                );
                stream.write_all(head.as_bytes()).await.unwrap();
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer).await;
                (path, String::from_utf8_lossy(&answer).into_owned())
            })
        })
        .collect();
    for stall in stalls {
        let (path, answer) = stall.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
    }
    // A declared length over the limit is refused at once, unread: 413,
    // not a 408 after the client was left waiting.
    for path in [
        "/api/v1/usage",
        "/api/v1/budget/check",
        "/api/v1/budget/reserve",
    ] {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {secret}\r\ncontent-type: application/json\r\ncontent-length: 2000000\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0; 64];
        let n = stream.read(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
    }
    // A client that sends all of an oversized body before it reads gets the
    // 413 too, not a connection reset under its upload: with a declared
    // length, and chunked (refused once the limit is passed).
    let body = vec![b' '; 1536 * 1024];
    let mut chunked = format!("{:x}\r\n", body.len()).into_bytes();
    chunked.extend_from_slice(&body);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    for (framing, payload) in [
        (format!("content-length: {}", body.len()), &body),
        ("transfer-encoding: chunked".to_string(), &chunked),
    ] {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "POST /api/v1/usage HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {secret}\r\ncontent-type: application/json\r\n{framing}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream
            .write_all(payload)
            .await
            .unwrap_or_else(|e| panic!("{framing}: the upload was cut off: {e}"));
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .await
            .unwrap_or_else(|e| panic!("{framing}: no answer: {e}"));
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{framing}: {answer}");
    }
    // But the server reads such a rest only so far (8 MiB, or 5 s): a
    // client that sends on without end is cut off.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/usage HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {secret}\r\ncontent-length: 1000000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let endless = async {
        let mut sent = 0usize;
        while stream.write_all(&body).await.is_ok() {
            sent += body.len();
        }
        sent
    };
    // Bounds this test's wait, not the server's speed.
    let sent = tokio::time::timeout(std::time::Duration::from_secs(120), endless)
        .await
        .expect("the server cuts off an endless upload");
    assert!(sent < 1_000_000_000, "sent {sent} bytes");
    assert_eq!(totals(&server.app).await.0, 0);
}

/// The budget routes: a repeated key, a wrong shape, a bad reservation id
/// in the path are each a 400 naming the field; none of them holds anything.
async fn budget_requests_are_checked_whole(db: &TestDb) {
    let app = db.open("UTC").await;
    let (_, secret) = app.create_token("budget", Scope::Ingest).await.unwrap();
    let server = TestServer::start(app).await;
    let client = reqwest::Client::new();
    for path in ["/api/v1/budget/check", "/api/v1/budget/reserve"] {
        for (body, field) in [
            (r#"{"user":"carl","user":"zzz"}"#, "body"),
            (r#"["carl"]"#, "body"),
            (r#"{"user":"carl"} {}"#, "body"),
            (r#"{"user":"carl","planned_tokens":-1}"#, "planned_tokens"),
            (
                r#"{"user":"carl","planned_cost_usd":"1e3"}"#,
                "planned_cost_usd",
            ),
            (r#"{"user":"a\u0000b"}"#, "user"),
            (r#"{"planned_tokens":1}"#, "user"),
            (r#"{"user":"carl","colour":"red"}"#, "colour"),
        ] {
            let response = client
                .post(server.url(path))
                .bearer_auth(&secret)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{path} {body}");
            let answer: Value = response.json().await.unwrap();
            assert_eq!(
                answer["errors"][0]["field"], field,
                "{path} {body}: {answer}"
            );
        }
    }
    // Every bad field is named at once, as for usage records.
    for path in ["/api/v1/budget/check", "/api/v1/budget/reserve"] {
        let response = client
            .post(server.url(path))
            .bearer_auth(&secret)
            .header("content-type", "application/json")
            .body(r#"{"planned_cost_usd":"x","planned_tokens":-1,"bogus":1,"configuration":7}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let answer: Value = response.json().await.unwrap();
        let mut fields: Vec<&str> = answer["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "bogus",
                "configuration",
                "planned_cost_usd",
                "planned_tokens",
                "user"
            ],
            "{path}: {answer}"
        );
    }
    for id in ["a%00b", "%20padded", &"r".repeat(129)] {
        let response = client
            .delete(server.url(&format!("/api/v1/budget/reserve/{id}")))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{id}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["errors"][0]["field"], "reservation_id", "{answer}");
    }
    let unknown = client
        .delete(server.url("/api/v1/budget/reserve/res_unknown"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(server.app.users().await.unwrap().is_empty());
}

both_stores!(
    thousands_of_bad_payloads_store_nothing,
    a_stalled_body_times_out,
    budget_requests_are_checked_whole
);

/// The connection loop's bounds (SQLite only: no store is involved). A
/// connection that sends nothing, or trickles its headers, is closed by the
/// server (after its 30 s header timeout); a web form that trickles in is cut
/// off like an API body (408), and one that is not a form is refused with a
/// page (415); the server answers others meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_trickling_connections_are_closed() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::sqlite();
    let server = TestServer::start(db.open("UTC").await).await;
    // Bounds this test's wait, not the server's speed: the server's own
    // timeout is 30 s.
    let limit = Duration::from_secs(120);
    let closed = |mut stream: tokio::net::TcpStream| async move {
        let mut answer = Vec::new();
        tokio::time::timeout(limit, stream.read_to_end(&mut answer))
            .await
            .map(|_| String::from_utf8_lossy(&answer).into_owned())
    };
    let silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut trickling = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-a: b")
        .await
        .unwrap();
    let mut form = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    form.write_all(
        b"POST /login HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 200\r\n\r\nusername=a",
    )
    .await
    .unwrap();
    let waits = (
        tokio::spawn(closed(silent)),
        tokio::spawn(closed(trickling)),
        tokio::spawn(closed(form)),
    );
    // Meanwhile the server answers, and a body that is not a form gets a page.
    let client = reqwest::Client::new();
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let json = client
        .post(server.url("/login"))
        .header("content-type", "application/json")
        .body(r#"{"username":"a"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    assert!(json.text().await.unwrap().contains("<html"));
    let silent = waits
        .0
        .await
        .unwrap()
        .expect("a silent connection was kept open");
    assert_eq!(silent, "", "{silent}");
    let trickling = waits
        .1
        .await
        .unwrap()
        .expect("trickling headers were waited for");
    assert!(!trickling.contains("200 OK"), "{trickling}");
    let form = waits
        .2
        .await
        .unwrap()
        .expect("a trickling form was waited for");
    assert!(form.starts_with("HTTP/1.1 408"), "{form}");
    assert!(form.contains("<html"), "{form}");
}
