use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Each request allocates a few dozen small objects, often freed on another
/// thread; mimalloc took about 4 % off the server's CPU per recorded request
/// against glibc's allocator in the ingest benchmark (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = llm_ledger::cli::Cli::parse();
    match llm_ledger::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
