//! Dashboard latency on large histories, against plain GROUP BY queries over
//! the aggregate (no rollups) in the same run, and its flatness in history.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request};

use super::{Options, Server, Table, cli, ledger_binary, load, millis, temp_dir};

/// Seed arguments and a name for each data set.
struct Dataset {
    name: &'static str,
    seed: &'static [&'static str],
}

const QUICK: Dataset = Dataset {
    name: "small_30",
    seed: &["seed-usage", "--days", "30"],
};
const LARGE: Dataset = Dataset {
    name: "large_365",
    seed: &["seed-usage", "--scale", "large"],
};
const LONG: Dataset = Dataset {
    name: "large_730",
    seed: &["seed-usage", "--scale", "large", "--days", "730"],
};

fn cli_stdin(database: &str, args: &[&str], input: &str) -> bool {
    let mut child = Command::new(ledger_binary())
        .args(["--database", database, "--timezone", "UTC"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

fn seed(database: &str, set: &Dataset) {
    let started = Instant::now();
    println!(
        "  seeding {} ({database}); this takes a while once, the data set is kept",
        set.name
    );
    cli(database, set.seed);
    // A seed leaves up to gigabytes of dirty pages that the kernel writes
    // back over the next half minute, beside the measurement: twice the
    // history measured right after its seed read +22 % in one run, and −6 %
    // in the next run, on the same files settled. So the writes land first.
    if let Err(e) = Command::new("sync").status() {
        eprintln!("  sync after seeding failed: {e}");
    }
    println!(
        "  seeded {} in {:.0} s",
        set.name,
        started.elapsed().as_secs_f64()
    );
}

/// The SQLite data set, seeded once and kept under target/bench-data.
fn sqlite_dataset(set: &Dataset) -> String {
    let path = temp_dir().join(format!("{}.db", set.name));
    let done = temp_dir().join(format!("{}.done", set.name));
    let url = format!("sqlite://{}", path.display());
    if !done.exists() {
        let fresh = super::fresh_sqlite(&format!("{}.db", set.name));
        seed(&fresh, set);
        std::fs::write(&done, "seeded").unwrap();
    }
    url
}

/// The PostgreSQL data set, seeded once and kept as its own database.
async fn postgres_dataset(admin: &str, set: &Dataset) -> Option<String> {
    use sqlx::Connection;
    let name = format!("llm_ledger_bench_{}", set.name);
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    let url = format!("{base}/{name}");
    if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
        let seeded: Result<bool, _> =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM usage_rollup WHERE dim = 0)")
                .fetch_one(&mut conn)
                .await;
        if seeded.unwrap_or(false) {
            return Some(url);
        }
    }
    let url = super::fresh_postgres(admin, &name).await?;
    seed(&url, set);
    // PostgreSQL keeps the seed's pages in its own buffers until a
    // checkpoint; write them now rather than during the measurement.
    if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await
        && let Err(e) = sqlx::query("CHECKPOINT").execute(&mut conn).await
    {
        eprintln!("  checkpoint after seeding failed: {e}");
    }
    if let Err(e) = Command::new("sync").status() {
        eprintln!("  sync after the checkpoint failed: {e}");
    }
    Some(url)
}

struct Latency {
    api: (Duration, Duration),
    html: (Duration, Duration),
    rss_mib: f64,
}

fn request(addr: std::net::SocketAddr, path: &str, header: (&str, &str)) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri(path)
        .header("host", addr.to_string())
        .header(header.0, header.1)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

async fn session_cookie(addr: std::net::SocketAddr, password: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("http://{addr}/login"))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let response = http
        .post(format!("http://{addr}/login"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "benchadmin"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("llm_ledger_session="))
        .expect("signed in")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn measure(options: &Options, database: &str) -> Latency {
    let token = cli(
        database,
        &["token", "create", "bench-read", "--scope", "read"],
    );
    let bearer = format!("Bearer {}", token.lines().last().unwrap());
    let password = "bench-admin-password";
    if !cli_stdin(
        database,
        &["user", "add", "benchadmin", "--admin", "--password-stdin"],
        password,
    ) {
        assert!(cli_stdin(
            database,
            &["user", "passwd", "benchadmin", "--password-stdin"],
            password
        ));
    }
    let server = Server::start(database);
    let addr = server.addr;
    let cookie = session_cookie(addr, password).await;
    let time = if options.quick {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(8)
    };
    let b = bearer.clone();
    // Warm up the caches once.
    load(addr, 1, Duration::from_millis(200), move |_, _| {
        request(addr, "/api/v1/analytics?range=90d", ("authorization", &b))
    })
    .await;
    let b = bearer.clone();
    let mut api = load(addr, 2, time, move |_, _| {
        request(addr, "/api/v1/analytics?range=90d", ("authorization", &b))
    })
    .await;
    assert_eq!(api.failed, 0, "analytics answered errors");
    let c = cookie.clone();
    let mut html = load(addr, 2, time, move |_, _| {
        request(addr, "/analytics?range=90d", ("cookie", &c))
    })
    .await;
    assert_eq!(html.failed, 0, "the dashboard page answered errors");
    Latency {
        api: (api.percentile(0.5), api.percentile(0.99)),
        html: (html.percentile(0.5), html.percentile(0.99)),
        rss_mib: server.peak_rss_mib(),
    }
}

/// The same figures by plain GROUP BY over the aggregate, without rollups.
const GROUP_BY: [&str; 7] = [
    "SELECT CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), CAST(SUM(cost_dollars) AS BIGINT), CAST(SUM(cost_picos) AS BIGINT) FROM usage_daily WHERE day BETWEEN $1 AND $2",
    "SELECT day, CAST(SUM(requests) AS BIGINT), CAST(SUM(cost_dollars) AS BIGINT), CAST(SUM(cost_picos) AS BIGINT) FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY day",
    "SELECT provider_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(cost_dollars) AS BIGINT), CAST(SUM(cost_picos) AS BIGINT) FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY provider_id",
    "SELECT model_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(cost_dollars) AS BIGINT), CAST(SUM(cost_picos) AS BIGINT) FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY model_id",
    "SELECT service, CAST(SUM(requests) AS BIGINT), CAST(SUM(cost_dollars) AS BIGINT), CAST(SUM(cost_picos) AS BIGINT) FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY service",
    "SELECT source_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(cost_dollars) AS BIGINT), CAST(SUM(cost_picos) AS BIGINT) FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY source_id",
    "SELECT user_id, CAST(SUM(requests) AS BIGINT), CAST(SUM(cost_dollars) AS BIGINT), CAST(SUM(cost_picos) AS BIGINT) FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY user_id",
];
/// This month's cost per user (the budget bars).
const GROUP_BY_MONTH: &str = "SELECT user_id, CAST(SUM(cost_dollars) AS BIGINT), CAST(SUM(cost_picos) AS BIGINT) FROM usage_daily WHERE day BETWEEN $1 AND $2 GROUP BY user_id";

fn window() -> (i64, i64, i64) {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let day = |d: chrono::NaiveDate| {
        (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()
    };
    (day(today) - 89, day(today), day(today.with_day(1).unwrap()))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn baseline_sqlite(database: &str, iterations: usize) -> Duration {
    let conn = rusqlite::Connection::open(database.trim_start_matches("sqlite://")).unwrap();
    let (from, to, month) = window();
    let samples = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            let queries = GROUP_BY
                .iter()
                .map(|sql| (*sql, from))
                .chain([(GROUP_BY_MONTH, month)]);
            for (sql, start) in queries {
                let mut stmt = conn.prepare_cached(sql).unwrap();
                let mut rows = stmt.query([start, to]).unwrap();
                while rows.next().unwrap().is_some() {}
            }
            t.elapsed()
        })
        .collect();
    median(samples)
}

async fn baseline_postgres(database: &str, iterations: usize) -> Duration {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(database).await.unwrap();
    let (from, to, month) = window();
    let (from, to, month) = (from as i32, to as i32, month as i32);
    let mut samples = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        for (sql, start) in GROUP_BY
            .iter()
            .map(|sql| (*sql, from))
            .chain([(GROUP_BY_MONTH, month)])
        {
            sqlx::query(sql)
                .bind(start)
                .bind(to)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        }
        samples.push(t.elapsed());
    }
    median(samples)
}

fn rows(table: &mut Table, backend: &str, set: &str, l: &Latency, baseline: Duration) {
    let ratio = |d: Duration| format!("{:.1}× faster", baseline.as_secs_f64() / d.as_secs_f64());
    table.row(
        format!("{backend} {set}: GET /api/v1/analytics?range=90d p50"),
        millis(l.api.0),
        millis(baseline),
        ratio(l.api.0),
    );
    table.row(
        format!("{backend} {set}: GET /api/v1/analytics?range=90d p99"),
        millis(l.api.1),
        "",
        "",
    );
    table.row(
        format!("{backend} {set}: /analytics?range=90d page p50"),
        millis(l.html.0),
        millis(baseline),
        ratio(l.html.0),
    );
    table.row(
        format!("{backend} {set}: /analytics?range=90d page p99"),
        millis(l.html.1),
        "",
        "",
    );
    table.row(
        format!("{backend} {set}: peak RSS of serve during the dashboard load"),
        format!("{:.0} MiB", l.rss_mib),
        "",
        "",
    );
}

pub async fn run(options: &Options, table: &mut Table, postgres: Option<&str>) {
    let iterations = if options.quick { 3 } else { 7 };
    let main = if options.quick { &QUICK } else { &LARGE };
    let lite = sqlite_dataset(main);
    let l = measure(options, &lite).await;
    rows(
        table,
        "sqlite",
        main.name,
        &l,
        baseline_sqlite(&lite, iterations),
    );
    if !options.quick {
        let long = sqlite_dataset(&LONG);
        let twice = measure(options, &long).await;
        let change = 100.0 * (twice.api.0.as_secs_f64() / l.api.0.as_secs_f64() - 1.0);
        table.row(
            format!("sqlite: 90d API p50 with twice the history ({})", LONG.name),
            millis(twice.api.0),
            format!("{} on {}", millis(l.api.0), main.name),
            format!("{change:+.0} %"),
        );
        table.row(
            "sqlite large_730: plain GROUP BY baseline",
            millis(baseline_sqlite(&long, iterations)),
            "",
            "",
        );
    }
    if let Some(admin) = postgres
        && let Some(url) = postgres_dataset(admin, main).await
    {
        let l = measure(options, &url).await;
        rows(
            table,
            "postgres",
            main.name,
            &l,
            baseline_postgres(&url, iterations).await,
        );
    }
}
