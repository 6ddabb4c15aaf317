//! `llm-ledger user add|list|passwd|set|set-role`.

use anyhow::Result;
use clap::Subcommand;

use super::{emit, read_stdin_line, table};
use crate::app::App;
use crate::domain::Role;
use crate::secrets::random_password;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (a member unless --admin). Without --password-stdin an
    /// administrator gets a random password, printed once; a member gets none.
    Add {
        /// Unique user name, as usage records name it.
        username: String,
        /// Make the user an administrator (may sign in to the web UI).
        #[arg(long)]
        admin: bool,
        /// Name shown in the dashboard (default: the user name).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Set a user's password: read from standard input with
    /// --password-stdin, otherwise a random one is generated and printed.
    Passwd {
        /// The user whose password to set.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's display name, or whether the user is active (an
    /// inactive user cannot sign in; usage naming it is still recorded).
    Set {
        /// The user to change.
        username: String,
        /// Name shown in the dashboard.
        #[arg(long)]
        display_name: Option<String>,
        /// true or false.
        #[arg(long)]
        active: Option<bool>,
    },
    /// Change a user's role.
    SetRole {
        /// The user whose role to change.
        username: String,
        /// admin or member.
        role: Role,
    },
}

pub async fn run(app: &App, cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add {
            username,
            admin,
            display_name,
            password_stdin,
        } => {
            let role = if admin { Role::Admin } else { Role::Member };
            let (password, generated) = match (password_stdin, admin) {
                (true, _) => (Some(read_stdin_line()?), false),
                (false, true) => (Some(random_password()), true),
                (false, false) => (None, false),
            };
            app.create_user(
                &username,
                display_name.as_deref(),
                role,
                password.as_deref(),
            )
            .await?;
            match (generated, password) {
                (true, Some(p)) => super::show_secret(
                    &format!(
                        "Added {role} {username:?}.\nOne-time password (shown only now):\n{p}\n"
                    ),
                    &format!("set another with: llm-ledger user passwd {username}"),
                )?,
                _ => say!("Added {role} {username:?}."),
            }
        }
        UserCommand::List => {
            let rows: Vec<Vec<String>> = app
                .users()
                .await?
                .into_iter()
                .map(|u| {
                    vec![
                        u.username,
                        u.display_name,
                        u.role.to_string(),
                        if u.has_password { "yes" } else { "no" }.into(),
                        match (u.active, u.discovered) {
                            (false, _) => "inactive",
                            (true, true) => "discovered",
                            (true, false) => "",
                        }
                        .into(),
                    ]
                })
                .collect();
            emit(&table(
                &["USERNAME", "DISPLAY NAME", "ROLE", "PASSWORD", "NOTE"],
                &rows,
            ))?;
        }
        UserCommand::Passwd {
            username,
            password_stdin,
        } => {
            let password = if password_stdin {
                read_stdin_line()?
            } else {
                random_password()
            };
            app.set_password(&username, &password).await?;
            if password_stdin {
                say!("Set the password of {username:?}.");
            } else {
                super::show_secret(
                    &format!(
                        "Set the password of {username:?}.\nNew password (shown only now):\n{password}\n"
                    ),
                    &format!("set another with: llm-ledger user passwd {username}"),
                )?;
            }
        }
        UserCommand::Set {
            username,
            display_name,
            active,
        } => {
            if display_name.is_none() && active.is_none() {
                anyhow::bail!("nothing to change: give --display-name NAME or --active true|false");
            }
            let user = app.user(&username).await?;
            let display_name = display_name.unwrap_or(user.display_name);
            let active = active.unwrap_or(user.active);
            app.set_profile(&username, &display_name, active).await?;
            let state = if active { "active" } else { "inactive" };
            say!("{username:?} is {display_name:?}, {state}.");
        }
        UserCommand::SetRole { username, role } => {
            app.set_role(&username, role).await?;
            say!("{username:?} is now {role}.");
        }
    }
    Ok(())
}
