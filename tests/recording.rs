//! Recording usage through the library API, on both stores (SPEC §3).

mod common;

use chrono::{DateTime, Utc};
use llm_ledger::app::{App, AppError, CatalogFile};
use llm_ledger::domain::{Day, Money, RejectReason, Role, ServiceType, UsageRecord};

use common::{TestDb, totals, with_catalog};

fn chat(model: &str, prompt: i64, completion: i64) -> UsageRecord {
    let mut r = UsageRecord::new(ServiceType::Chat);
    r.model = Some(model.into());
    r.counts.prompt_tokens = prompt;
    r.counts.completion_tokens = completion;
    r
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

async fn costs_by_model(app: &App) -> Vec<(Option<String>, String)> {
    let today = app.today();
    app.usage_rows(today.plus(-4000), today)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.model, r.cost.to_string()))
        .collect()
}

async fn set_price(app: &App, input: &str, output: &str) {
    let text = common::CATALOG
        .replacen(
            "input_price = \"250\"",
            &format!("input_price = \"{input}\""),
            1,
        )
        .replacen(
            "output_price = \"1000\"",
            &format!("output_price = \"{output}\""),
            1,
        );
    app.apply_catalog(&CatalogFile::parse(&text).unwrap())
        .await
        .unwrap();
}

async fn cost_is_exact_and_captured_at_call_time(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let outcome = app.record(vec![chat("gpt-4o", 1234, 567)]).await.unwrap();
    assert_eq!(outcome.recorded, 1);
    assert_eq!(totals(&app).await.2, "0.008755");

    // A later price change leaves the recorded cost alone; new calls use it.
    set_price(&app, "500", "2000").await;
    assert_eq!(totals(&app).await.2, "0.008755");
    let mut yesterday = chat("gpt-4o", 1234, 567);
    yesterday.occurred_at = Some(Utc::now() - chrono::Duration::days(1));
    app.record(vec![yesterday]).await.unwrap();
    let costs = costs_by_model(&app).await;
    assert_eq!(
        costs,
        vec![
            (Some("gpt-4o".into()), "0.017510".into()),
            (Some("gpt-4o".into()), "0.008755".into())
        ]
    );
    assert_eq!(totals(&app).await, (2, 3602, "0.026265".into()));
}

async fn cached_tokens_are_priced_at_their_own_rate(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let mut r = chat("gpt-4o-mini", 1_000_000, 100_000);
    r.counts.cache_read_tokens = 400_000;
    app.record(vec![r]).await.unwrap();
    assert_eq!(totals(&app).await, (1, 1_100_000, "0.180000".into()));
}

async fn specialized_services_cost_zero_unless_reported(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let mut translation = UsageRecord::new(ServiceType::Translation);
    translation.provider = Some("deepl".into());
    translation.counts.characters = 1000;
    app.record(vec![translation.clone()]).await.unwrap();
    let today = app.today();
    let rows = app.usage_rows(today, today).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].requests, rows[0].counts.characters, rows[0].cost),
        (1, 1000, Money::ZERO)
    );
    assert_eq!(rows[0].service, ServiceType::Translation);

    // A reported cost is kept as given, also for specialized services.
    translation.cost_usd = Some(Money::parse_usd("0.02").unwrap());
    app.record(vec![translation]).await.unwrap();
    assert_eq!(totals(&app).await, (2, 0, "0.020000".into()));
}

async fn sub_calls_add_tokens_and_cost_but_no_request(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let mut sub = chat("gpt-4o", 1234, 567);
    sub.counts_as_request = false;
    app.record(vec![chat("gpt-4o", 1234, 567), sub])
        .await
        .unwrap();
    assert_eq!(totals(&app).await, (1, 3602, "0.017510".into()));
}

async fn unknown_names_are_discovered_and_usage_kept(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let mut r = chat("llama3:8b", 500, 100);
    r.provider = Some("ollama-local".into());
    r.user = Some("newcomer".into());
    r.configuration = Some("adhoc".into());
    r.task = Some("triage".into());
    r.source = Some("wiki".into());
    app.record(vec![r.clone(), r]).await.unwrap();
    assert_eq!(totals(&app).await, (2, 1200, "0.000000".into()));

    let models = app.export_catalog().await.unwrap().models;
    assert!(
        models.iter().all(|m| m.identifier != "llama3:8b"),
        "discovered models are not exported"
    );
    let today = app.today();
    let row = &app.usage_rows(today, today).await.unwrap()[0];
    assert_eq!(row.provider, "ollama-local");
    assert_eq!(row.model.as_deref(), Some("llama3:8b"));
    assert_eq!(row.user.as_deref(), Some("newcomer"));
    assert_eq!(row.configuration.as_deref(), Some("adhoc"));
    assert_eq!(row.task.as_deref(), Some("triage"));
    assert_eq!(row.source.as_deref(), Some("wiki"));
    let users = app.users().await.unwrap();
    assert!(
        users
            .iter()
            .any(|u| u.username == "newcomer" && u.discovered)
    );

    // Once an administrator prices the discovered model, new calls cost money.
    let priced = r#"
[[provider]]
identifier = "ollama-local"
name = "Ollama"
adapter_type = "ollama"

[[model]]
identifier = "llama3:8b"
name = "Llama 3 8B"
provider = "ollama-local"
model_id = "llama3:8b"
input_price = "100"
output_price = "100"
"#;
    app.apply_catalog(&CatalogFile::parse(priced).unwrap())
        .await
        .unwrap();
    let mut again = chat("llama3:8b", 500, 100);
    again.provider = Some("ollama-local".into());
    app.record(vec![again]).await.unwrap();
    assert_eq!(totals(&app).await, (3, 1800, "0.000600".into()));
}

async fn a_model_is_matched_by_identifier_then_vendor_id(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    // "gpt-4o" is an identifier (openai-prod): matched without a provider.
    app.record(vec![chat("gpt-4o", 10, 0)]).await.unwrap();
    // With the research provider, the vendor model_id picks its own model.
    let mut research = chat("gpt-4o", 10, 0);
    research.provider = Some("openai-research".into());
    app.record(vec![research]).await.unwrap();
    let today = app.today();
    let rows = app.usage_rows(today, today).await.unwrap();
    let pairs: Vec<(String, Option<String>)> =
        rows.into_iter().map(|r| (r.provider, r.model)).collect();
    assert_eq!(
        pairs,
        vec![
            ("openai-prod".into(), Some("gpt-4o".into())),
            ("openai-research".into(), Some("gpt-4o-research".into())),
        ]
    );
}

async fn an_ambiguous_vendor_model_id_is_refused(db: &TestDb) {
    let app = db.open("UTC").await;
    // Two providers' models share the vendor id "shared-model", and no model
    // has it as identifier.
    let catalog = r#"
[[provider]]
identifier = "a"
name = "A"
adapter_type = "openai"
[[provider]]
identifier = "b"
name = "B"
adapter_type = "openai"
[[model]]
identifier = "a-model"
name = "A model"
provider = "a"
model_id = "shared-model"
input_price = "1"
output_price = "1"
[[model]]
identifier = "b-model"
name = "B model"
provider = "b"
model_id = "shared-model"
input_price = "1"
output_price = "1"
"#;
    app.apply_catalog(&CatalogFile::parse(catalog).unwrap())
        .await
        .unwrap();
    let mut fine = chat("a-model", 1, 1);
    fine.user = Some("should-not-exist".into());
    let err = app
        .record(vec![fine, chat("shared-model", 1, 1)])
        .await
        .unwrap_err();
    match err {
        AppError::Rejected(RejectReason::Invalid(errors)) => {
            assert_eq!(errors.len(), 1);
            assert_eq!((errors[0].index, errors[0].field.as_str()), (1, "model"));
            assert!(errors[0].message.contains("a, b"), "{}", errors[0].message);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(totals(&app).await.0, 0);
    assert!(
        app.users()
            .await
            .unwrap()
            .iter()
            .all(|u| u.username != "should-not-exist")
    );
}

async fn a_batch_with_one_bad_record_stores_nothing(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    type Spoil = Box<dyn Fn(&mut UsageRecord)>;
    let bad_kinds: Vec<(&str, Spoil)> = vec![
        ("prompt_tokens", Box::new(|r| r.counts.prompt_tokens = -1)),
        (
            "completion_tokens",
            Box::new(|r| r.counts.completion_tokens = 1_000_000_000),
        ),
        ("source", Box::new(|r| r.source = Some("s".repeat(65)))),
        ("user", Box::new(|r| r.user = Some("bad\u{0}name".into()))),
        (
            "occurred_at",
            Box::new(|r| r.occurred_at = Some(Utc::now() + chrono::Duration::hours(1))),
        ),
        (
            "cache_read_tokens",
            Box::new(|r| r.counts.cache_read_tokens = r.counts.prompt_tokens + 1),
        ),
        (
            "cost_usd",
            Box::new(|r| r.cost_usd = Some(Money::from_picos(-1))),
        ),
        (
            "reservation_id",
            Box::new(|r| r.reservation_id = Some("nope".into())),
        ),
    ];
    for (field, spoil) in bad_kinds {
        let mut batch: Vec<UsageRecord> = (0..50).map(|i| chat("gpt-4o", 100 + i, 10)).collect();
        spoil(&mut batch[37]);
        let err = app.record(batch).await.unwrap_err();
        match err {
            AppError::Rejected(RejectReason::Invalid(errors)) => {
                assert_eq!(errors.len(), 1, "{field}: {errors:?}");
                assert_eq!((errors[0].index, errors[0].field.as_str()), (37, field));
            }
            other => panic!("{field}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(totals(&app).await, (0, 0, "0.000000".into()));
}

async fn idempotency_keys_count_a_record_once(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let keyed = |key: &str| {
        let mut r = chat("gpt-4o", 1000, 0);
        r.idempotency_key = Some(key.into());
        r
    };
    let first = app
        .record(vec![keyed("k1"), keyed("k2"), keyed("k1")])
        .await
        .unwrap();
    assert_eq!((first.recorded, first.duplicates), (2, 1));
    let again = app.record(vec![keyed("k2"), keyed("k3")]).await.unwrap();
    assert_eq!((again.recorded, again.duplicates), (1, 1));
    assert_eq!(totals(&app).await.0, 3);
    // Keys are kept for the retention period: pruning now forgets none.
    assert_eq!(app.prune_expired().await.unwrap(), 0);
    assert_eq!(app.record(vec![keyed("k1")]).await.unwrap().duplicates, 1);
}

/// A key reused for a different record is refused (with the field named and
/// nothing of its request stored) instead of being taken for a retry, which
/// would drop that record's usage: against a stored key, a key of an earlier
/// record of the same batch, a key folded into SQLite's index, after
/// reopening, and between concurrent callers.
async fn a_key_reused_for_a_different_record_is_refused(db: &TestDb) {
    let keyed = |key: &str, prompt: i64| {
        let mut r = chat("gpt-4o", prompt, 0);
        r.idempotency_key = Some(key.into());
        r
    };
    let refused_on = |result: Result<_, AppError>| match result {
        Err(AppError::Rejected(RejectReason::Invalid(errors))) => errors
            .iter()
            .map(|e| (e.index, e.field.clone()))
            .collect::<Vec<_>>(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    assert_eq!(
        app.record(vec![keyed("k1", 1000)]).await.unwrap().recorded,
        1
    );
    // The same record again is a retry.
    assert_eq!(
        app.record(vec![keyed("k1", 1000)])
            .await
            .unwrap()
            .duplicates,
        1
    );
    let key = |i| (i, "idempotency_key".to_string());
    assert_eq!(
        refused_on(app.record(vec![keyed("k1", 999)]).await),
        [key(0)]
    );
    // A retry that stamps its time again is still a retry.
    let mut restamped = keyed("k1", 1000);
    restamped.occurred_at = Some(Utc::now() - chrono::Duration::minutes(5));
    assert_eq!(app.record(vec![restamped]).await.unwrap().duplicates, 1);
    let mut other = keyed("k1", 1000);
    other.user = Some("someone-else".into());
    assert_eq!(refused_on(app.record(vec![other]).await), [key(0)]);
    // The whole batch is refused, and its new key stays free.
    let mixed = vec![
        keyed("k2", 5),
        keyed("k1", 7),
        keyed("k3", 5),
        keyed("k3", 6),
    ];
    assert_eq!(refused_on(app.record(mixed).await), [key(1), key(3)]);
    assert_eq!(app.record(vec![keyed("k2", 5)]).await.unwrap().recorded, 1);
    assert_eq!(totals(&app).await.0, 2);

    // Concurrent callers with one key and different records: one is
    // recorded, the other refused, whichever group each lands in.
    let app = std::sync::Arc::new(app);
    let calls: Vec<_> = (0..40)
        .flat_map(|i| {
            [1, 2].map(|prompt| {
                let (app, record) = (app.clone(), keyed(&format!("race-{i}"), prompt));
                tokio::spawn(async move { app.record(vec![record]).await })
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await.unwrap());
    }
    for pair in outcomes.chunks(2) {
        let recorded: Vec<bool> = pair.iter().map(Result::is_ok).collect();
        assert!(
            recorded == [true, false] || recorded == [false, true],
            "{pair:?}"
        );
        for refused in pair.iter().filter(|o| o.is_err()) {
            assert!(
                format!("{refused:?}").contains("idempotency_key"),
                "{refused:?}"
            );
        }
    }
    assert_eq!(totals(&app).await.0, 42);

    // Keys folded into SQLite's index, and keys read again after reopening,
    // keep their fingerprints.
    let many: Vec<UsageRecord> = (0..9_000).map(|i| keyed(&format!("many-{i}"), 3)).collect();
    for chunk in many.chunks(1_000) {
        app.record(chunk.to_vec()).await.unwrap();
    }
    assert_eq!(
        refused_on(app.record(vec![keyed("many-1", 4)]).await),
        [key(0)]
    );
    assert_eq!(
        app.record(vec![keyed("many-8999", 3)])
            .await
            .unwrap()
            .duplicates,
        1
    );
    drop(app);
    let reopened = db.open("UTC").await;
    assert_eq!(
        refused_on(reopened.record(vec![keyed("many-8999", 4)]).await),
        [key(0)]
    );
    assert_eq!(
        refused_on(reopened.record(vec![keyed("k1", 4)]).await),
        [key(0)]
    );
    assert_eq!(totals(&reopened).await.0, 9_042);
}

/// Enough keys to move SQLite's key log into its index more than once,
/// and a second ledger handle on the same database (as another process
/// would be) that writes in between.
async fn idempotency_keys_stay_known_in_volume_and_across_handles(db: &TestDb) {
    let keyed = |key: String| {
        let mut r = chat("gpt-4o", 1, 0);
        r.idempotency_key = Some(key);
        r
    };
    let batch = |range: std::ops::Range<usize>| -> Vec<UsageRecord> {
        range
            .map(|i| keyed(format!("key-{}", i % 7 * 10_000 + i)))
            .collect()
    };
    let first = db.open("UTC").await;
    with_catalog(&first).await;
    for start in (0..20_000).step_by(1_000) {
        let outcome = first.record(batch(start..start + 1_000)).await.unwrap();
        assert_eq!((outcome.recorded, outcome.duplicates), (1_000, 0));
    }
    for start in (0..20_000).step_by(1_000) {
        let resent = first.record(batch(start..start + 1_000)).await.unwrap();
        assert_eq!((resent.recorded, resent.duplicates), (0, 1_000));
    }

    // Keys written through one handle are known to the other, both ways.
    let second = db.open("UTC").await;
    let outcome = second
        .record(vec![batch(5..6).remove(0), keyed("second-1".into())])
        .await
        .unwrap();
    assert_eq!((outcome.recorded, outcome.duplicates), (1, 1));
    let outcome = first.record(vec![keyed("second-1".into())]).await.unwrap();
    assert_eq!((outcome.recorded, outcome.duplicates), (0, 1));
    let outcome = first.record(vec![keyed("first-1".into())]).await.unwrap();
    assert_eq!(outcome.recorded, 1);
    let outcome = second.record(vec![keyed("first-1".into())]).await.unwrap();
    assert_eq!((outcome.recorded, outcome.duplicates), (0, 1));

    // Pruning keeps keys within the retention period; so does reopening.
    assert_eq!(first.prune_expired().await.unwrap(), 0);
    drop((first, second));
    let reopened = db.open("UTC").await;
    let mut again = batch(19_990..20_000);
    again.extend([keyed("first-1".into()), keyed("second-1".into())]);
    let outcome = reopened.record(again).await.unwrap();
    assert_eq!((outcome.recorded, outcome.duplicates), (0, 12));
    assert_eq!(totals(&reopened).await.0, 20_002);
}

/// Keys past their retention are forgotten, so the same key counts again;
/// keys within it stay known, whether the SQLite log has folded them yet or
/// not, also after pruning emptied that log and the ledger is reopened.
async fn expired_idempotency_keys_are_forgotten(db: &TestDb) {
    let keyed = |key: String| {
        let mut r = chat("gpt-4o", 1, 0);
        r.idempotency_key = Some(key);
        r
    };
    let batch = |range: std::ops::Range<usize>| -> Vec<UsageRecord> {
        range.map(|i| keyed(format!("old-{i}"))).collect()
    };
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    for start in (0..10_000).step_by(1_000) {
        app.record(batch(start..start + 1_000)).await.unwrap();
    }
    let store = llm_ledger::store::connect(&db.url).await.unwrap();
    let hour = chrono::Duration::hours(1);
    assert_eq!(store.prune(Utc::now() - hour).await.unwrap(), 0);
    assert_eq!(store.prune(Utc::now() + hour).await.unwrap(), 10_000);
    for start in (0..10_000).step_by(1_000) {
        let outcome = app.record(batch(start..start + 1_000)).await.unwrap();
        assert_eq!((outcome.recorded, outcome.duplicates), (1_000, 0));
    }
    let outcome = app.record(batch(0..1_000)).await.unwrap();
    assert_eq!(outcome.duplicates, 1_000);
    assert_eq!(totals(&app).await.0, 20_000);

    assert_eq!(store.prune(Utc::now() + hour).await.unwrap(), 10_000);
    let fresh = vec![keyed("new-1".into()), keyed("new-2".into())];
    assert_eq!(app.record(fresh.clone()).await.unwrap().recorded, 2);
    drop((app, store));
    let reopened = db.open("UTC").await;
    let outcome = reopened.record(fresh).await.unwrap();
    assert_eq!((outcome.recorded, outcome.duplicates), (0, 2));
}

/// Concurrent callers are committed in groups; writes of other kinds queued
/// among them (here: new users) run in their turn, and every record counts
/// once.
async fn concurrent_records_and_catalog_writes_all_land(db: &TestDb) {
    let app = std::sync::Arc::new(db.open("UTC").await);
    with_catalog(&app).await;
    let calls: Vec<_> = (0..400)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                if i % 25 == 0 {
                    app.create_user(&format!("member{i}"), None, Role::Member, None)
                        .await
                        .unwrap();
                }
                let mut r = chat("gpt-4o", 100, 10);
                r.user = Some(format!("caller{}", i % 40));
                r.idempotency_key = Some(format!("call-{i}"));
                app.record(vec![r]).await.unwrap().recorded
            })
        })
        .collect();
    let mut recorded = 0;
    for call in calls {
        recorded += call.await.unwrap();
    }
    assert_eq!(recorded, 400);
    assert_eq!(totals(&app).await.0, 400);
    assert_eq!(totals(&app).await.1, 400 * 110);
    let users = app.users().await.unwrap();
    for i in (0..400).step_by(25) {
        let name = format!("member{i}");
        assert!(users.iter().any(|u| u.username == name && !u.discovered));
    }
    assert_eq!(
        users
            .iter()
            .filter(|u| u.username.starts_with("caller"))
            .count(),
        40
    );
}

async fn days_follow_the_ledgers_time_zone(db: &TestDb) {
    let app = db.open("Europe/Berlin").await;
    with_catalog(&app).await;
    let cases = [
        // Local midnight is 23:00 UTC in winter.
        ("2026-11-20T22:59:59Z", "2026-11-20"),
        ("2026-11-20T23:00:00Z", "2026-11-21"),
        // 2026-03-29 has 23 hours in Berlin (22:00 UTC ends it).
        ("2026-03-28T23:00:00Z", "2026-03-29"),
        ("2026-03-29T21:59:59Z", "2026-03-29"),
        ("2026-03-29T22:00:00Z", "2026-03-30"),
        // 2026-10-25 has 25 hours (23:00 UTC ends it).
        ("2026-10-25T22:30:00Z", "2026-10-25"),
        ("2026-10-25T23:00:00Z", "2026-10-26"),
    ];
    for (instant, _) in cases {
        let mut r = chat("gpt-4o", 1, 0);
        r.occurred_at = Some(at(instant));
        app.record(vec![r]).await.unwrap();
    }
    let from = Day::parse("2026-03-01").unwrap();
    let to = Day::parse("2026-11-30").unwrap();
    let days: Vec<(String, i64)> = app
        .usage_rows(from, to)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.day.to_string(), r.requests))
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-03-29".into(), 2),
            ("2026-03-30".into(), 1),
            ("2026-10-25".into(), 1),
            ("2026-10-26".into(), 1),
            ("2026-11-20".into(), 1),
            ("2026-11-21".into(), 1),
        ]
    );
    drop(app);
    // The zone is fixed at creation: naming another one is an error naming it.
    let err = App::open(&db.url, Some("UTC"))
        .await
        .err()
        .expect("a mismatch is refused");
    assert!(err.to_string().contains("Europe/Berlin"), "{err}");
    assert_eq!(
        App::open(&db.url, None).await.unwrap().timezone().name(),
        "Europe/Berlin"
    );
}

async fn the_catalog_file_applies_idempotently_and_round_trips(db: &TestDb) {
    let app = db.open("UTC").await;
    let file = CatalogFile::parse(common::CATALOG).unwrap();
    let first = app.apply_catalog(&file).await.unwrap();
    assert_eq!((first.created, first.updated, first.unchanged), (8, 0, 0));
    let second = app.apply_catalog(&file).await.unwrap();
    assert_eq!(
        (second.created, second.updated, second.unchanged),
        (0, 0, 8)
    );
    let exported = app.export_catalog().await.unwrap();
    let text = exported.to_toml().unwrap();
    let reapplied = app
        .apply_catalog(&CatalogFile::parse(&text).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (reapplied.created, reapplied.updated, reapplied.unchanged),
        (0, 0, 8)
    );
    assert_eq!(CatalogFile::parse(&text).unwrap(), exported);

    // Into a fresh database, the export recreates the same catalog.
    let other = TestDb::sqlite();
    let copy = other.open("UTC").await;
    copy.apply_catalog(&exported).await.unwrap();
    assert_eq!(copy.export_catalog().await.unwrap(), exported);

    // A changed price is one update.
    let changed =
        common::CATALOG.replace("cache_read_price = \"7.5\"", "cache_read_price = \"7.25\"");
    let third = app
        .apply_catalog(&CatalogFile::parse(&changed).unwrap())
        .await
        .unwrap();
    assert_eq!((third.created, third.updated, third.unchanged), (0, 1, 7));
}

/// A catalog grown from usage (names that are not slugs, set-up records
/// that name discovered ones) exports to a file that applies to an empty
/// ledger, keeps discovered records discovered, and never downgrades a
/// record an administrator has set up.
async fn an_export_carries_what_usage_registered_to_an_empty_ledger(db: &TestDb) {
    let source_db = TestDb::sqlite();
    let source = source_db.open("UTC").await;
    let used = |provider: &str, model: &str, configuration: &str, task: &str| {
        let mut r = chat(model, 10, 5);
        r.provider = Some(provider.into());
        r.configuration = Some(configuration.into());
        r.task = Some(task.into());
        r
    };
    source
        .record(vec![
            used("Azure OpenAI", "gpt-4o (EU)", "My Config", "Summarize Docs"),
            used("openai", "gpt-4o-mini", "adhoc", "triage"),
            used("ollama-local", "llama3:8b", "adhoc", "triage"),
        ])
        .await
        .unwrap();
    let set_up = r#"
[[provider]]
identifier = "Azure OpenAI"
name = "Azure (EU)"
adapter_type = "openai"

[[model]]
identifier = "gpt-4o"
name = "GPT-4o"
provider = "openai"
model_id = "gpt-4o"
input_price = "250"
output_price = "1000"

[[configuration]]
identifier = "chat-default"
name = "Chat"
model = "gpt-4o (EU)"

[[task]]
identifier = "summaries"
name = "Summaries"
configuration = "My Config"
"#;
    source
        .apply_catalog(&CatalogFile::parse(set_up).unwrap())
        .await
        .unwrap();
    let exported = source.export_catalog().await.unwrap();
    let text = exported.to_toml().unwrap();
    let marks = |identifier: &str| {
        let f = &exported;
        f.providers
            .iter()
            .map(|e| (&e.identifier, e.discovered, e.from_usage))
            .chain(
                f.models
                    .iter()
                    .map(|e| (&e.identifier, e.discovered, e.from_usage)),
            )
            .chain(
                f.configurations
                    .iter()
                    .map(|e| (&e.identifier, e.discovered, e.from_usage)),
            )
            .chain(
                f.tasks
                    .iter()
                    .map(|e| (&e.identifier, e.discovered, e.from_usage)),
            )
            .find(|(id, _, _)| *id == identifier)
            .map(|(_, discovered, from_usage)| (discovered, from_usage))
    };
    // (discovered, from_usage); None: not in the file.
    for (identifier, expected) in [
        ("Azure OpenAI", Some((false, true))),
        ("openai", Some((true, false))),
        ("gpt-4o", Some((false, false))),
        ("gpt-4o (EU)", Some((true, false))),
        ("chat-default", Some((false, false))),
        ("My Config", Some((true, false))),
        ("summaries", Some((false, false))),
        // Discovered and named by nothing set up: left out.
        ("ollama-local", None),
        ("gpt-4o-mini", None),
        ("llama3:8b", None),
        ("adhoc", None),
        ("triage", None),
        ("Summarize Docs", None),
    ] {
        assert_eq!(marks(identifier), expected, "{identifier} in\n{text}");
    }
    let discovered_model = exported
        .models
        .iter()
        .find(|m| m.identifier == "gpt-4o (EU)")
        .unwrap();
    assert_eq!(
        (
            &discovered_model.input_price,
            &discovered_model.output_price
        ),
        (&None, &None),
        "a discovered model has no price"
    );

    // Into an empty ledger: everything is created, and exports the same.
    let copy = db.open("UTC").await;
    let applied = copy
        .apply_catalog(&CatalogFile::parse(&text).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (applied.created, applied.updated, applied.unchanged),
        (7, 0, 0)
    );
    assert_eq!(copy.export_catalog().await.unwrap(), exported);
    let again = copy.apply_catalog(&exported).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 7));
    let discovered = |identifier: &str| {
        let copy = &copy;
        let identifier = identifier.to_string();
        async move {
            let providers = copy
                .providers()
                .await
                .unwrap()
                .into_iter()
                .map(|l| (l.item.identifier, l.item.discovered));
            let models = copy
                .models()
                .await
                .unwrap()
                .into_iter()
                .map(|l| (l.item.identifier, l.item.discovered));
            providers
                .chain(models)
                .find(|(id, _)| *id == identifier)
                .map(|(_, d)| d)
        }
    };
    assert_eq!(discovered("openai").await, Some(true));
    assert_eq!(discovered("gpt-4o (EU)").await, Some(true));
    assert_eq!(discovered("Azure OpenAI").await, Some(false));

    // A discovered entry never changes a stored record: set up there, the
    // provider stays set up when the export is applied again.
    let openai =
        "[[provider]]\nidentifier = \"openai\"\nname = \"OpenAI\"\nadapter_type = \"openai\"\n";
    copy.apply_catalog(&CatalogFile::parse(openai).unwrap())
        .await
        .unwrap();
    let third = copy.apply_catalog(&exported).await.unwrap();
    assert_eq!((third.created, third.updated, third.unchanged), (0, 0, 7));
    assert_eq!(discovered("openai").await, Some(false));

    // Back into the ledger it came from: nothing changes.
    let home = source.apply_catalog(&exported).await.unwrap();
    assert_eq!((home.created, home.updated, home.unchanged), (0, 0, 7));
}

/// Two administrators demoting or deactivating each other at the same
/// moment: one change lands, the other is refused naming its field, and an
/// active administrator always remains.
async fn the_last_active_administrator_is_kept_under_concurrent_changes(db: &TestDb) {
    let app = std::sync::Arc::new(db.open("UTC").await);
    for name in ["ada", "bob"] {
        app.create_user(name, None, Role::Admin, Some("a-long-password"))
            .await
            .unwrap();
    }
    let active_admins = |users: Vec<llm_ledger::domain::User>| {
        users
            .into_iter()
            .filter(|u| u.role == Role::Admin && u.active)
            .count()
    };
    for round in 0..30 {
        let (a, b) = (app.clone(), app.clone());
        let demote = tokio::spawn(async move { a.set_role("ada", Role::Member).await });
        let deactivate = tokio::spawn(async move {
            if round % 2 == 0 {
                b.set_profile("bob", "bob", false).await
            } else {
                b.set_role("bob", Role::Member).await
            }
        });
        let outcomes = [demote.await.unwrap(), deactivate.await.unwrap()];
        assert_eq!(
            outcomes.iter().filter(|o| o.is_ok()).count(),
            1,
            "{outcomes:?}"
        );
        for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
            let text = refused.to_string();
            assert!(text.contains("no active administrator"), "{text}");
        }
        assert_eq!(active_admins(app.users().await.unwrap()), 1);
        app.set_role("ada", Role::Admin).await.unwrap();
        app.set_role("bob", Role::Admin).await.unwrap();
        app.set_profile("bob", "bob", true).await.unwrap();
    }
    // Promoting, and changing a member, need no other administrator.
    app.create_user("cy", None, Role::Member, None)
        .await
        .unwrap();
    app.set_profile("cy", "Cy", false).await.unwrap();
    app.set_role("cy", Role::Member).await.unwrap();
}

async fn users_tokens_and_budgets(db: &TestDb) {
    use llm_ledger::domain::{Budget, Role, Scope};
    let app = db.open("UTC").await;
    assert!(app.ensure_initial_admin().await.unwrap().is_some());
    assert!(app.ensure_initial_admin().await.unwrap().is_none());
    app.create_user("anna", Some("Anna"), Role::Member, Some("hunter2hunter2"))
        .await
        .unwrap();
    assert!(matches!(
        app.create_user("anna", None, Role::Member, None).await,
        Err(AppError::Conflict(_))
    ));
    assert!(
        app.verify_login("anna", "hunter2hunter2")
            .await
            .unwrap()
            .is_some()
    );
    assert!(app.verify_login("anna", "wrong").await.unwrap().is_none());
    app.set_password("anna", "another-password").await.unwrap();
    assert!(
        app.verify_login("anna", "another-password")
            .await
            .unwrap()
            .is_some()
    );
    app.set_role("anna", Role::Admin).await.unwrap();
    assert!(matches!(
        app.set_role("nobody", Role::Admin).await,
        Err(AppError::NotFound(_))
    ));
    // An administrator signs in with a password: one without could not,
    // and would stand in for the last one who can.
    app.create_user("nopw", None, Role::Member, None)
        .await
        .unwrap();
    let refused = app.set_role("nopw", Role::Admin).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with("role: an administrator needs a password"),
        "{refused}"
    );
    let refused = app
        .create_user("nopw-admin", None, Role::Admin, None)
        .await
        .unwrap_err();
    assert!(refused.to_string().starts_with("password:"), "{refused}");

    let budget = Budget {
        max_cost_per_month: Money::parse_usd("25").unwrap(),
        max_requests_per_day: 100,
        enforced: true,
        ..Budget::default()
    };
    app.set_budget("anna", &budget).await.unwrap();
    assert_eq!(app.budget("anna").await.unwrap(), Some(budget));
    assert!(matches!(
        app.set_budget("nobody", &budget).await,
        Err(AppError::NotFound(_))
    ));

    let (token, secret) = app.create_token("ci", Scope::Ingest).await.unwrap();
    assert_eq!(
        app.authenticate(&secret).await.unwrap().map(|t| t.id),
        Some(token.id)
    );
    assert!(app.authenticate("llmledger_wrong").await.unwrap().is_none());
    app.revoke_token("ci").await.unwrap();
    assert!(app.authenticate(&secret).await.unwrap().is_none());
    assert!(app.tokens().await.unwrap()[0].revoked);
}

both_stores!(
    cost_is_exact_and_captured_at_call_time,
    cached_tokens_are_priced_at_their_own_rate,
    specialized_services_cost_zero_unless_reported,
    sub_calls_add_tokens_and_cost_but_no_request,
    unknown_names_are_discovered_and_usage_kept,
    a_model_is_matched_by_identifier_then_vendor_id,
    an_ambiguous_vendor_model_id_is_refused,
    a_batch_with_one_bad_record_stores_nothing,
    idempotency_keys_count_a_record_once,
    a_key_reused_for_a_different_record_is_refused,
    idempotency_keys_stay_known_in_volume_and_across_handles,
    concurrent_records_and_catalog_writes_all_land,
    expired_idempotency_keys_are_forgotten,
    days_follow_the_ledgers_time_zone,
    the_catalog_file_applies_idempotently_and_round_trips,
    an_export_carries_what_usage_registered_to_an_empty_ledger,
    users_tokens_and_budgets,
    the_last_active_administrator_is_kept_under_concurrent_changes,
);
