//! `upstack deploy --env <env>`: synth, bundle, upload, change set, review,
//! execute, follow. See `upstack_toolkit::deploy` for the flow.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use upstack_toolkit::aws::Pacing;
use upstack_toolkit::bundle::{self, BundleOptions};
use upstack_toolkit::deploy::{
    self, AssetFile, DeployClients, DeployOptions, DeployOutcome, DeployPlan, RequireApproval,
    StdoutReporter, TerminalApprover,
};
use upstack_toolkit::synth;

use crate::context::Ctx;
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
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let env = ctx.env("deploy")?;
    let root = ctx.root()?.to_path_buf();
    let output = synth::synth_env(&root, env).with_context(|| format!("deploy {env}: synth"))?;
    let config = &output.config;
    let pacing = Pacing::default();
    // Credentials and target first: a wrong profile fails before any build or upload.
    let session = ctx.session(env, config).await?;
    println!(
        "deploying {env} ({}) to account {} in {}",
        output.manifest.stack_name, session.identity.account, session.region
    );

    let arch = config.architecture.0;
    let targets: Vec<_> = output
        .manifest
        .functions
        .iter()
        .map(|function| (function.crate_name.clone(), arch))
        .collect();
    let bundled = bundle::bundle(&root, &targets, &BundleOptions::default())
        .with_context(|| format!("deploy {env}: bundle"))?;
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
        env: env.to_owned(),
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
        // From the env file (`production = true`), never from the env's name.
        production: config.production,
        assets,
        outputs_path: root.join(synth::OUT_DIR).join(env).join("outputs.json"),
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
    .with_context(|| format!("deploy {env}"))?;
    Ok(match outcome {
        DeployOutcome::NoChanges | DeployOutcome::Deployed { .. } => Outcome::Success,
        DeployOutcome::NotApproved => Outcome::NotApproved,
        DeployOutcome::Interrupted { .. } => Outcome::Interrupted,
    })
}
