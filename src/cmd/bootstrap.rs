//! `upstack bootstrap --env <env>`: create (or converge) the asset bucket of
//! the env's account and region.

use std::path::PathBuf;

use anyhow::Context;
use upstack_toolkit::aws::{AwsSession, ExpectedTarget, Pacing};
use upstack_toolkit::{bootstrap, synth};

use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The env whose account and region to bootstrap (a file stem of envs/*.toml).
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// AWS profile (default: AWS_PROFILE / the default chain).
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
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
    let bucket = bootstrap::asset_bucket(&session.identity.account, &session.region);
    let report = bootstrap::bootstrap(
        &session.s3,
        &bucket,
        &session.region,
        bootstrap::tls_enforceable(session.sdk_config.endpoint_url()),
        &pacing,
    )
    .await
    .with_context(|| format!("bootstrap {} ({})", args.env, session.region))?;
    print!("{}", report.render());
    Ok(Outcome::Success)
}
