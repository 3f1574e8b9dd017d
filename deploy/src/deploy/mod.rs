//! `deploy`: publish the assets, create a change set, review it, execute it,
//! follow the stack until CloudFormation is done, and check that each
//! function runs the code that was built.
//!
//! The flow has two halves: [`prepare`] (up to a reviewed change set, as a
//! [`ReviewedPlan`]) and [`execute`] (a plan's change set, by ARN, refused
//! with [`DeployError::StalePlan`] when anything moved since: the stack, the
//! change set, or any asset's bytes or version). [`deploy`] is the two in one
//! run; `deploy --prepare` / `--execute` split them across a pull request's
//! review. [`run`](command::run) is the whole command: synth, AWS's
//! validator, credentials, the alarm pre-flight, bundling, then the above.
//!
//! Modules: `prepare` (assets, the stack's state, the change set, the
//! review), `execute` (approval, execution, what comes after), `stale` (a
//! saved plan against the account now), `verify` (each function's running
//! code against its zip), `command` (the CLI's entry). Talking to a person
//! goes through [`crate::interact`].

mod command;
mod execute;
pub mod hotswap;
mod prepare;
mod stale;
mod verify;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use aws_sdk_cloudformation::Client as CfnClient;
use aws_sdk_s3::Client as S3Client;
use upstack_stack::Manifest;

use crate::assets::{AssetError, AssetFile};
use crate::aws::{CallError, Pacing};
use crate::bootstrap::BootstrapError;
use crate::changeset::ChangeSetError;
use crate::interact::{Approver, Reporter};
use crate::plan::{PlanError, StaleReason};
use crate::stack::{StackStatus, TemplateError};
use crate::status::{self, AlarmState, AlarmStatus, StackAlarms};

pub use command::{DeployCommand, DeployCommandError, Finished, Mode, outputs_path, run};
pub(crate) use command::{bundle_assets, connect};
pub use execute::{ExecuteTarget, execute, write_outputs};
pub use prepare::{PrepareOutcome, prepare};
pub use stale::stale_reasons;
pub use verify::{CodeMismatch, RunningCode, running_code};

/// Everything one deploy needs, already synthesized and built: the stack
/// plan's manifest and template, where it goes, and the zips it names.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    /// The env's stack plan, as synth made it (names, functions, alarms,
    /// tags, production rules, stack policy): carried, never re-derived.
    pub manifest: Manifest,
    /// The template as synthesized (indented); deploy sends it compact.
    pub template_json: String,
    /// The account and region the credentials were checked to point at.
    pub account: String,
    pub region: String,
    /// The zips `bundle` built, one per key the template names.
    pub assets: Vec<AssetFile>,
    /// Where outputs.json is written (`synth-out/<env>/outputs.json`).
    pub outputs_path: PathBuf,
}

impl DeployRequest {
    pub fn asset_bucket(&self) -> String {
        upstack_contract::assets::bucket_name(&self.account, &self.region)
    }
}

/// When to stop and ask before executing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequireApproval {
    Never,
    AnyChange,
    /// Security changes that grant more (and, in production, destructive changes).
    #[default]
    Broadening,
}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub require_approval: RequireApproval,
    /// Lift the stateful-resource stack policy for this one deploy.
    pub allow_replace: bool,
    /// Wait for an in-progress stack operation instead of refusing.
    pub wait_if_busy: bool,
    pub pacing: Pacing,
    /// Change set name and client token seed (tests fix it).
    pub deploy_id: String,
    /// Deploy although alarms of the stack are in ALARM (`--ignore-alarms`).
    pub ignore_alarms: bool,
    /// What to do about changes made outside CloudFormation.
    pub drift: DriftHandling,
}

/// What a deploy does about changes made outside CloudFormation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftHandling {
    /// Not read (`--no-drift`).
    Skip,
    /// Read, and the review says what the deploy overwrites and what it
    /// leaves as it is.
    Report,
    /// Read, and set back to the deployed template's values where the new
    /// template does not change them (`--revert-drift`: a drift-aware
    /// change set).
    Revert,
}

/// How a deploy ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployOutcome {
    /// Nothing to change; each function was checked to run its zip.
    NoChanges,
    Deployed {
        outputs: BTreeMap<String, String>,
    },
    NotApproved,
    /// Ctrl-C: CloudFormation carries on; `resume` watches it again.
    Interrupted {
        resume: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    ChangeSet(#[from] ChangeSetError),
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    #[error(transparent)]
    Assets(#[from] AssetError),
    #[error(transparent)]
    DeployedTemplate(#[from] TemplateError),
    #[error("cannot write {path}: {source}")]
    WriteOutputs {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the synthesized template is not JSON: {0}")]
    Template(serde_json::Error),
    #[error(transparent)]
    Diff(#[from] upstack_diff::DiffError),
    #[error(
        "stack {stack} is {status}: another operation is running; re-run with --wait to wait for it, or watch it with `aws cloudformation describe-stack-events --stack-name {stack}`"
    )]
    Busy { stack: String, status: StackStatus },
    #[error(
        "stack {stack} is UPDATE_ROLLBACK_FAILED: a failed update could not be rolled back{reason}. Fix the cause (often a resource changed or deleted outside CloudFormation), then run `aws cloudformation continue-update-rollback --stack-name {stack}` (add `--resources-to-skip <LogicalId>` for resources that cannot be rolled back) and deploy again"
    )]
    UpdateRollbackFailed { stack: String, reason: String },
    #[error(
        "stack {stack} is {status}{reason}; upstack will not deploy over it. Inspect it with `aws cloudformation describe-stack-events --stack-name {stack}`, fix the cause, and delete it if it holds nothing you need"
    )]
    Unusable {
        stack: String,
        status: StackStatus,
        reason: String,
    },
    #[error(
        "stack {stack} is in status {status}, which this version of upstack does not know; refusing to guess. Check the CloudFormation console"
    )]
    UnknownStatus { stack: String, status: StackStatus },
    #[error("CloudFormation could not create the change set for {stack}: {reason}")]
    ChangeSetFailed { stack: String, reason: String },
    #[error("deploy of {stack} failed: {status}{cause}")]
    Failed {
        stack: String,
        status: StackStatus,
        cause: String,
    },
    #[error("stack {stack} was deleted while we were waiting: {status}")]
    Vanished { stack: String, status: StackStatus },
    /// `deploy --execute` refused: the plan no longer describes what would
    /// run. Nothing was touched. The CLI exits 5 for this error.
    #[error(
        "the plan for {stack} is stale, nothing was changed; prepare it again (`upstack deploy --env <env> --prepare PLAN.json`):{}",
        bullets(reasons)
    )]
    StalePlan {
        stack: String,
        change_set: String,
        reasons: Vec<StaleReason>,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The pre-flight check found alarms of the stack in ALARM.
    #[error(
        "{} alarm(s) of {stack} in ALARM; nothing was changed. A deploy now would mix this change with a live problem, and CloudFormation would roll it back at once. Look with `upstack status --env {env}`, or deploy anyway with --ignore-alarms:{}",
        alarms.len(),
        alarm_bullets(alarms)
    )]
    AlarmsFiring {
        stack: String,
        env: String,
        alarms: Vec<AlarmStatus>,
    },
    /// The account's Lambda quotas cannot take the stack (the account
    /// pre-flight); nothing was uploaded or changed.
    #[error(transparent)]
    AccountLimits(#[from] crate::account::AccountLimitsExceeded),
    /// After the deploy, a function does not run the zip that was built and
    /// reviewed for it.
    #[error(transparent)]
    CodeMismatch(#[from] CodeMismatch),
}

impl DeployError {
    /// Whether this is a refusal of a stale plan (exit 5), as opposed to a failure.
    pub fn is_stale_plan(&self) -> bool {
        matches!(self, DeployError::StalePlan { .. })
    }
}

pub(crate) fn alarm_bullets(alarms: &[AlarmStatus]) -> String {
    alarms
        .iter()
        .map(|alarm| {
            format!(
                "\n  - {}: {}",
                alarm.name,
                alarm.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .collect()
}

fn bullets(reasons: &[StaleReason]) -> String {
    reasons
        .iter()
        .map(|reason| format!("\n  - {reason}"))
        .collect()
}

/// The clients a deploy uses.
#[derive(Debug, Clone)]
pub struct DeployClients {
    pub cloudformation: CfnClient,
    pub s3: S3Client,
    /// Alarm states: the pre-flight check, rollback triggers, root causes.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Each function's running code (CodeSha256), checked after the deploy.
    pub lambda: aws_sdk_lambda::Client,
    /// Every resource read for drift; `None` reads none (tests of other
    /// things).
    pub drift: Option<crate::drift::DriftClients>,
}

impl DeployClients {
    /// Every client from one SDK configuration (the S3 client path-style
    /// when an endpoint override points at an emulator).
    pub fn new(sdk_config: &aws_config::SdkConfig) -> DeployClients {
        DeployClients {
            cloudformation: CfnClient::new(sdk_config),
            s3: crate::aws::s3_client(sdk_config),
            cloudwatch: status::cloudwatch_client(sdk_config),
            lambda: aws_sdk_lambda::Client::new(sdk_config),
            drift: Some(crate::drift::DriftClients::new(sdk_config)),
        }
    }
}

/// The policy applied for one `--allow-replace` deploy.
pub const ALLOW_ALL_STACK_POLICY: &str =
    r#"{"Statement":[{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"}]}"#;

/// Before any change: the stack's alarms as CloudWatch has them. Refuses
/// with [`DeployError::AlarmsFiring`] when any is in ALARM, unless
/// `ignore_alarms`, which says so and goes on. `prepare` calls it right
/// before the change set; the command also calls it before bundling, so a
/// firing alarm refuses in seconds, not after a build.
pub async fn preflight_alarms(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    stack: &str,
    env: &str,
    alarms: &StackAlarms,
    ignore_alarms: bool,
    reporter: &mut dyn Reporter,
) -> Result<Vec<AlarmStatus>, DeployError> {
    if alarms.alarms.is_empty() {
        return Ok(Vec::new());
    }
    let observed = status::describe_alarms(cloudwatch, &alarms.names()).await?;
    let firing: Vec<AlarmStatus> = observed
        .iter()
        .filter(|alarm| alarm.state == AlarmState::Alarm)
        .cloned()
        .collect();
    if firing.is_empty() {
        return Ok(observed);
    }
    if !ignore_alarms {
        return Err(DeployError::AlarmsFiring {
            stack: stack.to_owned(),
            env: env.to_owned(),
            alarms: firing,
        });
    }
    reporter.line(&format!(
        "--ignore-alarms: deploying although {} alarm(s) are in ALARM:{}",
        firing.len(),
        alarm_bullets(&firing)
    ));
    Ok(observed)
}

/// Before any change: whether the account's Lambda quotas can take the
/// stack (reserved concurrency, each zip's extracted size, code storage),
/// refused with [`DeployError::AccountLimits`]. Runs beside
/// [`preflight_alarms`]: in the command before the build (`assets` is
/// `None`: concurrency only) and in `prepare` before any upload.
///
/// A stack without functions (the CI identities) asks Lambda nothing. A
/// role that may not read the account's settings (`AccessDenied*`) is told
/// the check was skipped, and the deploy goes on: a least-privilege role
/// made before this check existed must not block deploys.
pub async fn preflight_account(
    lambda: &aws_sdk_lambda::Client,
    manifest: &Manifest,
    account: &str,
    region: &str,
    assets: Option<&[crate::assets::AssetFile]>,
    reporter: &mut dyn Reporter,
) -> Result<(), DeployError> {
    if manifest.functions.is_empty() {
        return Ok(());
    }
    let (settings, functions) = match crate::account::read(lambda, manifest, assets).await {
        Ok(read) => read,
        Err(error)
            if error
                .code
                .as_deref()
                .is_some_and(|code| code.starts_with("AccessDenied")) =>
        {
            reporter.warning(&format!(
                "warning: account pre-flight skipped, the deploying role may not read Lambda's account settings: {error}"
            ));
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    let target = crate::account::Target {
        account: account.to_owned(),
        region: region.to_owned(),
        env: manifest.env.clone(),
    };
    crate::account::check(&target, &settings, &functions)?;
    Ok(())
}

/// Deploys `request`: [`prepare`] then [`execute`], in one run. `interrupt`
/// resolving (Ctrl-C) while CloudFormation works stops waiting without
/// touching the stack.
pub async fn deploy<I>(
    clients: &DeployClients,
    request: &DeployRequest,
    options: &DeployOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<DeployOutcome, DeployError>
where
    I: Future<Output = ()>,
{
    let started = options.pacing.clock.now();
    let mut interrupt = std::pin::pin!(interrupt);
    let prepared = match prepare::prepare_with(
        clients,
        request,
        options,
        reporter,
        approver,
        &mut interrupt,
    )
    .await?
    {
        PrepareOutcome::Ready(prepared) => prepared,
        PrepareOutcome::NoChanges(assets) => {
            // Nothing to deploy, but what runs must still be what was built.
            verify::check_running_code(&clients.lambda, &request.manifest, &assets, reporter)
                .await?;
            return Ok(DeployOutcome::NoChanges);
        }
        PrepareOutcome::NotApproved => return Ok(DeployOutcome::NotApproved),
        PrepareOutcome::Interrupted { resume } => {
            return Ok(DeployOutcome::Interrupted { resume });
        }
    };
    execute::execute_with(
        clients,
        &prepared,
        &request.outputs_path,
        options,
        reporter,
        approver,
        &mut interrupt,
        started,
        execute::Origin::ThisRun,
    )
    .await
}

/// Executes a change set this process has just prepared (and had
/// approved its own way): no stale check, no second review print; a `No`
/// from `approver` (when `options.require_approval` asks) deletes it.
pub(crate) async fn execute_prepared<I>(
    clients: &DeployClients,
    plan: &crate::plan::ReviewedPlan,
    outputs_path: &std::path::Path,
    options: &DeployOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<DeployOutcome, DeployError>
where
    I: Future<Output = ()>,
{
    let started = options.pacing.clock.now();
    let mut interrupt = std::pin::pin!(interrupt);
    execute::execute_with(
        clients,
        plan,
        outputs_path,
        options,
        reporter,
        approver,
        &mut interrupt,
        started,
        execute::Origin::ThisRun,
    )
    .await
}

/// Deletes the change set of a plan that will not run (and, for a CREATE,
/// the empty stack CloudFormation made for it).
pub(crate) async fn discard_plan(
    clients: &DeployClients,
    plan: &crate::plan::ReviewedPlan,
) -> Result<(), DeployError> {
    prepare::discard(
        &clients.cloudformation,
        &stale::plan_handle(plan),
        plan.change_set.kind.into(),
    )
    .await
}

/// " (<reason>)", or nothing for no reason.
fn reason_suffix(reason: Option<&str>) -> String {
    reason
        .filter(|reason| !reason.is_empty())
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default()
}

/// ": <logical id> (<type>) <status>: <reason>", the root cause's line.
fn cause_text(event: &crate::events::StackEvent) -> String {
    format!(
        ": {} ({}) {}: {}",
        event.logical_id,
        event.resource_type,
        event.status,
        event.reason.as_deref().unwrap_or("no reason given")
    )
}
