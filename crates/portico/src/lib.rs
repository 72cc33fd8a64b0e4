//! The Portico binary's library half: configuration, bootstrap, the server runner and the CLI.
//! `main.rs` only parses arguments and calls [`cli::run`]; tests start servers through
//! [`server::spawn`].
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod data_dir;
pub mod logging;
pub mod server;
pub mod tls;
