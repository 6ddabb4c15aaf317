//! `llm-ledger demo`: one command from clone to a living dashboard.

use std::net::SocketAddr;

use anyhow::Result;
use clap::Args;

use crate::app::{App, Scale, SeedOptions};
use crate::domain::Role;
use crate::secrets::random_password;

pub const DATABASE: &str = "sqlite://llm-ledger-demo.db";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

pub async fn run(app: App, args: DemoArgs) -> Result<()> {
    // The demo resets `admin`'s password: never on a ledger in real use.
    app.check_demo_ledger().await?;
    let listener = super::serve::listen(args.listen).await?;
    if !app.has_usage().await? {
        super::seed::seed(
            &app,
            SeedOptions {
                days: 90,
                seed: 42,
                scale: Scale::Small,
                replace: false,
            },
        )
        .await?;
    }
    // A fresh password on every start: the demo always prints a working sign-in.
    let password = random_password();
    match app
        .create_user("admin", Some("Administrator"), Role::Admin, Some(&password))
        .await
    {
        Ok(()) => {}
        Err(crate::app::AppError::Conflict(_)) => {
            app.set_role("admin", Role::Admin).await?;
            app.set_password("admin", &password).await?;
        }
        Err(e) => return Err(e.into()),
    }
    say!("Sign in as admin with the password {password}");
    super::serve::serve(app, listener).await
}
