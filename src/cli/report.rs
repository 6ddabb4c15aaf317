//! `llm-ledger report`: the analytics of SPEC §5 in the terminal.

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::print_table;
use crate::app::App;
use crate::domain::Range;
use crate::domain::analytics::{Analytics, Breakdown};
use crate::domain::money::format_count;

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
    match args.format {
        Format::Json => println!("{}", serde_json::to_string(&report)?),
        Format::Csv => {
            println!("date,cost_usd,requests,tokens");
            for p in &report.trend {
                println!("{},{},{},{}", p.date, p.cost_usd, p.requests, p.tokens);
            }
        }
        Format::Table => print_report(&report),
    }
    Ok(())
}

fn int(n: impl TryInto<i64>) -> String {
    format_count(n.try_into().unwrap_or(i64::MAX))
}

fn print_breakdown(title: &str, entries: &[Breakdown]) {
    println!();
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
    print_table(&[title, "COST", "REQUESTS", "TOKENS"], &rows);
}

fn print_report(r: &Analytics) {
    println!("{} to {} ({}, {})", r.from, r.to, r.range, r.timezone);
    println!();
    let k = &r.kpis;
    print_table(
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
        println!(
            "{} requests ran on models without a price; set their prices to count their cost.",
            int(r.unpriced_requests)
        );
    }
    print_breakdown("PROVIDER", &r.by_provider);
    print_breakdown("MODEL", &r.by_model);
    print_breakdown("SERVICE", &r.by_service);
    print_breakdown("SOURCE", &r.by_source);
    println!();
    let rows: Vec<Vec<String>> = r
        .users
        .iter()
        .map(|u| {
            let budget = match &u.budget {
                None => "no budget set".to_string(),
                Some(b) => format!(
                    "{} of {} ({:.1}%)",
                    b.month_cost_usd.display_estimate(),
                    b.limit_cost_usd.display_estimate(),
                    b.percent
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
    print_table(
        &[
            "USER",
            "COST",
            "REQUESTS",
            "TOKENS",
            "MONTHLY BUDGET (THIS MONTH)",
        ],
        &rows,
    );
    println!();
    println!(
        "Costs are estimates from the configured pricing, captured at call time; translation, speech and image calls cost 0 unless their cost is reported."
    );
}
