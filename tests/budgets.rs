//! Budgets (SPEC §4) on both stores: every branch of the check on real
//! usage, strict reservations under concurrency, holds that lapse.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use llm_ledger::app::{App, AppError, BudgetRequest, CatalogFile};
use llm_ledger::domain::budget::{Limit, Planned};
use llm_ledger::domain::{Budget, Money, RejectReason, Role, Scope, ServiceType, UsageRecord};
use serde_json::{Value, json};

use common::{ServeProcess, TestDb, TestServer, cli, run_ok, totals, with_catalog};

fn usd(s: &str) -> Money {
    Money::parse_usd(s).unwrap()
}

fn call(user: &str, tokens: i64, cost: &str) -> UsageRecord {
    let mut r = UsageRecord::new(ServiceType::Chat);
    r.provider = Some("openai-prod".into());
    r.user = Some(user.into());
    r.counts.prompt_tokens = tokens;
    r.cost_usd = Some(usd(cost));
    r
}

fn ask(user: &str, tokens: i64, cost: &str) -> BudgetRequest {
    BudgetRequest {
        user: user.into(),
        planned: Planned {
            cost: usd(cost),
            tokens,
        },
        configuration: None,
        task: None,
    }
}

/// The user's requests today as a budget check counts them (holds included).
async fn requests_today(app: &App, user: &str) -> i64 {
    let answer = app.check_budget(&ask(user, 0, "0")).await.unwrap();
    answer.usage.day.requests
}

async fn limit_of(app: &App, request: &BudgetRequest) -> Option<Limit> {
    let a = app.check_budget(request).await.unwrap();
    assert_eq!(a.decision.allowed, a.decision.exceeded_limit.is_none());
    a.decision.exceeded_limit
}

async fn every_branch_of_the_check(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    for user in ["free", "lax", "zero", "capped"] {
        app.create_user(user, None, Role::Member, None)
            .await
            .unwrap();
    }
    // Ten calls today and 40 earlier this month for each (when the month allows).
    let today = app.today();
    let earlier = today.month_start();
    for user in ["free", "lax", "zero", "capped", "stranger"] {
        let mut records: Vec<UsageRecord> = (0..10).map(|_| call(user, 100, "0.10")).collect();
        if earlier != today {
            for _ in 0..40 {
                let mut r = call(user, 100, "0.10");
                r.occurred_at = Some(
                    chrono::Utc::now()
                        - chrono::Duration::days(i64::from(today.number() - earlier.number())),
                );
                records.push(r);
            }
        }
        app.record(records).await.unwrap();
    }
    let month_calls = if earlier != today { 50 } else { 10 };
    // No budget at all, not enforced, every ceiling 0: allowed.
    assert_eq!(limit_of(&app, &ask("free", 1_000_000, "1000")).await, None);
    assert_eq!(
        limit_of(&app, &ask("stranger", 1_000_000, "1000")).await,
        None
    );
    let tight = Budget {
        max_requests_per_day: 1,
        max_cost_per_month: usd("0.01"),
        enforced: false,
        ..Budget::default()
    };
    app.set_budget("lax", &tight).await.unwrap();
    assert_eq!(limit_of(&app, &ask("lax", 0, "0")).await, None);
    app.set_budget(
        "zero",
        &Budget {
            enforced: true,
            ..Budget::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(limit_of(&app, &ask("zero", 1_000_000, "1000")).await, None);

    // Each ceiling: exactly at the limit after adding is allowed; one unit
    // more is denied with the ceiling's key.
    let base = Budget {
        enforced: true,
        ..Budget::default()
    };
    let picos = |n: i128| Money::from_picos(i64::try_from(n).unwrap());
    let month_cost = usd("0.10").picos() * i128::from(month_calls);
    let cases: Vec<(Budget, Budget, BudgetRequest, BudgetRequest, Limit)> = vec![
        (
            Budget {
                max_requests_per_day: 11,
                ..base
            },
            Budget {
                max_requests_per_day: 10,
                ..base
            },
            ask("capped", 0, "0"),
            ask("capped", 0, "0"),
            Limit::RequestsPerDay,
        ),
        (
            Budget {
                max_tokens_per_day: 1050,
                ..base
            },
            Budget {
                max_tokens_per_day: 1050,
                ..base
            },
            ask("capped", 50, "0"),
            ask("capped", 51, "0"),
            Limit::TokensPerDay,
        ),
        (
            Budget {
                max_cost_per_day: usd("1.05"),
                ..base
            },
            Budget {
                max_cost_per_day: usd("1.05"),
                ..base
            },
            ask("capped", 0, "0.05"),
            ask("capped", 0, "0.050001"),
            Limit::CostPerDay,
        ),
        (
            Budget {
                max_requests_per_month: month_calls + 1,
                ..base
            },
            Budget {
                max_requests_per_month: month_calls,
                ..base
            },
            ask("capped", 0, "0"),
            ask("capped", 0, "0"),
            Limit::RequestsPerMonth,
        ),
        (
            Budget {
                max_tokens_per_month: month_calls * 100 + 7,
                ..base
            },
            Budget {
                max_tokens_per_month: month_calls * 100 + 7,
                ..base
            },
            ask("capped", 7, "0"),
            ask("capped", 8, "0"),
            Limit::TokensPerMonth,
        ),
        (
            Budget {
                max_cost_per_month: picos(month_cost + 5),
                ..base
            },
            Budget {
                max_cost_per_month: picos(month_cost + 5),
                ..base
            },
            ask("capped", 0, "0.000000000005"),
            ask("capped", 0, "0.000000000006"),
            Limit::CostPerMonth,
        ),
    ];
    for (at, past, at_request, past_request, expected) in cases {
        app.set_budget("capped", &at).await.unwrap();
        assert_eq!(
            limit_of(&app, &at_request).await,
            None,
            "{expected:?} at the limit"
        );
        app.set_budget("capped", &past).await.unwrap();
        assert_eq!(
            limit_of(&app, &past_request).await,
            Some(expected),
            "{expected:?} past the limit"
        );
    }
    // The day is checked before the month.
    app.set_budget(
        "capped",
        &Budget {
            max_requests_per_day: 5,
            max_requests_per_month: 5,
            ..base
        },
    )
    .await
    .unwrap();
    assert_eq!(
        limit_of(&app, &ask("capped", 0, "0")).await,
        Some(Limit::RequestsPerDay)
    );

    // Configuration limits count every user's usage today.
    let config = r#"
[[configuration]]
identifier = "shared"
name = "Shared"
max_requests_per_day = 3
max_cost_per_day = "1"
"#;
    app.apply_catalog(&CatalogFile::parse(config).unwrap())
        .await
        .unwrap();
    let mut r = call("free", 10, "0.30");
    r.configuration = Some("shared".into());
    app.record(vec![r.clone(), r]).await.unwrap();
    let with_config = |cost: &str| BudgetRequest {
        configuration: Some("shared".into()),
        ..ask("free", 0, cost)
    };
    assert_eq!(
        limit_of(&app, &with_config("0.40")).await,
        None,
        "3 requests and $1.00 exactly"
    );
    assert_eq!(
        limit_of(&app, &with_config("0.41")).await,
        Some(Limit::ConfigCostPerDay)
    );
    let mut third = call("zero", 10, "0");
    third.configuration = Some("shared".into());
    app.record(vec![third]).await.unwrap();
    assert_eq!(
        limit_of(&app, &with_config("0")).await,
        Some(Limit::ConfigRequestsPerDay)
    );
    let answer = app.check_budget(&with_config("0")).await.unwrap();
    assert!(
        answer.decision.reason.contains("shared"),
        "{}",
        answer.decision.reason
    );
}

/// A task runs through its configuration: usage naming only the task counts
/// toward the configuration's day, a check or a hold naming only the task
/// meets the configuration's limits, and an explicit configuration wins.
async fn a_task_brings_its_configurations_limits(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let file = r#"
[[configuration]]
identifier = "shared"
name = "Shared"
max_requests_per_day = 3

[[configuration]]
identifier = "other"
name = "Other"

[[task]]
identifier = "summaries"
name = "Summaries"
configuration = "shared"

[[task]]
identifier = "loose"
name = "Loose"
"#;
    app.apply_catalog(&CatalogFile::parse(file).unwrap())
        .await
        .unwrap();
    let with_task = |task: &str, configuration: Option<&str>| {
        let mut r = call("free", 10, "0.10");
        r.task = Some(task.into());
        r.configuration = configuration.map(Into::into);
        r
    };
    app.record(vec![
        with_task("summaries", None),
        with_task("summaries", Some("other")),
        with_task("loose", None),
        with_task("triage", None),
    ])
    .await
    .unwrap();
    let today = app.today();
    let mut attributed: Vec<(String, Option<String>)> = app
        .usage_rows(today, today)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.task.unwrap_or_default(), r.configuration))
        .collect();
    attributed.sort();
    assert_eq!(
        attributed,
        [
            ("loose".to_string(), None),
            ("summaries".to_string(), Some("other".to_string())),
            ("summaries".to_string(), Some("shared".to_string())),
            ("triage".to_string(), None),
        ]
    );

    let by_task = BudgetRequest {
        task: Some("summaries".into()),
        ..ask("free", 0, "0")
    };
    let answer = app.check_budget(&by_task).await.unwrap();
    assert_eq!(
        answer.usage.configuration_day.map(|d| d.requests),
        Some(1),
        "the task's usage counts toward its configuration"
    );
    // Two more requests reach the configuration's 3 a day.
    let held = app.reserve_budget(&by_task).await.unwrap();
    assert!(held.reservation.is_some(), "{:?}", held.decision);
    app.record(vec![with_task("summaries", None)])
        .await
        .unwrap();
    assert_eq!(
        limit_of(&app, &by_task).await,
        Some(Limit::ConfigRequestsPerDay)
    );
    // A configuration named beside the task is the one checked.
    let explicit = BudgetRequest {
        configuration: Some("other".into()),
        ..by_task.clone()
    };
    assert_eq!(limit_of(&app, &explicit).await, None);
    // A task without a configuration, or unknown, brings no limits.
    for task in ["loose", "nope"] {
        let answer = app
            .check_budget(&BudgetRequest {
                task: Some(task.into()),
                ..ask("free", 0, "0")
            })
            .await
            .unwrap();
        assert!(answer.usage.configuration_day.is_none(), "{task}");
    }
}

async fn holds_count_until_settled_released_or_expired(db: &TestDb) {
    let mut app = db.open("UTC").await;
    with_catalog(&app).await;
    app.create_user("ann", None, Role::Member, None)
        .await
        .unwrap();
    app.set_budget(
        "ann",
        &Budget {
            max_requests_per_day: 2,
            enforced: true,
            ..Budget::default()
        },
    )
    .await
    .unwrap();
    let first = app.reserve_budget(&ask("ann", 0, "0")).await.unwrap();
    let second = app.reserve_budget(&ask("ann", 0, "0")).await.unwrap();
    assert!(first.reservation.is_some() && second.reservation.is_some());
    let third = app.reserve_budget(&ask("ann", 0, "0")).await.unwrap();
    assert_eq!(
        (third.reservation.is_some(), third.decision.exceeded_limit),
        (false, Some(Limit::RequestsPerDay))
    );
    assert_eq!(requests_today(&app, "ann").await, 2);

    // Released: it no longer counts, and cannot be released twice.
    let (id, _) = first.reservation.unwrap();
    assert!(app.release_reservation(&id).await.unwrap());
    assert!(!app.release_reservation(&id).await.unwrap());
    assert_eq!(requests_today(&app, "ann").await, 1);

    // Another user's usage cannot settle it: that would free ann's budget.
    let (id, _) = second.reservation.unwrap();
    let mut someone_else = call("bob", 1, "0");
    someone_else.reservation_id = Some(id.clone());
    match app.record(vec![someone_else]).await {
        Err(AppError::Rejected(RejectReason::Invalid(errors))) => {
            assert_eq!(errors[0].field, "reservation_id");
            assert!(errors[0].message.contains("\"ann\""), "{errors:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        requests_today(&app, "ann").await,
        1,
        "the hold still counts"
    );

    // A user the ledger did not know when reserving settles their own hold
    // (the first call of a new user on the strict path).
    let newcomer = app.reserve_budget(&ask("carl", 10, "0")).await.unwrap();
    let (carl_id, _) = newcomer.reservation.expect("no budget: allowed and held");
    let mut first_call = call("carl", 10, "0");
    first_call.reservation_id = Some(carl_id.clone());
    app.record(vec![first_call]).await.unwrap();
    assert!(!app.release_reservation(&carl_id).await.unwrap(), "settled");

    // Settled: the actual usage replaces the hold, in the same transaction.
    let mut settled = call("ann", 500, "0.20");
    settled.reservation_id = Some(id.clone());
    app.record(vec![settled]).await.unwrap();
    let usage = app.check_budget(&ask("ann", 0, "0")).await.unwrap().usage;
    assert_eq!(
        (usage.day.requests, usage.day.tokens, usage.day.cost),
        (1, 500, usd("0.20"))
    );
    assert!(
        !app.release_reservation(&id).await.unwrap(),
        "a settled hold is not live"
    );

    // An unknown reservation id refuses the batch.
    let mut bogus = call("ann", 1, "0");
    bogus.reservation_id = Some("res_unknown".into());
    let err = app.record(vec![bogus]).await.unwrap_err().to_string();
    assert!(err.contains("invalid"), "{err}");

    // Expired: it stops counting by itself.
    app.set_reservation_ttl(Duration::from_secs(3));
    let short = app.reserve_budget(&ask("ann", 0, "0")).await.unwrap();
    assert!(short.reservation.is_some());
    assert_eq!(
        app.check_budget(&ask("ann", 0, "0"))
            .await
            .unwrap()
            .decision
            .exceeded_limit,
        Some(Limit::RequestsPerDay)
    );
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert!(
        app.check_budget(&ask("ann", 0, "0"))
            .await
            .unwrap()
            .decision
            .allowed
    );
    assert!(
        app.reserve_budget(&ask("ann", 0, "0"))
            .await
            .unwrap()
            .reservation
            .is_some()
    );
}

const CLIENTS: usize = 64;
const CALLS: usize = 400;
const CEILING: i64 = 100;

/// 400 calls from 64 clients against `bases` (round robin). With `strict`,
/// each call reserves first and records with the reservation id; otherwise
/// it checks, then records. Returns how many calls were allowed.
async fn load(bases: Vec<String>, secret: String, strict: bool, user: &'static str) -> u64 {
    let client = reqwest::Client::new();
    let allowed = Arc::new(AtomicU64::new(0));
    let bases = Arc::new(bases);
    let secret = Arc::new(secret);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (client, bases, secret, allowed) = (client.clone(), bases.clone(), secret.clone(), allowed.clone());
            tokio::spawn(async move {
                for i in (c..CALLS).step_by(CLIENTS) {
                    let base = &bases[i % bases.len()];
                    let path = if strict { "reserve" } else { "check" };
                    let answer: Value = client
                        .post(format!("{base}/api/v1/budget/{path}"))
                        .bearer_auth(secret.as_str())
                        .json(&json!({"user": user, "planned_tokens": 10, "planned_cost_usd": "0.001"}))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    if answer["allowed"] != true {
                        assert!(answer["exceeded_limit"] == "requests_per_day", "{answer}");
                        continue;
                    }
                    allowed.fetch_add(1, Ordering::SeqCst);
                    let mut record = json!({"service": "chat", "provider": "openai-prod", "user": user,
                        "prompt_tokens": 10, "cost_usd": "0.001", "idempotency_key": format!("{user}-{i}")});
                    if strict {
                        record["reservation_id"] = answer["reservation_id"].clone();
                    }
                    let response = client
                        .post(format!("{base}/api/v1/usage"))
                        .bearer_auth(secret.as_str())
                        .json(&record)
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    allowed.load(Ordering::SeqCst)
}

async fn capped_user(app: &App, user: &str) {
    app.create_user(user, None, Role::Member, None)
        .await
        .unwrap();
    let budget = Budget {
        max_requests_per_day: CEILING,
        enforced: true,
        ..Budget::default()
    };
    app.set_budget(user, &budget).await.unwrap();
}

async fn user_requests(app: &App, user: &str) -> i64 {
    app.user_usage(user).await.unwrap().today.requests
}

async fn concurrent_reservations_never_pass_a_ceiling(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    capped_user(&app, "strict").await;
    capped_user(&app, "loose").await;
    let (_, secret) = app.create_token("load", Scope::Ingest).await.unwrap();
    let server = TestServer::start(app).await;
    let base = format!("http://{}", server.addr);
    let allowed = load(vec![base.clone()], secret.clone(), true, "strict").await;
    assert_eq!(allowed, CEILING as u64);
    assert_eq!(user_requests(&server.app, "strict").await, CEILING);
    let loose = load(vec![base], secret, false, "loose").await;
    let recorded = user_requests(&server.app, "loose").await;
    println!(
        "check-then-record ({}): {loose} calls allowed, {recorded} recorded against a ceiling of {CEILING} (overshoot {})",
        db.url.split(':').next().unwrap(),
        recorded - CEILING
    );
    assert!(recorded >= CEILING);
}

both_stores!(
    every_branch_of_the_check,
    a_task_brings_its_configurations_limits,
    holds_count_until_settled_released_or_expired,
    concurrent_reservations_never_pass_a_ceiling,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_share_strict_budgets() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    {
        let app = db.open("UTC").await;
        with_catalog(&app).await;
        capped_user(&app, "strict").await;
    }
    let secret = run_ok(cli(&db.url).args(["token", "create", "load", "--scope", "ingest"]));
    let secret = secret.lines().last().unwrap().to_string();
    let servers = [ServeProcess::start(&db.url), ServeProcess::start(&db.url)];
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let allowed = load(bases, secret, true, "strict").await;
    drop(servers);
    let app = db.open("UTC").await;
    assert_eq!(allowed, CEILING as u64);
    assert_eq!(user_requests(&app, "strict").await, CEILING);
    assert_eq!(totals(&app).await.0, CEILING);
}
