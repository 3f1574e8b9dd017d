//! `upstack destroy --env <env>`: delete the env's stack after approval.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use upstack_toolkit::aws::{AwsSession, ExpectedTarget, Pacing};
use upstack_toolkit::deploy::{self, StdoutReporter, TerminalApprover};
use upstack_toolkit::destroy::{self, DestroyOptions, DestroyOutcome};
use upstack_toolkit::synth;

use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The env to destroy (a file stem of envs/*.toml).
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// AWS profile (default: AWS_PROFILE / the default chain).
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Approve without asking (scripts). Without a terminal and without it, nothing is deleted (exit 4).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Turn the stack's termination protection off first (prod has it on).
    #[arg(long)]
    pub disable_termination_protection: bool,
    /// Workspace root (default: the current directory or its nearest parent with envs/).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    let start = match args.root {
        Some(root) => root,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let root = synth::find_workspace_root(&start)?;
    let config = synth::load_env(&root, &args.env)?;
    let pacing = Pacing::default();
    let expected = ExpectedTarget {
        env: args.env.clone(),
        region: config.region.as_str().to_owned(),
        account: config.account_id.as_ref().map(|id| id.as_str().to_owned()),
        config_file: PathBuf::from(synth::ENVS_DIR).join(format!("{}.toml", args.env)),
    };
    let session = AwsSession::connect(&expected, args.profile.as_deref(), None, &pacing).await?;
    let token = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    let options = DestroyOptions {
        disable_termination_protection: args.disable_termination_protection,
        pacing,
        client_token: format!("upstack-destroy-{token}"),
    };
    let outcome = destroy::destroy(
        &session.cloudformation,
        &args.env,
        config.stack_name.as_str(),
        &options,
        &mut StdoutReporter,
        &mut TerminalApprover {
            assume_yes: args.yes,
        },
        deploy::ctrl_c(),
    )
    .await
    .with_context(|| format!("destroy {}", args.env))?;
    Ok(match outcome {
        DestroyOutcome::NothingToDestroy | DestroyOutcome::Destroyed { .. } => Outcome::Success,
        DestroyOutcome::NotApproved => Outcome::NotApproved,
        DestroyOutcome::Interrupted { .. } => Outcome::Interrupted,
    })
}
