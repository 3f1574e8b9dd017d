//! A saved plan against the account as it is now: the change set, the stack
//! and every asset must still be what the plan recorded, or the plan is
//! stale and nothing may be touched.

use aws_sdk_cloudformation::types::ChangeSetStatus;

use super::{DeployClients, DeployError};
use crate::assets::{self, AssetChange};
use crate::changeset::{self, ChangeSetError, ChangeSetHandle};
use crate::plan::{ReviewedPlan, StaleReason};
use crate::stack::{self, StatusClass};

/// Compares the change set, the stack and the assets with what the plan
/// recorded; every difference found is returned. Only reads.
pub async fn stale_reasons(
    clients: &DeployClients,
    plan: &ReviewedPlan,
) -> Result<Vec<StaleReason>, DeployError> {
    let cfn = &clients.cloudformation;
    let stack_name = &plan.manifest.stack_name;
    let mut reasons = Vec::new();
    let handle = plan_handle(plan);
    match changeset::describe(cfn, &handle).await {
        Ok(described)
            if described.is_executable() && described.status == ChangeSetStatus::CreateComplete => {
        }
        Ok(described) => reasons.push(StaleReason::ChangeSetNotExecutable {
            name: plan.change_set.name.clone(),
            status: described.status,
            execution_status: described.execution_status,
            reason: described.status_reason,
        }),
        Err(ChangeSetError::Call(error)) if error.is_not_found() => {
            reasons.push(StaleReason::ChangeSetGone {
                name: plan.change_set.name.clone(),
                stack: stack_name.clone(),
            })
        }
        Err(error) => return Err(error.into()),
    }

    let now = stack::describe(cfn, stack_name).await?;
    match (&plan.stack, now) {
        (Some(was), None) => reasons.push(StaleReason::StackGone {
            stack: stack_name.clone(),
            was_status: was.status.clone(),
        }),
        (Some(was), Some(now)) if now.stack_id != was.stack_id => {
            reasons.push(StaleReason::StackReplaced {
                stack: stack_name.clone(),
                stack_id: now.stack_id,
                was_stack_id: was.stack_id.clone(),
            })
        }
        (Some(was), Some(now))
            if now.status != was.status || now.last_updated_time != was.last_updated_time =>
        {
            reasons.push(StaleReason::StackUpdated {
                stack: stack_name.clone(),
                status: now.status,
                last_updated_time: now.last_updated_time,
                was_status: was.status.clone(),
                was_last_updated_time: was.last_updated_time.clone(),
            })
        }
        (Some(was), Some(now)) => {
            // Same status and time: compare the template itself too (an
            // emulator, or a change CloudFormation does not stamp).
            let deployed = stack::template(cfn, &now, stack_name).await?;
            if deployed.sha256 != was.template_sha256 {
                reasons.push(StaleReason::TemplateChanged {
                    stack: stack_name.clone(),
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
                stack: stack_name.clone(),
                status: now.status,
            })
        }
        (None, _) => {}
    }

    // Every asset: the same object version, holding the same bytes.
    let changes = assets::check_stored(&clients.s3, &plan.asset_bucket, &plan.assets).await?;
    reasons.extend(changes.into_iter().map(|change| match change {
        AssetChange::Missing { key } => StaleReason::AssetMissing {
            bucket: plan.asset_bucket.clone(),
            key,
        },
        AssetChange::Replaced {
            key,
            version_id,
            was_version_id,
        } => StaleReason::AssetReplaced {
            bucket: plan.asset_bucket.clone(),
            key,
            version_id,
            was_version_id,
        },
        AssetChange::Changed {
            key,
            sha256,
            was_sha256,
        } => StaleReason::AssetChanged {
            bucket: plan.asset_bucket.clone(),
            key,
            sha256,
            was_sha256,
        },
    }));
    Ok(reasons)
}

pub(super) fn plan_handle(plan: &ReviewedPlan) -> ChangeSetHandle {
    ChangeSetHandle {
        stack_name: plan.manifest.stack_name.clone(),
        // By ARN: the exact change set that was reviewed, never a namesake.
        id: plan.change_set.arn.clone(),
        stack_id: plan.change_set.stack_id.clone(),
    }
}

/// [`stale_reasons`], as an error when there are any.
pub(super) async fn refuse_if_stale(
    clients: &DeployClients,
    plan: &ReviewedPlan,
) -> Result<(), DeployError> {
    let reasons = stale_reasons(clients, plan).await?;
    if reasons.is_empty() {
        return Ok(());
    }
    Err(DeployError::StalePlan {
        stack: plan.manifest.stack_name.clone(),
        change_set: plan.change_set.name.clone(),
        reasons,
    })
}
