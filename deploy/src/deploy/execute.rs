//! The second half of a deploy: approval, execution of the plan's change
//! set by ARN, following the stack, and what comes after (termination
//! protection, the stack policy, each function's running code, outputs).
//! The one copy of that flow, for `deploy` and `deploy --execute` alike.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aws_sdk_cloudformation::Client as CfnClient;

use super::stale::{plan_handle, refuse_if_stale};
use super::{
    ALLOW_ALL_STACK_POLICY, DeployClients, DeployError, DeployOptions, DeployOutcome,
    RequireApproval, cause_text, preflight_alarms, prepare, verify,
};
use crate::aws::{CallError, call};
use crate::changeset::{self, ChangeSetKind};
use crate::events::{self, EventWatcher, StackEvent, WatchOutcome};
use crate::interact::{Answer, Approver, Reporter};
use crate::plan::ReviewedPlan;
use crate::stack::{self, StackStatus, StatusClass};
use crate::status::{self, AlarmState, AlarmStatus, StackAlarms};
use upstack_project::fsutil::write_atomic;

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
pub(super) enum Origin {
    /// This process, moments ago (`deploy`): it is ours to delete when not
    /// approved, and nothing can have changed before an approval wait.
    ThisRun,
    /// A saved plan (`deploy --execute`): checked before anything else, and
    /// left in place when not approved (the plan stays executable).
    Saved,
}

/// Executes a saved plan's change set, by ARN, exactly as reviewed; or,
/// when the change set is no longer executable, the stack changed since the
/// plan was made, or an asset is gone or holds another version or other
/// bytes than the plan recorded, refuses with
/// [`DeployError::StalePlan`] without touching anything. Approval
/// (`options.require_approval`, production rules), Ctrl-C, termination
/// protection, the stack policy and outputs work as in [`super::deploy`];
/// `options.wait_if_busy` does not apply (a busy stack is a changed stack).
pub async fn execute<I>(
    clients: &DeployClients,
    plan: &ReviewedPlan,
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

/// Why approval is needed for this plan under `require_approval`, one line each.
fn approval_reasons(plan: &ReviewedPlan, require_approval: RequireApproval) -> Vec<String> {
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
    if plan.manifest.production && require_approval != RequireApproval::Never {
        reasons.extend(
            plan.review
                .destructive
                .iter()
                .map(|violation| format!("destructive: {violation}")),
        );
    }
    reasons
}

/// Approval, execution of the plan's change set, following it, and what
/// comes after (termination protection, stack policy, outputs). The one
/// copy of that flow, for `deploy` and `deploy --execute` alike.
#[allow(clippy::too_many_arguments)]
pub(super) async fn execute_with<I>(
    clients: &DeployClients,
    plan: &ReviewedPlan,
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
    let resume = format!("upstack deploy --env {} --wait", plan.manifest.env);
    let handle = plan_handle(plan);
    let kind = ChangeSetKind::from(plan.change_set.kind);

    if origin == Origin::Saved {
        // Refuse before showing or asking anything: a stale plan is not
        // worth a reviewer's time, and nothing may be touched.
        refuse_if_stale(clients, plan).await?;
        // The rollback triggers are in the plan's change set (decided when
        // it was prepared); whether alarms fire is decided now, before it runs.
        preflight_alarms(
            &clients.cloudwatch,
            &plan.manifest.stack_name,
            &plan.manifest.env,
            &plan.manifest.alarms,
            options.ignore_alarms,
            reporter,
        )
        .await?;
        reporter.line(&format!(
            "plan: change set {} on {} ({} resource change(s)), still as reviewed",
            plan.change_set.name, plan.manifest.stack_name, plan.review.changes
        ));
        let (diff, sources) = plan.reviewed_diff();
        reporter.line(upstack_diff::render::text(&diff, &sources, false).trim_end());
    }

    let reasons = approval_reasons(plan, options.require_approval);
    if !reasons.is_empty() {
        for reason in &reasons {
            reporter.line(&format!("approval required: {reason}"));
        }
        let answer = approver.ask(&format!(
            "Deploy these changes to {}?",
            plan.manifest.stack_name
        ));
        if answer != Answer::Yes {
            if origin == Origin::ThisRun {
                prepare::discard(cfn, &handle, kind).await?;
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
        if let Err(error) = refuse_if_stale(clients, plan).await {
            if origin == Origin::ThisRun && matches!(error, DeployError::StalePlan { .. }) {
                // Ours and now useless; only the change set (a REVIEW_IN_PROGRESS
                // stack may belong to whoever changed things meanwhile).
                changeset::delete(cfn, &handle).await?;
            }
            return Err(error);
        }
    }

    // ExecuteChangeSet has no StackPolicyDuringUpdateBody (only UpdateStack
    // does), so `--allow-replace` swaps the stack policy around the
    // execution with SetStackPolicy and puts the protective one back after.
    // The plan file's exact text (see `plan::policy_text`).
    let protective = plan
        .manifest
        .stack_policy
        .as_ref()
        .map(upstack_cfn::StackPolicy::to_json_string);
    let protective = protective.as_deref();
    let lifted = protective.is_some() && options.allow_replace && kind == ChangeSetKind::Update;
    if lifted {
        set_stack_policy(cfn, &plan.manifest.stack_name, ALLOW_ALL_STACK_POLICY).await?;
        reporter.line("--allow-replace: stack policy lifted for this deploy only");
    }

    let stack_ref = handle
        .stack_id
        .clone()
        .unwrap_or_else(|| plan.manifest.stack_name.clone());
    let mut watcher = EventWatcher::start(cfn, &stack_ref).await?;
    changeset::execute(cfn, &handle, &format!("upstack-exec-{}", options.deploy_id)).await?;
    reporter.line(&format!(
        "executing change set {} on {}",
        plan.change_set.name, plan.manifest.stack_name
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
        set_stack_policy(cfn, &plan.manifest.stack_name, policy).await?;
    }
    let Some(state) = state else {
        return Err(DeployError::Vanished {
            stack: plan.manifest.stack_name.clone(),
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
            let alarm_cause =
                match events::alarm_rollback(&all_events, &plan.manifest.alarms.names()) {
                    Some((event, name)) => {
                        Some(alarm_cause(clients, &plan.manifest.alarms, event, name).await)
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
                    format!("rollback complete: {} is back to its previous state ({})", plan.manifest.stack_name, state.status)
                }
                StatusClass::CreateRolledBack => format!(
                    "rollback complete: the new stack {} was emptied ({}); the next deploy offers to delete and recreate it",
                    plan.manifest.stack_name, state.status
                ),
                StatusClass::UpdateRollbackFailed => format!(
                    "rollback FAILED ({}): run `aws cloudformation continue-update-rollback --stack-name {}` once the cause is fixed",
                    state.status, plan.manifest.stack_name
                ),
                _ => format!("stack {} ended in {}", plan.manifest.stack_name, state.status),
            });
            return Err(DeployError::Failed {
                stack: plan.manifest.stack_name.clone(),
                status: state.status,
                cause: match alarm_cause {
                    Some(text) => format!(": {text}"),
                    None => cause.map(cause_text).unwrap_or_default(),
                },
            });
        }
    }

    if plan.manifest.termination_protection && !state.termination_protection {
        call(
            "cloudformation:UpdateTerminationProtection",
            cfn.update_termination_protection()
                .stack_name(&plan.manifest.stack_name)
                .enable_termination_protection(true)
                .send(),
        )
        .await?;
        reporter.line("termination protection enabled");
    }
    if let Some(policy) = protective
        && !lifted
    {
        set_stack_policy(cfn, &plan.manifest.stack_name, policy).await?;
    }

    // What runs must be what was built and reviewed, byte for byte.
    verify::check_running_code(&clients.lambda, &plan.manifest, &plan.assets, reporter).await?;

    let outputs = stack::outputs(cfn, &state).await?;
    write_outputs(outputs_path, &plan.manifest.stack_name, &outputs)?;
    for (key, value) in &outputs {
        reporter.line(&format!("  {key} = {value}"));
    }
    reporter.line(&format!(
        "{} {} in {}s",
        plan.manifest.stack_name,
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
    let found = match status::describe_alarms(&clients.cloudwatch, &asked).await {
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

async fn set_stack_policy(cfn: &CfnClient, stack: &str, policy: &str) -> Result<(), CallError> {
    call(
        "cloudformation:SetStackPolicy",
        cfn.set_stack_policy()
            .stack_name(stack)
            .stack_policy_body(policy)
            .send(),
    )
    .await?;
    Ok(())
}

/// Writes `{"stack": ..., "outputs": {...}}` to `path` atomically: a
/// reader never sees half a file, or a file of the previous deploy half
/// replaced. The one format of `synth-out/<env>/outputs.json` and
/// `deploy --outputs-file`.
pub fn write_outputs(
    path: &Path,
    stack: &str,
    outputs: &std::collections::BTreeMap<String, String>,
) -> Result<(), DeployError> {
    let document = serde_json::json!({ "stack": stack, "outputs": outputs });
    let mut json = serde_json::to_string_pretty(&document).map_err(DeployError::Template)?;
    json.push('\n');
    write_atomic(path, json.as_bytes()).map_err(|source| DeployError::WriteOutputs {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_written_whole_over_an_earlier_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let path = dir.path().join("out/outputs.json");
        std::fs::create_dir_all(dir.path().join("out")).unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(
            &path,
            "an earlier, longer file that must not survive in part",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let outputs = [("UploadBucketName".to_owned(), "b".to_owned())].into();
        write_outputs(&path, "upstack-dev", &outputs).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            "{\n  \"stack\": \"upstack-dev\",\n  \"outputs\": {\n    \"UploadBucketName\": \"b\"\n  }\n}\n"
        );
        // Under a file, where no directory can be made.
        let error = write_outputs(&path.join("o.json"), "s", &outputs)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("cannot write "), "{error}");
    }
}
