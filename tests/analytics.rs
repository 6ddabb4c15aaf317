//! Analytics (SPEC §5) on both stores: windows, trend, breakdowns, users and
//! budgets, catalog columns, and the JSON API.

mod common;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use llm_ledger::app::App;
use llm_ledger::domain::{Budget, Day, Money, Range, ServiceType, UsageRecord};
use reqwest::StatusCode;
use serde_json::Value;

use common::{TestDb, TestServer, with_catalog};

const ZONE: &str = "Pacific/Auckland";

/// An instant on `day` in the ledger's zone, never in the future.
fn on(app: &App, day: Day) -> chrono::DateTime<Utc> {
    let tz: Tz = app.timezone();
    let local = day.date().and_hms_opt(0, 30, 0).unwrap();
    let instant = tz.from_local_datetime(&local).earliest().unwrap().to_utc();
    instant.min(Utc::now())
}

/// The fixed data set: one record per interesting day, each with a distinct
/// power of two as prompt tokens, so token sums tell which days were counted.
fn fixture_days(today: Day) -> Vec<(&'static str, Day)> {
    vec![
        ("today", today),
        ("today-6", today.plus(-6)),
        ("today-7", today.plus(-7)),
        ("today-29", today.plus(-29)),
        ("today-30", today.plus(-30)),
        ("today-89", today.plus(-89)),
        ("today-90", today.plus(-90)),
        ("first of this month", today.month_start()),
        ("last of previous month", today.month_start().plus(-1)),
    ]
}

async fn load_fixture(app: &App) {
    with_catalog(app).await;
    app.create_user("anna", Some("Anna"), llm_ledger::domain::Role::Member, None)
        .await
        .unwrap();
    app.set_budget(
        "anna",
        &Budget {
            max_cost_per_month: Money::parse_usd("25").unwrap(),
            enforced: true,
            ..Budget::default()
        },
    )
    .await
    .unwrap();
    let today = app.today();
    let mut records = Vec::new();
    for (i, (_, day)) in fixture_days(today).into_iter().enumerate() {
        let mut r = UsageRecord::new(ServiceType::Chat);
        // Alternate between two providers that share the adapter type "openai".
        if i % 2 == 0 {
            r.model = Some("gpt-4o".into());
        } else {
            r.provider = Some("openai-research".into());
            r.model = Some("gpt-4o".into());
        }
        r.counts.prompt_tokens = 1 << i;
        r.occurred_at = Some(on(app, day));
        r.source = (i % 3 != 0).then(|| "wiki".to_string());
        // Anna's calls are on the last day of the previous month and the 1st.
        if i >= 7 {
            r.user = Some("anna".into());
        }
        records.push(r);
    }
    // A sub-call today: tokens and cost, no request.
    let mut sub = UsageRecord::new(ServiceType::Chat);
    sub.model = Some("gpt-4o".into());
    sub.counts.completion_tokens = 1 << 20;
    sub.counts_as_request = false;
    sub.occurred_at = Some(Utc::now());
    records.push(sub);
    app.record(records).await.unwrap();
}

fn expected_mask(range: Range, today: Day) -> i64 {
    let (from, to) = range.window(today);
    fixture_days(today)
        .into_iter()
        .enumerate()
        .filter(|(_, (_, d))| *d >= from && *d <= to)
        .map(|(i, _)| 1i64 << i)
        .sum()
}

async fn every_range_contains_exactly_its_days(db: &TestDb) {
    let app = db.open(ZONE).await;
    load_fixture(&app).await;
    let today = app.today();
    for range in Range::ALL {
        let a = app.analytics(range).await.unwrap();
        let (from, to) = range.window(today);
        assert_eq!((a.from, a.to, a.range), (from, to, range.as_str()));
        let mask = expected_mask(range, today);
        let sub_call = 1i64 << 20;
        assert_eq!(a.kpis.tokens, mask + sub_call, "{range}: tokens");
        assert_eq!(
            a.kpis.requests,
            i64::from(mask.count_ones()),
            "{range}: requests"
        );
        // 250 cents per 1M prompt tokens, 1000 per 1M completion tokens.
        let cost = Money::from_picos(mask * 2_500_000 + sub_call * 10_000_000);
        assert_eq!(a.kpis.cost_usd, cost, "{range}: cost");
        // Trend: every day once, in order, summing to the KPIs.
        let days = (to.number() - from.number() + 1) as usize;
        assert_eq!(a.trend.len(), days, "{range}");
        assert!(a.trend.windows(2).all(|w| w[1].date == w[0].date.plus(1)));
        assert_eq!(a.trend.iter().map(|p| p.tokens).sum::<i64>(), a.kpis.tokens);
        assert_eq!(
            a.trend.iter().map(|p| p.cost_usd).sum::<Money>(),
            a.kpis.cost_usd
        );
        // Breakdowns add up to the KPIs too.
        for (name, b) in [
            ("provider", &a.by_provider),
            ("model", &a.by_model),
            ("service", &a.by_service),
            ("source", &a.by_source),
        ] {
            assert_eq!(
                b.iter().map(|e| e.tokens).sum::<i64>(),
                a.kpis.tokens,
                "{range} by {name}"
            );
            assert_eq!(
                b.iter().map(|e| e.requests).sum::<i64>(),
                a.kpis.requests,
                "{range} by {name}"
            );
            assert!(
                b.windows(2)
                    .all(|w| (w[0].cost_usd, w[0].requests) >= (w[1].cost_usd, w[1].requests))
            );
        }
        assert_eq!(a.users.iter().map(|u| u.tokens).sum::<i64>(), a.kpis.tokens);
    }
    let a = app.analytics(Range::Days90).await.unwrap();
    assert_eq!(a.trend.len(), 90);
    assert_eq!(a.trend[0].date, today.plus(-89));
    assert_eq!(a.trend[89].date, today);
    let idle = a
        .trend
        .iter()
        .filter(|p| p.requests == 0 && p.tokens == 0 && p.cost_usd == Money::ZERO)
        .count();
    let active: std::collections::BTreeSet<Day> = fixture_days(today)
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| *d >= today.plus(-89))
        .collect();
    assert_eq!(idle, 90 - active.len());
}

async fn providers_sharing_an_adapter_are_separate(db: &TestDb) {
    let app = db.open(ZONE).await;
    load_fixture(&app).await;
    let today = app.today();
    let a = app.analytics(Range::Days90).await.unwrap();
    let (from, _) = Range::Days90.window(today);
    let mut prod = 1 << 20; // the sub-call
    let mut research = 0;
    for (i, (_, day)) in fixture_days(today).into_iter().enumerate() {
        if day >= from {
            if i % 2 == 0 {
                prod += 1 << i
            } else {
                research += 1 << i
            }
        }
    }
    let tokens = |key: &str| {
        a.by_provider
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.tokens)
    };
    assert_eq!(tokens("openai-prod"), Some(prod));
    assert_eq!(tokens("openai-research"), Some(research));
    let labels: Vec<&str> = a.by_provider.iter().map(|e| e.label.as_str()).collect();
    assert!(
        labels.contains(&"OpenAI (production key)") && labels.contains(&"OpenAI (research key)")
    );
    assert!(a.by_model.iter().any(|e| e.key == "gpt-4o-research"));
    assert_eq!(a.kpis.providers, 2);
    assert_eq!(a.kpis.models, 2);
    let unattributed = a.by_source.iter().find(|e| e.key.is_empty()).unwrap();
    assert_eq!(unattributed.label, "unattributed");
    assert_eq!(a.by_service.len(), 1);
    assert_eq!(
        (a.by_service[0].key.as_str(), a.by_service[0].label.as_str()),
        ("chat", "Chat")
    );

    let listed = app.providers().await.unwrap();
    let usage = |id: &str| {
        listed
            .iter()
            .find(|p| p.item.identifier == id)
            .unwrap()
            .usage_30d
    };
    assert!(usage("openai-prod").is_some() && usage("openai-research").is_some());
    assert_eq!(usage("deepl"), None);
}

async fn budgets_cover_the_calendar_month_whatever_the_range(db: &TestDb) {
    let app = db.open(ZONE).await;
    load_fixture(&app).await;
    // Anna also works today, so she has a row in every window.
    let mut today_call = UsageRecord::new(ServiceType::Chat);
    today_call.model = Some("gpt-4o".into());
    today_call.user = Some("anna".into());
    today_call.counts.prompt_tokens = 1 << 12;
    app.record(vec![today_call]).await.unwrap();
    let today = app.today();
    let anna_cost = |i: u32| Money::from_picos((1i64 << i) * 2_500_000);
    let mut month_figures = Vec::new();
    for range in Range::ALL {
        let a = app.analytics(range).await.unwrap();
        let (from, _) = range.window(today);
        let anna = a.users.iter().find(|u| u.user.as_deref() == Some("anna"));
        // Anna used the ledger on the 1st (record 7) and the last day of last month (8).
        let mut window_cost = anna_cost(12);
        if today.month_start() >= from {
            window_cost += anna_cost(7);
        }
        if today.month_start().plus(-1) >= from {
            window_cost += anna_cost(8);
        }
        let anna = anna.expect("anna has usage in every window (today)");
        assert_eq!(anna.label, "Anna");
        assert_eq!(anna.cost_usd, window_cost, "{range}");
        let budget = anna.budget.as_ref().unwrap();
        assert_eq!(budget.month_cost_usd, anna_cost(7) + anna_cost(12));
        assert_eq!(budget.limit_cost_usd, Money::parse_usd("25").unwrap());
        month_figures.push(serde_json::to_string(budget).unwrap());
        let system = a.users.iter().find(|u| u.user.is_none()).unwrap();
        assert_eq!((system.label.as_str(), &system.budget), ("system", &None));
    }
    assert!(
        month_figures.windows(2).all(|w| w[0] == w[1]),
        "{month_figures:?}"
    );
}

async fn unpriced_models_are_counted_and_catalog_columns_filled(db: &TestDb) {
    let app = db.open(ZONE).await;
    with_catalog(&app).await;
    let mut free = UsageRecord::new(ServiceType::Chat);
    free.provider = Some("ollama".into());
    free.model = Some("llama3".into());
    free.task = Some("summarize-page".into());
    free.configuration = Some("chat-default".into());
    free.counts.prompt_tokens = 100;
    app.record(vec![free.clone(), free]).await.unwrap();
    let a = app.analytics(Range::Days30).await.unwrap();
    assert_eq!(a.unpriced_requests, 2);

    let models = app.models().await.unwrap();
    let llama = models
        .iter()
        .find(|m| m.item.identifier == "llama3")
        .unwrap();
    assert!(llama.item.discovered && llama.item.pricing.is_none());
    let usage = llama.usage_30d.unwrap();
    assert_eq!(
        (usage.requests, usage.tokens, usage.cost),
        (2, 200, Money::ZERO)
    );
    assert_eq!(
        models
            .iter()
            .find(|m| m.item.identifier == "gpt-4o")
            .unwrap()
            .usage_30d,
        None
    );
    let tasks = app.tasks().await.unwrap();
    assert_eq!(
        tasks
            .iter()
            .find(|t| t.item.identifier == "summarize-page")
            .unwrap()
            .usage_30d
            .unwrap()
            .requests,
        2
    );
    let configurations = app.configurations().await.unwrap();
    assert_eq!(configurations[0].usage_30d.unwrap().requests, 2);
}

async fn the_api_serves_analytics_and_the_catalog(db: &TestDb) {
    let app = db.open(ZONE).await;
    load_fixture(&app).await;
    let (_, read) = app
        .create_token("dash", llm_ledger::domain::Scope::Read)
        .await
        .unwrap();
    let (_, ingest) = app
        .create_token("ingest", llm_ledger::domain::Scope::Ingest)
        .await
        .unwrap();
    let server = TestServer::start(app).await;
    let client = reqwest::Client::new();
    let get = |path: &str, token: &str| client.get(server.url(path)).bearer_auth(token).send();

    let default: Value = get("/api/v1/analytics", &read)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bogus = get("/api/v1/analytics?range=bogus'--", &read)
        .await
        .unwrap();
    assert_eq!(bogus.status(), StatusCode::OK);
    let bogus: Value = bogus.json().await.unwrap();
    let thirty: Value = get("/api/v1/analytics?range=30d", &read)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(default["range"], "30d");
    assert_eq!(default, bogus);
    assert_eq!(default, thirty);
    assert!(default["kpis"]["cost_usd"].is_string());
    assert_eq!(default["timezone"], ZONE);
    for key in [
        "range",
        "from",
        "to",
        "timezone",
        "kpis",
        "trend",
        "by_provider",
        "by_model",
        "by_service",
        "by_source",
        "users",
        "unpriced_requests",
    ] {
        assert!(default.get(key).is_some(), "{key}");
    }
    let ninety: Value = get("/api/v1/analytics?range=90d", &read)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ninety["trend"].as_array().unwrap().len(), 90);

    // The body is exactly what the report command prints as JSON.
    let body = get("/api/v1/analytics?range=month", &read)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let report = serde_json::to_string(&server.app.analytics(Range::Month).await.unwrap()).unwrap();
    assert_eq!(body, report);

    assert_eq!(
        get("/api/v1/analytics", &ingest).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        client
            .get(server.url("/api/v1/analytics"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    for list in ["providers", "models", "configurations", "tasks"] {
        let response = get(&format!("/api/v1/{list}"), &read).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{list}");
        let items: Vec<Value> = response.json().await.unwrap();
        assert!(!items.is_empty(), "{list}");
        assert!(items.iter().all(|i| i.get("usage_30d").is_some()), "{list}");
        assert_eq!(
            get(&format!("/api/v1/{list}"), &ingest)
                .await
                .unwrap()
                .status(),
            StatusCode::FORBIDDEN
        );
    }
    let providers: Vec<Value> = get("/api/v1/providers", &read)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deepl = providers
        .iter()
        .find(|p| p["identifier"] == "deepl")
        .unwrap();
    assert!(deepl["usage_30d"].is_null());
    let prod = providers
        .iter()
        .find(|p| p["identifier"] == "openai-prod")
        .unwrap();
    assert!(prod["usage_30d"]["cost_usd"].is_string());
}

both_stores!(
    every_range_contains_exactly_its_days,
    providers_sharing_an_adapter_are_separate,
    budgets_cover_the_calendar_month_whatever_the_range,
    unpriced_models_are_counted_and_catalog_columns_filled,
    the_api_serves_analytics_and_the_catalog,
);

/// The same data gives byte-identical JSON on SQLite and PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_stores_give_identical_json() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let lite = TestDb::sqlite();
    let (a, b) = (lite.open(ZONE).await, pg.open(ZONE).await);
    load_fixture(&a).await;
    load_fixture(&b).await;
    for range in Range::ALL {
        let left = serde_json::to_string(&a.analytics(range).await.unwrap()).unwrap();
        let right = serde_json::to_string(&b.analytics(range).await.unwrap()).unwrap();
        assert_eq!(left, right, "{range}");
    }
}
