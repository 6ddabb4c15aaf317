//! `llm-ledger report`: the analytics of SPEC §5 in the terminal.

use anyhow::Result;
use clap::{Args, ValueEnum};

use std::fmt::Write;

use super::{emit, table};
use crate::app::App;
use crate::domain::Range;
use crate::domain::analytics::{Analytics, Breakdown};
use crate::domain::money::{format_count, format_percent, format_quantity};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RangeArg {
    #[value(name = "7d")]
    Days7,
    #[value(name = "30d")]
    Days30,
    #[value(name = "90d")]
    Days90,
    Month,
}

impl From<RangeArg> for Range {
    fn from(r: RangeArg) -> Range {
        match r {
            RangeArg::Days7 => Range::Days7,
            RangeArg::Days30 => Range::Days30,
            RangeArg::Days90 => Range::Days90,
            RangeArg::Month => Range::Month,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Aligned tables: KPIs, breakdowns, users with budget use.
    Table,
    /// The same JSON as GET /api/v1/analytics.
    Json,
    /// One row per day: date, cost, requests, tokens.
    Csv,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The window: today and the 6 preceding days, the last 30 or 90 days, or this month.
    #[arg(long, value_enum, default_value = "30d")]
    pub range: RangeArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(app: &App, args: ReportArgs) -> Result<()> {
    let report = app.analytics(args.range.into()).await?;
    let text = match args.format {
        Format::Json => serde_json::to_string(&report)? + "\n",
        Format::Csv => {
            let mut text = String::from("date,cost_usd,requests,tokens\n");
            for p in &report.trend {
                let _ = writeln!(
                    text,
                    "{},{},{},{}",
                    p.date, p.cost_usd, p.requests, p.tokens
                );
            }
            text
        }
        Format::Table => table_report(&report),
    };
    emit(&text)
}

fn int(n: impl TryInto<i64>) -> String {
    format_count(n.try_into().unwrap_or(i64::MAX))
}

fn breakdown(title: &str, entries: &[Breakdown]) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.label.clone(),
                e.cost_usd.display_estimate(),
                int(e.requests),
                int(e.tokens),
            ]
        })
        .collect();
    format!("\n{}", table(&[title, "COST", "REQUESTS", "TOKENS"], &rows))
}

fn table_report(r: &Analytics) -> String {
    let mut text = format!("{} to {} ({}, {})\n\n", r.from, r.to, r.range, r.timezone);
    let k = &r.kpis;
    text += &table(
        &["COST", "REQUESTS", "TOKENS", "PROVIDERS", "MODELS"],
        &[vec![
            k.cost_usd.display_estimate(),
            int(k.requests),
            int(k.tokens),
            int(k.providers),
            int(k.models),
        ]],
    );
    if r.unpriced_requests > 0 {
        let _ = writeln!(
            text,
            "{} ran on models without a price (unless a record named its own cost, it counts as $0); \
             set their prices to count their cost.",
            format_quantity(r.unpriced_requests, "request")
        );
    }
    text += &breakdown("PROVIDER", &r.by_provider);
    text += &breakdown("MODEL", &r.by_model);
    text += &breakdown("SERVICE", &r.by_service);
    text += &breakdown("SOURCE", &r.by_source);
    let rows: Vec<Vec<String>> = r
        .users
        .iter()
        .map(|u| {
            let budget = match &u.budget {
                None => "no budget set".to_string(),
                Some(b) => format!(
                    "{} of {} ({}%)",
                    b.month_cost_usd.display_estimate(),
                    b.limit_cost_usd.display_estimate(),
                    format_percent(b.percent)
                ),
            };
            vec![
                u.label.clone(),
                u.cost_usd.display_estimate(),
                int(u.requests),
                int(u.tokens),
                budget,
            ]
        })
        .collect();
    text += "\n";
    text += &table(
        &[
            "USER",
            "COST",
            "REQUESTS",
            "TOKENS",
            "MONTHLY BUDGET (THIS MONTH)",
        ],
        &rows,
    );
    text += "\nCosts are estimates from the configured pricing, captured at call time; translation, speech and image calls cost 0 unless their cost is reported.\n";
    text
}
