//! The `interop-gateway` command line: the gateway's own commands ([`gateway::cli`]:
//! serve, migrate, sync, reconcile, token, openapi, audit) and [`demo`], which runs
//! the whole thing against the mock ministries. A crate of its own so that the mock
//! stays out of the gateway library and out of `serve`'s code: only this binary links
//! it. (A library too, so the end-to-end tests build the very same command line.)

pub mod demo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gateway::cli::GlobalArgs;

#[derive(Debug, Parser)]
#[command(
    name = "interop-gateway",
    version,
    about = "Cambodia's ministry interoperability gateway"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Gateway(gateway::cli::Command),
    /// Start the mock ministries and a database (DATABASE_URL's server, the one on
    /// 127.0.0.1:5432, or a throwaway cluster), sync every ministry, and serve the
    /// registry, printing the docs URL and a ready-to-use token.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// The mock ministries' size: small (fast) or full (Cambodia's).
        #[arg(long, default_value = "small")]
        scale: String,
    },
}

/// Runs the command line given to the process.
pub fn main() -> ExitCode {
    gateway::cli::block_on(async {
        let cli = Cli::parse();
        gateway::cli::execute(cli.global.config.as_deref(), |settings| async move {
            match cli.command {
                Command::Gateway(command) => Ok(gateway::cli::run(command, settings).await?),
                Command::Demo { bind, scale } => demo::run(settings, &bind, &scale).await,
            }
        })
        .await
    })
}
