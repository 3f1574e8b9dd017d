//! The one reader of a deployed stack: its status (DescribeStacks), its
//! template (GetTemplate), its resources (DescribeStackResources) and its
//! outputs. `diff`, `deploy`, `status`, `invoke` and `destroy` all read the
//! stack through here, so each fact has one meaning everywhere: a stack that
//! does not exist or was deleted is `None`; a stack holding nothing yet (a
//! CREATE change set never executed, REVIEW_IN_PROGRESS) has no deployed
//! template ([`Deployed::Nothing`]); a template is the one that was
//! submitted (stage `Original`, before transforms: what synth produced).

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::TemplateStage;
use sha2::{Digest, Sha256};
use upstack_cfn::intrinsic::{PseudoValues, ResourceNames};

use crate::aws::{CallError, call};

upstack_cfn::aws_enum! {
    /// A stack's status (DescribeStacks `StackStatus`). The SDK's enum,
    /// mirrored so the status can be saved in a plan and compared as text;
    /// a test keeps the two lists equal.
    StackStatus {
        CreateInProgress = "CREATE_IN_PROGRESS",
        CreateFailed = "CREATE_FAILED",
        CreateComplete = "CREATE_COMPLETE",
        RollbackInProgress = "ROLLBACK_IN_PROGRESS",
        RollbackFailed = "ROLLBACK_FAILED",
        RollbackComplete = "ROLLBACK_COMPLETE",
        DeleteInProgress = "DELETE_IN_PROGRESS",
        DeleteFailed = "DELETE_FAILED",
        DeleteComplete = "DELETE_COMPLETE",
        UpdateInProgress = "UPDATE_IN_PROGRESS",
        UpdateCompleteCleanupInProgress = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        UpdateComplete = "UPDATE_COMPLETE",
        UpdateFailed = "UPDATE_FAILED",
        UpdateRollbackInProgress = "UPDATE_ROLLBACK_IN_PROGRESS",
        UpdateRollbackFailed = "UPDATE_ROLLBACK_FAILED",
        UpdateRollbackCompleteCleanupInProgress = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        UpdateRollbackComplete = "UPDATE_ROLLBACK_COMPLETE",
        ReviewInProgress = "REVIEW_IN_PROGRESS",
        ImportInProgress = "IMPORT_IN_PROGRESS",
        ImportComplete = "IMPORT_COMPLETE",
        ImportRollbackInProgress = "IMPORT_ROLLBACK_IN_PROGRESS",
        ImportRollbackFailed = "IMPORT_ROLLBACK_FAILED",
        ImportRollbackComplete = "IMPORT_ROLLBACK_COMPLETE",
    }
}

impl StackStatus {
    pub fn class(&self) -> StatusClass {
        match self {
            StackStatus::CreateInProgress
            | StackStatus::DeleteInProgress
            | StackStatus::ImportInProgress
            | StackStatus::ImportRollbackInProgress
            | StackStatus::RollbackInProgress
            | StackStatus::UpdateCompleteCleanupInProgress
            | StackStatus::UpdateInProgress
            | StackStatus::UpdateRollbackCompleteCleanupInProgress
            | StackStatus::UpdateRollbackInProgress => StatusClass::InProgress,
            StackStatus::CreateComplete
            | StackStatus::UpdateComplete
            | StackStatus::ImportComplete => StatusClass::Succeeded,
            StackStatus::DeleteComplete => StatusClass::Deleted,
            StackStatus::RollbackComplete => StatusClass::CreateRolledBack,
            StackStatus::UpdateRollbackComplete | StackStatus::ImportRollbackComplete => {
                StatusClass::UpdateRolledBack
            }
            StackStatus::UpdateRollbackFailed => StatusClass::UpdateRollbackFailed,
            StackStatus::CreateFailed
            | StackStatus::DeleteFailed
            | StackStatus::RollbackFailed
            | StackStatus::UpdateFailed
            | StackStatus::ImportRollbackFailed => StatusClass::Failed,
            StackStatus::ReviewInProgress => StatusClass::ReviewInProgress,
            // Deliberately still "CloudFormation is working": every
            // `*_IN_PROGRESS` status it has published is one it leaves by
            // itself, except REVIEW_IN_PROGRESS (known, above). Read so,
            // deploy and destroy refuse to start on the stack (busy; with
            // --wait, deploy waits) and a watch keeps polling; it is never
            // success. Read as Unknown, a watch would report a running
            // operation as ended and destroy would call DeleteStack on a
            // busy stack.
            StackStatus::Unknown(text) if text.ends_with("_IN_PROGRESS") => StatusClass::InProgress,
            StackStatus::Unknown(_) => StatusClass::Unknown,
        }
    }
}

/// How a stack status should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// CloudFormation is still working (any `*_IN_PROGRESS` except review).
    InProgress,
    /// CREATE/UPDATE/IMPORT_COMPLETE: the operation succeeded.
    Succeeded,
    /// DELETE_COMPLETE.
    Deleted,
    /// ROLLBACK_COMPLETE: a creation failed and was rolled back; the stack
    /// can only be deleted.
    CreateRolledBack,
    /// UPDATE_ROLLBACK_COMPLETE / IMPORT_ROLLBACK_COMPLETE: an update failed and the
    /// previous state was restored; the stack is usable.
    UpdateRolledBack,
    /// UPDATE_ROLLBACK_FAILED: needs `continue-update-rollback`.
    UpdateRollbackFailed,
    /// CREATE_FAILED, ROLLBACK_FAILED, DELETE_FAILED, UPDATE_FAILED, IMPORT_ROLLBACK_FAILED.
    Failed,
    /// REVIEW_IN_PROGRESS: a CREATE change set exists but was never executed.
    ReviewInProgress,
    /// A status this version does not know ([`StackStatus::Unknown`]
    /// keeps it): never guessed at.
    Unknown,
}

impl StatusClass {
    /// Whether a watcher should stop polling at this status.
    pub fn is_terminal(self) -> bool {
        !matches!(self, StatusClass::InProgress)
    }
}

/// The parts of DescribeStacks a deploy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackState {
    pub stack_id: String,
    pub status: StackStatus,
    pub status_reason: Option<String>,
    pub termination_protection: bool,
    pub outputs: Vec<(String, String)>,
    /// RFC 3339, as CloudFormation stamped it; with `last_updated_time` and
    /// the status, what a saved plan compares to tell whether the stack
    /// changed after the plan was made.
    pub creation_time: Option<String>,
    /// RFC 3339; `None` for a stack that was never updated.
    pub last_updated_time: Option<String>,
}

impl StackState {
    pub fn class(&self) -> StatusClass {
        self.status.class()
    }
}

/// DescribeStacks for one stack; `None` when it does not exist (including
/// DELETE_COMPLETE, which DescribeStacks by ARN still returns). The one
/// call of DescribeStacks.
pub async fn describe(client: &Client, stack: &str) -> Result<Option<StackState>, CallError> {
    let result = call(
        "cloudformation:DescribeStacks",
        client.describe_stacks().stack_name(stack).send(),
    )
    .await;
    let output = match result {
        Ok(output) => output,
        // CloudFormation answers a missing stack with a ValidationError
        // "Stack with id X does not exist", not a dedicated error code.
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(error),
    };
    let Some(stack) = output.stacks().first() else {
        return Ok(None);
    };
    // No status at all reads as an empty, unknown one: refused like any other.
    let status = StackStatus::from(stack.stack_status().map_or("", |status| status.as_str()));
    if status.class() == StatusClass::Deleted {
        return Ok(None);
    }
    Ok(Some(StackState {
        stack_id: stack.stack_id().unwrap_or_default().to_owned(),
        status,
        status_reason: stack.stack_status_reason().map(str::to_owned),
        termination_protection: stack.enable_termination_protection().unwrap_or(false),
        outputs: stack
            .outputs()
            .iter()
            .filter_map(|output| {
                Some((
                    output.output_key()?.to_owned(),
                    output.output_value()?.to_owned(),
                ))
            })
            .collect(),
        creation_time: stack.creation_time().and_then(rfc3339),
        last_updated_time: stack.last_updated_time().and_then(rfc3339),
    }))
}

/// CloudFormation's timestamps as RFC 3339 text (sub-second digits kept, so
/// two updates within one second still differ).
pub(crate) fn rfc3339(time: &aws_smithy_types::DateTime) -> Option<String> {
    time.fmt(aws_smithy_types::date_time::Format::DateTime).ok()
}

/// What is deployed under a stack name.
#[derive(Debug, Clone, PartialEq)]
pub enum Deployed {
    /// No stack, or one a CREATE change set left in REVIEW_IN_PROGRESS
    /// (it has no resources yet): everything in a new template is added.
    Nothing,
    /// The template of the stack's last successful or attempted update.
    Template(DeployedTemplate),
}

impl Deployed {
    /// The template to diff against: an empty one when nothing is deployed.
    pub fn into_template(self) -> serde_json::Value {
        match self {
            Deployed::Nothing => serde_json::json!({}),
            Deployed::Template(deployed) => deployed.template,
        }
    }

    pub fn exists(&self) -> bool {
        matches!(self, Deployed::Template(_))
    }
}

/// A deployed template and the SHA-256 of its body as CloudFormation
/// returned it (what a reviewed plan compares to tell whether it changed).
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedTemplate {
    pub template: serde_json::Value,
    pub sha256: String,
}

/// Why a deployed template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(
        "the deployed template of stack {stack} is YAML; upstack compares JSON templates only (upstack always deploys JSON, so this stack was last deployed by another tool): compare against a JSON file with --against"
    )]
    Yaml { stack: String },
    #[error("the deployed template of stack {stack} is not valid JSON: {source}")]
    NotJson {
        stack: String,
        source: serde_json::Error,
    },
}

/// The template a GetTemplate `TemplateBody` holds. CloudFormation returns
/// the body as it was submitted, JSON or YAML; upstack submits JSON.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html>
pub fn parse_deployed_body(stack: &str, body: &str) -> Result<serde_json::Value, TemplateError> {
    if !body.trim_start().starts_with('{') {
        return Err(TemplateError::Yaml {
            stack: stack.to_owned(),
        });
    }
    serde_json::from_str(body).map_err(|source| TemplateError::NotJson {
        stack: stack.to_owned(),
        source,
    })
}

/// GetTemplate (stage `Original`) of the stack `stack` names (its ARN, or
/// its name for messages too). The one call of GetTemplate.
pub async fn template(
    client: &Client,
    stack: &StackState,
    name: &str,
) -> Result<DeployedTemplate, TemplateError> {
    let output = call(
        "cloudformation:GetTemplate",
        client
            .get_template()
            .stack_name(&stack.stack_id)
            .template_stage(TemplateStage::Original)
            .send(),
    )
    .await?;
    let body = output.template_body().unwrap_or_default();
    Ok(DeployedTemplate {
        template: parse_deployed_body(name, body)?,
        sha256: hex::encode(Sha256::digest(body.as_bytes())),
    })
}

/// What is deployed under `name`: [`Deployed::Nothing`] for no stack or a
/// REVIEW_IN_PROGRESS one, else its template; with the stack's state.
pub async fn deployed(
    client: &Client,
    name: &str,
) -> Result<(Option<StackState>, Deployed), TemplateError> {
    let Some(state) = describe(client, name).await? else {
        return Ok((None, Deployed::Nothing));
    };
    if state.class() == StatusClass::ReviewInProgress {
        return Ok((Some(state), Deployed::Nothing));
    }
    let deployed = template(client, &state, name).await?;
    Ok((Some(state), Deployed::Template(deployed)))
}

/// One resource of a stack, as DescribeStackResources lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    /// Absent until CloudFormation created it.
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub status: String,
    /// The stack's ARN, which DescribeStackResources gives with each
    /// resource (`AWS::StackId` for whoever evaluates the template).
    pub stack_id: Option<String>,
}

/// DescribeStackResources of the stack (its ARN or name). The one call of it.
pub async fn resources(client: &Client, stack: &str) -> Result<Vec<StackResource>, CallError> {
    let output = call(
        "cloudformation:DescribeStackResources",
        client.describe_stack_resources().stack_name(stack).send(),
    )
    .await?;
    Ok(output
        .stack_resources()
        .iter()
        .filter_map(|resource| {
            Some(StackResource {
                logical_id: resource.logical_resource_id()?.to_owned(),
                physical_id: resource.physical_resource_id().map(str::to_owned),
                resource_type: resource.resource_type().unwrap_or_default().to_owned(),
                status: resource
                    .resource_status()
                    .map(|status| status.as_str().to_owned())
                    .unwrap_or_default(),
                stack_id: resource.stack_id().map(str::to_owned),
            })
        })
        .collect())
}

/// A deployed stack as a template's values are evaluated against it: the
/// template its resources were made from, its resources
/// (DescribeStackResources), and the pseudo parameters of its account and
/// region. Drift reads it with the deployed template; `invoke` with the
/// synthesized one, which the manifest pins to what was deployed.
#[derive(Debug, Clone)]
pub struct DeployedStack {
    pub template: serde_json::Value,
    pub resources: Vec<StackResource>,
    pub pseudo: PseudoValues,
}

impl DeployedStack {
    /// `template`'s stack `stack` (name or ID), its resources listed once.
    pub async fn read(
        client: &Client,
        stack: &str,
        template: serde_json::Value,
        pseudo: PseudoValues,
    ) -> Result<DeployedStack, CallError> {
        Ok(DeployedStack {
            template,
            resources: resources(client, stack).await?,
            pseudo,
        })
    }

    /// The physical ID of a logical ID, when CloudFormation created it.
    pub fn physical_id(&self, logical_id: &str) -> Option<&str> {
        self.resources
            .iter()
            .find(|resource| resource.logical_id == logical_id)
            .and_then(|resource| resource.physical_id.as_deref())
            .filter(|id| !id.is_empty())
    }

    /// The stack's ARN, as its resources name it (`None` without resources).
    pub fn stack_id(&self) -> Option<&str> {
        self.resources
            .iter()
            .find_map(|resource| resource.stack_id.as_deref())
    }
}

/// What `Ref` and `Fn::GetAtt` of the stack's resources return: their
/// physical IDs, and the attributes `upstack_cfn::attributes` derives from
/// them.
impl ResourceNames for DeployedStack {
    fn reference(&self, logical_id: &str) -> Option<String> {
        self.physical_id(logical_id).map(str::to_owned)
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        let resource = &self.template["Resources"][logical_id];
        upstack_cfn::attributes::derived(
            resource["Type"].as_str()?,
            self.physical_id(logical_id)?,
            attribute,
            resource["Properties"]["Path"].as_str(),
            &self.pseudo,
        )
    }
}

/// The stack's Outputs; when there are none, the physical ids of its
/// resources. moto returns empty Outputs after ExecuteChangeSet (it does not
/// evaluate the Outputs section for change-set-created stacks), and a real
/// stack without Outputs is still more useful with its resource ids listed.
pub async fn outputs(
    client: &Client,
    state: &StackState,
) -> Result<BTreeMap<String, String>, CallError> {
    let fresh = describe(client, &state.stack_id).await?;
    let outputs: BTreeMap<String, String> = fresh
        .map(|stack| stack.outputs.into_iter().collect())
        .unwrap_or_default();
    if !outputs.is_empty() {
        return Ok(outputs);
    }
    Ok(resources(client, &state.stack_id)
        .await?
        .into_iter()
        .filter_map(|resource| {
            Some((
                format!("{}.PhysicalId", resource.logical_id),
                resource.physical_id?,
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yaml_body_is_reported_as_unsupported_naming_the_stack() {
        let error = parse_deployed_body(
            "upstack-dev",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n",
        );
        assert!(
            matches!(&error, Err(TemplateError::Yaml { stack }) if stack == "upstack-dev"),
            "{error:?}"
        );
    }

    #[test]
    fn a_json_body_with_leading_whitespace_parses() {
        let template = parse_deployed_body("s", "\n  {\"Resources\": {}}");
        assert_eq!(template.ok(), Some(serde_json::json!({"Resources": {}})));
    }
}
