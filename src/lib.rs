//! llm-ledger: a self-hosted ledger of LLM usage and cost.
//!
//! Programs that embed the ledger open an [`app::App`] and call
//! [`app::App::record`]; the `llm-ledger` binary wraps the same facade in a
//! CLI and an HTTP server.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod domain;
pub mod http;
pub mod rng;
pub mod secrets;
pub mod store;
