//! `upstack deploy --env <env>`: synth, bundle, upload, change set, review,
//! execute, follow. See `upstack_toolkit::deploy` for the flow.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use upstack_toolkit::aws::{AwsSession, ExpectedTarget, Pacing};
use upstack_toolkit::bundle::{self, BundleOptions};
use upstack_toolkit::deploy::{
    self, AssetFile, DeployClients, DeployOptions, DeployOutcome, DeployPlan, RequireApproval,
    StdoutReporter, TerminalApprover,
};
use upstack_toolkit::synth;

use crate::exit::Outcome;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Approval {
    /// Never ask.
    Never,
    /// Ask before any change.
    AnyChange,
    /// Ask when IAM permissions grow (prod also asks for destructive changes).
    Broadening,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The env to deploy (a file stem of envs/*.toml).
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// AWS profile (default: AWS_PROFILE / the default chain).
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// When to stop for approval before executing the change set.
    #[arg(long, value_enum, default_value = "broadening")]
    pub require_approval: Approval,
    /// Approve without asking (scripts, CI).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Lift prod's stack policy (no replacement/deletion of stateful resources) for this deploy only.
    #[arg(long)]
    pub allow_replace: bool,
    /// Wait for an in-progress stack operation instead of refusing.
    #[arg(long)]
    pub wait: bool,
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
    let output = synth::synth_env(&root, &args.env)
        .with_context(|| format!("deploy {}: synth", args.env))?;
    let config = &output.config;
    let pacing = Pacing::default();
    // Credentials and target first: a wrong profile fails before any build or upload.
    let expected = ExpectedTarget {
        env: args.env.clone(),
        region: config.region.as_str().to_owned(),
        account: config.account_id.as_ref().map(|id| id.as_str().to_owned()),
        config_file: PathBuf::from(synth::ENVS_DIR).join(format!("{}.toml", args.env)),
    };
    let session = AwsSession::connect(&expected, args.profile.as_deref(), None, &pacing).await?;
    println!(
        "deploying {} ({}) to account {} in {}",
        args.env, output.manifest.stack_name, session.identity.account, session.region
    );

    let arch = config.architecture.0;
    let targets: Vec<_> = output
        .manifest
        .functions
        .iter()
        .map(|function| (function.crate_name.clone(), arch))
        .collect();
    let bundled = bundle::bundle(&root, &targets, &BundleOptions::default())
        .with_context(|| format!("deploy {}: bundle", args.env))?;
    let mut assets = Vec::new();
    for function in &output.manifest.functions {
        let asset = bundled
            .iter()
            .find(|asset| asset.handler == function.crate_name)
            .with_context(|| format!("bundle produced no zip for {}", function.crate_name))?;
        // The template names the key synth fingerprinted; the zip must be that build.
        anyhow::ensure!(
            asset.asset_key == function.asset_key,
            "{}: the bundled zip is {} but the template expects {}; the sources changed during the deploy, run it again",
            function.crate_name,
            asset.asset_key,
            function.asset_key
        );
        assets.push(AssetFile {
            key: asset.asset_key.clone(),
            path: asset.zip_path.clone(),
        });
    }

    let plan = DeployPlan {
        env: args.env.clone(),
        stack_name: output.manifest.stack_name.clone(),
        region: session.region.clone(),
        account: session.identity.account.clone(),
        template_json: output.template_json.clone(),
        tags: config
            .tags
            .iter()
            .map(|(key, value)| (key.as_str().to_owned(), value.as_str().to_owned()))
            .collect(),
        termination_protection: config.termination_protection,
        // prod rules apply to the env named prod and to any env that asks
        // for termination protection (i.e. declares itself precious).
        production: args.env == "prod" || config.termination_protection,
        assets,
        outputs_path: root
            .join(synth::OUT_DIR)
            .join(&args.env)
            .join("outputs.json"),
    };
    let deploy_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    let options = DeployOptions {
        require_approval: match args.require_approval {
            Approval::Never => RequireApproval::Never,
            Approval::AnyChange => RequireApproval::AnyChange,
            Approval::Broadening => RequireApproval::Broadening,
        },
        allow_replace: args.allow_replace,
        wait_if_busy: args.wait,
        pacing,
        deploy_id: deploy_id.to_string(),
    };
    let clients = DeployClients {
        cloudformation: session.cloudformation.clone(),
        s3: session.s3.clone(),
    };
    let outcome = deploy::deploy(
        &clients,
        &plan,
        &options,
        &mut StdoutReporter,
        &mut TerminalApprover {
            assume_yes: args.yes,
        },
        deploy::ctrl_c(),
    )
    .await
    .with_context(|| format!("deploy {}", args.env))?;
    Ok(match outcome {
        DeployOutcome::NoChanges | DeployOutcome::Deployed { .. } => Outcome::Success,
        DeployOutcome::NotApproved => Outcome::NotApproved,
        DeployOutcome::Interrupted { .. } => Outcome::Interrupted,
    })
}
