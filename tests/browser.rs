//! The admin UI in a real browser: headless Chromium driven over
//! chromedriver (Debian's `chromium` and `chromium-driver`). Skipped with a
//! note when chromedriver is missing, except with `CI=true`.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use llm_ledger::app::{App, Scale, SeedOptions};
use llm_ledger::domain::money::format_count;
use llm_ledger::domain::{Money, Role, Scope};
use serde_json::{Value, json};

use common::{TestDb, TestServer};

const PASSWORD: &str = "browser-test-password";

struct Driver {
    child: Child,
    port: u16,
    profiles: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Option<Driver> {
    let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(binary) = binary else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "chromedriver is required in CI (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "skipping the browser test: chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    Some(Driver {
        child,
        port,
        profiles: tempfile::tempdir().unwrap(),
    })
}

async fn browser(driver: &Driver, name: &str, extra: &[&str]) -> Client {
    let profile = driver.profiles.path().join(name);
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=1280,2400".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
    }))
    .unwrap();
    let url = format!("http://127.0.0.1:{}", driver.port);
    // chromedriver needs a moment to listen.
    for attempt in 0.. {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(e) if attempt < 50 => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start Chromium through chromedriver: {e}"),
        }
    }
    unreachable!()
}

async fn sign_in(client: &Client, base: &str) {
    client.goto(&format!("{base}/analytics")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login"),
        "anonymous visitors go to /login"
    );
    let form = client
        .form(Locator::Css("form[action='/login']"))
        .await
        .unwrap();
    form.set_by_name("username", "admin").await.unwrap();
    form.set_by_name("password", PASSWORD).await.unwrap();
    form.submit().await.unwrap();
    assert_eq!(path_after_navigation(client, "/login").await, "/analytics");
}

/// The path once the browser has left `from` (a form post and its redirect).
async fn path_after_navigation(client: &Client, from: &str) -> String {
    for _ in 0..50 {
        let path = client.current_url().await.unwrap().path().to_string();
        if path != from {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    from.to_string()
}

async fn kpi(client: &Client, key: &str) -> String {
    let css = format!("[data-kpi='{key}'] .value");
    client
        .find(Locator::Css(&css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn seeded() -> (TestDb, App) {
    let db = TestDb::sqlite();
    let app = db.open("UTC").await;
    app.seed_usage(
        SeedOptions {
            days: 90,
            seed: 11,
            scale: Scale::Small,
            replace: false,
        },
        |_, _| {},
    )
    .await
    .unwrap();
    app.create_user("admin", Some("Ada Admin"), Role::Admin, Some(PASSWORD))
        .await
        .unwrap();
    (db, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_uses_the_dashboard_in_a_browser() {
    let Some(driver) = chromedriver() else { return };
    let (_db, app) = seeded().await;
    let (_, read) = app
        .create_token("browser-check", Scope::Read)
        .await
        .unwrap();
    let server = TestServer::start(app).await;
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let client = browser(&driver, "light", &[]).await;
    sign_in(&client, &base).await;

    // Each range link: the tiles show what the API computes for that range.
    for (label, range) in [
        ("7 days", "7d"),
        ("30 days", "30d"),
        ("90 days", "90d"),
        ("This month", "month"),
    ] {
        client
            .find(Locator::LinkText(label))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let query = format!("range={range}");
        for _ in 0..50 {
            if client.current_url().await.unwrap().query() == Some(query.as_str()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            client.current_url().await.unwrap().query(),
            Some(query.as_str())
        );
        let active = client
            .find(Locator::Css(".ranges a[aria-current='true']"))
            .await
            .unwrap();
        assert_eq!(active.text().await.unwrap(), label);
        let api: Value = http
            .get(format!("{base}/api/v1/analytics?range={range}"))
            .bearer_auth(&read)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let cost = Money::parse_usd(api["kpis"]["cost_usd"].as_str().unwrap()).unwrap();
        assert_eq!(
            kpi(&client, "cost").await,
            cost.display_estimate(),
            "{range}"
        );
        for key in ["requests", "tokens", "providers", "models"] {
            assert_eq!(
                kpi(&client, key).await,
                format_count(api["kpis"][key].as_i64().unwrap()),
                "{range} {key}"
            );
        }
    }

    // Every chart is an SVG with its marks, each with a tooltip.
    let charts = client
        .find_all(Locator::Css(".chart .light svg"))
        .await
        .unwrap();
    assert_eq!(charts.len(), 5, "the trend and four breakdowns");
    for chart in &charts {
        let marks = chart
            .find_all(Locator::Css("rect title, circle title, path title"))
            .await
            .unwrap();
        assert!(!marks.is_empty(), "a chart without marks");
    }
    let bars = client
        .find_all(Locator::Css("[role='progressbar']"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 3, "three users with a monthly budget");
    for bar in &bars {
        let now: f64 = bar
            .attr("aria-valuenow")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=100.0).contains(&now));
    }
    std::fs::write(
        screenshots().join("dashboard-light.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    // Every list page opens.
    for (path, heading) in [
        ("/providers", "Providers"),
        ("/models", "Models"),
        ("/configurations", "Configurations"),
        ("/tasks", "Tasks"),
        ("/users", "Users"),
        ("/tokens", "API tokens"),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        let h1 = client
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(h1, heading);
        assert!(
            !client
                .find_all(Locator::Css("table tbody tr"))
                .await
                .unwrap()
                .is_empty(),
            "{path} lists rows"
        );
    }

    // Edit a model's price through its form.
    client.goto(&format!("{base}/models")).await.unwrap();
    client
        .find(Locator::LinkText("GPT-4o mini"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("form[action='/models/gpt-4o-mini']"))
        .await
        .unwrap();
    let form = client
        .form(Locator::Css("form[action='/models/gpt-4o-mini']"))
        .await
        .unwrap();
    form.set_by_name("input_price", "16.25").await.unwrap();
    form.submit().await.unwrap();
    assert_eq!(
        path_after_navigation(&client, "/models/gpt-4o-mini").await,
        "/models"
    );
    let models: Vec<Value> = http
        .get(format!("{base}/api/v1/models"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mini = models
        .iter()
        .find(|m| m["identifier"] == "gpt-4o-mini")
        .unwrap();
    assert_eq!(mini["input_price"], "16.25");
    assert_eq!(
        mini["output_price"], "60",
        "the other fields keep their values"
    );

    // A bad price is shown beside its field and nothing changes.
    client
        .goto(&format!("{base}/models/gpt-4o-mini"))
        .await
        .unwrap();
    let form = client
        .form(Locator::Css("form[action='/models/gpt-4o-mini']"))
        .await
        .unwrap();
    form.set_by_name("input_price", "-3").await.unwrap();
    form.submit().await.unwrap();
    let error = client
        .wait()
        .for_element(Locator::Css(".field.invalid .error"))
        .await
        .unwrap();
    let error = error.text().await.unwrap();
    assert!(error.contains("negative"), "{error}");

    // Sign out: the dashboard is closed again.
    client
        .find(Locator::Css("header form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        path_after_navigation(&client, "/models/gpt-4o-mini").await,
        "/login"
    );
    client.goto(&format!("{base}/analytics")).await.unwrap();
    assert_eq!(client.current_url().await.unwrap().path(), "/login");
    client.close().await.unwrap();

    // The same dashboard in the dark colour scheme.
    let dark = browser(
        &driver,
        "dark",
        &[
            "--force-dark-mode",
            "--blink-settings=preferredColorScheme=0",
        ],
    )
    .await;
    sign_in(&dark, &base).await;
    let shown = dark
        .find_all(Locator::Css(".chart .dark svg"))
        .await
        .unwrap();
    assert!(
        shown[0].is_displayed().await.unwrap(),
        "dark charts are shown in the dark scheme"
    );
    std::fs::write(
        screenshots().join("dashboard-dark.png"),
        dark.screenshot().await.unwrap(),
    )
    .unwrap();
    dark.close().await.unwrap();
    for name in ["dashboard-light.png", "dashboard-dark.png"] {
        println!("screenshot: {}", screenshots().join(name).display());
    }
}
