//! `llm-ledger token create|list|revoke`.

use anyhow::Result;
use clap::Subcommand;

use super::{emit, table};
use crate::app::App;
use crate::domain::Scope;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token. The secret is printed once, as the last line.
    Create {
        /// A name that says who uses the token.
        name: String,
        /// ingest (record usage, budgets), read (analytics) or admin (everything).
        #[arg(long)]
        scope: Scope,
    },
    /// List API tokens (never their secrets).
    List,
    /// Revoke an API token by id, or by name when only one active token has it.
    Revoke {
        /// The token's id (see `token list`) or name.
        token: String,
    },
}

pub async fn run(app: &App, cmd: TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Create { name, scope } => {
            let (token, secret) = app.create_token(&name, scope).await?;
            super::show_secret(
                &format!(
                    "Created {scope} token {} ({name:?}). Its secret, shown only now:\n{secret}\n",
                    token.id
                ),
                &format!(
                    "token {} was created; revoke it (llm-ledger token revoke {}) and create another",
                    token.id, token.id
                ),
            )?;
        }
        TokenCommand::List => {
            let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
            let rows: Vec<Vec<String>> = app
                .tokens()
                .await?
                .into_iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.name,
                        t.scope.to_string(),
                        fmt(t.created_at),
                        t.last_used_at.map(fmt).unwrap_or_else(|| "never".into()),
                        if t.revoked { "revoked" } else { "active" }.into(),
                    ]
                })
                .collect();
            emit(&table(
                &["ID", "NAME", "SCOPE", "CREATED", "LAST USED", "STATUS"],
                &rows,
            ))?;
        }
        TokenCommand::Revoke { token } => {
            let revoked = app.revoke_token(&token).await?;
            say!("Revoked token {} ({:?}).", revoked.id, revoked.name);
        }
    }
    Ok(())
}
