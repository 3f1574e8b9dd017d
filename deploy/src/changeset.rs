//! CloudFormation change sets: create, wait until reviewable, describe (all
//! pages), delete. Used by `deploy` (review then execute) and by
//! `diff --change-set` (review then delete).
//!
//! A change set is CloudFormation's own answer to "what would this template
//! do to the live stack", including replacements our template diff cannot
//! predict (e.g. a property whose new value only resolves at deploy time).

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, ExecutionStatus, ResourceChange,
    RollbackConfiguration, RollbackTrigger, Tag,
};
use upstack_diff::{ChangeSetAction, ChangeSetDetail, ChangeSetResource, ChangeSetView};

use crate::aws::{CallError, Pacing, call};

/// Where CloudFormation reads the template from. Bodies are limited to
/// 51,200 bytes; bigger templates must be uploaded to S3 and passed by URL.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    Body(String),
    Url(String),
}

/// The largest `TemplateBody` CloudFormation accepts, in bytes.
pub const MAX_TEMPLATE_BODY_BYTES: usize = 51_200;

/// `CREATE` for a stack that does not exist yet (CloudFormation then holds
/// it in REVIEW_IN_PROGRESS until executed), `UPDATE` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSetKind {
    Create,
    Update,
}

#[derive(Debug, Clone)]
pub struct ChangeSetRequest {
    pub stack_name: String,
    pub change_set_name: String,
    pub kind: ChangeSetKind,
    pub template: TemplateSource,
    /// Stack tags, propagated by CloudFormation to every taggable resource.
    pub tags: Vec<(String, String)>,
    /// Idempotency token: a retried CreateChangeSet with the same token does
    /// not create a second change set.
    pub client_token: String,
    pub description: Option<String>,
    /// The change set's `RoleARN`: the role CloudFormation executes it with
    /// (the env's `execution_role_arn`). The caller needs `iam:PassRole` on
    /// it. `None` sends none: CloudFormation keeps the role the stack
    /// already has, or acts with the caller's credentials.
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html>
    pub role_arn: Option<String>,
    /// A drift-aware change set (`DeploymentMode: REVERT_DRIFT`): resources
    /// changed outside CloudFormation are set back to the template's values
    /// where the new template does not change them. Updates only.
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/drift-aware-change-sets.html>
    pub revert_drift: bool,
}

impl ChangeSetRequest {
    /// A name unique per deploy attempt: `upstack-<unix seconds>`. Change-set
    /// names must match `[a-zA-Z][-a-zA-Z0-9]*` and be at most 128 chars.
    pub fn default_name(unix_seconds: u64) -> String {
        format!("upstack-{unix_seconds}")
    }
}

/// A created change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetHandle {
    pub stack_name: String,
    /// The change set's ARN when CloudFormation returned one, else its name.
    /// Using the ARN avoids ambiguity when several stacks share a name prefix.
    pub id: String,
    pub stack_id: Option<String>,
}

impl ChangeSetHandle {
    /// A handle for an existing change set, by name or ARN.
    pub fn existing(stack_name: impl Into<String>, name_or_arn: impl Into<String>) -> Self {
        ChangeSetHandle {
            stack_name: stack_name.into(),
            id: name_or_arn.into(),
            stack_id: None,
        }
    }
}

/// A described change set: its status and every resource change (all pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetDescription {
    /// The SDK's enums: a status newer than this SDK is their `Unknown`
    /// arm, carried verbatim and never taken for a known one.
    pub status: ChangeSetStatus,
    pub status_reason: Option<String>,
    pub execution_status: ExecutionStatus,
    /// Each resource change as the diff engine reads it (its action and
    /// replacement typed, an unknown value kept verbatim).
    pub changes: Vec<ChangeSetResource>,
}

impl ChangeSetDescription {
    /// Whether ExecuteChangeSet will be accepted.
    pub fn is_executable(&self) -> bool {
        self.execution_status == ExecutionStatus::Available
    }
}

/// Where a change set ended up after creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSetState {
    /// Ready to review and execute.
    Ready(ChangeSetDescription),
    /// CloudFormation found nothing to do. The change set still exists (in
    /// FAILED) and should be deleted.
    NoChanges { reason: String },
    /// Creation failed for another reason (invalid template, missing
    /// capability, a resource type not available in the region, ...).
    Failed { status: String, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeSetError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(
        "change set {id} for stack {stack} is still {status} after {waited:?}; it was left in place: inspect it with `aws cloudformation describe-change-set --stack-name {stack} --change-set-name {id}`"
    )]
    Timeout {
        stack: String,
        id: String,
        status: String,
        waited: Duration,
    },
    #[error("CreateChangeSet for stack {stack} returned no change set id")]
    NoId { stack: String },
}

/// Whether a FAILED change set's reason means "the template changes nothing".
/// CloudFormation words this differently for change sets and for
/// UpdateStack; both spellings are matched, as the AWS CLI's
/// `cloudformation deploy` does.
pub fn is_no_changes_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("submitted information didn't contain changes")
}

/// The rollback configuration a change set carries: the alarms that roll
/// its execution back, and how long after the last resource they are watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackSettings {
    /// At most [`MAX_ROLLBACK_TRIGGERS`]; empty clears any triggers an
    /// earlier operation left on the stack.
    pub triggers: Vec<RollbackAlarm>,
    pub monitoring_minutes: i64,
}

/// One rollback trigger: an alarm's ARN and whether it is a composite alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackAlarm {
    pub arn: String,
    pub composite: bool,
}

impl RollbackAlarm {
    /// `RollbackTrigger.Type`: "Specify either AWS::CloudWatch::Alarm or
    /// AWS::CloudWatch::CompositeAlarm resource types."
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackTrigger.html>
    pub fn type_name(&self) -> &'static str {
        if self.composite {
            "AWS::CloudWatch::CompositeAlarm"
        } else {
            "AWS::CloudWatch::Alarm"
        }
    }
}

/// CloudFormation takes at most five rollback triggers
/// (`RollbackConfiguration.RollbackTriggers`, "max": 5 in the API model).
pub const MAX_ROLLBACK_TRIGGERS: usize = 5;

/// CreateChangeSet with CAPABILITY_NAMED_IAM (the stack names its roles).
pub async fn create(
    client: &Client,
    request: &ChangeSetRequest,
) -> Result<ChangeSetHandle, ChangeSetError> {
    create_with_rollback(client, request, None).await
}

/// [`create`], with a rollback configuration when `rollback` is given. It is
/// always sent in full when given: CloudFormation keeps a stack's triggers
/// from one operation to the next unless told otherwise, and a remembered
/// trigger whose alarm was since deleted fails the whole operation.
pub async fn create_with_rollback(
    client: &Client,
    request: &ChangeSetRequest,
    rollback: Option<&RollbackSettings>,
) -> Result<ChangeSetHandle, ChangeSetError> {
    let rollback_configuration = rollback.map(|rollback| {
        RollbackConfiguration::builder()
            .set_rollback_triggers(Some(
                rollback
                    .triggers
                    .iter()
                    .map(|trigger| {
                        RollbackTrigger::builder()
                            .arn(&trigger.arn)
                            .r#type(trigger.type_name())
                            .build()
                    })
                    .collect(),
            ))
            .monitoring_time_in_minutes(rollback.monitoring_minutes as i32)
            .build()
    });
    let change_set_type = match request.kind {
        ChangeSetKind::Create => ChangeSetType::Create,
        ChangeSetKind::Update => ChangeSetType::Update,
    };
    let tags: Vec<Tag> = request
        .tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect();
    let output = call("cloudformation:CreateChangeSet", {
        let mut call = client
            .create_change_set()
            .stack_name(&request.stack_name)
            .change_set_name(&request.change_set_name)
            .change_set_type(change_set_type.clone())
            .capabilities(Capability::CapabilityNamedIam)
            .set_tags(Some(tags.clone()))
            .client_token(&request.client_token)
            .set_description(request.description.clone())
            .set_role_arn(request.role_arn.clone())
            .set_deployment_mode(
                (request.revert_drift && request.kind == ChangeSetKind::Update)
                    .then_some(aws_sdk_cloudformation::types::DeploymentMode::RevertDrift),
            )
            .set_rollback_configuration(rollback_configuration.clone());
        call = match &request.template {
            TemplateSource::Body(body) => call.template_body(body),
            TemplateSource::Url(url) => call.template_url(url),
        };
        call.send()
    })
    .await?;
    let id = output
        .id()
        .map(str::to_owned)
        .or_else(|| (!request.change_set_name.is_empty()).then(|| request.change_set_name.clone()))
        .ok_or_else(|| ChangeSetError::NoId {
            stack: request.stack_name.clone(),
        })?;
    Ok(ChangeSetHandle {
        stack_name: request.stack_name.clone(),
        id,
        stack_id: output.stack_id().map(str::to_owned),
    })
}

/// Polls DescribeChangeSet (backing off) until the change set leaves
/// CREATE_PENDING / CREATE_IN_PROGRESS, then returns its final state with
/// all changes. Unknown statuses are treated as "still working" until the
/// timeout, never as success.
pub async fn wait_until_ready(
    client: &Client,
    handle: &ChangeSetHandle,
    pacing: &Pacing,
) -> Result<ChangeSetState, ChangeSetError> {
    let started = pacing.clock.now();
    let mut pause = pacing.poll_initial;
    loop {
        let description = describe(client, handle).await?;
        match &description.status {
            ChangeSetStatus::CreateComplete => return Ok(ChangeSetState::Ready(description)),
            ChangeSetStatus::Failed => {
                let reason = description.status_reason.clone().unwrap_or_default();
                return Ok(if is_no_changes_reason(&reason) {
                    ChangeSetState::NoChanges { reason }
                } else {
                    ChangeSetState::Failed {
                        status: description.status.as_str().to_owned(),
                        reason,
                    }
                });
            }
            ChangeSetStatus::DeleteComplete | ChangeSetStatus::DeleteFailed => {
                return Ok(ChangeSetState::Failed {
                    status: description.status.as_str().to_owned(),
                    reason: description.status_reason.unwrap_or_else(|| {
                        "the change set was deleted while we waited for it".to_owned()
                    }),
                });
            }
            // Pending, in progress, or a status newer than this SDK: keep polling.
            _ => {}
        }
        let waited = pacing.clock.now().saturating_duration_since(started);
        if waited >= pacing.change_set_timeout {
            return Err(ChangeSetError::Timeout {
                stack: handle.stack_name.clone(),
                id: handle.id.clone(),
                status: description.status.as_str().to_owned(),
                waited,
            });
        }
        pacing.sleep(pause).await;
        pause = pacing.next_poll(pause);
    }
}

/// One `ResourceChange` of DescribeChangeSet in the diff engine's terms.
/// Each enum goes over by its AWS spelling, so a value newer than the diff
/// crate's enums arrives as their `Unknown` arm, never as a known one.
fn resource_change(change: &ResourceChange) -> ChangeSetResource {
    ChangeSetResource {
        logical_id: change.logical_resource_id().unwrap_or_default().to_owned(),
        resource_type: change
            .resource_type()
            .filter(|kind| !kind.is_empty())
            .map(str::to_owned),
        view: ChangeSetView {
            // No action at all is as unreadable as an unknown one.
            action: change
                .action()
                .map_or_else(ChangeSetAction::default, |action| action.as_str().into()),
            replacement: change
                .replacement()
                .map(|replacement| replacement.as_str().into()),
            physical_id: change.physical_resource_id().map(str::to_owned),
            drift_status: change
                .resource_drift_status()
                .map(|status| status.as_str().into()),
            details: change
                .details()
                .iter()
                .map(|detail| {
                    let target = detail.target();
                    ChangeSetDetail {
                        attribute: target
                            .and_then(|target| target.attribute())
                            .map(|attribute| attribute.as_str().into()),
                        name: target.and_then(|target| target.name()).map(str::to_owned),
                        requires_recreation: target
                            .and_then(|target| target.requires_recreation())
                            .map(|recreation| recreation.as_str().into()),
                        evaluation: detail
                            .evaluation()
                            .map(|evaluation| evaluation.as_str().into()),
                        change_source: detail.change_source().map(|source| source.as_str().into()),
                        causing_entity: detail.causing_entity().map(str::to_owned),
                        before_value_from: target
                            .and_then(|target| target.before_value_from())
                            .map(|from| from.as_str().into()),
                        attribute_change_type: target
                            .and_then(|target| target.attribute_change_type())
                            .map(|kind| kind.as_str().into()),
                    }
                })
                .collect(),
        },
    }
}

/// DescribeChangeSet, following NextToken so large stacks get every change.
pub async fn describe(
    client: &Client,
    handle: &ChangeSetHandle,
) -> Result<ChangeSetDescription, ChangeSetError> {
    let mut next_token: Option<String> = None;
    let mut result: Option<ChangeSetDescription> = None;
    loop {
        let token = next_token.clone();
        let page = call(
            "cloudformation:DescribeChangeSet",
            client
                .describe_change_set()
                .stack_name(&handle.stack_name)
                .change_set_name(&handle.id)
                .set_next_token(token.clone())
                .send(),
        )
        .await?;
        let changes = page
            .changes()
            .iter()
            .filter_map(|change| change.resource_change())
            .map(resource_change);
        match result.as_mut() {
            Some(described) => described.changes.extend(changes),
            None => {
                result = Some(ChangeSetDescription {
                    // Missing: an empty `Unknown`, which no check takes for a known status.
                    status: page
                        .status()
                        .cloned()
                        .unwrap_or_else(|| ChangeSetStatus::from("")),
                    status_reason: page.status_reason().map(str::to_owned),
                    execution_status: page
                        .execution_status()
                        .cloned()
                        .unwrap_or_else(|| ExecutionStatus::from("")),
                    changes: changes.collect(),
                })
            }
        }
        next_token = page
            .next_token()
            .filter(|token| !token.is_empty())
            .map(str::to_owned);
        if next_token.is_none() {
            break;
        }
    }
    result.ok_or_else(|| ChangeSetError::NoId {
        stack: handle.stack_name.clone(),
    })
}

/// DeleteChangeSet. A change set that is already gone counts as deleted.
pub async fn delete(client: &Client, handle: &ChangeSetHandle) -> Result<(), ChangeSetError> {
    let result = call(
        "cloudformation:DeleteChangeSet",
        client
            .delete_change_set()
            .stack_name(&handle.stack_name)
            .change_set_name(&handle.id)
            .send(),
    )
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.is_not_found() => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// ExecuteChangeSet with a client token so a retried call does not execute twice.
pub async fn execute(
    client: &Client,
    handle: &ChangeSetHandle,
    client_token: &str,
) -> Result<(), ChangeSetError> {
    call(
        "cloudformation:ExecuteChangeSet",
        client
            .execute_change_set()
            .stack_name(&handle.stack_name)
            .change_set_name(&handle.id)
            .client_request_token(client_token)
            .send(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_no_change_wordings_are_recognised() {
        assert!(is_no_changes_reason(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(is_no_changes_reason("No updates are to be performed."));
        assert!(!is_no_changes_reason(
            "Template format error: Unresolved resource dependencies [Foo]"
        ));
    }

    #[test]
    fn unknown_sdk_values_are_kept_verbatim() {
        use aws_sdk_cloudformation::types::{ChangeAction, Replacement};
        use upstack_diff::{ChangeSetReplacement, Replacement as Verdict};
        let change = ResourceChange::builder()
            .logical_resource_id("Table")
            .action(ChangeAction::from("Teleport"))
            .replacement(Replacement::from("Maybe"))
            .build();
        let view = resource_change(&change).view;
        assert_eq!(view.action, ChangeSetAction::Unknown("Teleport".into()));
        assert_eq!(
            view.replacement,
            Some(ChangeSetReplacement::Unknown("Maybe".into()))
        );
        // An answer this version cannot read is a possible replacement.
        assert_eq!(
            view.replacement.as_ref().map(ChangeSetReplacement::verdict),
            Some(Verdict::MayReplace)
        );
        assert_eq!(ChangeSetReplacement::False.verdict(), Verdict::None);
    }
}
