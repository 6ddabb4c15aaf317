//! `llm-ledger import FILE.jsonl`: validate the whole file, then record it in
//! batches through the same path as the API.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::App;
use crate::domain::UsageRecord;
use crate::domain::record::{MAX_RECORDS, RejectReason, parse_body};

/// Errors listed before giving up on a file.
const MAX_REPORTED: usize = 20;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// JSON Lines file: one usage record (as for POST /api/v1/usage) per line.
    pub file: PathBuf,
}

fn lines(path: &PathBuf) -> Result<impl Iterator<Item = (usize, Result<String, std::io::Error>)>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(BufReader::new(file).lines().enumerate().map(|(i, l)| {
        // Editors on Windows start UTF-8 files with a byte-order mark.
        let l = match l {
            Ok(first) if i == 0 => Ok(first
                .strip_prefix('\u{feff}')
                .map(str::to_string)
                .unwrap_or(first)),
            other => other,
        };
        (i + 1, l)
    }))
}

pub async fn run(app: &App, args: ImportArgs) -> Result<()> {
    // Pass 1: every line must be a valid record, or nothing is stored.
    let now = Utc::now();
    let mut errors = Vec::new();
    let mut total = 0u64;
    for (line_no, line) in lines(&args.file)? {
        let line =
            line.with_context(|| format!("{}:{line_no}: cannot read", args.file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        total += 1;
        if let Err(reason) = parse_line(&line, now) {
            errors.push(format!("{}:{line_no}: {reason}", args.file.display()));
        }
    }
    if !errors.is_empty() {
        for e in errors.iter().take(MAX_REPORTED) {
            eprintln!("{e}");
        }
        if errors.len() > MAX_REPORTED {
            eprintln!("… and {} more", errors.len() - MAX_REPORTED);
        }
        bail!(
            "{} invalid line(s) in {}; nothing was imported",
            errors.len(),
            args.file.display()
        );
    }

    // Pass 2: record in batches.
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records {per_sec} eta {eta}")
            .expect("valid template"),
    );
    let (mut recorded, mut duplicates) = (0, 0);
    let mut batch: Vec<UsageRecord> = Vec::with_capacity(MAX_RECORDS);
    let mut first_line = 1;
    for (line_no, line) in lines(&args.file)? {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        if batch.is_empty() {
            first_line = line_no;
        }
        batch.extend(parse_line(&line, now).map_err(|r| anyhow::anyhow!("{line_no}: {r}"))?);
        if batch.len() >= MAX_RECORDS {
            let n = batch.len() as u64;
            let outcome = app.record(std::mem::take(&mut batch)).await.with_context(|| {
                format!("recording the batch from line {first_line} (earlier batches are stored; re-running is safe with idempotency keys)")
            })?;
            recorded += outcome.recorded;
            duplicates += outcome.duplicates;
            bar.inc(n);
        }
    }
    if !batch.is_empty() {
        let n = batch.len() as u64;
        let outcome = app
            .record(batch)
            .await
            .with_context(|| format!("recording the batch from line {first_line}"))?;
        recorded += outcome.recorded;
        duplicates += outcome.duplicates;
        bar.inc(n);
    }
    bar.finish_and_clear();
    println!(
        "Imported {} records from {} ({recorded} recorded, {duplicates} duplicates skipped).",
        total,
        args.file.display()
    );
    Ok(())
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
