//! `deploy`: upload assets, create a change set, review it, execute it and
//! follow the stack until CloudFormation is done.
//!
//! The flow has two halves: [`prepare`] (up to a reviewed change set, as a
//! [`Plan`]) and [`execute`] (a plan's change set, by ARN, refused with
//! [`DeployError::StalePlan`] when anything moved since). [`deploy`] is the
//! two in one run; `deploy --prepare` / `--execute` split them across a
//! pull request's review.
//!
//! Everything that talks to a person goes through [`Reporter`] (lines of
//! text) and [`Approver`] (yes/no), so the same code runs in a terminal, in
//! CI (no terminal: a required approval is refused, never assumed) and in
//! tests (recorded lines, scripted answers).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aws_sdk_cloudformation::Client as CfnClient;
use aws_sdk_s3::Client as S3Client;
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};

use crate::aws::{CallError, Pacing, with_retries};
use crate::bootstrap::{self, BootstrapError, TEMPLATE_PREFIX};
use crate::changeset::{
    self, ChangeSetError, ChangeSetHandle, ChangeSetKind, ChangeSetRequest, ChangeSetState,
    MAX_ROLLBACK_TRIGGERS, MAX_TEMPLATE_BODY_BYTES, RollbackAlarm, RollbackSettings,
    TemplateSource,
};
use crate::events::{
    self, EventWatcher, StackEvent, StackState, StackStatus, StatusClass, WatchOutcome,
};
use crate::plan::{
    FORMAT_VERSION, Plan, PlanError, PlannedChangeSet, Review, StackSnapshot, StaleReason,
};
use crate::status::{self, AlarmState, AlarmStatus, StackAlarms};
use upstack_project::fsutil::write_atomic;

/// One zip to make available in the asset bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFile {
    pub key: String,
    pub path: PathBuf,
}

/// Everything deploy needs to know about one env, already synthesized.
#[derive(Debug, Clone)]
pub struct DeployPlan {
    pub env: String,
    pub stack_name: String,
    pub region: String,
    pub account: String,
    /// The template as synthesized (indented); deploy sends it compact.
    pub template_json: String,
    pub tags: Vec<(String, String)>,
    pub termination_protection: bool,
    /// Production rules: destructive changes always need approval.
    pub production: bool,
    /// The stack policy set after the deploy (the manifest's: production
    /// only), and the one the review predicts refusals from.
    pub stack_policy: Option<upstack_cfn::StackPolicy>,
    pub assets: Vec<AssetFile>,
    /// Where outputs.json is written (`synth-out/<env>/outputs.json`).
    pub outputs_path: PathBuf,
    /// The alarms the template defines and the env's monitoring time (the
    /// manifest's): the pre-flight check and the rollback triggers.
    pub alarms: StackAlarms,
}

impl DeployPlan {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// No terminal to ask on and no `--yes`: treated as "no".
    NoTerminal,
}

/// Asks a yes/no question.
pub trait Approver {
    fn ask(&mut self, question: &str) -> Answer;
}

/// Receives everything deploy prints.
pub trait Reporter {
    fn line(&mut self, text: &str);
}

/// Collects lines (tests, snapshots).
#[derive(Debug, Default)]
pub struct RecordingReporter {
    pub lines: Vec<String>,
}

impl Reporter for RecordingReporter {
    fn line(&mut self, text: &str) {
        self.lines.push(text.to_owned());
    }
}

/// A scripted approver for tests.
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Clone)]
pub struct FixedAnswer(pub Answer);

#[cfg(any(test, feature = "test-util"))]
impl Approver for FixedAnswer {
    fn ask(&mut self, _question: &str) -> Answer {
        self.0
    }
}

/// Prints each line to stdout as it comes.
#[derive(Debug, Default)]
pub struct StdoutReporter;

impl Reporter for StdoutReporter {
    fn line(&mut self, text: &str) {
        println!("{text}");
    }
}

/// Asks on the terminal; `--yes` answers for the user; without a terminal
/// (CI, pipes) the answer is [`Answer::NoTerminal`], never a silent yes and
/// never a prompt nobody can answer.
#[derive(Debug, Clone, Copy)]
pub struct TerminalApprover {
    pub assume_yes: bool,
}

impl Approver for TerminalApprover {
    fn ask(&mut self, question: &str) -> Answer {
        use std::io::{BufRead, IsTerminal, Write};
        if self.assume_yes {
            return Answer::Yes;
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
            return Answer::NoTerminal;
        }
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut reply = String::new();
        match stdin.lock().read_line(&mut reply) {
            Ok(_) if matches!(reply.trim().to_ascii_lowercase().as_str(), "y" | "yes") => {
                Answer::Yes
            }
            _ => Answer::No,
        }
    }
}

/// Resolves on Ctrl-C. If the signal handler cannot be installed it never
/// resolves (waiting carries on) rather than reporting a false interrupt.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
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
}

/// How a deploy ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployOutcome {
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
    #[error("cannot read asset {path}: {source}")]
    ReadAsset {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    WriteOutputs {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the deployed template of {stack} is not JSON: {source}")]
    DeployedTemplate {
        stack: String,
        source: serde_json::Error,
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
}

impl DeployError {
    /// Whether this is a refusal of a stale plan (exit 5), as opposed to a failure.
    pub fn is_stale_plan(&self) -> bool {
        matches!(self, DeployError::StalePlan { .. })
    }
}

fn alarm_bullets(alarms: &[AlarmStatus]) -> String {
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
}

fn reason_suffix(reason: Option<&str>) -> String {
    reason
        .filter(|reason| !reason.is_empty())
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default()
}

/// The policy applied for one `--allow-replace` deploy.
pub const ALLOW_ALL_STACK_POLICY: &str =
    r#"{"Statement":[{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"}]}"#;

/// Uploads each asset whose key is not in the bucket yet. Keys are content
/// addressed, so "present" means "identical".
pub async fn upload_assets(
    s3: &S3Client,
    bucket: &str,
    assets: &[AssetFile],
    pacing: &Pacing,
) -> Result<(usize, usize), DeployError> {
    let (mut uploaded, mut skipped) = (0, 0);
    for asset in assets {
        let head = with_retries(pacing, "s3:HeadObject", || {
            s3.head_object().bucket(bucket).key(&asset.key).send()
        })
        .await;
        match head {
            Ok(_) => {
                skipped += 1;
                continue;
            }
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error.into()),
        }
        let bytes = std::fs::read(&asset.path).map_err(|source| DeployError::ReadAsset {
            path: asset.path.clone(),
            source,
        })?;
        with_retries(pacing, "s3:PutObject", || {
            s3.put_object()
                .bucket(bucket)
                .key(&asset.key)
                .body(ByteStream::from(bytes.clone()))
                .send()
        })
        .await?;
        uploaded += 1;
    }
    Ok((uploaded, skipped))
}

/// The template as sent to CloudFormation.
struct SentTemplate {
    source: TemplateSource,
    /// Compact size in bytes.
    bytes: usize,
    /// SHA-256 (hex) of the compact body: what a plan records.
    sha256: String,
}

/// TemplateBody when it fits, else an upload to `templates/` and its URL.
/// Either way the text sent is the compact form, the one
/// `upstack_cfn::validate` measured at synth against the inline limit (about
/// half the size of the indented file in synth-out/), so the stored template
/// and the limit check agree.
async fn template_source(
    s3: &S3Client,
    plan: &DeployPlan,
    pacing: &Pacing,
) -> Result<SentTemplate, DeployError> {
    let template: serde_json::Value =
        serde_json::from_str(&plan.template_json).map_err(DeployError::Template)?;
    let body = upstack_cfn::validate::upload_body(&template);
    let bytes = body.len();
    let sha256 = hex::encode(Sha256::digest(body.as_bytes()));
    if bytes <= MAX_TEMPLATE_BODY_BYTES {
        return Ok(SentTemplate {
            source: TemplateSource::Body(body),
            bytes,
            sha256,
        });
    }
    let bucket = plan.asset_bucket();
    let key = format!("{TEMPLATE_PREFIX}{}-{sha256}.json", plan.stack_name);
    let body = body.into_bytes();
    with_retries(pacing, "s3:PutObject", || {
        s3.put_object()
            .bucket(&bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(body.clone()))
            .send()
    })
    .await?;
    let url = format!("https://{bucket}.s3.{}.amazonaws.com/{key}", plan.region);
    Ok(SentTemplate {
        source: TemplateSource::Url(url),
        bytes,
        sha256,
    })
}

/// DeleteStack and wait until it is gone (used for leftover
/// REVIEW_IN_PROGRESS and ROLLBACK_COMPLETE stacks, which hold no resources).
async fn delete_and_wait(
    cfn: &CfnClient,
    stack: &StackState,
    stack_name: &str,
    pacing: &Pacing,
    reporter: &mut dyn Reporter,
) -> Result<(), DeployError> {
    let mut watcher = EventWatcher::start(cfn, &stack.stack_id, pacing).await?;
    with_retries(pacing, "cloudformation:DeleteStack", || {
        cfn.delete_stack().stack_name(&stack.stack_id).send()
    })
    .await?;
    let started = pacing.clock.now();
    let outcome = events::watch(
        cfn,
        &mut watcher,
        0,
        pacing,
        started,
        std::future::pending(),
        |event, progress| reporter.line(&events::format_event(event, progress)),
    )
    .await?;
    match outcome {
        WatchOutcome::Finished { state: None, .. } => Ok(()),
        WatchOutcome::Finished {
            state: Some(state),
            events,
        } => Err(DeployError::Failed {
            stack: stack_name.to_owned(),
            status: state.status,
            cause: events::root_cause(&events)
                .map(cause_text)
                .unwrap_or_default(),
        }),
        WatchOutcome::Interrupted { .. } => Ok(()),
    }
}

fn cause_text(event: &StackEvent) -> String {
    format!(
        ": {} ({}) {}: {}",
        event.logical_id,
        event.resource_type,
        event.status,
        event.reason.as_deref().unwrap_or("no reason given")
    )
}

/// Which of the stack's alarms guard this deploy as rollback triggers, and
/// why the others do not (pure: from the stack model's alarms and what
/// DescribeAlarms found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPlan {
    pub monitoring_minutes: i64,
    /// Set when the trigger is the composite deploy guard
    /// ([`StackAlarms::deploy_guard`]): then `triggers` is just its name and
    /// this is how many alarms it is in ALARM for.
    pub guard_members: Option<usize>,
    /// Alarm names, at most [`MAX_ROLLBACK_TRIGGERS`], most telling first.
    pub triggers: Vec<String>,
    /// Defined by the template but not in CloudWatch yet (a first deploy, or
    /// an alarm this deploy adds): CloudFormation refuses a trigger whose
    /// alarm does not exist, so they guard the next deploy.
    pub not_created_yet: Vec<String>,
    /// In ALARM now (deploying under `--ignore-alarms`): as triggers they
    /// would roll the deploy back at once.
    pub firing: Vec<String>,
    /// Existing, but past CloudFormation's limit of five triggers.
    pub over_limit: Vec<String>,
}

/// How telling an alarm is about a deploy that just went wrong: a new
/// handler that fails shows first in its errors, then in the on-failure
/// queue, dropped events and rejected rows; throttles and the FIFO consumer's
/// queues say more about load and the consumer than about this change.
fn trigger_rank(kind: upstack_stack::config::AlarmKind) -> u8 {
    use upstack_stack::config::AlarmKind;
    match kind {
        AlarmKind::FunctionErrors => 0,
        AlarmKind::FailuresQueueMessages => 1,
        AlarmKind::AsyncEventsDropped => 2,
        AlarmKind::RejectedRows => 3,
        AlarmKind::DeadLetterQueueMessages => 4,
        AlarmKind::FunctionThrottles => 5,
        AlarmKind::EventsQueueOldestMessageAge => 6,
    }
}

/// Chooses the rollback triggers. The composite deploy guard when it exists
/// and is not in ALARM: one trigger, and every alarm of the stack guards the
/// deploy (CloudFormation takes composite alarms as triggers, see
/// [`crate::changeset::RollbackAlarm::type_name`]). Otherwise (the deploy
/// that adds the guard to an older stack, or the guard in ALARM under
/// `--ignore-alarms`) the member alarms that exist and are not in ALARM,
/// ranked by [`trigger_rank`] (the model's order within a rank), at most five.
pub fn plan_rollback(alarms: &StackAlarms, observed: &[AlarmStatus]) -> RollbackPlan {
    let mut plan = RollbackPlan {
        monitoring_minutes: alarms.monitoring_minutes,
        guard_members: None,
        triggers: Vec::new(),
        not_created_yet: Vec::new(),
        firing: Vec::new(),
        over_limit: Vec::new(),
    };
    let guard = alarms
        .deploy_guard
        .as_ref()
        .map(|guard| (guard, observed.iter().find(|seen| &seen.name == guard)));
    if let Some((guard, Some(seen))) = guard
        && seen.state != AlarmState::Alarm
    {
        plan.guard_members = Some(alarms.alarms.len());
        plan.triggers.push(guard.clone());
        return plan;
    }
    let mut candidates = Vec::new();
    for alarm in &alarms.alarms {
        match observed.iter().find(|seen| seen.name == alarm.name) {
            None => plan.not_created_yet.push(alarm.name.clone()),
            Some(seen) if seen.state == AlarmState::Alarm => plan.firing.push(alarm.name.clone()),
            Some(_) => candidates.push(alarm),
        }
    }
    // A stable sort keeps the model's order within a rank.
    candidates.sort_by_key(|alarm| trigger_rank(alarm.kind));
    for alarm in candidates {
        if plan.triggers.len() < MAX_ROLLBACK_TRIGGERS {
            plan.triggers.push(alarm.name.clone());
        } else {
            plan.over_limit.push(alarm.name.clone());
        }
    }
    match guard {
        Some((guard, None)) => plan.not_created_yet.push(guard.clone()),
        Some((guard, Some(_))) => plan.firing.push(guard.clone()),
        None => {}
    }
    plan
}

impl RollbackPlan {
    /// The change set's rollback configuration: the triggers' ARNs.
    pub fn settings(&self, region: &str, account: &str) -> RollbackSettings {
        RollbackSettings {
            triggers: self
                .triggers
                .iter()
                .map(|name| RollbackAlarm {
                    arn: status::alarm_arn(region, account, name),
                    composite: self.guard_members.is_some(),
                })
                .collect(),
            monitoring_minutes: self.monitoring_minutes,
        }
    }

    /// What deploy prints about it.
    pub fn lines(&self) -> Vec<String> {
        let watched = if self.monitoring_minutes > 0 {
            format!(
                "watched while the change set runs and {} min after",
                self.monitoring_minutes
            )
        } else {
            "watched while the change set runs (rollback_monitoring_minutes = 0)".to_owned()
        };
        let mut lines = Vec::new();
        let defined = self.triggers.len()
            + self.not_created_yet.len()
            + self.firing.len()
            + self.over_limit.len();
        if defined == 0 {
            // A template without alarms: nothing to say.
            return lines;
        }
        if let (Some(members), [guard]) = (self.guard_members, self.triggers.as_slice()) {
            lines.push(format!(
                "rollback trigger: composite alarm {guard} (ALARM when any of the stack's {members} alarms is), {watched}"
            ));
            return lines;
        }
        if self.triggers.is_empty() {
            lines.push(if self.not_created_yet.len() == defined {
                format!(
                    "rollback triggers: none: the stack's {defined} alarm(s) do not exist yet (this deploy creates them; CloudFormation refuses triggers on missing alarms), so the next deploy is the first one they guard"
                )
            } else {
                "rollback triggers: none".to_owned()
            });
        } else {
            lines.push(format!(
                "rollback triggers: {} alarm(s), {watched}: {}",
                self.triggers.len(),
                self.triggers.join(", ")
            ));
        }
        if !self.triggers.is_empty() && !self.not_created_yet.is_empty() {
            lines.push(format!(
                "  not triggers yet (created by this deploy): {}",
                self.not_created_yet.join(", ")
            ));
        }
        if !self.firing.is_empty() {
            lines.push(format!(
                "  not triggers (in ALARM now, they would roll this deploy back at once): {}",
                self.firing.join(", ")
            ));
        }
        if !self.over_limit.is_empty() {
            lines.push(format!(
                "  not triggers (CloudFormation takes at most {MAX_ROLLBACK_TRIGGERS}): {}",
                self.over_limit.join(", ")
            ));
        }
        lines
    }
}

/// Before any change: the stack's alarms as CloudWatch has them. Refuses
/// with [`DeployError::AlarmsFiring`] when any is in ALARM, unless
/// `ignore_alarms`, which says so and goes on. `prepare` calls it right
/// before the change set; the CLI also calls it before bundling, so a
/// firing alarm refuses in seconds, not after a build.
pub async fn preflight_alarms(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    stack: &str,
    env: &str,
    alarms: &StackAlarms,
    ignore_alarms: bool,
    pacing: &Pacing,
    reporter: &mut dyn Reporter,
) -> Result<Vec<AlarmStatus>, DeployError> {
    if alarms.alarms.is_empty() {
        return Ok(Vec::new());
    }
    let observed = status::describe_alarms(cloudwatch, &alarms.names(), pacing).await?;
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

/// How `prepare` ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PrepareOutcome {
    /// A change set is ready to review and execute; the plan records it and
    /// what it was made against. Save it with [`Plan::save`].
    Ready(Box<Plan>),
    /// The stack already matches the template; the empty change set was deleted.
    NoChanges,
    /// A ROLLBACK_COMPLETE stack had to be deleted first, and that was not approved.
    NotApproved,
    /// Ctrl-C while waiting (`--wait`) for another operation; nothing was touched.
    Interrupted { resume: String },
}

/// Where a saved plan is being executed: the env the command was given, the
/// account and region of the credentials, and where outputs go.
#[derive(Debug, Clone)]
pub struct ExecuteTarget {
    pub env: String,
    pub account: String,
    pub region: String,
    /// `synth-out/<env>/outputs.json`.
    pub outputs_path: PathBuf,
}

/// Who made the change set that is about to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// This process, moments ago (`deploy`): it is ours to delete when not
    /// approved, and nothing can have changed before an approval wait.
    ThisRun,
    /// A saved plan (`deploy --execute`): checked before anything else, and
    /// left in place when not approved (the plan stays executable).
    Saved,
}

/// Deploys `plan`: [`prepare`] then [`execute`], in one run. `interrupt`
/// resolving (Ctrl-C) while CloudFormation works stops waiting without
/// touching the stack.
pub async fn deploy<I>(
    clients: &DeployClients,
    plan: &DeployPlan,
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
    let prepared = match prepare_with(clients, plan, options, reporter, approver, &mut interrupt)
        .await?
    {
        PrepareOutcome::Ready(prepared) => prepared,
        PrepareOutcome::NoChanges => return Ok(DeployOutcome::NoChanges),
        PrepareOutcome::NotApproved => return Ok(DeployOutcome::NotApproved),
        PrepareOutcome::Interrupted { resume } => return Ok(DeployOutcome::Interrupted { resume }),
    };
    execute_with(
        clients,
        &prepared,
        &plan.outputs_path,
        options,
        reporter,
        approver,
        &mut interrupt,
        started,
        Origin::ThisRun,
    )
    .await
}

/// Uploads the assets, brings the stack to a state a change set can be made
/// against, creates the change set, waits for it and reviews it (the diff is
/// reported), then stops: nothing is executed. The returned plan is what
/// [`execute`] runs, now or later.
pub async fn prepare<I>(
    clients: &DeployClients,
    plan: &DeployPlan,
    options: &DeployOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<PrepareOutcome, DeployError>
where
    I: Future<Output = ()>,
{
    let mut interrupt = std::pin::pin!(interrupt);
    prepare_with(clients, plan, options, reporter, approver, &mut interrupt).await
}

/// Executes a saved plan's change set, by ARN, exactly as reviewed; or,
/// when the change set is no longer executable, the stack changed since the
/// plan was made, or an asset is gone, refuses with
/// [`DeployError::StalePlan`] without touching anything. Approval
/// (`options.require_approval`, production rules), Ctrl-C, termination
/// protection, the stack policy and outputs work as in [`deploy`];
/// `options.wait_if_busy` does not apply (a busy stack is a changed stack).
pub async fn execute<I>(
    clients: &DeployClients,
    plan: &Plan,
    target: &ExecuteTarget,
    options: &DeployOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<DeployOutcome, DeployError>
where
    I: Future<Output = ()>,
{
    plan.check_target(&target.env, &target.account, &target.region)?;
    let started = options.pacing.clock.now();
    let mut interrupt = std::pin::pin!(interrupt);
    execute_with(
        clients,
        plan,
        &target.outputs_path,
        options,
        reporter,
        approver,
        &mut interrupt,
        started,
        Origin::Saved,
    )
    .await
}

async fn prepare_with<I>(
    clients: &DeployClients,
    plan: &DeployPlan,
    options: &DeployOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: &mut I,
) -> Result<PrepareOutcome, DeployError>
where
    I: Future<Output = ()> + Unpin,
{
    let cfn = &clients.cloudformation;
    let pacing = &options.pacing;
    let started = pacing.clock.now();
    let resume = format!("upstack deploy --env {} --wait", plan.env);

    // Before anything is uploaded or changed. The same answer decides the
    // rollback triggers below: only alarms that exist can be triggers.
    let observed_alarms = preflight_alarms(
        &clients.cloudwatch,
        &plan.stack_name,
        &plan.env,
        &plan.alarms,
        options.ignore_alarms,
        pacing,
        reporter,
    )
    .await?;

    let bucket = plan.asset_bucket();
    bootstrap::ensure_bootstrapped(&clients.s3, &bucket, &plan.region, &plan.env, pacing).await?;
    let (uploaded, skipped) = upload_assets(&clients.s3, &bucket, &plan.assets, pacing).await?;
    reporter.line(&format!(
        "assets: {uploaded} uploaded, {skipped} already in s3://{bucket}"
    ));
    let sent = template_source(&clients.s3, plan, pacing).await?;
    if let TemplateSource::Url(url) = &sent.source {
        reporter.line(&format!(
            "template is {} bytes compact (over {MAX_TEMPLATE_BODY_BYTES}): passed by URL {url}",
            sent.bytes
        ));
    }

    // Bring the stack to a state a change set can be created against.
    let existing = loop {
        let Some(stack) = events::describe_stack(cfn, &plan.stack_name, pacing).await? else {
            break None;
        };
        match stack.class() {
            StatusClass::Succeeded | StatusClass::UpdateRolledBack => break Some(stack),
            StatusClass::ReviewInProgress => {
                reporter.line(&format!(
                    "stack {} is REVIEW_IN_PROGRESS (a change set from an earlier run was never executed): deleting it",
                    plan.stack_name
                ));
                delete_and_wait(cfn, &stack, &plan.stack_name, pacing, reporter).await?;
            }
            StatusClass::CreateRolledBack => {
                let question = format!(
                    "stack {} is ROLLBACK_COMPLETE: its creation failed{} and it holds no resources. Delete it and create it again?",
                    plan.stack_name,
                    reason_suffix(stack.status_reason.as_deref())
                );
                match approver.ask(&question) {
                    Answer::Yes => {
                        delete_and_wait(cfn, &stack, &plan.stack_name, pacing, reporter).await?
                    }
                    Answer::No | Answer::NoTerminal => {
                        reporter.line(&format!(
                            "{question} -> not approved (use --yes in scripts)"
                        ));
                        return Ok(PrepareOutcome::NotApproved);
                    }
                }
            }
            StatusClass::InProgress if options.wait_if_busy => {
                reporter.line(&format!(
                    "stack {} is {}: waiting for it to finish",
                    plan.stack_name, stack.status
                ));
                let mut watcher = EventWatcher::start(cfn, &stack.stack_id, pacing).await?;
                let outcome = events::watch(
                    cfn,
                    &mut watcher,
                    0,
                    pacing,
                    started,
                    &mut *interrupt,
                    |event, progress| reporter.line(&events::format_event(event, progress)),
                )
                .await?;
                if let WatchOutcome::Interrupted { .. } = outcome {
                    reporter.line(&format!(
                        "stopped waiting; the stack was not touched. Resume with: {resume}"
                    ));
                    return Ok(PrepareOutcome::Interrupted { resume });
                }
            }
            StatusClass::InProgress => {
                return Err(DeployError::Busy {
                    stack: plan.stack_name.clone(),
                    status: stack.status,
                });
            }
            StatusClass::UpdateRollbackFailed => {
                return Err(DeployError::UpdateRollbackFailed {
                    stack: plan.stack_name.clone(),
                    reason: reason_suffix(stack.status_reason.as_deref()),
                });
            }
            StatusClass::Failed => {
                return Err(DeployError::Unusable {
                    stack: plan.stack_name.clone(),
                    reason: reason_suffix(stack.status_reason.as_deref()),
                    status: stack.status,
                });
            }
            StatusClass::Unknown => {
                return Err(DeployError::UnknownStatus {
                    stack: plan.stack_name.clone(),
                    status: stack.status,
                });
            }
            // describe_stack never returns deleted stacks.
            StatusClass::Deleted => break None,
        }
    };

    let kind = if existing.is_some() {
        ChangeSetKind::Update
    } else {
        ChangeSetKind::Create
    };
    let request = ChangeSetRequest {
        stack_name: plan.stack_name.clone(),
        change_set_name: format!("upstack-{}", options.deploy_id),
        kind,
        template: sent.source,
        tags: plan.tags.clone(),
        client_token: format!("upstack-cs-{}", options.deploy_id),
        description: Some(format!("upstack deploy --env {}", plan.env)),
    };
    let rollback = plan_rollback(&plan.alarms, &observed_alarms);
    for line in rollback.lines() {
        reporter.line(&line);
    }
    let handle = changeset::create_with_rollback(
        cfn,
        &request,
        Some(&rollback.settings(&plan.region, &plan.account)),
        pacing,
    )
    .await?;
    let description = match changeset::wait_until_ready(cfn, &handle, pacing).await? {
        ChangeSetState::Ready(description) => description,
        ChangeSetState::NoChanges { .. } => {
            discard(cfn, &handle, kind, pacing).await?;
            reporter.line(&format!(
                "no changes: stack {} already matches the template (change set deleted)",
                plan.stack_name
            ));
            return Ok(PrepareOutcome::NoChanges);
        }
        ChangeSetState::Failed { reason, .. } => {
            discard(cfn, &handle, kind, pacing).await?;
            return Err(DeployError::ChangeSetFailed {
                stack: plan.stack_name.clone(),
                reason,
            });
        }
    };

    // Review: the offline diff against the deployed template, corrected by
    // CloudFormation's own replacement verdicts.
    let new_template: serde_json::Value =
        serde_json::from_str(&plan.template_json).map_err(DeployError::Template)?;
    let (old_template, stack) = match existing {
        Some(stack) => {
            let deployed =
                deployed_template(cfn, &stack.stack_id, &plan.stack_name, pacing).await?;
            let snapshot = StackSnapshot {
                stack_id: stack.stack_id,
                status: stack.status,
                creation_time: stack.creation_time,
                last_updated_time: stack.last_updated_time,
                template_sha256: deployed.sha256,
            };
            (deployed.template, Some(snapshot))
        }
        None => (serde_json::json!({"Resources": {}}), None),
    };
    // Everything about the target is known here: replacement is decided
    // with the real region, account and stack name, and refusals predicted
    // from the policy this deploy will set.
    let context = upstack_diff::DiffContext {
        pseudo: upstack_cfn::intrinsic::PseudoValues::for_region(&plan.region)
            .with_account_id(&plan.account)
            .with_stack_name(&plan.stack_name),
        stack_policy: plan.stack_policy.clone(),
    };
    let mut diff = upstack_diff::diff_templates_with(
        &old_template,
        &new_template,
        upstack_cfn_resources::registry::lookup,
        &context,
    )?;
    let changes = description.changes.len();
    diff.merge_change_set(description.changes);
    let sources = upstack_diff::render::Sources {
        old: format!("stack {} (deployed)", plan.stack_name),
        new: format!("change set {}", request.change_set_name),
    };
    reporter.line(upstack_diff::render::text(&diff, &sources, false).trim_end());

    Ok(PrepareOutcome::Ready(Box::new(Plan {
        format_version: FORMAT_VERSION,
        env: plan.env.clone(),
        stack_name: plan.stack_name.clone(),
        account: plan.account.clone(),
        region: plan.region.clone(),
        change_set: PlannedChangeSet {
            arn: handle.id,
            name: request.change_set_name,
            kind: kind.into(),
            stack_id: handle.stack_id,
        },
        template_sha256: sent.sha256,
        asset_bucket: bucket,
        asset_keys: plan.assets.iter().map(|asset| asset.key.clone()).collect(),
        stack,
        review: Review {
            changes,
            broadening: upstack_diff::FailOn::Broadening.violations(&diff),
            destructive: upstack_diff::FailOn::Destructive.violations(&diff),
        },
        production: plan.production,
        termination_protection: plan.termination_protection,
        stack_policy: plan.stack_policy.clone(),
        diff: upstack_diff::render::report(&diff, &sources),
        alarms: plan.alarms.clone(),
    })))
}

/// Why approval is needed for this plan under `require_approval`, one line each.
fn approval_reasons(plan: &Plan, require_approval: RequireApproval) -> Vec<String> {
    let mut reasons = Vec::new();
    match require_approval {
        RequireApproval::Never => {}
        RequireApproval::AnyChange => {
            reasons.push(format!("{} resource change(s)", plan.review.changes))
        }
        RequireApproval::Broadening => reasons.extend(
            plan.review
                .broadening
                .iter()
                .map(|violation| format!("broadens: {violation}")),
        ),
    }
    if plan.production && require_approval != RequireApproval::Never {
        reasons.extend(
            plan.review
                .destructive
                .iter()
                .map(|violation| format!("destructive: {violation}")),
        );
    }
    reasons
}

/// Compares the change set, the stack and the assets with what the plan
/// recorded; every difference found is returned. Only reads.
pub async fn stale_reasons(
    clients: &DeployClients,
    plan: &Plan,
    pacing: &Pacing,
) -> Result<Vec<StaleReason>, DeployError> {
    let cfn = &clients.cloudformation;
    let mut reasons = Vec::new();
    let handle = plan_handle(plan);
    match changeset::describe(cfn, &handle, pacing).await {
        Ok(described)
            if described.is_executable()
                && described.status
                    == aws_sdk_cloudformation::types::ChangeSetStatus::CreateComplete => {}
        Ok(described) => reasons.push(StaleReason::ChangeSetNotExecutable {
            name: plan.change_set.name.clone(),
            status: described.status,
            execution_status: described.execution_status,
            reason: described.status_reason,
        }),
        Err(ChangeSetError::Call(error)) if error.is_not_found() => {
            reasons.push(StaleReason::ChangeSetGone {
                name: plan.change_set.name.clone(),
                stack: plan.stack_name.clone(),
            })
        }
        Err(error) => return Err(error.into()),
    }

    let stack = events::describe_stack(cfn, &plan.stack_name, pacing).await?;
    match (&plan.stack, stack) {
        (Some(was), None) => reasons.push(StaleReason::StackGone {
            stack: plan.stack_name.clone(),
            was_status: was.status.clone(),
        }),
        (Some(was), Some(now)) if now.stack_id != was.stack_id => {
            reasons.push(StaleReason::StackReplaced {
                stack: plan.stack_name.clone(),
                stack_id: now.stack_id,
                was_stack_id: was.stack_id.clone(),
            })
        }
        (Some(was), Some(now))
            if now.status != was.status || now.last_updated_time != was.last_updated_time =>
        {
            reasons.push(StaleReason::StackUpdated {
                stack: plan.stack_name.clone(),
                status: now.status,
                last_updated_time: now.last_updated_time,
                was_status: was.status.clone(),
                was_last_updated_time: was.last_updated_time.clone(),
            })
        }
        (Some(was), Some(now)) => {
            // Same status and time: compare the template itself too (an
            // emulator, or a change CloudFormation does not stamp).
            let deployed = deployed_template(cfn, &now.stack_id, &plan.stack_name, pacing).await?;
            if deployed.sha256 != was.template_sha256 {
                reasons.push(StaleReason::TemplateChanged {
                    stack: plan.stack_name.clone(),
                    sha256: deployed.sha256,
                    was_sha256: was.template_sha256.clone(),
                });
            }
        }
        // A CREATE plan: the only stack allowed is the REVIEW_IN_PROGRESS
        // one CloudFormation made for this very change set (it is gone
        // when the change set is, which the first check reports).
        (None, Some(now))
            if now.class() != StatusClass::ReviewInProgress
                || plan
                    .change_set
                    .stack_id
                    .as_ref()
                    .is_some_and(|id| *id != now.stack_id) =>
        {
            reasons.push(StaleReason::StackCreated {
                stack: plan.stack_name.clone(),
                status: now.status,
            })
        }
        (None, _) => {}
    }

    for key in &plan.asset_keys {
        let head = with_retries(pacing, "s3:HeadObject", || {
            clients
                .s3
                .head_object()
                .bucket(&plan.asset_bucket)
                .key(key)
                .send()
        })
        .await;
        match head {
            Ok(_) => {}
            Err(error) if error.is_not_found() || error.message.contains("404") => {
                reasons.push(StaleReason::AssetMissing {
                    bucket: plan.asset_bucket.clone(),
                    key: key.clone(),
                })
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(reasons)
}

fn plan_handle(plan: &Plan) -> ChangeSetHandle {
    ChangeSetHandle {
        stack_name: plan.stack_name.clone(),
        // By ARN: the exact change set that was reviewed, never a namesake.
        id: plan.change_set.arn.clone(),
        stack_id: plan.change_set.stack_id.clone(),
    }
}

/// [`stale_reasons`], as an error when there are any.
async fn refuse_if_stale(
    clients: &DeployClients,
    plan: &Plan,
    pacing: &Pacing,
) -> Result<(), DeployError> {
    let reasons = stale_reasons(clients, plan, pacing).await?;
    if reasons.is_empty() {
        return Ok(());
    }
    Err(DeployError::StalePlan {
        stack: plan.stack_name.clone(),
        change_set: plan.change_set.name.clone(),
        reasons,
    })
}

/// Approval, execution of the plan's change set, following it, and what
/// comes after (termination protection, stack policy, outputs). The one
/// copy of that flow, for `deploy` and `deploy --execute` alike.
#[allow(clippy::too_many_arguments)]
async fn execute_with<I>(
    clients: &DeployClients,
    plan: &Plan,
    outputs_path: &Path,
    options: &DeployOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: &mut I,
    started: Instant,
    origin: Origin,
) -> Result<DeployOutcome, DeployError>
where
    I: Future<Output = ()> + Unpin,
{
    let cfn = &clients.cloudformation;
    let pacing = &options.pacing;
    let resume = format!("upstack deploy --env {} --wait", plan.env);
    let handle = plan_handle(plan);
    let kind = ChangeSetKind::from(plan.change_set.kind);

    if origin == Origin::Saved {
        // Refuse before showing or asking anything: a stale plan is not
        // worth a reviewer's time, and nothing may be touched.
        refuse_if_stale(clients, plan, pacing).await?;
        // The rollback triggers are in the plan's change set (decided when
        // it was prepared); whether alarms fire is decided now, before it runs.
        preflight_alarms(
            &clients.cloudwatch,
            &plan.stack_name,
            &plan.env,
            &plan.alarms,
            options.ignore_alarms,
            pacing,
            reporter,
        )
        .await?;
        reporter.line(&format!(
            "plan: change set {} on {} ({} resource change(s)), still as reviewed",
            plan.change_set.name, plan.stack_name, plan.review.changes
        ));
        let (diff, sources) = plan.reviewed_diff();
        reporter.line(upstack_diff::render::text(&diff, &sources, false).trim_end());
    }

    let reasons = approval_reasons(plan, options.require_approval);
    if !reasons.is_empty() {
        for reason in &reasons {
            reporter.line(&format!("approval required: {reason}"));
        }
        let answer = approver.ask(&format!("Deploy these changes to {}?", plan.stack_name));
        if answer != Answer::Yes {
            if origin == Origin::ThisRun {
                discard(cfn, &handle, kind, pacing).await?;
            }
            reporter.line(match (answer, origin) {
                (Answer::NoTerminal, _) => {
                    "not approved: no terminal to ask on; re-run with --yes to approve in a script"
                }
                (_, Origin::ThisRun) => "not approved: nothing was changed",
                (_, Origin::Saved) => {
                    "not approved: nothing was changed; the plan's change set is kept"
                }
            });
            return Ok(DeployOutcome::NotApproved);
        }
        // The answer may have taken minutes: look again right before running.
        if let Err(error) = refuse_if_stale(clients, plan, pacing).await {
            if origin == Origin::ThisRun && matches!(error, DeployError::StalePlan { .. }) {
                // Ours and now useless; only the change set (a REVIEW_IN_PROGRESS
                // stack may belong to whoever changed things meanwhile).
                changeset::delete(cfn, &handle, pacing).await?;
            }
            return Err(error);
        }
    }

    // ExecuteChangeSet has no StackPolicyDuringUpdateBody (only UpdateStack
    // does), so `--allow-replace` swaps the stack policy around the
    // execution with SetStackPolicy and puts the protective one back after.
    // The plan file's exact text (see `plan::policy_text`).
    let protective = plan
        .stack_policy
        .as_ref()
        .map(upstack_cfn::StackPolicy::to_json_string);
    let protective = protective.as_deref();
    let lifted = protective.is_some() && options.allow_replace && kind == ChangeSetKind::Update;
    if lifted {
        set_stack_policy(cfn, &plan.stack_name, ALLOW_ALL_STACK_POLICY, pacing).await?;
        reporter.line("--allow-replace: stack policy lifted for this deploy only");
    }

    let stack_ref = handle
        .stack_id
        .clone()
        .unwrap_or_else(|| plan.stack_name.clone());
    let mut watcher = EventWatcher::start(cfn, &stack_ref, pacing).await?;
    changeset::execute(
        cfn,
        &handle,
        &format!("upstack-exec-{}", options.deploy_id),
        pacing,
    )
    .await?;
    reporter.line(&format!(
        "executing change set {} on {}",
        plan.change_set.name, plan.stack_name
    ));
    let outcome = events::watch(
        cfn,
        &mut watcher,
        plan.review.changes,
        pacing,
        pacing.clock.now(),
        &mut *interrupt,
        |event, progress| reporter.line(&events::format_event(event, progress)),
    )
    .await?;
    let (state, all_events) = match outcome {
        WatchOutcome::Interrupted { last_status, .. } => {
            reporter.line(&format!(
                "stopped watching (stack is {}); CloudFormation carries on and the stack was not touched. Resume watching with: {resume}",
                last_status
                    .as_ref()
                    .map_or("in progress", StackStatus::as_str)
            ));
            if lifted {
                reporter.line("the stack policy is still lifted: the next deploy puts the protective policy back");
            }
            return Ok(DeployOutcome::Interrupted { resume });
        }
        WatchOutcome::Finished { state, events } => (state, events),
    };
    if lifted && let Some(policy) = protective {
        set_stack_policy(cfn, &plan.stack_name, policy, pacing).await?;
    }
    let Some(state) = state else {
        return Err(DeployError::Vanished {
            stack: plan.stack_name.clone(),
            status: StackStatus::DeleteComplete,
        });
    };
    let elapsed = pacing.clock.now().saturating_duration_since(started);
    match state.class() {
        StatusClass::Succeeded => {}
        class => {
            // Root cause first, then what the rollback did. An alarm that
            // rolled the deploy back is the cause, whatever resources the
            // rollback then cancelled.
            let alarm_cause = match events::alarm_rollback(&all_events, &plan.alarms.names()) {
                Some((event, name)) => {
                    Some(alarm_cause(clients, &plan.alarms, event, name, pacing).await)
                }
                None => None,
            };
            let cause = events::root_cause(&all_events);
            let cause_line = match (&alarm_cause, cause) {
                (Some(text), _) => Some(text.clone()),
                (None, Some(cause)) => Some(format!(
                    "{} ({}) {}: {}",
                    cause.logical_id,
                    cause.resource_type,
                    cause.status,
                    cause.reason.as_deref().unwrap_or("no reason given")
                )),
                (None, None) => None,
            };
            if let Some(line) = &cause_line {
                reporter.line(&format!("ROOT CAUSE: {line}"));
            }
            reporter.line(&match class {
                StatusClass::UpdateRolledBack => {
                    format!("rollback complete: {} is back to its previous state ({})", plan.stack_name, state.status)
                }
                StatusClass::CreateRolledBack => format!(
                    "rollback complete: the new stack {} was emptied ({}); the next deploy offers to delete and recreate it",
                    plan.stack_name, state.status
                ),
                StatusClass::UpdateRollbackFailed => format!(
                    "rollback FAILED ({}): run `aws cloudformation continue-update-rollback --stack-name {}` once the cause is fixed",
                    state.status, plan.stack_name
                ),
                _ => format!("stack {} ended in {}", plan.stack_name, state.status),
            });
            return Err(DeployError::Failed {
                stack: plan.stack_name.clone(),
                status: state.status,
                cause: match alarm_cause {
                    Some(text) => format!(": {text}"),
                    None => cause.map(cause_text).unwrap_or_default(),
                },
            });
        }
    }

    if plan.termination_protection && !state.termination_protection {
        with_retries(pacing, "cloudformation:UpdateTerminationProtection", || {
            cfn.update_termination_protection()
                .stack_name(&plan.stack_name)
                .enable_termination_protection(true)
                .send()
        })
        .await?;
        reporter.line("termination protection enabled");
    }
    if let Some(policy) = protective
        && !lifted
    {
        set_stack_policy(cfn, &plan.stack_name, policy, pacing).await?;
    }

    let outputs = stack_outputs(cfn, &state, pacing).await?;
    let document = serde_json::json!({ "stack": plan.stack_name, "outputs": outputs });
    let mut json = serde_json::to_string_pretty(&document).map_err(DeployError::Template)?;
    json.push('\n');
    write_atomic(outputs_path, json.as_bytes()).map_err(|source| DeployError::WriteOutputs {
        path: outputs_path.to_owned(),
        source,
    })?;
    for (key, value) in &outputs {
        reporter.line(&format!("  {key} = {value}"));
    }
    reporter.line(&format!(
        "{} {} in {}s",
        plan.stack_name,
        state.status,
        elapsed.as_secs()
    ));
    Ok(DeployOutcome::Deployed { outputs })
}

/// "alarm NAME went to ALARM: <its StateReason> (CloudFormation: <event>)".
/// The reason is CloudWatch's own (DescribeAlarms); if it cannot be read,
/// the line still names the alarm and says why the reason is missing.
///
/// When `name` is the composite deploy guard, the line names the member
/// alarms in ALARM instead (earliest first), each with its reason, and says
/// it came through the guard: the guard's own reason only lists ARNs.
async fn alarm_cause(
    clients: &DeployClients,
    alarms: &StackAlarms,
    event: &StackEvent,
    name: &str,
    pacing: &Pacing,
) -> String {
    let cloudformation = format!(
        "CloudFormation: {} {}",
        event.status,
        event.reason.as_deref().unwrap_or_default()
    );
    let guard = alarms.deploy_guard.as_deref() == Some(name);
    let mut asked = vec![name.to_owned()];
    if guard {
        asked.extend(alarms.member_names());
    }
    let found = match status::describe_alarms(&clients.cloudwatch, &asked, pacing).await {
        Ok(found) => found,
        Err(error) => {
            return format!(
                "alarm {name} went to ALARM: its reason could not be read ({error}) ({cloudformation})"
            );
        }
    };
    let reason_of = |alarm: &AlarmStatus| {
        alarm
            .reason
            .clone()
            .unwrap_or_else(|| "CloudWatch gave no reason".to_owned())
    };
    let own = found.iter().find(|alarm| alarm.name == name);
    if guard {
        let mut members: Vec<&AlarmStatus> = found
            .iter()
            .filter(|alarm| alarm.name != name && alarm.state == AlarmState::Alarm)
            .collect();
        // RFC 3339 in one format: the string order is the time order.
        members.sort_by(|a, b| a.updated.cmp(&b.updated));
        if !members.is_empty() {
            let named: Vec<String> = members
                .iter()
                .map(|alarm| format!("alarm {} went to ALARM: {}", alarm.name, reason_of(alarm)))
                .collect();
            return format!(
                "{} (through composite alarm {name}; {cloudformation})",
                named.join("; ")
            );
        }
        let reason = own
            .map(reason_of)
            .unwrap_or_else(|| "CloudWatch gave no reason".to_owned());
        return format!(
            "alarm {name} went to ALARM: {reason}; no member alarm is in ALARM any more ({cloudformation})"
        );
    }
    let reason = own
        .map(reason_of)
        .unwrap_or_else(|| "CloudWatch gave no reason".to_owned());
    format!("alarm {name} went to ALARM: {reason} ({cloudformation})")
}

/// Deletes a change set we will not execute; for a CREATE change set also
/// the empty REVIEW_IN_PROGRESS stack CloudFormation made for it, so the
/// next deploy starts clean.
async fn discard(
    cfn: &CfnClient,
    handle: &ChangeSetHandle,
    kind: ChangeSetKind,
    pacing: &Pacing,
) -> Result<(), DeployError> {
    changeset::delete(cfn, handle, pacing).await?;
    if kind == ChangeSetKind::Create {
        let stack = handle
            .stack_id
            .clone()
            .unwrap_or_else(|| handle.stack_name.clone());
        if let Some(state) = events::describe_stack(cfn, &stack, pacing).await?
            && state.class() == StatusClass::ReviewInProgress
        {
            with_retries(pacing, "cloudformation:DeleteStack", || {
                cfn.delete_stack().stack_name(&stack).send()
            })
            .await?;
        }
    }
    Ok(())
}

async fn set_stack_policy(
    cfn: &CfnClient,
    stack: &str,
    policy: &str,
    pacing: &Pacing,
) -> Result<(), CallError> {
    with_retries(pacing, "cloudformation:SetStackPolicy", || {
        cfn.set_stack_policy()
            .stack_name(stack)
            .stack_policy_body(policy)
            .send()
    })
    .await?;
    Ok(())
}

/// A deployed template (GetTemplate) and the SHA-256 of its body as returned.
struct DeployedTemplate {
    template: serde_json::Value,
    sha256: String,
}

async fn deployed_template(
    cfn: &CfnClient,
    stack_id: &str,
    stack_name: &str,
    pacing: &Pacing,
) -> Result<DeployedTemplate, DeployError> {
    let output = with_retries(pacing, "cloudformation:GetTemplate", || {
        cfn.get_template().stack_name(stack_id).send()
    })
    .await?;
    let body = output.template_body().unwrap_or("{}");
    let template = serde_json::from_str(body).map_err(|source| DeployError::DeployedTemplate {
        stack: stack_name.to_owned(),
        source,
    })?;
    Ok(DeployedTemplate {
        template,
        sha256: hex::encode(Sha256::digest(body.as_bytes())),
    })
}

/// The stack's Outputs; when there are none, the physical ids of its
/// resources. moto returns empty Outputs after ExecuteChangeSet (it does not
/// evaluate the Outputs section for change-set-created stacks), and a real
/// stack without Outputs is still more useful with its resource ids listed.
pub async fn stack_outputs(
    cfn: &CfnClient,
    state: &StackState,
    pacing: &Pacing,
) -> Result<BTreeMap<String, String>, CallError> {
    let fresh = events::describe_stack(cfn, &state.stack_id, pacing).await?;
    let outputs: BTreeMap<String, String> = fresh
        .map(|stack| stack.outputs.into_iter().collect())
        .unwrap_or_default();
    if !outputs.is_empty() {
        return Ok(outputs);
    }
    let resources = with_retries(pacing, "cloudformation:DescribeStackResources", || {
        cfn.describe_stack_resources()
            .stack_name(&state.stack_id)
            .send()
    })
    .await?;
    Ok(resources
        .stack_resources()
        .iter()
        .filter_map(|resource| {
            Some((
                format!("{}.PhysicalId", resource.logical_resource_id()?),
                resource.physical_resource_id()?.to_owned(),
            ))
        })
        .collect())
}
