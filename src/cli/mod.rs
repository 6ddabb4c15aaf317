//! The command line: parse arguments, open the ledger, run one command.

/// `println!` through [`emit`]: a closed standard output ends the command
/// quietly instead of panicking (Rust ignores SIGPIPE).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::emit(&format!("{}\n", format_args!($($arg)*)))?
    };
}

mod budget;
mod catalog;
mod demo;
mod import;
mod report;
mod seed;
mod serve;
mod token;
mod user;

use std::io::BufRead;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::app::App;

/// A self-hosted ledger of LLM usage and cost: exact money, budgets, analytics.
#[derive(Debug, Parser)]
#[command(name = "llm-ledger", version, about)]
pub struct Cli {
    /// The database: sqlite://PATH (created when missing) or postgres://USER@HOST/DB.
    /// Default: sqlite://llm-ledger.db (for `demo`: sqlite://llm-ledger-demo.db).
    #[arg(long, global = true, env = "LLM_LEDGER_DATABASE_URL")]
    pub database: Option<String>,

    /// IANA time zone (e.g. Europe/Berlin) a new database is created with; day
    /// and month boundaries are midnight there. Default: the system's zone.
    /// An existing database keeps its zone; naming another one is an error.
    #[arg(long, global = true, env = "LLM_LEDGER_TIMEZONE")]
    pub timezone: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or reuse a demo SQLite database, seed it, serve it, and print the URL and sign-in.
    Demo(demo::DemoArgs),
    /// Serve the web UI and the API.
    Serve(serve::ServeArgs),
    /// Generate realistic demo usage (development only); refuses a ledger with real usage.
    SeedUsage(seed::SeedArgs),
    /// Bring the database schema up to date.
    Migrate,
    /// Bulk-load usage records from a JSON Lines file (one record per line).
    Import(import::ImportArgs),
    /// Analytics in the terminal: KPIs, trend, breakdowns, users and budgets.
    Report(report::ReportArgs),
    /// Apply or export the catalog file (providers, models, configurations, tasks).
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Set or show a user's budget ceilings.
    #[command(subcommand)]
    Budget(budget::BudgetCommand),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let default = match cli.command {
        Command::Demo(_) => demo::DATABASE,
        _ => "sqlite://llm-ledger.db",
    };
    let url = cli.database.as_deref().unwrap_or(default);
    let app = App::open(url, cli.timezone.as_deref())
        .await
        .with_context(|| format!("cannot open the ledger at {}", redact(url)))?;
    match cli.command {
        Command::Demo(args) => demo::run(app, args).await,
        Command::Serve(args) => serve::run(app, args).await,
        Command::SeedUsage(args) => seed::run(&app, args).await,
        Command::Migrate => {
            let applied = match app.migrations_applied() {
                0 => "no migration was needed".to_string(),
                1 => "1 migration applied".to_string(),
                n => format!("{n} migrations applied"),
            };
            say!(
                "The {} database is up to date at schema version {}: {applied} (time zone {}).",
                app.backend(),
                crate::store::SCHEMA_VERSION,
                app.timezone().name()
            );
            Ok(())
        }
        Command::Import(args) => import::run(&app, args).await,
        Command::Report(args) => report::run(&app, args).await,
        Command::Catalog(cmd) => catalog::run(&app, cmd).await,
        Command::User(cmd) => user::run(&app, cmd).await,
        Command::Token(cmd) => token::run(&app, cmd).await,
        Command::Budget(cmd) => budget::run(&app, cmd).await,
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM.
async fn stop_requested() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Reads one line from standard input, without its line ending.
fn read_stdin_line() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Shows a secret that exists nowhere else (a token's, a generated
/// password): unlike [`emit`], failing to write it is an error that says
/// what to do, since the change it belongs to is already saved.
fn show_secret(text: &str, remedy: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .with_context(|| format!("could not print the secret, which is not kept: {remedy}"))
}

/// Writes a command's output. A reader that went away (`report | head`)
/// ends it quietly: Rust ignores SIGPIPE, and `println!` would panic.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Rows as aligned columns, each line ended.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_and_argument_has_help() {
        fn check(cmd: &clap::Command, path: &str) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" {
                    assert!(arg.get_help().is_some(), "{path} {id} has no help");
                }
            }
            for sub in cmd.get_subcommands() {
                assert!(
                    sub.get_about().is_some(),
                    "{path} {} has no help",
                    sub.get_name()
                );
                check(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        use clap::CommandFactory;
        check(&Cli::command(), "llm-ledger");
    }
}
