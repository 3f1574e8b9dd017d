//! The first half of a deploy: publish the assets (verified), bring the
//! stack to a state a change set can be made against, create the change set
//! and review it. Nothing is executed; the result is a [`ReviewedPlan`].

use std::future::Future;

use aws_sdk_cloudformation::Client as CfnClient;

use super::{
    DeployClients, DeployError, DeployOptions, DeployRequest, DriftHandling, cause_text,
    preflight_account, preflight_alarms, reason_suffix,
};
use crate::assets::{self, Placement, PublishedAsset, StoredAsset};
use crate::aws::Pacing;
use crate::bootstrap::{self, TEMPLATE_PREFIX};
use crate::changeset::{
    self, ChangeSetHandle, ChangeSetKind, ChangeSetRequest, ChangeSetState,
    MAX_TEMPLATE_BODY_BYTES, TemplateSource,
};
use crate::events::{self, EventWatcher, WatchOutcome};
use crate::interact::{Answer, Approver, Reporter};
use crate::plan::{FORMAT_VERSION, PlannedChangeSet, Review, ReviewedPlan, StackSnapshot};
use crate::rollback::choose_triggers;
use crate::stack::{self, StackState, StatusClass};

/// How `prepare` ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PrepareOutcome {
    /// A change set is ready to review and execute; the plan records it and
    /// what it was made against. Save it with [`ReviewedPlan::save`].
    Ready(Box<ReviewedPlan>),
    /// The stack already matches the template; the empty change set was
    /// deleted. The assets the stack names, as verified in the bucket.
    NoChanges(Vec<StoredAsset>),
    /// A ROLLBACK_COMPLETE stack had to be deleted first, and that was not approved.
    NotApproved,
    /// Ctrl-C while waiting (`--wait`) for another operation; nothing was touched.
    Interrupted { resume: String },
}

/// Publishes the assets, brings the stack to a state a change set can be
/// made against, creates the change set, waits for it and reviews it (the
/// diff is reported), then stops: nothing is executed. The returned plan is
/// what [`super::execute`] runs, now or later.
pub async fn prepare<I>(
    clients: &DeployClients,
    request: &DeployRequest,
    options: &DeployOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<PrepareOutcome, DeployError>
where
    I: Future<Output = ()>,
{
    let mut interrupt = std::pin::pin!(interrupt);
    prepare_with(
        clients,
        request,
        options,
        reporter,
        approver,
        &mut interrupt,
    )
    .await
}

/// The template as sent to CloudFormation.
struct SentTemplate {
    source: TemplateSource,
    /// Compact size in bytes.
    bytes: usize,
    /// SHA-256 (hex) of the compact body: what a plan records.
    sha256: String,
}

/// TemplateBody when it fits, else a verified, write-once upload to
/// `templates/` (its key names its SHA-256) and its URL. Either way the text
/// sent is the compact form, the one `upstack_cfn::validate` measured at
/// synth against the inline limit (about half the size of the indented file
/// in synth-out/), so the stored template and the limit check agree.
async fn template_source(
    clients: &DeployClients,
    request: &DeployRequest,
) -> Result<SentTemplate, DeployError> {
    let template: serde_json::Value =
        serde_json::from_str(&request.template_json).map_err(DeployError::Template)?;
    let body = upstack_cfn::validate::upload_body(&template);
    let bytes = body.len();
    let sha256 = assets::sha256_hex(body.as_bytes());
    if bytes <= MAX_TEMPLATE_BODY_BYTES {
        return Ok(SentTemplate {
            source: TemplateSource::Body(body),
            bytes,
            sha256,
        });
    }
    let bucket = request.asset_bucket();
    let key = format!(
        "{TEMPLATE_PREFIX}{}-{sha256}.json",
        request.manifest.stack_name
    );
    let placed = assets::publish_bytes(
        &clients.s3,
        &bucket,
        &key,
        body.into_bytes(),
        "application/json",
    )
    .await?;
    // The key names the body's SHA-256 and the bucket is write-once, so the
    // verified object is the one CloudFormation reads.
    debug_assert_eq!(placed.stored.sha256, sha256);
    let url = format!("https://{bucket}.s3.{}.amazonaws.com/{key}", request.region);
    Ok(SentTemplate {
        source: TemplateSource::Url(url),
        bytes,
        sha256,
    })
}

/// The lines deploy prints about the assets: how many were uploaded, and
/// each one's key, SHA-256 and what was done.
fn asset_lines(bucket: &str, published: &[PublishedAsset]) -> Vec<String> {
    if published.is_empty() {
        // A stack without code (the CI identities): nothing to say.
        return Vec::new();
    }
    let uploaded = published
        .iter()
        .filter(|asset| asset.placement == Placement::Uploaded)
        .count();
    let mut lines = vec![format!(
        "assets: {uploaded} uploaded, {} already in s3://{bucket} (each checked by SHA-256)",
        published.len() - uploaded
    )];
    for asset in published {
        let done = match asset.placement {
            Placement::Uploaded => "uploaded",
            Placement::AlreadyStored => "already stored, same bytes",
        };
        lines.push(format!(
            "  {} sha256 {} ({done})",
            asset.stored.key, asset.stored.sha256
        ));
    }
    lines
}

pub(super) async fn prepare_with<I>(
    clients: &DeployClients,
    request: &DeployRequest,
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
    let manifest = &request.manifest;
    let stack_name = manifest.stack_name.as_str();
    let env = manifest.env.as_str();
    let started = pacing.clock.now();
    let resume = format!("upstack deploy --env {env} --wait");

    // Before anything is uploaded or changed. The same answer decides the
    // rollback triggers below: only alarms that exist can be triggers.
    let observed_alarms = preflight_alarms(
        &clients.cloudwatch,
        stack_name,
        env,
        &manifest.alarms,
        options.ignore_alarms,
        reporter,
    )
    .await?;

    preflight_account(
        &clients.lambda,
        manifest,
        &request.account,
        &request.region,
        Some(&request.assets),
        reporter,
    )
    .await?;

    let bucket = request.asset_bucket();
    bootstrap::ensure_bootstrapped(&clients.s3, &bucket, &request.region, env).await?;
    let published = assets::publish(&clients.s3, &bucket, &request.assets).await?;
    for line in asset_lines(&bucket, &published) {
        reporter.line(&line);
    }
    let stored: Vec<StoredAsset> = published.into_iter().map(|asset| asset.stored).collect();
    let sent = template_source(clients, request).await?;
    if let TemplateSource::Url(url) = &sent.source {
        reporter.line(&format!(
            "template is {} bytes compact (over {MAX_TEMPLATE_BODY_BYTES}): passed by URL {url}",
            sent.bytes
        ));
    }

    // Bring the stack to a state a change set can be created against.
    let existing = loop {
        let Some(stack) = stack::describe(cfn, stack_name).await? else {
            break None;
        };
        match stack.class() {
            StatusClass::Succeeded | StatusClass::UpdateRolledBack => break Some(stack),
            StatusClass::ReviewInProgress => {
                reporter.line(&format!(
                    "stack {stack_name} is REVIEW_IN_PROGRESS (a change set from an earlier run was never executed): deleting it"
                ));
                delete_and_wait(cfn, &stack, stack_name, pacing, reporter).await?;
            }
            StatusClass::CreateRolledBack => {
                let question = format!(
                    "stack {stack_name} is ROLLBACK_COMPLETE: its creation failed{} and it holds no resources. Delete it and create it again?",
                    reason_suffix(stack.status_reason.as_deref())
                );
                match approver.ask(&question) {
                    Answer::Yes => {
                        delete_and_wait(cfn, &stack, stack_name, pacing, reporter).await?
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
                    "stack {stack_name} is {}: waiting for it to finish",
                    stack.status
                ));
                let mut watcher = EventWatcher::start(cfn, &stack.stack_id).await?;
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
                    stack: stack_name.to_owned(),
                    status: stack.status,
                });
            }
            StatusClass::UpdateRollbackFailed => {
                return Err(DeployError::UpdateRollbackFailed {
                    stack: stack_name.to_owned(),
                    reason: reason_suffix(stack.status_reason.as_deref()),
                });
            }
            StatusClass::Failed => {
                return Err(DeployError::Unusable {
                    stack: stack_name.to_owned(),
                    reason: reason_suffix(stack.status_reason.as_deref()),
                    status: stack.status,
                });
            }
            StatusClass::Unknown => {
                return Err(DeployError::UnknownStatus {
                    stack: stack_name.to_owned(),
                    status: stack.status,
                });
            }
            // describe never returns deleted stacks.
            StatusClass::Deleted => break None,
        }
    };

    let kind = if existing.is_some() {
        ChangeSetKind::Update
    } else {
        ChangeSetKind::Create
    };
    let change_set = ChangeSetRequest {
        stack_name: stack_name.to_owned(),
        change_set_name: format!("upstack-{}", options.deploy_id),
        kind,
        template: sent.source,
        tags: manifest
            .tags
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        client_token: format!("upstack-cs-{}", options.deploy_id),
        description: Some(format!("upstack deploy --env {env}")),
        role_arn: manifest.execution_role_arn.clone(),
        revert_drift: options.drift == DriftHandling::Revert,
    };
    let triggers = choose_triggers(&manifest.alarms, &observed_alarms);
    for line in triggers.lines() {
        reporter.line(&line);
    }
    let handle = changeset::create_with_rollback(
        cfn,
        &change_set,
        Some(&triggers.settings(&request.region, &request.account)),
    )
    .await?;
    let description = match changeset::wait_until_ready(cfn, &handle, pacing).await? {
        ChangeSetState::Ready(description) => description,
        ChangeSetState::NoChanges { .. } => {
            discard(cfn, &handle, kind).await?;
            reporter.line(&format!(
                "no changes: stack {stack_name} already matches the template (change set deleted)"
            ));
            return Ok(PrepareOutcome::NoChanges(stored));
        }
        ChangeSetState::Failed { reason, .. } => {
            discard(cfn, &handle, kind).await?;
            return Err(DeployError::ChangeSetFailed {
                stack: stack_name.to_owned(),
                reason,
            });
        }
    };

    // Review: the offline diff against the deployed template, corrected by
    // CloudFormation's own replacement verdicts.
    let new_template: serde_json::Value =
        serde_json::from_str(&request.template_json).map_err(DeployError::Template)?;
    let (old_template, stack) = match &existing {
        Some(state) => {
            let deployed = stack::template(cfn, state, stack_name).await?;
            let snapshot = StackSnapshot {
                stack_id: state.stack_id.clone(),
                status: state.status.clone(),
                creation_time: state.creation_time.clone(),
                last_updated_time: state.last_updated_time.clone(),
                template_sha256: deployed.sha256,
            };
            (deployed.template, Some(snapshot))
        }
        None => (stack::Deployed::Nothing.into_template(), None),
    };
    // Everything about the target is known here: replacement is decided
    // with the real region, account and stack name, and refusals predicted
    // from the policy this deploy will set.
    let context = upstack_diff::DiffContext {
        pseudo: upstack_cfn::intrinsic::PseudoValues::for_region(&request.region)
            .with_account_id(&request.account)
            .with_stack_name(stack_name),
        stack_policy: manifest.stack_policy.clone(),
    };
    let mut diff = upstack_diff::diff_templates_with(
        &old_template,
        &new_template,
        upstack_cfn_resources::registry::lookup,
        &context,
    )?;
    let changes = description.changes.len();
    diff.merge_change_set(description.changes);
    // Approval is about what this deploy changes: drift it leaves is shown,
    // not counted.
    let review = Review {
        changes,
        broadening: upstack_diff::FailOn::Broadening.violations(&diff),
        destructive: upstack_diff::FailOn::Destructive.violations(&diff),
    };
    // What changed outside CloudFormation, and what this deploy does with
    // each value: the new template overwrites it, --revert-drift sets it
    // back, or it stays.
    if let (Some(state), Some(drift_clients)) = (&existing, &clients.drift)
        && options.drift != DriftHandling::Skip
    {
        let mut drift = crate::drift::of_stack(
            cfn,
            drift_clients,
            &state.stack_id,
            old_template.clone(),
            context.pseudo.clone(),
        )
        .await?;
        upstack_diff::drift::assign_fates(
            &mut drift,
            &diff,
            options.drift == DriftHandling::Revert,
        );
        diff.drift = drift;
    }
    let sources = upstack_diff::render::Sources {
        old: format!("stack {stack_name} (deployed)"),
        new: format!("change set {}", change_set.change_set_name),
    };
    reporter.line(upstack_diff::render::text(&diff, &sources, false).trim_end());

    Ok(PrepareOutcome::Ready(Box::new(ReviewedPlan {
        format_version: FORMAT_VERSION,
        manifest: manifest.clone(),
        account: request.account.clone(),
        region: request.region.clone(),
        change_set: PlannedChangeSet {
            arn: handle.id,
            name: change_set.change_set_name,
            kind: kind.into(),
            stack_id: handle.stack_id,
        },
        template_sha256: sent.sha256,
        asset_bucket: bucket,
        assets: stored,
        stack,
        review,
        diff: upstack_diff::render::report(&diff, &sources),
    })))
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
    let mut watcher = EventWatcher::start(cfn, &stack.stack_id).await?;
    crate::aws::call(
        "cloudformation:DeleteStack",
        cfn.delete_stack().stack_name(&stack.stack_id).send(),
    )
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

/// Deletes a change set we will not execute; for a CREATE change set also
/// the empty REVIEW_IN_PROGRESS stack CloudFormation made for it, so the
/// next deploy starts clean.
pub(super) async fn discard(
    cfn: &CfnClient,
    handle: &ChangeSetHandle,
    kind: ChangeSetKind,
) -> Result<(), DeployError> {
    changeset::delete(cfn, handle).await?;
    if kind == ChangeSetKind::Create {
        let stack = handle
            .stack_id
            .clone()
            .unwrap_or_else(|| handle.stack_name.clone());
        if let Some(state) = stack::describe(cfn, &stack).await?
            && state.class() == StatusClass::ReviewInProgress
        {
            crate::aws::call(
                "cloudformation:DeleteStack",
                cfn.delete_stack().stack_name(&stack).send(),
            )
            .await?;
        }
    }
    Ok(())
}
