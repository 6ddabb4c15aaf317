//! llm-ledger: a self-hosted ledger of LLM usage and cost.
//!
//! Programs that embed the ledger open an [`app::App`] and call
//! [`app::App::record`]; the `llm-ledger` binary wraps the same facade in a
//! CLI and an HTTP server:
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use llm_ledger::domain::{ServiceType, UsageRecord};
//!
//! let app = llm_ledger::app::App::open("sqlite://llm-ledger.db", None).await?;
//! let mut call = UsageRecord::new(ServiceType::Chat);
//! call.model = Some("gpt-4o".into());
//! call.counts.prompt_tokens = 1234;
//! call.counts.completion_tokens = 567;
//! // Retries with the same key are acknowledged and counted once.
//! call.idempotency_key = Some("call-8f14e45f".into());
//! let outcome = app.record(vec![call]).await?;
//! assert_eq!(outcome.recorded + outcome.duplicates, 1);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod domain;
pub mod http;
pub mod rng;
pub mod secrets;
pub mod store;
