//! `upstack deploy --env <env>` as a whole: synth, AWS's validator on the
//! exact body, credentials and target, the alarm pre-flight, bundling, then
//! [`super::deploy`], or its halves for `--prepare PLAN.json` (stop at a
//! reviewed plan) and `--execute PLAN.json` (run exactly that plan, or
//! refuse when anything moved since). The CLI turns arguments into a
//! [`DeployCommand`] and the [`Finished`] value into an exit code.

use std::path::{Path, PathBuf};

use upstack_build::bundle::{self, BundleError, BundleOptions, BundleTarget};
use upstack_project::synth::{self, SynthError};

use super::{
    DeployClients, DeployError, DeployOptions, DeployOutcome, DeployRequest, ExecuteTarget,
    PrepareOutcome, execute, preflight_account, preflight_alarms, prepare,
};
use crate::assets::AssetFile;
use crate::aws::{AwsSession, ExpectedTarget, ProfileChoice, TargetError};
use crate::interact::{Approver, RecordingReporter, Reporter};
use crate::plan::{PlanError, ReviewedPlan};
use crate::validate::PreflightError;

/// What `deploy` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Prepare and execute in one run.
    Deploy,
    /// Stop at the reviewed change set and write the plan to this file.
    Prepare(PathBuf),
    /// Execute exactly the change set of this plan file.
    Execute(PathBuf),
}

/// One `upstack deploy` invocation.
#[derive(Debug, Clone)]
pub struct DeployCommand {
    /// The workspace root (Cargo.toml and envs/).
    pub root: PathBuf,
    pub env: String,
    pub profile: ProfileChoice,
    pub mode: Mode,
    pub options: DeployOptions,
    /// Deploy the zips `upstack bundle` left (`--no-build`), checked against
    /// their records and the current sources, instead of building: a CI job
    /// builds before it holds any AWS credentials.
    pub no_build: bool,
    /// `--outputs-file`: also write the stack's outputs here (after a
    /// deploy, and after one with nothing to change).
    pub outputs_file: Option<PathBuf>,
    /// Set changed function code directly when nothing else changed
    /// (`--hotswap`, never in production); see [`super::hotswap`].
    pub hotswap: bool,
}

/// How the command ended, when it did not fail: what the exit code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Deployed, prepared, or nothing to change.
    Done,
    /// An approval was required and not given.
    NotApproved,
    /// Ctrl-C: CloudFormation carries on, nothing was left half-done.
    Interrupted,
    /// `--execute` refused a stale plan; nothing was touched.
    StalePlan,
}

impl From<DeployOutcome> for Finished {
    fn from(outcome: DeployOutcome) -> Finished {
        match outcome {
            DeployOutcome::NoChanges | DeployOutcome::Deployed { .. } => Finished::Done,
            DeployOutcome::NotApproved => Finished::NotApproved,
            DeployOutcome::Interrupted { .. } => Finished::Interrupted,
        }
    }
}

/// Why the command failed, each with the step it failed in.
#[derive(Debug, thiserror::Error)]
pub enum DeployCommandError {
    #[error("deploy {env}: synth")]
    Synth {
        env: String,
        #[source]
        source: SynthError,
    },
    /// `--execute`'s env file, read as every command reads it.
    #[error(transparent)]
    EnvConfig(SynthError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("the template validator panicked")]
    ValidatorPanicked,
    #[error("deploy {env}: pre-flight")]
    Preflight {
        env: String,
        #[source]
        source: PreflightError,
    },
    #[error("deploy {env}: alarms")]
    Alarms {
        env: String,
        #[source]
        source: Box<DeployError>,
    },
    #[error("deploy {env}: account pre-flight")]
    Account {
        env: String,
        #[source]
        source: Box<DeployError>,
    },
    #[error("deploy {env}: bundle")]
    Bundle {
        env: String,
        #[source]
        source: Box<BundleError>,
    },
    #[error("bundle produced no zip for {handler}")]
    NoZip { handler: String },
    #[error(
        "{handler}: the bundled zip is {built} but the template expects {expected}; the sources changed during the deploy, run it again"
    )]
    SourcesMoved {
        handler: String,
        built: String,
        expected: String,
    },
    #[error("deploy {env}{step}")]
    Deploy {
        env: String,
        /// " --prepare", " --execute" or nothing.
        step: &'static str,
        #[source]
        source: Box<DeployError>,
    },
    #[error("deploy {env} --hotswap")]
    Hotswap {
        env: String,
        #[source]
        source: Box<super::hotswap::HotswapError>,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("remove the old plan {path}: {source}")]
    RemoveOldPlan {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DeployCommandError {
    /// The message of a refusal that is the command line's fault
    /// (`--hotswap` for a production env), which the CLI exits 64 for.
    pub fn usage_message(&self) -> Option<String> {
        match self {
            DeployCommandError::Hotswap { source, .. }
                if matches!(**source, super::hotswap::HotswapError::Production { .. }) =>
            {
                Some(source.to_string())
            }
            _ => None,
        }
    }
}

/// `synth-out/<env>/outputs.json`, where a deploy writes the stack's outputs.
pub fn outputs_path(root: &Path, env: &str) -> PathBuf {
    root.join(upstack_project::manifest::output_file(env, "outputs.json"))
}

/// The session for `env` (its region, its pinned account), with the note
/// when the caller's region setting names another region.
pub(crate) async fn connect(
    env: &str,
    profile: &ProfileChoice,
    config: &upstack_stack::EnvConfig,
    reporter: &mut dyn Reporter,
) -> Result<AwsSession, TargetError> {
    let session = AwsSession::connect(&ExpectedTarget::of(env, config), profile).await?;
    if let Some(note) = &session.region_note {
        reporter.warning(note);
    }
    Ok(session)
}

/// Runs the command. Lines go to `reporter`, questions to `approver`;
/// `interrupt` resolving (Ctrl-C) stops waiting without touching the stack.
pub async fn run<I>(
    command: &DeployCommand,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<Finished, DeployCommandError>
where
    I: std::future::Future<Output = ()>,
{
    if let Mode::Execute(path) = &command.mode {
        return execute_plan(command, path, reporter, approver, interrupt).await;
    }
    let env = command.env.as_str();
    let output =
        synth::synth_env(&command.root, env).map_err(|source| DeployCommandError::Synth {
            env: env.to_owned(),
            source,
        })?;
    if command.hotswap {
        super::hotswap::refuse_production(&output.manifest).map_err(|source| {
            DeployCommandError::Hotswap {
                env: env.to_owned(),
                source: Box::new(source),
            }
        })?;
    }
    // AWS's own rules on the exact body deploy sends, before anything is
    // built, uploaded or changed: a template CloudFormation would reject
    // never gets a change set. It runs (about 2 s in a debug build, mostly
    // compiling its rules) while the credentials are checked, so neither
    // waits for the other.
    let body = upstack_cfn::validate::upload_body(&output.template.to_json());
    let validator = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let result = crate::validate::preflight(&body);
        tracing::debug!(elapsed = ?started.elapsed(), "pre-flight: AWS's template validator");
        result
    });
    // Credentials and target first: a wrong profile fails before any build or upload.
    let session = connect(env, &command.profile, &output.config, reporter).await?;
    let warnings = validator
        .await
        .map_err(|_| DeployCommandError::ValidatorPanicked)?
        .map_err(|source| DeployCommandError::Preflight {
            env: env.to_owned(),
            source,
        })?;
    for warning in &warnings {
        reporter.warning(&format!("warning: AWS's template validator: {warning}"));
    }
    let manifest = output.manifest;
    reporter.line(&format!(
        "{} {env} ({}) to account {} in {}",
        if matches!(command.mode, Mode::Prepare(_)) {
            "preparing a plan for"
        } else {
            "deploying"
        },
        manifest.stack_name,
        session.identity.account,
        session.region
    ));

    // A firing alarm refuses before the build, not after it (prepare looks
    // again right before the change set: states move during a long build).
    // With --ignore-alarms prepare says so once; this early look stays quiet.
    let clients = DeployClients::new(&session.sdk_config);
    preflight_alarms(
        &clients.cloudwatch,
        &manifest.stack_name,
        env,
        &manifest.alarms,
        command.options.ignore_alarms,
        &mut RecordingReporter::default(),
    )
    .await
    .map_err(|source| DeployCommandError::Alarms {
        env: env.to_owned(),
        source: Box::new(source),
    })?;
    // The account's quotas, too: concurrency now, the zips' sizes again in
    // prepare once they are built.
    preflight_account(
        &clients.lambda,
        &manifest,
        &session.identity.account,
        &session.region,
        None,
        // prepare says it again if the check is skipped.
        &mut RecordingReporter::default(),
    )
    .await
    .map_err(|source| DeployCommandError::Account {
        env: env.to_owned(),
        source: Box::new(source),
    })?;

    let mut request = DeployRequest {
        manifest,
        template_json: output.template_json,
        account: session.identity.account.clone(),
        region: session.region.clone(),
        assets: Vec::new(),
        outputs_path: outputs_path(&command.root, env),
    };
    if command.hotswap && super::hotswap::run(command, &clients, &request, reporter).await? {
        return Ok(Finished::Done);
    }
    request.assets = bundle_assets(&command.root, env, &request.manifest, command.no_build)?;
    let failed = |step: &'static str| {
        move |source| DeployCommandError::Deploy {
            env: env.to_owned(),
            step,
            source: Box::new(source),
        }
    };
    let Mode::Prepare(path) = &command.mode else {
        let outcome = super::deploy(
            &clients,
            &request,
            &command.options,
            reporter,
            approver,
            interrupt,
        )
        .await
        .map_err(failed(""))?;
        if let Some(file) = &command.outputs_file {
            outputs_file(
                &clients,
                &request.manifest.stack_name,
                &outcome,
                file,
                reporter,
            )
            .await
            .map_err(failed(""))?;
        }
        super::hotswap::after_deploy(&clients.lambda, &request.manifest, &outcome, reporter)
            .await?;
        return Ok(outcome.into());
    };
    let prepared = prepare(
        &clients,
        &request,
        &command.options,
        reporter,
        approver,
        interrupt,
    )
    .await
    .map_err(failed(" --prepare"))?;
    Ok(match prepared {
        PrepareOutcome::Ready(plan) => {
            plan.save(path)?;
            reporter.line(&format!(
                "plan written to {}: change set {} on {}; review it with `upstack diff --plan {0}`, run it with `upstack deploy --env {env} --execute {0}`",
                path.display(),
                plan.change_set.name,
                plan.manifest.stack_name
            ));
            Finished::Done
        }
        PrepareOutcome::NoChanges(_) => {
            // A plan file left from an earlier run must not be mistaken for
            // this one's: nothing is to be executed.
            if path.exists() {
                std::fs::remove_file(path).map_err(|source| DeployCommandError::RemoveOldPlan {
                    path: path.clone(),
                    source,
                })?;
                reporter.line(&format!(
                    "no changes: no plan written (removed the old {})",
                    path.display()
                ));
            } else {
                reporter.line("no changes: no plan written");
            }
            Finished::Done
        }
        PrepareOutcome::NotApproved => Finished::NotApproved,
        PrepareOutcome::Interrupted { .. } => Finished::Interrupted,
    })
}

/// `--outputs-file`: the outputs of a deploy, or, when there was nothing to
/// change, the deployed stack's (a script reads the file either way).
async fn outputs_file(
    clients: &DeployClients,
    stack: &str,
    outcome: &DeployOutcome,
    file: &Path,
    reporter: &mut dyn Reporter,
) -> Result<(), DeployError> {
    let cfn = &clients.cloudformation;
    let outputs = match outcome {
        DeployOutcome::Deployed { outputs } => outputs.clone(),
        DeployOutcome::NoChanges => match crate::stack::describe(cfn, stack).await? {
            Some(state) => crate::stack::outputs(cfn, &state).await?,
            None => return Ok(()),
        },
        DeployOutcome::NotApproved | DeployOutcome::Interrupted { .. } => return Ok(()),
    };
    super::write_outputs(file, stack, &outputs)?;
    reporter.line(&format!("outputs written to {}", file.display()));
    Ok(())
}

/// Bundles the handlers the manifest names and pairs each zip with the key
/// the template expects, refusing a zip built from other sources.
pub(crate) fn bundle_assets(
    root: &Path,
    env: &str,
    manifest: &upstack_stack::Manifest,
    no_build: bool,
) -> Result<Vec<AssetFile>, DeployCommandError> {
    // Each function with its env's build profile: a `fast` env's keys are
    // fast builds.
    let targets: Vec<BundleTarget> = manifest.functions.iter().map(BundleTarget::from).collect();
    let bundled = if no_build {
        bundle::prebuilt(root, &targets, &BundleOptions::default())
    } else {
        bundle::bundle(root, &targets, &BundleOptions::default())
    }
    .map_err(|source| DeployCommandError::Bundle {
        env: env.to_owned(),
        source: Box::new(source),
    })?;
    let mut assets = Vec::with_capacity(manifest.functions.len());
    for function in &manifest.functions {
        let asset = bundled
            .iter()
            .find(|asset| asset.handler == function.handler)
            .ok_or_else(|| DeployCommandError::NoZip {
                handler: function.handler.clone(),
            })?;
        // The template names the key synth fingerprinted; the zip must be that build.
        if asset.asset_key != function.asset_key {
            return Err(DeployCommandError::SourcesMoved {
                handler: function.handler.clone(),
                built: asset.asset_key.clone(),
                expected: function.asset_key.clone(),
            });
        }
        assets.push(AssetFile {
            key: asset.asset_key.clone(),
            path: asset.zip_path.clone(),
            sha256: asset.sha256.clone(),
            size: asset.size,
            unzipped_size: asset.binary_size,
        });
    }
    Ok(assets)
}

/// `--execute PLAN.json`: no synth, no build; the plan names everything.
async fn execute_plan<I>(
    command: &DeployCommand,
    path: &Path,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<Finished, DeployCommandError>
where
    I: std::future::Future<Output = ()>,
{
    let env = command.env.as_str();
    let plan = ReviewedPlan::load(path)?;
    let config = synth::load_env(&command.root, env).map_err(DeployCommandError::EnvConfig)?;
    let session = connect(env, &command.profile, &config, reporter).await?;
    reporter.line(&format!(
        "executing the plan {} for {env} ({}) in account {} in {}",
        path.display(),
        plan.manifest.stack_name,
        session.identity.account,
        session.region
    ));
    let target = ExecuteTarget {
        env: env.to_owned(),
        account: session.identity.account.clone(),
        region: session.region.clone(),
        outputs_path: outputs_path(&command.root, env),
    };
    let clients = DeployClients::new(&session.sdk_config);
    let result = execute(
        &clients,
        &plan,
        &target,
        &command.options,
        reporter,
        approver,
        interrupt,
    )
    .await;
    match result {
        Ok(outcome) => {
            if let (Some(file), DeployOutcome::Deployed { outputs }) =
                (&command.outputs_file, &outcome)
            {
                super::write_outputs(file, &plan.manifest.stack_name, outputs).map_err(
                    |source| DeployCommandError::Deploy {
                        env: env.to_owned(),
                        step: " --execute",
                        source: Box::new(source),
                    },
                )?;
                reporter.line(&format!("outputs written to {}", file.display()));
            }
            super::hotswap::after_deploy(&clients.lambda, &plan.manifest, &outcome, reporter)
                .await?;
            Ok(outcome.into())
        }
        Err(error @ DeployError::StalePlan { .. }) => {
            reporter.warning(&format!("error: {error}"));
            reporter.warning(&format!(
                "nothing was touched; prepare a new plan (`upstack deploy --env {env} --prepare {}`) and review it",
                path.display()
            ));
            Ok(Finished::StalePlan)
        }
        Err(source) => Err(DeployCommandError::Deploy {
            env: env.to_owned(),
            step: " --execute",
            source: Box::new(source),
        }),
    }
}
