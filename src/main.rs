//! `upstack`: synthesize, review and deploy the S3 upload pipeline.
//!
//! This binary is deliberately thin: argument parsing, the shared context and
//! exit codes live here, one module per subcommand under `cmd/`, and all work
//! is done by the library crates.

mod cmd;
mod context;
mod exit;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::context::{Ctx, GlobalArgs};
use crate::exit::{Outcome, UsageError};

// A synth is mostly small allocations (JSON values, strings, the lock file's
// entries): with glibc's malloc they were about a fifth of a release
// `synth --check` process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "upstack",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 done / no changes, 1 error or pre-flight refusal, 2 diff found changes / status found an alarm in ALARM or changed code, 3 blocked (--fail-on, stale synth-out, bundle of changed sources), 4 not approved, 5 stale plan, 64 usage error, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
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
    /// Create the per-account, per-region asset bucket deploy uploads to; with --github, the env's CI identities
    Bootstrap(cmd::bootstrap::Args),
    /// Deploy an environment through a reviewed CloudFormation change set
    Deploy(cmd::deploy::Args),
    /// Delete an environment's stack (retained resources are kept)
    Destroy(cmd::destroy::Args),
    /// On every saved change of a handler, build it, hotswap its code and stream its logs (never production)
    Watch(cmd::watch::Args),
    /// Show the stack's function logs, merged in time order (--follow to keep reading)
    Logs(cmd::logs::Args),
    /// Show an environment's health: alarms, queue depths, stack status, function errors and code (exit 2 when something needs a look)
    Status(cmd::status::Args),
    /// Scaffold a handler crate in functions/NAME and print where to declare it in the pipeline
    NewHandler(cmd::new_handler::Args),
    /// List the environments: stack, region, functions, and whether each is deployed
    List(cmd::list::Args),
    /// Print the event S3 would send for an upload, for `invoke --event` (no AWS call)
    SampleEvent(cmd::sample_event::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(cmd::completions::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version print to stdout and succeed; every other
            // parse failure is a usage error (64), never a result code.
            let _ = error.print();
            return if error.use_stderr() {
                Outcome::Usage.into()
            } else {
                Outcome::Success.into()
            };
        }
    };
    init_tracing(
        cli.global.verbose,
        cli.global.color.enabled(std::io::stderr().is_terminal()),
    );
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
    let ctx = Ctx::new(cli.global);
    let result = runtime.block_on(async {
        match cli.command {
            Command::Synth(args) => cmd::synth::run(args, &ctx).await,
            Command::Diff(args) => cmd::diff::run(args, &ctx).await,
            Command::Bundle(args) => cmd::bundle::run(args, &ctx).await,
            Command::Invoke(args) => cmd::invoke::run(args, &ctx).await,
            Command::Bootstrap(args) => cmd::bootstrap::run(args, &ctx).await,
            Command::Deploy(args) => cmd::deploy::run(args, &ctx).await,
            Command::Destroy(args) => cmd::destroy::run(args, &ctx).await,
            Command::Status(args) => cmd::status::run(args, &ctx).await,
            Command::Logs(args) => cmd::logs::run(args, &ctx).await,
            Command::Watch(args) => cmd::watch::run(args, &ctx).await,
            Command::NewHandler(args) => cmd::new_handler::run(args, &ctx).await,
            Command::List(args) => cmd::list::run(args, &ctx).await,
            Command::SampleEvent(args) => cmd::sample_event::run(args, &ctx),
            Command::Completions(args) => cmd::completions::run(args),
        }
    });
    // Don't wait for background work the command no longer needs (e.g. the
    // template validator when the credentials were refused).
    runtime.shutdown_background();
    match result {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            eprintln!("error: {}", error_line(&error));
            if error.chain().any(|cause| cause.is::<UsageError>()) {
                eprintln!("Run `upstack --help` for the options.");
                Outcome::Usage.into()
            } else {
                Outcome::Error.into()
            }
        }
    }
}

/// The context chain on one line ("deploy dev: create change set: ..."),
/// skipping a cause whose text the previous message already contains: many
/// errors quote their source, and the user should read each cause once.
fn error_line(error: &anyhow::Error) -> String {
    upstack_deploy::interact::one_line(error.as_ref())
}

/// -v: our crates at debug; -vv: the AWS SDK too. RUST_LOG wins when set.
/// Logs go to stderr so stdout stays parseable (`diff --format json`).
fn init_tracing(verbose: u8, ansi: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) => EnvFilter::new(match verbose {
            0 => "off",
            1 => {
                "upstack=debug,upstack_project=debug,upstack_build=debug,upstack_local=debug,upstack_deploy=debug,upstack_diff=debug,warn"
            }
            _ => "debug,hyper=info,h2=info,rustls=info",
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(true)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/cli.md is the CLI reference, rendered from these definitions.
    /// Refresh it with `UPSTACK_BLESS=1 cargo test --bin upstack cli_reference`.
    #[test]
    fn cli_reference_is_current() {
        let rendered = clap_markdown::help_markdown::<Cli>();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == rendered {
            return;
        }
        // Blessing rewrites the file and still fails this run: a run with
        // UPSTACK_BLESS set (a CI that kept it, say) never passes on a stale doc.
        if std::env::var_os("UPSTACK_BLESS").is_some() {
            std::fs::write(&path, &rendered).expect("write docs/cli.md");
            panic!("docs/cli.md was stale and has been rewritten: commit it, then run again");
        }
        panic!(
            "docs/cli.md is stale: run `UPSTACK_BLESS=1 cargo test --bin upstack cli_reference` and commit it"
        );
    }

    #[test]
    fn every_argument_has_help_text() {
        use clap::CommandFactory;
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "upstack", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }

    /// `upstack_cfn::regions` is a copy of the partition table the locked
    /// AWS SDK embeds; this fails when an SDK update knows a region the copy
    /// lacks (or drops one), so the env-file check never refuses a real region.
    #[test]
    fn regions_match_the_sdk() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let metadata = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--locked"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run cargo metadata");
        assert!(metadata.status.success(), "cargo metadata failed");
        let metadata: serde_json::Value =
            serde_json::from_slice(&metadata.stdout).expect("cargo metadata JSON");
        let manifest = metadata["packages"]
            .as_array()
            .and_then(|packages| {
                packages
                    .iter()
                    .find(|package| package["name"] == "aws-sdk-sts")
            })
            .and_then(|package| package["manifest_path"].as_str())
            .expect("aws-sdk-sts in the dependency graph");
        let source = std::path::Path::new(manifest).with_file_name("src/endpoint_lib.rs");
        let source = std::fs::read_to_string(&source).expect("read the SDK's endpoint_lib.rs");
        let needle = "new_from_json(b\"";
        let start = source.find(needle).expect("the embedded partition table") + needle.len();
        let end = start
            + source[start..]
                .find("\").expect")
                .expect("end of the table");
        // Undo the Rust byte-string escaping (\" and \\) to get the JSON back.
        let mut json = String::new();
        let mut chars = source[start..end].chars();
        while let Some(c) = chars.next() {
            json.push(if c == '\\' {
                chars.next().unwrap_or('\\')
            } else {
                c
            });
        }
        let table: serde_json::Value = serde_json::from_str(&json).expect("partition JSON");
        let mut sdk = Vec::new();
        for partition in table["partitions"].as_array().expect("partitions") {
            let id = partition["id"].as_str().unwrap_or_default();
            let suffix = partition["outputs"]["dnsSuffix"]
                .as_str()
                .unwrap_or_default();
            for code in partition["regions"].as_object().expect("regions").keys() {
                if !code.ends_with("-global") {
                    sdk.push((code.clone(), id.to_owned(), suffix.to_owned()));
                }
            }
        }
        sdk.sort();
        let ours: Vec<(String, String, String)> = upstack_cfn::regions::KNOWN_REGIONS
            .iter()
            .map(|region| {
                (
                    region.code.to_owned(),
                    region.partition.to_owned(),
                    region.dns_suffix.to_owned(),
                )
            })
            .collect();
        assert_eq!(
            ours, sdk,
            "update cfn/src/regions.rs from the SDK's partition table"
        );
    }

    #[test]
    fn error_line_says_each_cause_once() {
        let io = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "No such file or directory (os error 2)",
        );
        let error = anyhow::Error::new(io)
            .context("cannot read old.json: No such file or directory (os error 2)")
            .context("diff");
        assert_eq!(
            error_line(&error),
            "diff: cannot read old.json: No such file or directory (os error 2)"
        );
    }
}
