//! `llm-ledger import FILE.jsonl`: validate the whole file, then record it in
//! batches through the same path as the API.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Args;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::app::{App, AppError};
use crate::domain::UsageRecord;
use crate::domain::record::{MAX_RECORDS, RejectReason, parse_body};

/// Errors listed before giving up on a file.
const MAX_REPORTED: usize = 20;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// JSON Lines file: one usage record (as for POST /api/v1/usage) per line.
    pub file: PathBuf,
    /// Start at this line (1 = the first), skipping the lines before it: to
    /// go on after an import that stopped part-way.
    #[arg(long, value_name = "LINE", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub from_line: u64,
}

/// The file's lines from `from`, numbered from 1, blank ones left out.
fn lines(
    path: &PathBuf,
    from: u64,
) -> Result<impl Iterator<Item = (usize, Result<String, std::io::Error>)>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let lines = BufReader::new(file).lines().enumerate().map(|(i, l)| {
        // Editors on Windows start UTF-8 files with a byte-order mark.
        let l = match l {
            Ok(first) if i == 0 => Ok(first
                .strip_prefix('\u{feff}')
                .map(str::to_string)
                .unwrap_or(first)),
            other => other,
        };
        (i + 1, l)
    });
    Ok(lines
        .skip(usize::try_from(from - 1).unwrap_or(usize::MAX))
        .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty())))
}

/// Prints at most `MAX_REPORTED` errors, and how many more there were.
fn report(errors: &[String]) {
    for e in errors.iter().take(MAX_REPORTED) {
        eprintln!("{e}");
    }
    if errors.len() > MAX_REPORTED {
        eprintln!("… and {} more", errors.len() - MAX_REPORTED);
    }
}

pub async fn run(app: &App, args: ImportArgs) -> Result<()> {
    let name = args.file.display().to_string();
    // Pass 1: every line must be a valid record, or nothing is stored.
    let now = Utc::now();
    let mut errors = Vec::new();
    let mut total = 0u64;
    for (line_no, line) in lines(&args.file, args.from_line)? {
        let line = line.with_context(|| format!("{name}:{line_no}: cannot read"))?;
        match parse_line(&line, now) {
            Ok(records) => total += records.len() as u64,
            Err(reason) => errors.push(format!("{name}:{line_no}: {reason}")),
        }
    }
    if total == 0 && args.from_line > 1 {
        bail!("{name} has no record from line {} on", args.from_line);
    }
    if !errors.is_empty() {
        report(&errors);
        bail!(
            "{} invalid line(s) in {name}; nothing was imported",
            errors.len()
        );
    }

    // Pass 2: record in batches. What only the ledger can check (a
    // reservation id, a reused idempotency key) is checked per batch.
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records {rate} eta {eta}")
            .expect("valid template")
            // indicatif's own {per_sec} prints four decimals of a records rate.
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            ),
    );
    // Ctrl-C or SIGTERM stops the import between batches, so that it can
    // say what is stored and where to go on.
    let stop = Arc::new(AtomicBool::new(false));
    tokio::spawn({
        let stop = stop.clone();
        async move {
            super::stop_requested().await;
            stop.store(true, Ordering::Relaxed);
        }
    });
    let mut import = Batches {
        stop,
        name: &name,
        bar: &bar,
        batch: Vec::with_capacity(MAX_RECORDS),
        origin: Vec::with_capacity(MAX_RECORDS),
        recorded: 0,
        duplicates: 0,
    };
    for (line_no, line) in lines(&args.file, args.from_line)? {
        let records =
            parse_line(&line?, now).map_err(|r| anyhow::anyhow!("{name}:{line_no}: {r}"))?;
        if import.batch.len() + records.len() > MAX_RECORDS {
            import.send(app).await?;
        }
        import
            .origin
            .extend(std::iter::repeat_n(line_no, records.len()));
        import.batch.extend(records);
    }
    import.send(app).await?;
    bar.finish_and_clear();
    app.analyze().await?;
    say!(
        "Imported {total} records from {name} ({} recorded, {} duplicates skipped).",
        import.recorded,
        import.duplicates
    );
    Ok(())
}

/// The records waiting to be sent, with the line each came from, and what
/// was stored so far.
struct Batches<'a> {
    stop: Arc<AtomicBool>,
    name: &'a str,
    bar: &'a ProgressBar,
    batch: Vec<UsageRecord>,
    origin: Vec<usize>,
    recorded: usize,
    duplicates: usize,
}

impl Batches<'_> {
    /// Records the waiting batch; a refusal names each refused record's
    /// line and field, and where to go on from.
    async fn send(&mut self, app: &App) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        if self.stop.load(Ordering::Relaxed) {
            self.bar.abandon();
            bail!("interrupted: {}", self.done());
        }
        let n = self.batch.len() as u64;
        match app.record(std::mem::take(&mut self.batch)).await {
            Ok(outcome) => {
                self.recorded += outcome.recorded;
                self.duplicates += outcome.duplicates;
                self.bar.inc(n);
                self.origin.clear();
                Ok(())
            }
            Err(e) => {
                self.bar.abandon();
                if let AppError::Rejected(RejectReason::Invalid(refused)) = &e {
                    let refused: Vec<String> = refused
                        .iter()
                        .map(|f| {
                            let line = self.origin.get(f.index).copied().unwrap_or(0);
                            format!("{}:{line}: {}: {}", self.name, f.field, f.message)
                        })
                        .collect();
                    report(&refused);
                }
                let first = self.origin.first().copied().unwrap_or(0);
                bail!(
                    "the batch from line {first} was refused: {e}; {}",
                    self.done()
                )
            }
        }
    }

    /// What is stored so far, and where to go on: the waiting batch's line.
    fn done(&self) -> String {
        let first = self.origin.first().copied().unwrap_or(0);
        let stored = self.recorded + self.duplicates;
        if stored == 0 {
            "nothing was imported".into()
        } else {
            format!(
                "the lines before line {first} are stored ({stored} records); import the rest with --from-line {first}"
            )
        }
    }
}

/// One line: a record object (or a `{"records": [...]}` batch).
fn parse_line(line: &str, now: chrono::DateTime<Utc>) -> Result<Vec<UsageRecord>, String> {
    parse_body(line.as_bytes(), now).map_err(|reason| match reason {
        RejectReason::Invalid(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}
