//! `destroy`: delete an env's stack after approval, listing the resources
//! CloudFormation will keep (DeletionPolicy Retain).

use std::future::Future;

use aws_sdk_cloudformation::Client;
use upstack_cfn::{DeletionPolicy, ReadError, Template};

use crate::aws::{CallError, Pacing, call};
use crate::events::{self, EventWatcher, WatchOutcome};
use crate::interact::{Answer, Approver, Reporter};
use crate::stack::{self, StackStatus, StatusClass, TemplateError};

#[derive(Debug, Clone)]
pub struct DestroyOptions {
    /// Turn termination protection off first (prod); without it a protected
    /// stack is refused with guidance.
    pub disable_termination_protection: bool,
    pub pacing: Pacing,
    pub client_token: String,
}

/// A resource deleting the stack leaves behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestroyOutcome {
    NothingToDestroy,
    Destroyed { retained: Vec<RetainedResource> },
    NotApproved,
    Interrupted { resume: String },
}

#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(
        "stack {stack} has termination protection on (env `{env}`): deleting it would delete its data. If you really mean it, re-run with --disable-termination-protection (and --yes in scripts)"
    )]
    Protected { stack: String, env: String },
    #[error(
        "stack {stack} is {status}: wait for the running operation to finish, then destroy again"
    )]
    Busy { stack: String, status: StackStatus },
    #[error(
        "stack {stack} is in status {status}, which this version of upstack does not know; refusing to delete a stack whose state it cannot read. Check it in the CloudFormation console, and delete it there if that is still what you want"
    )]
    UnknownStatus { stack: String, status: StackStatus },
    #[error(
        "deleting stack {stack} failed: {status}{cause}. Resources that could not be deleted are listed above; remove or retain them and destroy again"
    )]
    Failed {
        stack: String,
        status: StackStatus,
        cause: String,
    },
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(
        "the deployed template of stack {stack} does not read as a CloudFormation template ({source}), so which resources deleting it keeps cannot be told; delete it in the CloudFormation console if that is still what you want"
    )]
    UnreadableTemplate {
        stack: String,
        #[source]
        source: ReadError,
    },
}

/// Resources of `template` with a DeletionPolicy that keeps them, in
/// logical-ID order.
pub fn retained_resources(template: &Template) -> Vec<RetainedResource> {
    template
        .resources
        .iter()
        .filter(|(_, entry)| {
            matches!(
                entry.options.deletion_policy,
                Some(DeletionPolicy::Retain | DeletionPolicy::RetainExceptOnCreate)
            )
        })
        .map(|(logical_id, entry)| RetainedResource {
            logical_id: logical_id.clone(),
            resource_type: entry.type_name.clone(),
            physical_id: None,
        })
        .collect()
}

pub async fn destroy<I>(
    cfn: &Client,
    env: &str,
    stack_name: &str,
    options: &DestroyOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<DestroyOutcome, DestroyError>
where
    I: Future<Output = ()>,
{
    let pacing = &options.pacing;
    let Some(stack) = stack::describe(cfn, stack_name).await? else {
        reporter.line(&format!(
            "stack {stack_name} does not exist: nothing to destroy"
        ));
        return Ok(DestroyOutcome::NothingToDestroy);
    };
    match stack.class() {
        StatusClass::InProgress => {
            return Err(DestroyError::Busy {
                stack: stack_name.to_owned(),
                status: stack.status,
            });
        }
        // A status newer than this code could be an operation still running
        // or one DeleteStack would make worse: not guessed at.
        StatusClass::Unknown => {
            return Err(DestroyError::UnknownStatus {
                stack: stack_name.to_owned(),
                status: stack.status,
            });
        }
        _ => {}
    }
    if stack.termination_protection && !options.disable_termination_protection {
        return Err(DestroyError::Protected {
            stack: stack_name.to_owned(),
            env: env.to_owned(),
        });
    }

    let deployed = stack::template(cfn, &stack, stack_name).await?.template;
    let template =
        Template::from_json(&deployed).map_err(|source| DestroyError::UnreadableTemplate {
            stack: stack_name.to_owned(),
            source,
        })?;
    let mut retained = retained_resources(&template);
    if !retained.is_empty() {
        let resources = stack::resources(cfn, &stack.stack_id).await?;
        for kept in &mut retained {
            kept.physical_id = resources
                .iter()
                .find(|resource| resource.logical_id == kept.logical_id)
                .and_then(|resource| resource.physical_id.clone());
        }
    }

    reporter.line(&format!(
        "stack {stack_name} ({}) will be deleted",
        stack.status
    ));
    if retained.is_empty() {
        reporter
            .line("no resource is retained: everything in the stack is deleted, including data");
    } else {
        reporter.line("kept (DeletionPolicy Retain; delete them by hand when no longer needed):");
        for kept in &retained {
            reporter.line(&format!(
                "  {} ({}) {}",
                kept.logical_id,
                kept.resource_type,
                kept.physical_id.as_deref().unwrap_or("(no physical id)")
            ));
        }
    }
    match approver.ask(&format!("Delete stack {stack_name}?")) {
        Answer::Yes => {}
        Answer::No => {
            reporter.line("not approved: nothing was deleted");
            return Ok(DestroyOutcome::NotApproved);
        }
        Answer::NoTerminal => {
            reporter.line(
                "not approved: no terminal to ask on; re-run with --yes to approve in a script",
            );
            return Ok(DestroyOutcome::NotApproved);
        }
    }

    if stack.termination_protection {
        call(
            "cloudformation:UpdateTerminationProtection",
            cfn.update_termination_protection()
                .stack_name(&stack.stack_id)
                .enable_termination_protection(false)
                .send(),
        )
        .await?;
        reporter.line("termination protection disabled (--disable-termination-protection)");
    }
    let mut watcher = EventWatcher::start(cfn, &stack.stack_id).await?;
    call(
        "cloudformation:DeleteStack",
        cfn.delete_stack()
            .stack_name(&stack.stack_id)
            .client_request_token(&options.client_token)
            .send(),
    )
    .await?;
    let started = pacing.clock.now();
    let outcome = events::watch(
        cfn,
        &mut watcher,
        0,
        pacing,
        started,
        interrupt,
        |event, progress| reporter.line(&events::format_event(event, progress)),
    )
    .await?;
    match outcome {
        WatchOutcome::Interrupted { .. } => {
            let resume =
                format!("aws cloudformation wait stack-delete-complete --stack-name {stack_name}");
            reporter.line(&format!("stopped watching; CloudFormation carries on deleting. Resume watching with: {resume}"));
            Ok(DestroyOutcome::Interrupted { resume })
        }
        WatchOutcome::Finished { state: None, .. } => {
            reporter.line(&format!("stack {stack_name} deleted"));
            Ok(DestroyOutcome::Destroyed { retained })
        }
        WatchOutcome::Finished {
            state: Some(state),
            events,
        } => {
            let cause = events::root_cause(&events)
                .map(|event| {
                    format!(
                        ": {} ({}) {}",
                        event.logical_id,
                        event.resource_type,
                        event.reason.as_deref().unwrap_or("no reason given")
                    )
                })
                .unwrap_or_default();
            Err(DestroyError::Failed {
                stack: stack_name.to_owned(),
                status: state.status,
                cause,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_retained_resources_only() {
        let template = Template::from_json(&serde_json::json!({"Resources": {
            "Uploads": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "RetainExceptOnCreate"},
            "Topic": {"Type": "AWS::SNS::Topic", "DeletionPolicy": "Delete"},
            "Snap": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Snapshot"},
            "Fn": {"Type": "AWS::Lambda::Function"}
        }}))
        .unwrap();
        let ids: Vec<_> = retained_resources(&template)
            .into_iter()
            .map(|kept| kept.logical_id)
            .collect();
        assert_eq!(ids, ["Table", "Uploads"]);
    }
}
