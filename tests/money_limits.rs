//! Large amounts on both stores: a stored row holds 64 bits of picodollars
//! (about $9.2 million); a cost that would pass that is refused with the
//! field named, stores nothing and harms no other caller, and sums over a
//! window past 64 bits are exact.

mod common;

use chrono::{Duration, Utc};
use llm_ledger::app::AppError;
use llm_ledger::domain::{FieldError, Money, Range, RejectReason, ServiceType, UsageRecord};

use common::{TestDb, totals, with_catalog};

fn costing(usd: &str, user: &str) -> UsageRecord {
    let mut r = UsageRecord::new(ServiceType::Chat);
    r.model = Some("gpt-4o".into());
    r.user = Some(user.into());
    r.counts.prompt_tokens = 1;
    r.cost_usd = Some(Money::parse_usd(usd).unwrap());
    r
}

/// The one field error of a refusal for a cost past what a row holds.
fn refusal(result: Result<impl std::fmt::Debug, AppError>) -> FieldError {
    match result {
        Err(AppError::Rejected(RejectReason::Invalid(errors))) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(
                errors[0].message.contains("9223372.036854775807"),
                "{errors:?}"
            );
            errors[0].clone()
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn costs_past_what_a_row_holds_are_refused(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    // Ten records of about $1M each are valid one by one; together they pass what
    // the day's rows hold.
    // The costliest record is named, the first of equals.
    let mut batch = vec![costing("999999", "anna"); 10];
    batch[3] = costing("1000000", "anna");
    batch[6] = costing("1000000", "anna");
    let refused = refusal(app.record(batch).await);
    assert_eq!((refused.index, refused.field.as_str()), (3, "cost_usd"));
    assert_eq!(totals(&app).await, (0, 0, "0.000000".into()));

    app.record(vec![costing("1000000", "anna"); 5])
        .await
        .unwrap();
    // The stored day total plus this batch would pass it: refused, while
    // callers committing at the same time are recorded.
    let app = std::sync::Arc::new(app);
    let bad = {
        let app = app.clone();
        tokio::spawn(async move { app.record(vec![costing("1000000", "ben"); 5]).await })
    };
    let good: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.record(vec![costing("0.5", "chloe")]).await })
        })
        .collect();
    assert_eq!(refusal(bad.await.unwrap()).field, "cost_usd");
    for g in good {
        assert_eq!(g.await.unwrap().unwrap().recorded, 1);
    }
    assert_eq!(totals(&app).await, (25, 25, "5000010.000000".into()));
    let a = app.analytics(Range::Days7).await.unwrap();
    assert_eq!(a.kpis.cost_usd, Money::parse_usd("5000010").unwrap());
}

async fn sums_past_64_bits_are_exact(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    // $8,999,999 and a picodollar on each of three days: every row fits, every sum
    // over them does not.
    // One user a day: a user's week is one stored row too.
    for (days_ago, user) in [(0, "anna"), (1, "ben"), (2, "chloe")] {
        let mut batch = vec![costing("1000000", user); 8];
        batch.push(costing("999999.000000000001", user));
        for r in &mut batch {
            r.occurred_at = Some(Utc::now() - Duration::days(days_ago));
        }
        app.record(batch).await.unwrap();
    }
    let day = Money::parse_usd("8999999.000000000001").unwrap();
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
    costs_past_what_a_row_holds_are_refused,
    sums_past_64_bits_are_exact
);
