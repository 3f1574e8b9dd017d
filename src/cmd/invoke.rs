//! `upstack invoke <function> --env <env> --key <s3-key> | --event <file.json>`:
//! runs a handler locally behind an embedded Lambda Runtime API, with the
//! deployed function's environment, and prints its response and logs.

use std::path::PathBuf;

use anyhow::Context;
use upstack_local::invoke::{EventSource, InvokeRequest, InvokeTarget, invoke, render};
use upstack_project::manifest::{self, MANIFEST_FILE};
use upstack_runtime_api::InvocationOutcome;

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["key", "event"])))]
pub struct Args {
    /// The handler to run: one of the functions the stack defines.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(upstack_stack::pipeline::handlers()))]
    pub function: String,
    /// Send the ObjectCreated:Put event S3 would send for this key of the upload bucket
    #[arg(long)]
    pub key: Option<String>,
    /// Send the event in this JSON file instead
    #[arg(long)]
    pub event: Option<PathBuf>,
    /// Upload bucket name (default: the stack's bucket)
    #[arg(long)]
    pub bucket: Option<String>,
    /// Stack name (default: the env's, as synth recorded it in synth-out/<env>/manifest.json)
    #[arg(long)]
    pub stack_name: Option<String>,
    /// Run this executable instead of `cargo build -p <function>`
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let env = ctx.env("invoke")?.to_owned();
    let workspace_root = ctx.root()?.to_path_buf();
    let event = match (&args.key, &args.event) {
        (Some(key), _) => EventSource::S3Key(key.clone()),
        (None, Some(path)) => EventSource::File(path.clone()),
        (None, None) => anyhow::bail!("pass --key <s3-key> or --event <file.json>"),
    };
    // Which function, and under which stack: what synth recorded.
    let manifest = manifest::load(&workspace_root, &env)?;
    let function = manifest
        .function(&args.function)
        .cloned()
        .with_context(|| {
            format!(
                "{}: no function for handler `{}`; run `upstack synth --env {env}`",
                manifest::output_file(&env, MANIFEST_FILE),
                args.function
            )
        })?;
    // The shared session: the env's region and account guard, and one-line
    // credential errors, exactly as for deploy.
    let config = ctx.env_config("invoke")?;
    let session = ctx.session(&env, &config).await?;
    let template_json = manifest::read_template(&manifest, &workspace_root)?;
    let output = invoke(InvokeRequest {
        workspace_root,
        env: env.clone(),
        function,
        template_json,
        stack_name: args.stack_name.unwrap_or(manifest.stack_name),
        event,
        bucket: args.bucket,
        binary: args.binary,
        target: InvokeTarget {
            cloudformation: session.cloudformation,
            s3: session.s3,
            region: session.region,
            account_id: session.identity.account,
        },
        now: ctx.now(),
    })
    .await?;
    print!("{}", render(&args.function, &output));
    match &output.report.outcome {
        InvocationOutcome::Response(_) => Ok(Outcome::Success),
        InvocationOutcome::Error { error_type, .. } => {
            anyhow::bail!("{} returned an error ({error_type})", args.function)
        }
        InvocationOutcome::TimedOut { after, .. } => {
            anyhow::bail!("{} timed out after {} s", args.function, after.as_secs())
        }
        InvocationOutcome::Exited { status, .. } => {
            anyhow::bail!("{} exited without answering ({status})", args.function)
        }
    }
}
