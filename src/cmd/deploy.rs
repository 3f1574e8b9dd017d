//! `upstack deploy --env <env>`: synth, bundle, upload, change set, review,
//! execute, follow. `--prepare PLAN.json` stops after the change set is made
//! and writes the reviewed plan; `--execute PLAN.json` runs exactly that
//! change set, or refuses (exit 5) when anything moved since. See
//! `upstack_deploy::deploy` for the flow.

use std::path::{Path, PathBuf};

use anyhow::Context;
use upstack_build::bundle::{self, BundleOptions};
use upstack_deploy::aws::AwsSession;
use upstack_deploy::deploy::{
    self, AssetFile, DeployClients, DeployError, DeployOptions, DeployOutcome, DeployPlan,
    ExecuteTarget, PrepareOutcome, RequireApproval, StdoutReporter, TerminalApprover,
};
use upstack_deploy::plan::Plan;
use upstack_deploy::status;
use upstack_project::synth;

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
    /// Bundle, upload and create the change set, write the reviewed plan to
    /// this file, and stop without executing (for a pull request).
    #[arg(long, value_name = "PLAN.json", conflicts_with = "execute")]
    pub prepare: Option<PathBuf>,
    /// Execute exactly the change set of this plan (made by --prepare); exit 5,
    /// touching nothing, if the change set or the stack changed since.
    #[arg(long, value_name = "PLAN.json", conflicts_with_all = ["prepare", "wait"])]
    pub execute: Option<PathBuf>,
    /// Deploy although alarms of the stack are in ALARM (by default deploy
    /// lists them and refuses, exit 1); also for --execute. Alarms in ALARM
    /// are then left out of the rollback triggers.
    #[arg(long)]
    pub ignore_alarms: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let env = ctx.env("deploy")?;
    if let Some(path) = &args.execute {
        return execute(&args, ctx, env, path).await;
    }
    let root = ctx.root()?.to_path_buf();
    let output = synth::synth_env(&root, env).with_context(|| format!("deploy {env}: synth"))?;
    let config = &output.config;
    // AWS's own rules on the exact body deploy sends, before anything is
    // built, uploaded or changed: a template CloudFormation would reject
    // never gets a change set. It runs (about 2 s in a debug build, mostly
    // compiling its rules) while the credentials are checked, so neither
    // waits for the other.
    let body = upstack_cfn::validate::upload_body(&output.template.to_json());
    let preflight = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let result = upstack_deploy::validate::preflight(&body);
        tracing::debug!(elapsed = ?started.elapsed(), "pre-flight: AWS's template validator");
        result
    });
    // Credentials and target first: a wrong profile fails before any build or upload.
    let session = ctx.session(env, config).await?;
    let warnings = preflight
        .await
        .context("the template validator panicked")?
        .with_context(|| format!("deploy {env}: pre-flight"))?;
    for warning in &warnings {
        eprintln!("warning: AWS's template validator: {warning}");
    }
    println!(
        "{} {env} ({}) to account {} in {}",
        if args.prepare.is_some() {
            "preparing a plan for"
        } else {
            "deploying"
        },
        output.manifest.stack_name,
        session.identity.account,
        session.region
    );

    // A firing alarm refuses before the build, not after it (prepare looks
    // again right before the change set: states move during a long build).
    let alarms = output.manifest.alarms.clone();
    let clients = clients(&session);
    // With --ignore-alarms prepare says so once; this early look stays quiet.
    let mut quiet = upstack_deploy::deploy::RecordingReporter::default();
    deploy::preflight_alarms(
        &clients.cloudwatch,
        &output.manifest.stack_name,
        env,
        &alarms,
        args.ignore_alarms,
        ctx.pacing(),
        &mut quiet,
    )
    .await
    .with_context(|| format!("deploy {env}: alarms"))?;

    let targets: Vec<_> = output
        .manifest
        .functions
        .iter()
        .map(|function| (function.handler.clone(), function.architecture))
        .collect();
    let bundled = bundle::bundle(&root, &targets, &BundleOptions::default())
        .with_context(|| format!("deploy {env}: bundle"))?;
    let mut assets = Vec::new();
    for function in &output.manifest.functions {
        let asset = bundled
            .iter()
            .find(|asset| asset.handler == function.handler)
            .with_context(|| format!("bundle produced no zip for {}", function.handler))?;
        // The template names the key synth fingerprinted; the zip must be that build.
        anyhow::ensure!(
            asset.asset_key == function.asset_key,
            "{}: the bundled zip is {} but the template expects {}; the sources changed during the deploy, run it again",
            function.handler,
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
        termination_protection: output.manifest.termination_protection,
        // Both from the manifest: the env file's `production`, never the
        // env's name, and the policy synth computed from the registry.
        production: output.manifest.production,
        stack_policy: output.manifest.stack_policy.clone(),
        assets,
        outputs_path: outputs_path(&root, env),
        // From the stack model, the same one the template was synthesized from.
        alarms,
    };
    let options = options(&args, ctx);
    let mut approver = TerminalApprover {
        assume_yes: args.yes,
    };
    if let Some(path) = &args.prepare {
        let prepared = deploy::prepare(
            &clients,
            &plan,
            &options,
            &mut StdoutReporter,
            &mut approver,
            deploy::ctrl_c(),
        )
        .await
        .with_context(|| format!("deploy {env} --prepare"))?;
        return Ok(match prepared {
            PrepareOutcome::Ready(prepared) => {
                prepared.save(path)?;
                println!(
                    "plan written to {}: change set {} on {}; review it with `upstack diff --plan {0}`, run it with `upstack deploy --env {env} --execute {0}`",
                    path.display(),
                    prepared.change_set.name,
                    prepared.stack_name
                );
                Outcome::Success
            }
            PrepareOutcome::NoChanges => {
                // A plan file left from an earlier run must not be mistaken
                // for this one's: nothing is to be executed.
                if path.exists() {
                    std::fs::remove_file(path)
                        .with_context(|| format!("remove the old plan {}", path.display()))?;
                    println!(
                        "no changes: no plan written (removed the old {})",
                        path.display()
                    );
                } else {
                    println!("no changes: no plan written");
                }
                Outcome::Success
            }
            PrepareOutcome::NotApproved => Outcome::NotApproved,
            PrepareOutcome::Interrupted { .. } => Outcome::Interrupted,
        });
    }
    let outcome = deploy::deploy(
        &clients,
        &plan,
        &options,
        &mut StdoutReporter,
        &mut approver,
        deploy::ctrl_c(),
    )
    .await
    .with_context(|| format!("deploy {env}"))?;
    Ok(outcome_of(outcome))
}

/// `--execute PLAN.json`: no synth, no build; the plan names everything.
async fn execute(args: &Args, ctx: &Ctx, env: &str, path: &Path) -> anyhow::Result<Outcome> {
    let plan = Plan::load(path)?;
    let config = ctx.env_config("deploy")?;
    let session = ctx.session(env, &config).await?;
    println!(
        "executing the plan {} for {env} ({}) in account {} in {}",
        path.display(),
        plan.stack_name,
        session.identity.account,
        session.region
    );
    let target = ExecuteTarget {
        env: env.to_owned(),
        account: session.identity.account.clone(),
        region: session.region.clone(),
        outputs_path: outputs_path(ctx.root()?, env),
    };
    let result = deploy::execute(
        &clients(&session),
        &plan,
        &target,
        &options(args, ctx),
        &mut StdoutReporter,
        &mut TerminalApprover {
            assume_yes: args.yes,
        },
        deploy::ctrl_c(),
    )
    .await;
    match result {
        Ok(outcome) => Ok(outcome_of(outcome)),
        Err(error @ DeployError::StalePlan { .. }) => {
            eprintln!("error: {error}");
            eprintln!(
                "nothing was touched; prepare a new plan (`upstack deploy --env {env} --prepare {}`) and review it",
                path.display()
            );
            Ok(Outcome::StalePlan)
        }
        Err(error) => Err(error).with_context(|| format!("deploy {env} --execute")),
    }
}

fn outputs_path(root: &Path, env: &str) -> PathBuf {
    root.join(upstack_project::manifest::output_file(env, "outputs.json"))
}

fn options(args: &Args, ctx: &Ctx) -> DeployOptions {
    let deploy_id = ctx.epoch_seconds();
    DeployOptions {
        require_approval: match args.require_approval {
            Approval::Never => RequireApproval::Never,
            Approval::AnyChange => RequireApproval::AnyChange,
            Approval::Broadening => RequireApproval::Broadening,
        },
        allow_replace: args.allow_replace,
        wait_if_busy: args.wait,
        pacing: ctx.pacing().clone(),
        deploy_id: deploy_id.to_string(),
        ignore_alarms: args.ignore_alarms,
    }
}

fn clients(session: &AwsSession) -> DeployClients {
    DeployClients {
        cloudformation: session.cloudformation.clone(),
        s3: session.s3.clone(),
        cloudwatch: status::cloudwatch_client(&session.sdk_config),
    }
}

fn outcome_of(outcome: DeployOutcome) -> Outcome {
    match outcome {
        DeployOutcome::NoChanges | DeployOutcome::Deployed { .. } => Outcome::Success,
        DeployOutcome::NotApproved => Outcome::NotApproved,
        DeployOutcome::Interrupted { .. } => Outcome::Interrupted,
    }
}
