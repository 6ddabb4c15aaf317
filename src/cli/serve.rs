//! `llm-ledger serve`.

use std::net::SocketAddr;

use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use anyhow::{Context, Result};
use clap::Args;

use crate::app::{App, MAX_RESERVATION_TTL_SECS};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seconds a budget reservation holds when its usage is not recorded
    /// and it is not released (1 to 604800, a week).
    #[arg(long, default_value_t = 300, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=MAX_RESERVATION_TTL_SECS))]
    pub reservation_ttl: u64,
}

pub async fn run(mut app: App, args: ServeArgs) -> Result<()> {
    app.set_reservation_ttl(Duration::from_secs(args.reservation_ttl));
    // Bound first: a port in use must not create the admin and print a
    // password nobody can use yet.
    let listener = listen(args.listen).await?;
    if let Some(password) = app.ensure_initial_admin().await? {
        say!("Created the administrator \"admin\" with this one-time password (shown only now):");
        say!("{password}");
        say!("Change it with: llm-ledger user passwd admin");
    }
    serve(app, listener).await
}

pub async fn listen(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// Serves the ledger until SIGINT or SIGTERM.
pub async fn serve(app: App, listener: TcpListener) -> Result<()> {
    let app = Arc::new(app);
    tokio::spawn(upkeep(app.clone()));
    let addr = listener.local_addr()?;
    say!(
        "llm-ledger is serving http://{addr} ({} database, time zone {})",
        app.backend(),
        app.timezone().name()
    );
    tracing::info!(%addr, "listening");
    crate::http::serve(app, listener, shutdown_signal()).await?;
    Ok(())
}

/// Hourly upkeep: forgets idempotency keys past their retention, and from the
/// second hour on vacuums where the database server does not (a first
/// vacuum of a large database is long, and would slow the start).
async fn upkeep(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    for hour in 0u64.. {
        tick.tick().await;
        match app.prune_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(keys = n, "forgot expired idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "cannot prune idempotency keys"),
        }
        if hour == 0 {
            continue;
        }
        match app.vacuum_if_unattended().await {
            Ok(false) => {}
            Ok(true) => tracing::info!("vacuumed the ledger's tables (autovacuum is off)"),
            Err(e) => tracing::warn!(error = %e, "cannot vacuum the ledger's tables"),
        }
    }
}

async fn shutdown_signal() {
    super::stop_requested().await;
    tracing::info!("shutting down");
}
