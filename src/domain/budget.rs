//! Budget checks (SPEC §4): pure decisions over usage already read.

use serde::Serialize;

use super::analytics::Totals;
use super::catalog::{Budget, DailyLimits};
use super::money::{Money, format_quantity};

/// A ceiling that can deny a call; the stable key is its JSON name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    RequestsPerDay,
    TokensPerDay,
    CostPerDay,
    RequestsPerMonth,
    TokensPerMonth,
    CostPerMonth,
    ConfigRequestsPerDay,
    ConfigTokensPerDay,
    ConfigCostPerDay,
}

/// What a call is expected to use, beside its one request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Planned {
    pub cost: Money,
    pub tokens: i64,
}

/// Everything a decision needs, read in one place (holds included).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BudgetState {
    #[serde(skip)]
    pub budget: Option<Budget>,
    pub day: Totals,
    pub month: Totals,
    /// The configuration's identifier, limits and usage today (all users).
    #[serde(skip)]
    pub configuration: Option<(String, DailyLimits)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_day: Option<Totals>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub exceeded_limit: Option<Limit>,
    pub reason: String,
}

fn count_over(used: i64, add: i64, max: i64) -> bool {
    max > 0 && used + add > max
}

fn cost_over(used: Money, add: Money, max: Money) -> bool {
    max > Money::ZERO && used + add > max
}

/// The first ceiling the call would pass: the user's day, then the user's
/// month, then the configuration's day. One request and the planned amounts
/// are added first; only a sum above a ceiling denies.
pub fn decide(state: &BudgetState, planned: Planned) -> Decision {
    let enforced = state.budget.is_some_and(|b| b.enforced);
    let mut checks: Vec<(Limit, bool, String)> = Vec::new();
    if let Some(b) = state.budget.filter(|b| b.enforced) {
        let (d, m) = (&state.day, &state.month);
        checks.extend([
            (
                Limit::RequestsPerDay,
                count_over(d.requests, 1, b.max_requests_per_day),
                format!(
                    "{} per day",
                    format_quantity(b.max_requests_per_day, "request")
                ),
            ),
            (
                Limit::TokensPerDay,
                count_over(d.tokens, planned.tokens, b.max_tokens_per_day),
                format!("{} per day", format_quantity(b.max_tokens_per_day, "token")),
            ),
            (
                Limit::CostPerDay,
                cost_over(d.cost, planned.cost, b.max_cost_per_day),
                format!("${} per day", b.max_cost_per_day),
            ),
            (
                Limit::RequestsPerMonth,
                count_over(m.requests, 1, b.max_requests_per_month),
                format!(
                    "{} per month",
                    format_quantity(b.max_requests_per_month, "request")
                ),
            ),
            (
                Limit::TokensPerMonth,
                count_over(m.tokens, planned.tokens, b.max_tokens_per_month),
                format!(
                    "{} per month",
                    format_quantity(b.max_tokens_per_month, "token")
                ),
            ),
            (
                Limit::CostPerMonth,
                cost_over(m.cost, planned.cost, b.max_cost_per_month),
                format!("${} per month", b.max_cost_per_month),
            ),
        ]);
    }
    if let (Some((name, l)), Some(c)) = (&state.configuration, &state.configuration_day) {
        checks.extend([
            (
                Limit::ConfigRequestsPerDay,
                count_over(c.requests, 1, l.max_requests_per_day),
                format!(
                    "{} per day of the configuration {name:?}",
                    format_quantity(l.max_requests_per_day, "request")
                ),
            ),
            (
                Limit::ConfigTokensPerDay,
                count_over(c.tokens, planned.tokens, l.max_tokens_per_day),
                format!(
                    "{} per day of the configuration {name:?}",
                    format_quantity(l.max_tokens_per_day, "token")
                ),
            ),
            (
                Limit::ConfigCostPerDay,
                cost_over(c.cost, planned.cost, l.max_cost_per_day),
                format!(
                    "${} per day of the configuration {name:?}",
                    l.max_cost_per_day
                ),
            ),
        ]);
    }
    match checks.into_iter().find(|(_, over, _)| *over) {
        Some((limit, _, ceiling)) => Decision {
            allowed: false,
            exceeded_limit: Some(limit),
            reason: format!("This call would go over the limit of {ceiling}."),
        },
        None => Decision {
            allowed: true,
            exceeded_limit: None,
            reason: if enforced || state.configuration.is_some() {
                "Within budget.".into()
            } else {
                "No budget is enforced for this user.".into()
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(s: &str) -> Money {
        Money::parse_usd(s).unwrap()
    }

    fn totals(requests: i64, tokens: i64, cost: &str) -> Totals {
        Totals {
            requests,
            tokens,
            cost: usd(cost),
        }
    }

    fn state(budget: Budget, day: Totals, month: Totals) -> BudgetState {
        BudgetState {
            budget: Some(budget),
            day,
            month,
            ..BudgetState::default()
        }
    }

    fn limit(d: &Decision) -> Option<Limit> {
        assert_eq!(d.allowed, d.exceeded_limit.is_none());
        d.exceeded_limit
    }

    const NONE: Planned = Planned {
        cost: Money::ZERO,
        tokens: 0,
    };

    #[test]
    fn no_budget_not_enforced_or_all_zero_allows() {
        let busy = totals(1_000_000, 1_000_000_000, "1000000");
        let none = BudgetState {
            day: busy,
            month: busy,
            ..BudgetState::default()
        };
        assert!(decide(&none, NONE).allowed);
        let tight = Budget {
            max_requests_per_day: 1,
            enforced: false,
            ..Budget::default()
        };
        let unenforced = decide(&state(tight, busy, busy), NONE);
        assert!(unenforced.allowed);
        assert_eq!(unenforced.reason, "No budget is enforced for this user.");
        let enforced = Budget {
            enforced: true,
            ..tight
        };
        let fresh = totals(0, 0, "0");
        assert_eq!(
            decide(&state(enforced, fresh, fresh), NONE).reason,
            "Within budget."
        );
        assert_eq!(
            decide(&state(enforced, totals(1, 0, "0"), fresh), NONE).reason,
            "This call would go over the limit of 1 request per day."
        );
        let tokens = Budget {
            max_tokens_per_month: 10_000,
            enforced: true,
            ..Budget::default()
        };
        let planned = Planned {
            cost: Money::ZERO,
            tokens: 10_001,
        };
        assert_eq!(
            decide(&state(tokens, fresh, fresh), planned).reason,
            "This call would go over the limit of 10,000 tokens per month."
        );
        let zero = Budget {
            enforced: true,
            ..Budget::default()
        };
        assert!(decide(&state(zero, busy, busy), NONE).allowed);
    }

    #[test]
    fn each_ceiling_denies_with_its_key() {
        let base = Budget {
            enforced: true,
            ..Budget::default()
        };
        let cases = [
            (
                Budget {
                    max_requests_per_day: 10,
                    ..base
                },
                totals(10, 0, "0"),
                totals(10, 0, "0"),
                Limit::RequestsPerDay,
            ),
            (
                Budget {
                    max_tokens_per_day: 100,
                    ..base
                },
                totals(1, 90, "0"),
                totals(1, 90, "0"),
                Limit::TokensPerDay,
            ),
            (
                Budget {
                    max_cost_per_day: usd("1"),
                    ..base
                },
                totals(1, 0, "0.95"),
                totals(1, 0, "0.95"),
                Limit::CostPerDay,
            ),
            (
                Budget {
                    max_requests_per_month: 10,
                    ..base
                },
                totals(0, 0, "0"),
                totals(10, 0, "0"),
                Limit::RequestsPerMonth,
            ),
            (
                Budget {
                    max_tokens_per_month: 100,
                    ..base
                },
                totals(0, 0, "0"),
                totals(1, 90, "0"),
                Limit::TokensPerMonth,
            ),
            (
                Budget {
                    max_cost_per_month: usd("25"),
                    ..base
                },
                totals(0, 0, "0"),
                totals(1, 0, "24.95"),
                Limit::CostPerMonth,
            ),
        ];
        let planned = Planned {
            cost: usd("0.10"),
            tokens: 20,
        };
        for (budget, day, month, expected) in cases {
            let d = decide(&state(budget, day, month), planned);
            assert_eq!(limit(&d), Some(expected));
            assert!(d.reason.contains("limit"), "{}", d.reason);
        }
    }

    #[test]
    fn exactly_at_the_limit_after_adding_is_allowed() {
        let b = Budget {
            max_requests_per_day: 10,
            max_tokens_per_day: 100,
            max_cost_per_day: usd("1"),
            max_cost_per_month: usd("2"),
            enforced: true,
            ..Budget::default()
        };
        let planned = Planned {
            cost: usd("0.25"),
            tokens: 10,
        };
        let d = decide(
            &state(b, totals(9, 90, "0.75"), totals(9, 90, "1.75")),
            planned,
        );
        assert!(d.allowed, "{d:?}");
        let one_more = Planned {
            cost: usd("0.25"),
            tokens: 11,
        };
        assert_eq!(
            limit(&decide(
                &state(b, totals(9, 90, "0.75"), totals(9, 90, "1.75")),
                one_more
            )),
            Some(Limit::TokensPerDay)
        );
    }

    #[test]
    fn the_day_is_checked_before_the_month() {
        let b = Budget {
            max_requests_per_day: 5,
            max_requests_per_month: 5,
            enforced: true,
            ..Budget::default()
        };
        let d = decide(&state(b, totals(5, 0, "0"), totals(50, 0, "0")), NONE);
        assert_eq!(limit(&d), Some(Limit::RequestsPerDay));
        let d = decide(&state(b, totals(1, 0, "0"), totals(50, 0, "0")), NONE);
        assert_eq!(limit(&d), Some(Limit::RequestsPerMonth));
    }

    #[test]
    fn configuration_limits_apply_across_users() {
        let limits = DailyLimits {
            max_requests_per_day: 3,
            max_tokens_per_day: 0,
            max_cost_per_day: usd("5"),
        };
        let mut s = BudgetState {
            configuration: Some(("chat".into(), limits)),
            configuration_day: Some(totals(3, 0, "0")),
            ..BudgetState::default()
        };
        let d = decide(&s, NONE);
        assert_eq!(limit(&d), Some(Limit::ConfigRequestsPerDay));
        assert!(d.reason.contains("\"chat\""));
        s.configuration_day = Some(totals(1, 0, "4.99"));
        assert_eq!(
            limit(&decide(
                &s,
                Planned {
                    cost: usd("0.02"),
                    tokens: 0
                }
            )),
            Some(Limit::ConfigCostPerDay)
        );
        assert!(
            decide(
                &s,
                Planned {
                    cost: usd("0.01"),
                    tokens: 0
                }
            )
            .allowed
        );
        assert_eq!(
            serde_json::to_string(&Limit::ConfigCostPerDay).unwrap(),
            "\"config_cost_per_day\""
        );
    }
}
