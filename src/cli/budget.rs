//! `llm-ledger budget set|show`.

use anyhow::Result;
use clap::Subcommand;

use super::{emit, table};
use crate::app::App;
use crate::domain::{Budget, Money};

fn usd(text: &str) -> Result<Money, String> {
    Money::parse_usd(text).map_err(|e| format!("{text:?} {e}"))
}

#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Set a user's ceilings. Only the given ones change; 0 = unlimited.
    // A negative value is taken as a value, so that it is refused as one
    // (not as an unknown flag).
    #[command(allow_negative_numbers = true)]
    Set {
        /// The user whose budget to set.
        username: String,
        /// Requests per day (midnight to midnight in the ledger's time zone).
        #[arg(long, value_name = "N")]
        max_requests_per_day: Option<i64>,
        /// Prompt + completion tokens per day.
        #[arg(long, value_name = "N")]
        max_tokens_per_day: Option<i64>,
        /// Cost per day in US dollars, e.g. 2.50.
        #[arg(long, value_name = "USD", value_parser = usd)]
        max_cost_per_day: Option<Money>,
        /// Requests per calendar month.
        #[arg(long, value_name = "N")]
        max_requests_per_month: Option<i64>,
        /// Prompt + completion tokens per calendar month.
        #[arg(long, value_name = "N")]
        max_tokens_per_month: Option<i64>,
        /// Cost per calendar month in US dollars, e.g. 25.
        #[arg(long, value_name = "USD", value_parser = usd)]
        max_cost_per_month: Option<Money>,
        /// Whether the ceilings are checked (default for a new budget: true).
        #[arg(long, value_name = "true|false")]
        enforced: Option<bool>,
    },
    /// Show a user's ceilings with today's and this month's usage.
    Show {
        /// The user whose budget to show.
        username: String,
    },
}

pub async fn run(app: &App, cmd: BudgetCommand) -> Result<()> {
    match cmd {
        BudgetCommand::Set {
            username,
            max_requests_per_day,
            max_tokens_per_day,
            max_cost_per_day,
            max_requests_per_month,
            max_tokens_per_month,
            max_cost_per_month,
            enforced,
        } => {
            let old = app.budget(&username).await?.unwrap_or(Budget {
                enforced: true,
                ..Budget::default()
            });
            let budget = Budget {
                max_requests_per_day: max_requests_per_day.unwrap_or(old.max_requests_per_day),
                max_tokens_per_day: max_tokens_per_day.unwrap_or(old.max_tokens_per_day),
                max_cost_per_day: max_cost_per_day.unwrap_or(old.max_cost_per_day),
                max_requests_per_month: max_requests_per_month
                    .unwrap_or(old.max_requests_per_month),
                max_tokens_per_month: max_tokens_per_month.unwrap_or(old.max_tokens_per_month),
                max_cost_per_month: max_cost_per_month.unwrap_or(old.max_cost_per_month),
                enforced: enforced.unwrap_or(old.enforced),
            };
            app.set_budget(&username, &budget).await?;
            say!("Saved the budget of {username:?}.");
            print_budget(app, &username, &budget).await?;
        }
        BudgetCommand::Show { username } => match app.budget(&username).await? {
            None => say!("{username:?} has no budget: nothing limits their usage."),
            Some(budget) => print_budget(app, &username, &budget).await?,
        },
    }
    Ok(())
}

async fn print_budget(app: &App, username: &str, b: &Budget) -> Result<()> {
    let usage = app.user_usage(username).await?;
    let limit = |n: i64| {
        if n == 0 {
            "unlimited".to_string()
        } else {
            n.to_string()
        }
    };
    let cost = |m: Money| {
        if m == Money::ZERO {
            "unlimited".to_string()
        } else {
            format!("${m}")
        }
    };
    let rows = vec![
        vec![
            "requests per day".into(),
            usage.today.requests.to_string(),
            limit(b.max_requests_per_day),
        ],
        vec![
            "tokens per day".into(),
            usage.today.tokens.to_string(),
            limit(b.max_tokens_per_day),
        ],
        vec![
            "cost per day".into(),
            format!("${}", usage.today.cost),
            cost(b.max_cost_per_day),
        ],
        vec![
            "requests per month".into(),
            usage.month.requests.to_string(),
            limit(b.max_requests_per_month),
        ],
        vec![
            "tokens per month".into(),
            usage.month.tokens.to_string(),
            limit(b.max_tokens_per_month),
        ],
        vec![
            "cost per month".into(),
            format!("${}", usage.month.cost),
            cost(b.max_cost_per_month),
        ],
    ];
    let enforced = if b.enforced { "yes" } else { "no" };
    emit(&format!(
        "{}Enforced: {enforced}\n",
        table(&["CEILING", "USED", "LIMIT"], &rows)
    ))
}
