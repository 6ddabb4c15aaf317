//! `/analytics?range=`: the dashboard.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::catalog::urlencode;
use super::charts::{self, Chart};
use super::session::Admin;
use super::view::{Nav, PageResult, render};
use crate::app::App;
use crate::domain::Range;
use crate::domain::analytics::Breakdown;
use crate::domain::money::{format_count, format_percent, format_quantity};

/// Users shown before "show all".
const TOP_USERS: usize = 50;
/// Bars in a breakdown chart.
const TOP_BARS: usize = 10;

pub struct RangeLink {
    pub href: String,
    pub label: &'static str,
    pub active: bool,
}

pub struct Kpi {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
}

/// One line of a table: a label (an entry, or a date) and its totals.
pub struct Row {
    pub label: String,
    pub cost: String,
    pub requests: String,
    pub tokens: String,
}

/// A breakdown: its chart of the top entries, and every entry as a table
/// (the chart alone would hide all but `TOP_BARS`).
pub struct BreakdownCard {
    pub title: &'static str,
    /// "providers", "models"…: the entries, in the table's summary.
    pub noun: &'static str,
    pub chart: Chart,
    pub shown: usize,
    pub rows: Vec<Row>,
}

impl BreakdownCard {
    fn new(title: &'static str, noun: &'static str, entries: &[Breakdown]) -> BreakdownCard {
        BreakdownCard {
            title,
            noun,
            chart: charts::breakdown(entries, TOP_BARS),
            shown: entries.len().min(TOP_BARS),
            rows: entries.iter().map(row).collect(),
        }
    }
}

pub struct BudgetView {
    /// Bar width and aria-valuenow: the percentage capped at 100.
    pub capped: String,
    /// The real percentage, e.g. "112.5 %".
    pub percent: String,
    pub spent: String,
    pub limit: String,
    pub over: bool,
}

pub struct UserView {
    pub label: String,
    /// The user's page; None for the system row.
    pub href: Option<String>,
    pub system: bool,
    pub cost: String,
    pub requests: String,
    pub tokens: String,
    pub budget: Option<BudgetView>,
}

#[derive(Template)]
#[template(path = "analytics.html")]
pub struct AnalyticsPage {
    pub nav: Option<Nav>,
    pub ranges: Vec<RangeLink>,
    pub from: String,
    pub to: String,
    pub timezone: String,
    pub empty: bool,
    pub kpis: Vec<Kpi>,
    pub unpriced: i64,
    pub unpriced_text: String,
    pub trend: Chart,
    /// The trend as text: one row per day.
    pub days: Vec<Row>,
    pub breakdowns: Vec<BreakdownCard>,
    pub sources: Vec<Row>,
    pub users: Vec<UserView>,
    /// How many users the table shows, with a link to the other view.
    pub users_note: Option<UsersNote>,
}

pub struct UsersNote {
    pub text: String,
    pub link: &'static str,
    pub href: String,
}

/// The dashboard for `range`, with every user or the top ones.
fn href(range: Range, all_users: bool) -> String {
    let users = if all_users { "&users=all" } else { "" };
    format!("/analytics?range={}{users}", range.as_str())
}

fn row(b: &Breakdown) -> Row {
    Row {
        label: b.label.clone(),
        cost: b.cost_usd.display_estimate(),
        requests: format_count(b.requests),
        tokens: format_count(b.tokens),
    }
}

#[tracing::instrument(skip_all)]
pub async fn analytics(
    State(app): State<Arc<App>>,
    admin: Admin,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let range = Range::parse_or_default(query.get("range").map(String::as_str));
    let all_users = query.get("users").is_some_and(|v| v == "all");
    let a = app.analytics(range).await?;
    let total_users = a.users.len();
    let users: Vec<UserView> = a
        .users
        .iter()
        .take(if all_users { usize::MAX } else { TOP_USERS })
        .map(|u| UserView {
            label: u.label.clone(),
            href: u
                .user
                .as_deref()
                .map(|name| format!("/users/{}", urlencode(name))),
            system: u.user.is_none(),
            cost: u.cost_usd.display_estimate(),
            requests: format_count(u.requests),
            tokens: format_count(u.tokens),
            budget: u.budget.as_ref().map(|b| BudgetView {
                capped: format!("{:.0}", b.percent.min(100.0)),
                percent: format!("{} %", format_percent(b.percent)),
                spent: b.month_cost_usd.display_estimate(),
                limit: b.limit_cost_usd.display_estimate(),
                over: b.percent > 100.0,
            }),
        })
        .collect();
    let page = AnalyticsPage {
        nav: admin.nav("/analytics"),
        ranges: Range::ALL
            .into_iter()
            .map(|r| RangeLink {
                href: href(r, all_users),
                label: r.label(),
                active: r == range,
            })
            .collect(),
        from: a.from.to_string(),
        to: a.to.to_string(),
        timezone: a.timezone.clone(),
        empty: a.kpis.requests == 0 && a.kpis.tokens == 0 && !app.has_usage().await?,
        kpis: vec![
            Kpi {
                key: "cost",
                label: "Estimated cost",
                value: a.kpis.cost_usd.display_estimate(),
            },
            Kpi {
                key: "requests",
                label: "Requests",
                value: format_count(a.kpis.requests),
            },
            Kpi {
                key: "tokens",
                label: "Tokens",
                value: format_count(a.kpis.tokens),
            },
            Kpi {
                key: "providers",
                label: "Providers",
                value: format_count(a.kpis.providers as i64),
            },
            Kpi {
                key: "models",
                label: "Models",
                value: format_count(a.kpis.models as i64),
            },
        ],
        unpriced: a.unpriced_requests,
        unpriced_text: format_quantity(a.unpriced_requests, "request"),
        trend: charts::trend(&a.trend),
        days: a
            .trend
            .iter()
            .map(|p| Row {
                label: p.date.to_string(),
                cost: p.cost_usd.display_estimate(),
                requests: format_count(p.requests),
                tokens: format_count(p.tokens),
            })
            .collect(),
        breakdowns: vec![
            BreakdownCard::new("Cost by provider", "providers", &a.by_provider),
            BreakdownCard::new("Cost by model", "models", &a.by_model),
            BreakdownCard::new("Cost by service", "services", &a.by_service),
            BreakdownCard::new("Cost by source", "sources", &a.by_source),
        ],
        sources: a.by_source.iter().map(row).collect(),
        users_note: (total_users > TOP_USERS).then(|| {
            let total = format_count(total_users as i64);
            if all_users {
                UsersNote {
                    text: format!("Showing all {total} users."),
                    link: "Show the top 50",
                    href: href(range, false),
                }
            } else {
                UsersNote {
                    text: format!("Showing the top {TOP_USERS} of {total} users by cost."),
                    link: "Show all users",
                    href: href(range, true),
                }
            }
        }),
        users,
    };
    Ok(render(StatusCode::OK, &page))
}
