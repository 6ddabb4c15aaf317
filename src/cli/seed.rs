//! `llm-ledger seed-usage`.

use anyhow::Result;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{App, Scale, SeedOptions};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScaleArg {
    /// A small organisation: 5 providers, 10 models, 6 users, a few thousand calls.
    Small,
    /// Benchmark size: 2,000 users, 40 models, 200 configurations, 500 tasks,
    /// 20 sources, over 10 million aggregate rows (365 days unless --days is given).
    Large,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Days of history ending today, 1 to 3650 (default: 90; 365 with --scale large).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: Option<u32>,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How much data to generate.
    #[arg(long, value_enum, default_value = "small")]
    pub scale: ScaleArg,
    /// Remove earlier demo data first (never real usage).
    #[arg(long)]
    pub replace: bool,
}

impl SeedArgs {
    pub fn options(&self) -> SeedOptions {
        let scale = match self.scale {
            ScaleArg::Small => Scale::Small,
            ScaleArg::Large => Scale::Large,
        };
        let default_days = if scale == Scale::Large { 365 } else { 90 };
        SeedOptions {
            days: self.days.unwrap_or(default_days),
            seed: self.seed,
            scale,
            replace: self.replace,
        }
    }
}

pub async fn run(app: &App, args: SeedArgs) -> Result<()> {
    seed(app, args.options()).await
}

/// Seeds with a progress bar on standard error.
pub async fn seed(app: &App, options: SeedOptions) -> Result<()> {
    let bar = ProgressBar::new(u64::from(options.days)).with_style(
        ProgressStyle::with_template(
            "seeding {bar:40} {pos}/{len} days, {elapsed} elapsed, eta {eta}",
        )
        .expect("valid template"),
    );
    let started = std::time::Instant::now();
    let summary = app
        .seed_usage(options, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await?;
    bar.finish_and_clear();
    say!(
        "Seeded {} days of demo usage ({} calls) in {:.1} s.",
        summary.days,
        summary.records,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
