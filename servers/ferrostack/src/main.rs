//! `ferrostack`: the all-in-one cloud.
//!
//! - `ferrostack up [--data-dir DIR] [--config FILE]` runs every service on
//!   loopback in this process and writes `DIR/openrc`;
//! - `ferrostack ring ...` is the Swift ring tool (`swift-ring`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod cluster;
mod config;
mod glance;
mod identity;
mod nova;
mod openrc;
mod rings;
mod secrets;
mod up;

/// ferrostack: an OpenStack-class cloud in Rust.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole cloud on loopback until Ctrl-C.
    Up {
        /// Where all data, rings and secrets live; reused on restart.
        #[arg(long, default_value = "./ferrostack-data")]
        data_dir: PathBuf,
        /// TOML overriding the embedded defaults (ports, users, ...).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Build and inspect Swift rings (same as `swift-ring`).
    Ring {
        /// Arguments for the ring tool.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Up { data_dir, config } => {
            swift_server::runtime::init_tracing();
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(up::run(&data_dir, config.as_deref()))
        }
        Command::Ring { args } => swift_server::ring_cli::run(
            std::iter::once("ferrostack ring".to_owned())
                .chain(args)
                .collect(),
        ),
    }
}
