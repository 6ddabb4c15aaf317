//! Large amounts on both stores: a stored total keeps whole dollars and
//! picodollars in two columns, so totals far past 64 bits of picodollars
//! (about $9.2 million) are stored exactly, and sums over a window are exact.

mod common;

use chrono::{Duration, Utc};
use llm_ledger::domain::{Money, Range, ServiceType, UsageRecord};

use common::{TestDb, totals, with_catalog};

fn costing(usd: &str, user: &str) -> UsageRecord {
    let mut r = UsageRecord::new(ServiceType::Chat);
    r.model = Some("gpt-4o".into());
    r.user = Some(user.into());
    r.counts.prompt_tokens = 1;
    r.cost_usd = Some(Money::parse_usd(usd).unwrap());
    r
}

fn usd(text: &str) -> Money {
    Money::parse_usd(text).unwrap()
}

/// Whole dollars, past what `parse_usd` (64 bits of picodollars) takes.
fn dollars(n: i64) -> Money {
    Money::from_parts(n, 0)
}

async fn totals_past_64_bits_of_picodollars_are_stored(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    // Ten records of about $1M each, in one batch: one day's rows pass
    // $9.2M (before migration 10 this was refused).
    let mut batch = vec![costing("999999", "anna"); 10];
    batch[3] = costing("1000000", "anna");
    batch[6] = costing("1000000", "anna");
    assert_eq!(app.record(batch).await.unwrap().recorded, 10);

    // Then batches that add to the same rows while other callers commit.
    let app = std::sync::Arc::new(app);
    let big: Vec<_> = ["anna", "ben"]
        .into_iter()
        .map(|user| {
            let app = app.clone();
            tokio::spawn(async move { app.record(vec![costing("1000000", user); 5]).await })
        })
        .collect();
    let small: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.record(vec![costing("0.5", "chloe")]).await })
        })
        .collect();
    for task in big.into_iter().chain(small) {
        assert!(task.await.unwrap().unwrap().recorded >= 1);
    }
    // Picodollars carry into dollars within a stored row, across commits.
    app.record(vec![costing("999999.999999999999", "dan")])
        .await
        .unwrap();
    app.record(vec![costing("0.000000000001", "dan")])
        .await
        .unwrap();

    let all = dollars(21_000_002);
    assert_eq!(totals(&app).await, (42, 42, "21000002.000000".into()));
    let a = app.analytics(Range::Days7).await.unwrap();
    assert_eq!(a.kpis.cost_usd, all);
    let trend: Money = a.trend.iter().map(|p| p.cost_usd).sum();
    assert_eq!(trend, all);
    let user = |name: &str| {
        a.users
            .iter()
            .find(|u| u.user.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} in {:?}", a.users))
            .cost_usd
    };
    assert_eq!(user("anna"), dollars(14_999_992));
    assert_eq!(user("ben"), dollars(5_000_000));
    assert_eq!(user("chloe"), usd("10"));
    assert_eq!(user("dan"), usd("1000000"));
}

async fn sums_past_64_bits_are_exact(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    // $8,999,999 and a picodollar on each of three days: every sum over them
    // passes 64 bits of picodollars.
    for (days_ago, user) in [(0, "anna"), (1, "ben"), (2, "chloe")] {
        let mut batch = vec![costing("1000000", user); 8];
        batch.push(costing("999999.000000000001", user));
        for r in &mut batch {
            r.occurred_at = Some(Utc::now() - Duration::days(days_ago));
        }
        app.record(batch).await.unwrap();
    }
    let day = usd("8999999.000000000001");
    let three_days = day + day + day;
    let a = app.analytics(Range::Days7).await.unwrap();
    assert_eq!(a.kpis.cost_usd.to_string(), "26999997.000000000003");
    assert_eq!(a.kpis.cost_usd, three_days);
    assert_eq!(a.by_model[0].cost_usd, three_days);
    let trend: Money = a.trend.iter().map(|p| p.cost_usd).sum();
    assert_eq!(trend, three_days);
    assert_eq!(totals(&app).await.2, "26999997.000000000003");
}

both_stores!(
    totals_past_64_bits_of_picodollars_are_stored,
    sums_past_64_bits_are_exact
);
