//! A PostgreSQL outage under load, on a throw-away cluster this test starts
//! itself (initdb/pg_ctl on its own port), so the shared server is untouched.
//! Ingest answers 503 promptly while the database is down, recovers by
//! itself when it is back, and loses nothing it acknowledged.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use common::{ServeProcess, cli, run_ok, sign_in_at};

/// The newest installed PostgreSQL's programs, if any.
fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    versions.sort();
    versions.pop().filter(|b| b.join("pg_ctl").exists())
}

/// A cluster of our own, run by the `postgres` system user (initdb refuses root).
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    _temp: tempfile::TempDir,
}

fn as_postgres(program: &Path, args: &[&str]) -> std::process::Output {
    let root = std::env::var("USER").is_ok_and(|u| u == "root") || unsafe_is_root();
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).output().expect("run a PostgreSQL program")
}

/// Whether we run as root (uid 0), read from /proc without unsafe code.
fn unsafe_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let bin = pg_bin()?;
        let temp = tempfile::Builder::new()
            .prefix("llm-ledger-outage")
            .tempdir_in("/tmp")
            .ok()?;
        let dir = temp.path().join("data");
        // The postgres user must own the directory.
        let _ = Command::new("chmod")
            .args(["755"])
            .arg(temp.path())
            .status();
        if unsafe_is_root() {
            let _ = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(temp.path())
                .status();
        }
        let init = as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                dir.to_str()?,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        if !init.status.success() {
            eprintln!("initdb failed: {}", String::from_utf8_lossy(&init.stderr));
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let cluster = Cluster {
            bin,
            dir,
            port,
            _temp: temp,
        };
        cluster.pg_ctl("start").then_some(cluster)
    }

    fn pg_ctl(&self, action: &str) -> bool {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.display()
        );
        let out = match action {
            "start" => as_postgres(
                &self.bin.join("pg_ctl"),
                &[
                    "-D",
                    self.dir.to_str().unwrap(),
                    "-o",
                    &options,
                    "-w",
                    "-l",
                    &format!("{}/log", self.dir.display()),
                    "start",
                ],
            ),
            _ => as_postgres(
                &self.bin.join("pg_ctl"),
                &[
                    "-D",
                    self.dir.to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            ),
        };
        if !out.status.success() {
            eprintln!("pg_ctl {action}: {}", String::from_utf8_lossy(&out.stderr));
        }
        out.status.success()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.pg_ctl("stop");
    }
}

const CLIENTS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_survives_a_database_outage() {
    let Some(cluster) = Cluster::start() else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI needs initdb and pg_ctl for the outage test"
        );
        eprintln!("skipping the outage test: no PostgreSQL programs to start a cluster with");
        return;
    };
    let url = cluster.url();
    let secret = run_ok(cli(&url).args(["token", "create", "outage", "--scope", "ingest"]));
    let secret = Arc::new(secret.lines().last().unwrap().to_string());
    let mut add = cli(&url)
        .args(["user", "add", "root", "--admin", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut add.stdin.take().unwrap(), b"outage-password\n").unwrap();
    assert!(add.wait().unwrap().success());
    let server = ServeProcess::start(&url);
    let base = Arc::new(server.base.clone());
    let session = sign_in_at(&base, "root", "outage-password")
        .await
        .1
        .expect("signed in");

    // Clients send numbered records with idempotency keys, retrying each
    // until it is acknowledged.
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<(u16, Duration)>::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (base, secret, acked, next, stop, answers) =
                (base.clone(), secret.clone(), acked.clone(), next.clone(), stop.clone(), answers.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
                while !stop.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    loop {
                        let body = json!({"service": "chat", "provider": "p", "prompt_tokens": 1, "idempotency_key": format!("o-{i}")});
                        let started = Instant::now();
                        let response = client.post(format!("{base}/api/v1/usage")).bearer_auth(secret.as_str()).json(&body).send().await;
                        let status = response.map(|r| r.status().as_u16()).unwrap_or(0);
                        answers.lock().unwrap().push((status, started.elapsed()));
                        if status == 200 {
                            acked.lock().unwrap().insert(i);
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            })
        })
        .collect();

    let wait_for = |n: usize| {
        let acked = acked.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while acked.lock().unwrap().len() < n {
                assert!(Instant::now() < deadline, "ingest did not make progress");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(300).await;
    assert!(cluster.pg_ctl("stop"), "stop the database");
    let down_at = acked.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(8)).await;

    // While it is down: 503s, a live server, and an error page for the dashboard.
    let during: Vec<(u16, Duration)> = answers.lock().unwrap().clone();
    let unavailable = during.iter().filter(|(s, _)| *s == 503).count();
    assert!(unavailable > 0, "no 503 while the database was down");
    assert!(
        during.iter().all(|(s, _)| *s == 200 || *s == 503),
        "only 200 or 503: {:?}",
        during
            .iter()
            .filter(|(s, _)| *s != 200 && *s != 503)
            .take(5)
            .collect::<Vec<_>>()
    );
    let slowest = during.iter().map(|(_, d)| *d).max().unwrap();
    assert!(
        slowest < Duration::from_secs(15),
        "an answer took {slowest:?}"
    );
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    assert!(
        page.status().is_success(),
        "the sign-in page needs no database"
    );
    let (status, _) = sign_in_at(&base, "root", "whatever").await;
    assert_eq!(
        status,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "sign-in shows the outage page"
    );
    let dashboard = http
        .get(format!("{base}/analytics"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let page = dashboard.text().await.unwrap();
    assert!(
        page.contains("database is unavailable"),
        "the dashboard shows an error page: {page}"
    );

    // Back up: ingest recovers by itself.
    assert!(cluster.pg_ctl("start"), "restart the database");
    wait_for(down_at + 300).await;
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    drop(server);
    let acknowledged = acked.lock().unwrap().len() as i64;
    let report: serde_json::Value = serde_json::from_str(&run_ok(
        cli(&url).args(["report", "--range", "7d", "--format", "json"]),
    ))
    .unwrap();
    assert_eq!(
        report["kpis"]["requests"].as_i64().unwrap(),
        acknowledged,
        "every acknowledged record, once"
    );
    println!(
        "outage: {acknowledged} records acknowledged, {unavailable} answers 503 while down, slowest answer {slowest:?}, 0 lost"
    );
}
