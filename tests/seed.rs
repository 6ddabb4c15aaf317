//! Demo data (`seed-usage`, `demo`) on both stores.

mod common;

use std::collections::BTreeSet;

use chrono::Datelike;
use llm_ledger::app::{App, Scale, SeedOptions};
use llm_ledger::domain::{Money, Range, Role, ServiceType, UsageRecord};
use serde_json::Value;

use common::{ServeProcess, TestDb, USAGE_ROLLUP_STATISTICS, cli, run_ok};

fn small(seed: u64) -> SeedOptions {
    SeedOptions {
        days: 90,
        seed,
        scale: Scale::Small,
        replace: false,
    }
}

async fn seeded(db: &TestDb) -> App {
    let app = db.open("Europe/Berlin").await;
    app.seed_usage(small(7), |_, _| {}).await.unwrap();
    app
}

async fn the_demo_organisation_is_complete_and_lively(db: &TestDb) {
    let app = seeded(db).await;
    let today = app.today();
    let rows = app.usage_rows(today.plus(-89), today).await.unwrap();
    let set = |f: &dyn Fn(&llm_ledger::store::UsageRow) -> Option<String>| -> BTreeSet<String> {
        rows.iter().filter_map(f).collect()
    };
    let providers = set(&|r| Some(r.provider.clone()));
    assert!(
        providers.len() >= 4
            && providers.contains("demo-ollama")
            && providers.contains("demo-deepl"),
        "{providers:?}"
    );
    let models = set(&|r| r.model.clone());
    assert!(models.len() >= 7, "{models:?}");
    assert_eq!(
        set(&|r| Some(r.service.as_str().to_string())).len(),
        ServiceType::ALL.len()
    );
    let users = set(&|r| r.user.clone());
    assert!(users.len() >= 5, "{users:?}");
    assert!(rows.iter().any(|r| r.user.is_none()), "system usage");
    assert!(set(&|r| r.configuration.clone()).len() >= 4);
    assert!(set(&|r| r.task.clone()).len() >= 6);
    assert!(set(&|r| r.source.clone()).len() >= 3);
    assert!(
        rows.iter().any(|r| r.source.is_none()),
        "unattributed usage"
    );

    // Every provider, model, configuration, task and user of the demo
    // catalog has usage in the period.
    let catalog: BTreeSet<String> = app
        .providers()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.item.identifier)
        .collect();
    assert_eq!(catalog, providers);
    let catalog: BTreeSet<String> = app
        .models()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.item.identifier)
        .collect();
    assert_eq!(catalog, models);
    let catalog: BTreeSet<String> = app
        .configurations()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.item.identifier)
        .collect();
    assert_eq!(catalog, set(&|r| r.configuration.clone()));
    let catalog: BTreeSet<String> = app
        .tasks()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.item.identifier)
        .collect();
    assert_eq!(catalog, set(&|r| r.task.clone()));
    let catalog: BTreeSet<String> = app
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(catalog, users);
    // The free local model has usage at cost 0; specialized services cost 0.
    assert!(
        rows.iter()
            .filter(|r| r.provider == "demo-ollama")
            .all(|r| r.cost == Money::ZERO)
    );
    for r in rows.iter().filter(|r| r.service.is_specialized()) {
        assert_eq!(r.cost, Money::ZERO);
        assert!(r.counts.characters + r.counts.audio_seconds + r.counts.images > 0);
    }
    assert!(rows.iter().any(|r| r.counts.cache_read_tokens > 0));

    // Usage every day; weekends are quieter than weekdays.
    let a = app.analytics(Range::Days90).await.unwrap();
    assert!(
        a.trend.iter().all(|p| p.requests > 0),
        "a day without usage"
    );
    let (mut weekend, mut weekday) = (Vec::new(), Vec::new());
    for p in &a.trend {
        let day = p.date.date().weekday();
        if matches!(day, chrono::Weekday::Sat | chrono::Weekday::Sun) {
            weekend.push(p.requests)
        } else {
            weekday.push(p.requests)
        }
    }
    let mean = |v: &[i64]| v.iter().sum::<i64>() as f64 / v.len() as f64;
    assert!(
        mean(&weekend) < mean(&weekday) * 0.7,
        "weekend {} weekday {}",
        mean(&weekend),
        mean(&weekday)
    );
    // Growth: the last 30 days hold more calls than the first 30.
    let first: i64 = a.trend[..30].iter().map(|p| p.requests).sum();
    let last: i64 = a.trend[60..].iter().map(|p| p.requests).sum();
    assert!(last > first, "first {first}, last {last}");

    // Three budgeted users, one above 80 % this month.
    let budgeted: Vec<_> = a
        .users
        .iter()
        .filter_map(|u| u.budget.as_ref().map(|b| (u.user.clone(), b.clone())))
        .collect();
    assert_eq!(budgeted.len(), 3, "{budgeted:?}");
    assert!(
        budgeted.iter().any(|(_, b)| b.percent > 80.0),
        "{budgeted:?}"
    );
    for user in ["anna", "ben", "chloe"] {
        let b = app.budget(user).await.unwrap().unwrap();
        assert!(b.enforced && b.max_cost_per_month > Money::ZERO);
    }
}

async fn the_same_seed_gives_the_same_data(db: &TestDb) {
    let a = seeded(db).await;
    let other = TestDb::sqlite();
    let b = seeded(&other).await;
    for range in Range::ALL {
        let left = serde_json::to_string(&a.analytics(range).await.unwrap()).unwrap();
        let right = serde_json::to_string(&b.analytics(range).await.unwrap()).unwrap();
        assert_eq!(left, right, "{range}");
    }
    // Through the command line too, byte for byte.
    assert_eq!(
        run_ok(
            cli(&db.url)
                .env_remove("LLM_LEDGER_TIMEZONE")
                .args(["report", "--range", "90d", "--format", "json"])
        ),
        run_ok(
            cli(&other.url)
                .env_remove("LLM_LEDGER_TIMEZONE")
                .args(["report", "--range", "90d", "--format", "json"])
        )
    );
    let third = TestDb::sqlite();
    let c = third.open("Europe/Berlin").await;
    c.seed_usage(small(8), |_, _| {}).await.unwrap();
    assert_ne!(
        serde_json::to_string(&a.analytics(Range::Days90).await.unwrap()).unwrap(),
        serde_json::to_string(&c.analytics(Range::Days90).await.unwrap()).unwrap()
    );
}

async fn real_usage_is_never_touched(db: &TestDb) {
    let app = db.open("UTC").await;
    let mut real = UsageRecord::new(ServiceType::Chat);
    real.provider = Some("openai".into());
    real.counts.prompt_tokens = 10;
    app.record(vec![real]).await.unwrap();
    let before = common::totals(&app).await;
    for args in [vec!["seed-usage"], vec!["seed-usage", "--replace"]] {
        let out = cli(&db.url).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not demo data"), "{stderr}");
    }
    assert_eq!(common::totals(&app).await, before);
    assert!(
        app.users()
            .await
            .unwrap()
            .iter()
            .all(|u| u.username != "anna")
    );
}

/// A record of a demo model by a real user, or from a real source, is real
/// usage: `--replace` refuses, and keeps it.
async fn usage_on_demo_models_is_real_when_a_real_name_made_it(db: &TestDb) {
    // Each case on a ledger of its own (the second on SQLite), so that one
    // real record does not stand in for the other.
    let other = TestDb::sqlite();
    for (db, user, source) in [
        (db, Some("realuser"), None),
        (&other, None, Some("real-app")),
    ] {
        let app = db.open("UTC").await;
        app.seed_usage(small(3), |_, _| {}).await.unwrap();
        let mut real = UsageRecord::new(ServiceType::Chat);
        real.model = Some("gpt-4o".into());
        real.user = user.map(Into::into);
        real.source = source.map(Into::into);
        real.counts.prompt_tokens = 1000;
        app.record(vec![real]).await.unwrap();
        let before = common::totals(&app).await;
        let out = cli(&db.url)
            .args(["seed-usage", "--replace"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{user:?} {source:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not demo data"), "{stderr}");
        assert_eq!(common::totals(&app).await, before);
    }
}

/// `demo` resets `admin`'s password, so it refuses a ledger set up for real
/// use, with or without usage, and leaves its admin's password working.
async fn demo_never_takes_over_a_real_ledger(db: &TestDb) {
    let app = db.open("UTC").await;
    app.check_demo_ledger().await.expect("a new ledger is fine");
    app.create_user("admin", None, Role::Admin, Some("the-real-password"))
        .await
        .unwrap();
    let demo = || {
        let out = cli(&db.url)
            .args(["demo", "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = demo();
    assert!(stderr.contains("has users but no demo data"), "{stderr}");
    let mut real = UsageRecord::new(ServiceType::Chat);
    real.provider = Some("openai".into());
    app.record(vec![real]).await.unwrap();
    let stderr = demo();
    assert!(stderr.contains("not demo data"), "{stderr}");
    assert!(
        app.verify_login("admin", "the-real-password")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(common::totals(&app).await.0, 1);
}

async fn replace_regenerates_demo_data_only(db: &TestDb) {
    let app = seeded(db).await;
    app.check_demo_ledger()
        .await
        .expect("a demo ledger is the demo's to reuse");
    let first = common::totals(&app).await;
    let again = app.seed_usage(small(7), |_, _| {}).await;
    assert!(again.is_err(), "seeding twice without --replace is refused");
    app.seed_usage(
        SeedOptions {
            replace: true,
            ..small(7)
        },
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(common::totals(&app).await, first);
    // Real usage after a seed: the ledger is no longer a demo.
    let mut real = UsageRecord::new(ServiceType::Chat);
    real.provider = Some("openai".into());
    app.record(vec![real]).await.unwrap();
    assert!(
        app.seed_usage(
            SeedOptions {
                replace: true,
                ..small(7)
            },
            |_, _| {}
        )
        .await
        .is_err()
    );
    assert_eq!(common::totals(&app).await.0, first.0 + 1);
}

both_stores!(
    the_demo_organisation_is_complete_and_lively,
    the_same_seed_gives_the_same_data,
    real_usage_is_never_touched,
    usage_on_demo_models_is_real_when_a_real_name_made_it,
    demo_never_takes_over_a_real_ledger,
    replace_regenerates_demo_data_only,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_a_seeded_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_llm-ledger"));
    cmd.current_dir(dir.path())
        .env_remove("LLM_LEDGER_DATABASE_URL")
        .env("LLM_LEDGER_TIMEZONE", "UTC")
        .args(["demo", "--listen", "127.0.0.1:0"]);
    let server = ServeProcess::spawn(cmd);
    let banner = server.banner.join("\n");
    assert!(banner.contains("Seeded 90 days"), "{banner}");
    assert!(
        banner.contains("Sign in as admin with the password"),
        "{banner}"
    );
    let db = format!(
        "sqlite://{}",
        dir.path().join("llm-ledger-demo.db").display()
    );
    let token = run_ok(cli(&db).args(["token", "create", "demo-test", "--scope", "read"]));
    let token = token.lines().last().unwrap();
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/analytics?range=90d", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let body: Value = response.json().await.unwrap();
    assert!(body["kpis"]["requests"].as_i64().unwrap() > 1000, "{body}");
    drop(server);
    // A second start reuses the seeded database.
    let mut again = std::process::Command::new(env!("CARGO_BIN_EXE_llm-ledger"));
    again
        .current_dir(dir.path())
        .env_remove("LLM_LEDGER_DATABASE_URL")
        .args(["demo", "--listen", "127.0.0.1:0"]);
    let second = ServeProcess::spawn(again);
    assert!(
        !second.banner.join("\n").contains("Seeded"),
        "{:?}",
        second.banner
    );
}

/// On PostgreSQL a seeded ledger has statistics (the dashboard's plans need
/// them; autovacuum analyzes late, or never where it is off), and the
/// hourly upkeep vacuums exactly when the server's autovacuum is off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_analyzed_after_seeding_and_vacuumed_without_autovacuum() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let app = db.open("Europe/Berlin").await;
    assert_eq!(db.pg_value::<i64>(USAGE_ROLLUP_STATISTICS).await, 0);
    app.seed_usage(small(7), |_, _| {}).await.unwrap();
    assert!(db.pg_value::<i64>(USAGE_ROLLUP_STATISTICS).await > 0);

    let autovacuum: String = db.pg_value("SELECT current_setting('autovacuum')").await;
    let vacuumed = app.vacuum_if_unattended().await.unwrap();
    assert_eq!(vacuumed, autovacuum == "off");
    if vacuumed {
        // Only VACUUM marks pages all-visible; ANALYZE only counts them.
        let visible = "SELECT relallvisible::bigint FROM pg_class WHERE relname = 'usage_rollup'";
        assert!(db.pg_value::<i64>(visible).await > 0);
    }
}
