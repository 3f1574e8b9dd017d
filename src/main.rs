//! `upstack`: synthesize, review and deploy the S3 upload pipeline.
//!
//! This binary is deliberately thin: argument parsing and exit codes live
//! here, one module per subcommand under `cmd/`, and all work is done by the
//! `upstack-toolkit` crate.

mod cmd;
mod exit;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::Outcome;

#[derive(Debug, Parser)]
#[command(name = "upstack", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write synth-out/<env>/template.json and manifest.json (no AWS account needed)
    Synth(cmd::synth::Args),
    /// Show what deploying would change: against the deployed stack, a file, or a change set
    Diff(cmd::diff::Args),
    /// Build the handler crates into verified, reproducible Lambda zips
    Bundle(cmd::bundle::Args),
    /// Run a handler locally behind an embedded Lambda Runtime API
    Invoke(cmd::invoke::Args),
    /// Create the per-account, per-region asset bucket deploy uploads to
    Bootstrap(cmd::bootstrap::Args),
    /// Deploy an environment through a reviewed CloudFormation change set
    Deploy(cmd::deploy::Args),
    /// Delete an environment's stack (retained resources are kept)
    Destroy(cmd::destroy::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return Outcome::Error.into();
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Synth(args) => cmd::synth::run(args).await,
            Command::Diff(args) => cmd::diff::run(args).await,
            Command::Bundle(args) => cmd::bundle::run(args).await,
            Command::Invoke(args) => cmd::invoke::run(args).await,
            Command::Bootstrap(args) => cmd::bootstrap::run(args).await,
            Command::Deploy(args) => cmd::deploy::run(args).await,
            Command::Destroy(args) => cmd::destroy::run(args).await,
        }
    });
    match result {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            // `{:#}` prints the whole context chain: "deploy dev: create change set: ...".
            eprintln!("error: {error:#}");
            Outcome::Error.into()
        }
    }
}
