//! The analytics report (SPEC §5) as plain data; serialised, it is exactly
//! the JSON of `GET /api/v1/analytics`.

use serde::Serialize;

use super::day::Day;
use super::money::Money;

/// Requests, tokens (prompt + completion) and cost over some days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub requests: i64,
    pub tokens: i64,
    #[serde(rename = "cost_usd")]
    pub cost: Money,
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.requests += other.requests;
        self.tokens += other.tokens;
        self.cost += other.cost;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Kpis {
    pub cost_usd: Money,
    pub requests: i64,
    pub tokens: i64,
    pub providers: usize,
    pub models: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrendPoint {
    pub date: Day,
    pub cost_usd: Money,
    pub requests: i64,
    pub tokens: i64,
}

/// One entry of a breakdown: a provider, model, service or source.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Breakdown {
    pub key: String,
    pub label: String,
    pub cost_usd: Money,
    pub requests: i64,
    pub tokens: i64,
}

/// This calendar month's cost against the monthly cost ceiling.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthlyBudget {
    pub month_cost_usd: Money,
    pub limit_cost_usd: Money,
    /// Real percentage, one decimal; may exceed 100.
    pub percent: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UserRow {
    /// The username; `null` for the system row.
    pub user: Option<String>,
    pub label: String,
    pub cost_usd: Money,
    pub requests: i64,
    pub tokens: i64,
    /// `null` without an enforced monthly cost ceiling.
    pub budget: Option<MonthlyBudget>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analytics {
    pub range: &'static str,
    pub from: Day,
    pub to: Day,
    pub timezone: String,
    pub kpis: Kpis,
    pub trend: Vec<TrendPoint>,
    pub by_provider: Vec<Breakdown>,
    pub by_model: Vec<Breakdown>,
    pub by_service: Vec<Breakdown>,
    pub by_source: Vec<Breakdown>,
    pub users: Vec<UserRow>,
    pub unpriced_requests: i64,
}

/// Orders a breakdown by cost, then requests, descending; then by key so
/// equal entries always come out the same.
pub fn sort_breakdown(entries: &mut [Breakdown]) {
    entries.sort_by(|a, b| {
        (b.cost_usd, b.requests)
            .cmp(&(a.cost_usd, a.requests))
            .then_with(|| a.key.cmp(&b.key))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, cost: i64, requests: i64) -> Breakdown {
        Breakdown {
            key: key.into(),
            label: key.into(),
            cost_usd: Money::from_picos(cost),
            requests,
            tokens: 0,
        }
    }

    #[test]
    fn breakdowns_order_by_cost_then_requests() {
        let mut v = vec![
            entry("a", 1, 5),
            entry("b", 2, 1),
            entry("c", 1, 9),
            entry("d", 1, 9),
        ];
        sort_breakdown(&mut v);
        let keys: Vec<&str> = v.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["b", "c", "d", "a"]);
    }

    #[test]
    fn totals_serialise_money_as_strings() {
        let t = Totals {
            requests: 2,
            tokens: 10,
            cost: Money::parse_usd("5.31").unwrap(),
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"requests":2,"tokens":10,"cost_usd":"5.310000"}"#
        );
    }
}
