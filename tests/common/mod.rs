//! Test support: a throw-away ledger on SQLite (a temp file) or PostgreSQL
//! (a uniquely named database, dropped afterwards), and a real server on a
//! loopback port.
//!
//! PostgreSQL comes from `LLM_LEDGER_TEST_POSTGRES` (an admin URL, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached
//! the PostgreSQL variants are skipped with a note, except under `CI=true`,
//! where that is a failure.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use llm_ledger::app::{App, CatalogFile};

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How many columns of `usage_rollup` PostgreSQL keeps planner statistics
/// of (none until the table is analyzed).
pub const USAGE_ROLLUP_STATISTICS: &str =
    "SELECT count(*) FROM pg_stats WHERE tablename = 'usage_rollup'";

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
        TestDb {
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (skip) when PostgreSQL is not
    /// available outside CI.
    pub async fn postgres() -> Option<TestDb> {
        let admin =
            std::env::var("LLM_LEDGER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
        let name = format!(
            "llm_ledger_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        match admin_execute(&admin, &format!("CREATE DATABASE {name}")).await {
            Ok(()) => {}
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("PostgreSQL is required in CI ({admin}): {e}")
            }
            Err(e) => {
                eprintln!("skipping the PostgreSQL variant: {admin} is not reachable ({e})");
                return None;
            }
        }
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Some(TestDb {
            url: format!("{base}/{name}"),
            _dir: None,
            postgres: Some((admin, name)),
        })
    }

    /// The one value `sql` selects, read from this PostgreSQL database.
    pub async fn pg_value<T>(&self, sql: &'static str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    }

    pub async fn open(&self, timezone: &str) -> App {
        App::open(&self.url, Some(timezone))
            .await
            .expect("open the ledger")
    }
}

async fn admin_execute(admin: &str, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs inside the test's runtime; use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(e) = rt.block_on(admin_execute(&admin, &sql)) {
                    eprintln!("could not drop test database {name}: {e}");
                }
            })
            .join();
        }
    }
}

/// Runs one async test body against SQLite and against PostgreSQL:
/// `both_stores!(name)` for `async fn name(db: &TestDb)`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::TestDb::sqlite();
                super::$name(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::common::TestDb::postgres().await {
                    super::$name(&db).await;
                }
            }
        }
    )*};
}

pub const CATALOG: &str = r#"
[[provider]]
identifier = "openai-prod"
name = "OpenAI (production key)"
adapter_type = "openai"

[[provider]]
identifier = "openai-research"
name = "OpenAI (research key)"
adapter_type = "openai"

[[provider]]
identifier = "deepl"
name = "DeepL"
adapter_type = "deepl"

[[model]]
identifier = "gpt-4o"
name = "GPT-4o"
provider = "openai-prod"
model_id = "gpt-4o"
input_price = "250"
output_price = "1000"

[[model]]
identifier = "gpt-4o-research"
name = "GPT-4o (research)"
provider = "openai-research"
model_id = "gpt-4o"
input_price = "250"
output_price = "1000"

[[model]]
identifier = "gpt-4o-mini"
name = "GPT-4o mini"
provider = "openai-prod"
model_id = "gpt-4o-mini"
input_price = "15"
output_price = "60"
cache_read_price = "7.5"

[[configuration]]
identifier = "chat-default"
name = "Default chat"
model = "gpt-4o"

[[task]]
identifier = "summarize-page"
name = "Summarize a page"
configuration = "chat-default"
"#;

pub async fn with_catalog(app: &App) {
    app.apply_catalog(&CatalogFile::parse(CATALOG).unwrap())
        .await
        .unwrap();
}

/// A server on a free loopback port, stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start(app: App) -> TestServer {
        let app = Arc::new(app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(llm_ledger::http::serve(app.clone(), listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            app,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sum of requests, tokens and cost over all stored rows.
pub async fn totals(app: &App) -> (i64, i64, String) {
    let today = app.today();
    let rows = app.usage_rows(today.plus(-4000), today).await.unwrap();
    let requests = rows.iter().map(|r| r.requests).sum();
    let tokens = rows.iter().map(|r| r.counts.tokens()).sum();
    let cost: llm_ledger::domain::Money = rows.iter().map(|r| r.cost).sum();
    (requests, tokens, cost.to_string())
}

/// The `llm-ledger` binary, with a database and time zone set.
pub fn cli(db_url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_llm-ledger"));
    cmd.env("LLM_LEDGER_DATABASE_URL", db_url)
        .env("LLM_LEDGER_TIMEZONE", "UTC")
        .env_remove("RUST_LOG");
    cmd
}

/// Runs the binary; returns stdout, panicking with stderr on failure.
pub fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run llm-ledger");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A `serve` process on a free loopback port, killed when dropped.
pub struct ServeProcess {
    pub child: std::process::Child,
    pub base: String,
    /// What it printed before it started serving (e.g. the admin password).
    pub banner: Vec<String>,
}

impl ServeProcess {
    pub fn start(db_url: &str) -> ServeProcess {
        let mut cmd = cli(db_url);
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        ServeProcess::spawn(cmd)
    }

    /// Runs a command that ends up serving (`serve`, `demo`).
    // The child is killed and waited for in `Drop`, also when a test fails.
    #[allow(clippy::zombie_processes)]
    pub fn spawn(mut cmd: std::process::Command) -> ServeProcess {
        use std::io::BufRead;
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        loop {
            let line = lines
                .next()
                .expect("serve printed its address")
                .expect("read stdout");
            if let Some(rest) = line.split("is serving ").nth(1) {
                let base = rest.split_whitespace().next().unwrap().to_string();
                // Keep draining stdout so the child never blocks on a full pipe.
                std::thread::spawn(move || for _ in lines {});
                return ServeProcess {
                    child,
                    base,
                    banner,
                };
            }
            banner.push(line);
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signs in through the form; returns the session cookie.
pub async fn sign_in(
    server: &TestServer,
    username: &str,
    password: &str,
) -> (reqwest::StatusCode, Option<String>) {
    sign_in_at(&format!("http://{}", server.addr), username, password).await
}

/// Signs in at a server's base URL; returns the status and session cookie.
pub async fn sign_in_at(
    base: &str,
    username: &str,
    password: &str,
) -> (reqwest::StatusCode, Option<String>) {
    let (status, header) = sign_in_header(base, username, password, false).await;
    (
        status,
        header.map(|h| h.split(';').next().unwrap().to_string()),
    )
}

/// The CSRF token of the first form of a page.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// Signs in through the form; returns the status and the whole session
/// `Set-Cookie` header (with its attributes), if one was set. `https`: as
/// if through a TLS-terminating proxy that says so in `X-Forwarded-Proto`.
pub async fn sign_in_header(
    base: &str,
    username: &str,
    password: &str,
    https: bool,
) -> (reqwest::StatusCode, Option<String>) {
    let mut headers = reqwest::header::HeaderMap::new();
    if https {
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = page.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = csrf_of(&page.text().await.unwrap());
    let response = http
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, login_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let session = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("llm_ledger_session=") && !v.starts_with("llm_ledger_session=;"))
        .map(str::to_string);
    (response.status(), session)
}
