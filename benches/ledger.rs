//! The benchmark harness (see BENCHMARKS.md):
//!
//! ```text
//! cargo bench --bench ledger                      # everything, SQLite (+ PostgreSQL when reachable)
//! cargo bench --bench ledger -- --quick           # a short run of every part (CI runs this)
//! cargo bench --bench ledger -- --only ingest     # or: --only dashboard
//! ```
//!
//! Every figure is printed beside a baseline measured in the same run. The
//! load generator is a tokio/hyper client with keep-alive connections; it
//! targets 127.0.0.1 only and stops after a fixed time.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

#[path = "ledger/baseline.rs"]
mod baseline;

const POSTGRES_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct Options {
    quick: bool,
    only: Option<String>,
    postgres: Option<String>,
}

impl Options {
    fn parse() -> Options {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1).cloned())
        };
        Options {
            quick: args.iter().any(|a| a == "--quick"),
            only: value("--only"),
            postgres: Some(
                value("--postgres")
                    .or_else(|| std::env::var("LLM_LEDGER_TEST_POSTGRES").ok())
                    .unwrap_or_else(|| POSTGRES_DEFAULT.into()),
            ),
        }
    }

    fn runs(&self, part: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == part)
    }

    /// `--only single`: the HTTP ceiling and single-record ingest on SQLite,
    /// nothing else (for quick iteration on the hot path).
    fn single_only(&self) -> bool {
        self.only.as_deref() == Some("single")
    }

    /// Alternating rounds of the HTTP ceiling and single-record ingest, and
    /// how long each load of a round runs.
    fn rounds(&self) -> (usize, Duration) {
        if self.quick {
            (1, Duration::from_secs(2))
        } else {
            (5, Duration::from_secs(6))
        }
    }

    fn load_time(&self) -> Duration {
        if self.quick {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(10)
        }
    }
}

/// The binary under test: this build's, or `LLM_LEDGER_BENCH_BIN` (another
/// build, for an A/B comparison on the same machine in the same hour).
pub fn ledger_binary() -> PathBuf {
    std::env::var_os("LLM_LEDGER_BENCH_BIN")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_llm-ledger").into())
}

/// A `serve` process under test.
pub struct Server {
    child: Child,
    pub addr: std::net::SocketAddr,
}

impl Server {
    // The child is killed and waited for in `Drop`.
    #[allow(clippy::zombie_processes)]
    pub fn start(database: &str) -> Server {
        use std::io::BufRead;
        let mut child = Command::new(ledger_binary())
            .args([
                "--database",
                database,
                "--timezone",
                "UTC",
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start llm-ledger serve");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("serve printed its address").unwrap();
            if let Some(rest) = line.split("http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap().parse().unwrap();
                std::thread::spawn(move || for _ in lines {});
                return Server { child, addr };
            }
        }
    }

    /// CPU time (user + system) the process, or its threads named `thread`,
    /// used so far, in seconds.
    pub fn cpu_seconds(&self, thread: Option<&str>) -> f64 {
        cpu_seconds(self.child.id(), thread)
    }

    /// Peak resident memory of the process so far, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        kib / 1024.0
    }
}

/// CPU time (user + system) process `pid`, or its threads named `thread`,
/// used so far, in seconds.
pub fn cpu_seconds(pid: u32, thread: Option<&str>) -> f64 {
    let ticks = match thread {
        // The process's own counters include threads that have exited.
        None => std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| stat_ticks(&stat))
            .unwrap_or(0),
        Some(name) => std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|tasks| {
                tasks
                    .flatten()
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|c| c.trim() == name)
                    })
                    .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
                    .map(|stat| stat_ticks(&stat))
                    .sum()
            })
            .unwrap_or(0),
    };
    // Linux reports these in clock ticks of 1/100 s (USER_HZ).
    ticks as f64 / 100.0
}

/// utime + stime of a `/proc/…/stat` line: the 12th and 13th fields after
/// the parenthesised name.
fn stat_ticks(stat: &str) -> u64 {
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    field(11).unwrap_or(0) + field(12).unwrap_or(0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cli(database: &str, args: &[&str]) -> String {
    let out = Command::new(ledger_binary())
        .args(["--database", database, "--timezone", "UTC"])
        .args(args)
        .output()
        .expect("run llm-ledger");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What a load run achieved.
#[derive(Default)]
pub struct Outcome {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(i).copied().unwrap_or_default()
    }
}

/// The median of some figures (the mean of the middle two for an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The CPU time loads cost, in seconds: the server process, its writer
/// thread, and the load generator (this process, which shares the cores);
/// and the loads' wall time.
#[derive(Default)]
pub struct Cost {
    pub ok: u64,
    pub serve: f64,
    pub writer: f64,
    pub client: f64,
    pub wall: f64,
}

impl Cost {
    fn add(&mut self, other: &Cost) {
        self.ok += other.ok;
        self.serve += other.serve;
        self.writer += other.writer;
        self.client += other.client;
        self.wall += other.wall;
    }

    /// Both processes' CPU time per answered request, in seconds.
    fn per_request(&self) -> f64 {
        (self.serve + self.client) / self.ok.max(1) as f64
    }

    /// The share of the machine's cores both processes kept busy.
    fn busy(&self) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (self.serve + self.client) / (self.wall * cores as f64).max(f64::MIN_POSITIVE)
    }
}

/// Runs a load against `server` and reads what it cost.
async fn measured(
    server: &Server,
    writer: Option<&str>,
    load: impl std::future::Future<Output = Outcome>,
) -> (Outcome, Cost) {
    let own = || cpu_seconds(std::process::id(), None);
    let thread = || writer.map_or(0.0, |w| server.cpu_seconds(Some(w)));
    let before = (server.cpu_seconds(None), thread(), own());
    let outcome = load.await;
    let cost = Cost {
        ok: outcome.ok,
        serve: server.cpu_seconds(None) - before.0,
        writer: thread() - before.1,
        client: own() - before.2,
        wall: outcome.elapsed.as_secs_f64(),
    };
    (outcome, cost)
}

/// Runs `clients` keep-alive connections against `addr` for `duration`;
/// `request(client, n)` builds each request.
pub async fn load<F>(
    addr: std::net::SocketAddr,
    clients: usize,
    duration: Duration,
    request: F,
) -> Outcome
where
    F: Fn(usize, u64) -> Request<Full<Bytes>> + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let request = request.clone();
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).unwrap();
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
                let mut n = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let response = sender.send_request(request(c, n)).await.expect("send");
                    let status = response.status();
                    let _ = response.into_body().collect().await;
                    latencies.push(t.elapsed());
                    if status.is_success() {
                        ok += 1
                    } else {
                        failed += 1
                    }
                    n += 1;
                }
                (ok, failed, latencies)
            })
        })
        .collect();
    let mut outcome = Outcome {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for t in tasks {
        let (ok, failed, latencies) = t.await.unwrap();
        outcome.ok += ok;
        outcome.failed += failed;
        outcome.latencies.extend(latencies);
    }
    outcome.elapsed = started.elapsed();
    outcome
}

/// The headers every request of a run carries, built once: per request
/// they are cloned (a reference count), so the load generator spends its
/// CPU, which the server's shares, on sending rather than on formatting.
#[derive(Clone)]
pub struct Headers {
    host: HeaderValue,
    auth: Option<HeaderValue>,
}

impl Headers {
    pub fn new(addr: std::net::SocketAddr, auth: Option<&str>) -> Headers {
        Headers {
            host: HeaderValue::from_str(&addr.to_string()).unwrap(),
            auth: auth.map(|a| HeaderValue::from_str(a).unwrap()),
        }
    }

    fn request(&self, method: Method, path: &str) -> hyper::http::request::Builder {
        let mut r = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.host.clone());
        if let Some(auth) = &self.auth {
            r = r.header(header::AUTHORIZATION, auth.clone());
        }
        r
    }
}

pub fn get(headers: &Headers, path: &str) -> Request<Full<Bytes>> {
    headers
        .request(Method::GET, path)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

pub fn post_json(headers: &Headers, path: &str, body: String) -> Request<Full<Bytes>> {
    headers
        .request(Method::POST, path)
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// One usage record of client `c`'s `n`th request, `k`th in its batch;
/// `kind` keeps the idempotency keys of different runs apart.
pub fn record(kind: &str, c: usize, n: u64, k: u64) -> String {
    format!(
        r#"{{"service":"chat","provider":"bench","model":"bench-model","user":"user-{}","source":"app-{}","prompt_tokens":{},"completion_tokens":{},"idempotency_key":"{kind}-{c}-{n}-{k}"}}"#,
        (n + k) % 50,
        c % 8,
        100 + n % 900,
        10 + k % 90
    )
}

pub fn batch(c: usize, n: u64, size: u64) -> String {
    let records: Vec<String> = (0..size).map(|k| record("batch", c, n, k)).collect();
    format!(r#"{{"records":[{}]}}"#, records.join(","))
}

#[derive(Default)]
pub struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    pub fn row(
        &mut self,
        what: impl Into<String>,
        figure: impl Into<String>,
        baseline: impl Into<String>,
        ratio: impl Into<String>,
    ) {
        let row = [what.into(), figure.into(), baseline.into(), ratio.into()];
        println!(
            "  {:<58} {:>18} {:>18} {:>8}",
            row[0], row[1], row[2], row[3]
        );
        self.rows.push(row);
    }

    fn markdown(&self) -> String {
        let mut out = String::from(
            "| measurement | figure | baseline (same run) | ratio |\n|---|---:|---:|---:|\n",
        );
        for r in &self.rows {
            out.push_str(&format!("| {} | {} | {} | {} |\n", r[0], r[1], r[2], r[3]));
        }
        out
    }
}

pub fn per_second(v: f64) -> String {
    format!("{:.0}/s", v)
}

pub fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn temp_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn fresh_sqlite(name: &str) -> String {
    let path = temp_dir().join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    format!("sqlite://{}", path.display())
}

/// A fresh PostgreSQL database named `name`, or None when unreachable.
pub async fn fresh_postgres(admin: &str, name: &str) -> Option<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await.ok()?;
    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
        .execute(&mut conn)
        .await
        .ok()?;
    let create = format!("CREATE DATABASE {name}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
        .execute(&mut conn)
        .await
        .ok()?;
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    Some(format!("{base}/{name}"))
}

pub fn stored_requests(database: &str) -> i64 {
    let json: serde_json::Value = serde_json::from_str(&cli(
        database,
        &["report", "--range", "7d", "--format", "json"],
    ))
    .unwrap();
    json["kpis"]["requests"].as_i64().unwrap()
}

async fn ingest(options: &Options, table: &mut Table, backend: &str, database: &str) {
    let token = cli(database, &["token", "create", "bench", "--scope", "ingest"]);
    let auth = format!("Bearer {}", token.lines().last().unwrap());
    let server = Server::start(database);
    let addr = server.addr;
    let (public, bearer) = (Headers::new(addr, None), Headers::new(addr, Some(&auth)));
    let time = options.load_time();

    let writer = (backend == "sqlite").then_some("sqlite-writer");
    // The machine's speed drifts within minutes, so the HTTP ceiling and
    // single-record ingest are measured in alternating rounds, and the
    // share is taken within each round.
    let (mut health, mut single) = (Vec::new(), Vec::new());
    let (mut health_cost, mut single_cost) = (Cost::default(), Cost::default());
    let (rounds, round_time) = options.rounds();
    for round in 0..rounds {
        let public = public.clone();
        let (outcome, cost) = measured(&server, writer, async move {
            load(addr, 64, round_time, move |_, _| get(&public, "/healthz")).await
        })
        .await;
        health_cost.add(&cost);
        health.push(outcome);
        let h = bearer.clone();
        // Each round's idempotency keys are new, so every record counts.
        let kind = format!("single{round}");
        let (outcome, cost) = measured(&server, writer, async move {
            load(addr, 64, round_time, move |c, n| {
                post_json(&h, "/api/v1/usage", record(&kind, c, n, 0))
            })
            .await
        })
        .await;
        single_cost.add(&cost);
        single.push(outcome);
    }
    let rss_single = server.peak_rss_mib();
    let batches = if options.single_only() {
        Outcome::default()
    } else {
        load(addr, 16, time, move |c, n| {
            post_json(&bearer, "/api/v1/usage", batch(c, n, 500))
        })
        .await
    };
    drop(server);
    let micros =
        |seconds: f64, requests: u64| format!("{:.1} µs", seconds * 1e6 / requests.max(1) as f64);
    let single_ok: u64 = single.iter().map(|o| o.ok).sum();
    let single_failed: u64 = single.iter().map(|o| o.failed).sum();
    let acknowledged = single_ok as i64 + batches.ok as i64 * 500;
    let shares: Vec<f64> = health
        .iter()
        .zip(&single)
        .map(|(h, s)| 100.0 * s.rate() / h.rate())
        .collect();
    let health_rate = median(health.iter().map(Outcome::rate).collect());
    let single_rate = median(single.iter().map(Outcome::rate).collect());
    let stored = stored_requests(database);

    table.row(
        format!("{backend}: GET /healthz, 64 keep-alive clients (the HTTP ceiling)"),
        per_second(health_rate),
        "",
        "",
    );
    table.row(
        format!("{backend}: serve CPU per /healthz request"),
        micros(health_cost.serve, health_cost.ok),
        format!(
            "load generator: {}",
            micros(health_cost.client, health_cost.ok)
        ),
        "",
    );
    let base_single = if backend == "sqlite" && !options.single_only() {
        Some(baseline::reference_ingest(time, 1).await)
    } else {
        None
    };
    let base_batch = if backend == "sqlite" && !options.single_only() {
        Some(baseline::reference_ingest(time, 500).await)
    } else {
        None
    };
    let ratio = |ours: f64, base: Option<f64>| {
        base.map(|b| format!("{:.1}×", ours / b))
            .unwrap_or_default()
    };
    let base = |b: Option<f64>| b.map(per_second).unwrap_or_default();
    table.row(
        format!("{backend}: ingest, single-record requests, 64 clients (durable records/s)"),
        per_second(single_rate),
        base(base_single),
        ratio(single_rate, base_single),
    );
    let each: Vec<String> = shares.iter().map(|s| format!("{s:.0}")).collect();
    table.row(
        format!("{backend}: single-record ingest ÷ /healthz rate (median of rounds)"),
        format!("{:.0} %", median(shares.clone())),
        format!("rounds: {} %", each.join(", ")),
        "",
    );
    table.row(
        format!("{backend}: serve CPU per single-record request (all threads)"),
        micros(single_cost.serve, single_cost.ok),
        writer
            .map(|_| {
                format!(
                    "writer thread: {}",
                    micros(single_cost.writer, single_cost.ok)
                )
            })
            .unwrap_or_default(),
        "",
    );
    table.row(
        format!("{backend}: load generator CPU per single-record request"),
        micros(single_cost.client, single_cost.ok),
        "",
        "",
    );
    // The share is about the inverse ratio of the CPU each request costs
    // both processes, times how busy the cores were kept: this row splits
    // the two, so a run shows which one holds the share back. (On
    // PostgreSQL the database server's own CPU would be missing.)
    if backend == "sqlite" {
        table.row(
            format!("{backend}: share with the cores never idle (CPU per /healthz ÷ per record)"),
            format!(
                "{:.0} %",
                100.0 * health_cost.per_request() / single_cost.per_request()
            ),
            format!(
                "cores busy: /healthz {:.0} %, records {:.0} %",
                100.0 * health_cost.busy(),
                100.0 * single_cost.busy()
            ),
            "",
        );
    }
    if !options.single_only() {
        table.row(
            format!("{backend}: ingest, batches of 500, 16 clients (records/s)"),
            per_second(batches.rate() * 500.0),
            base(base_batch),
            ratio(batches.rate() * 500.0, base_batch),
        );
    }
    table.row(
        format!("{backend}: peak RSS of serve during single-record ingest"),
        format!("{rss_single:.0} MiB"),
        "",
        "",
    );
    table.row(
        format!("{backend}: 2xx answers = stored requests (durability)"),
        format!("{acknowledged} = {stored}"),
        format!("{} non-2xx", single_failed + batches.failed),
        if acknowledged == stored {
            "ok".to_string()
        } else {
            "MISMATCH".to_string()
        },
    );
    assert_eq!(
        acknowledged, stored,
        "every acknowledged record is stored, and nothing else"
    );
}

fn main() {
    let options = Options::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut table = Table::default();
        println!(
            "llm-ledger benchmarks{}",
            if options.quick { " (quick)" } else { "" }
        );
        let postgres = match &options.postgres {
            Some(admin) => fresh_postgres(admin, "llm_ledger_bench_ingest")
                .await
                .map(|url| (admin.clone(), url)),
            None => None,
        };
        if postgres.is_none() {
            println!("  PostgreSQL is not reachable: its figures are skipped");
        }
        if options.single_only() {
            ingest(&options, &mut table, "sqlite", &fresh_sqlite("ingest.db")).await;
        }
        if options.runs("ingest") {
            ingest(&options, &mut table, "sqlite", &fresh_sqlite("ingest.db")).await;
            if let Some((_, url)) = &postgres {
                ingest(&options, &mut table, "postgres", url).await;
            }
        }
        if options.runs("dashboard") {
            dashboard::run(
                &options,
                &mut table,
                postgres.as_ref().map(|(admin, _)| admin.as_str()),
            )
            .await;
        }
        let report = temp_dir().join(if options.quick {
            "report-quick.md"
        } else {
            "report.md"
        });
        std::fs::write(&report, table.markdown()).unwrap();
        println!("report: {}", report.display());
    });
}

#[path = "ledger/dashboard.rs"]
mod dashboard;
