//! `llm-ledger catalog apply|export`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::app::{App, CatalogFile};

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Create or update the catalog from a TOML file; running it twice changes nothing.
    Apply {
        /// The catalog file (TOML).
        file: PathBuf,
    },
    /// Write the catalog as a TOML file that `catalog apply` accepts.
    Export {
        /// Where to write; standard output when absent or "-".
        file: Option<PathBuf>,
    },
}

pub async fn run(app: &App, cmd: CatalogCommand) -> Result<()> {
    match cmd {
        CatalogCommand::Apply { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let catalog =
                CatalogFile::parse(&text).with_context(|| format!("in {}", file.display()))?;
            let summary = app
                .apply_catalog(&catalog)
                .await
                .with_context(|| format!("in {}", file.display()))?;
            say!(
                "Applied {}: {} created, {} updated, {} unchanged.",
                file.display(),
                summary.created,
                summary.updated,
                summary.unchanged
            );
        }
        CatalogCommand::Export { file } => {
            let text = app.export_catalog().await?.to_toml()?;
            match file.filter(|f| f.as_os_str() != "-") {
                None => super::emit(&text)?,
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("Wrote {}.", path.display());
                }
            }
        }
    }
    Ok(())
}
