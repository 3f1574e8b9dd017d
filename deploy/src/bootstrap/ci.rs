//! `bootstrap --github`: the account's GitHub OIDC provider and the env's CI
//! stack (`<stack_name>-ci`, the three roles of
//! [`upstack_stack::ci_identity`]), applied reviewably: everything is read
//! first, the change set and the provider to create are shown, and nothing
//! is created before the answer.
//!
//! The provider is created through the IAM API, not in the stack: there is
//! one per account for `token.actions.githubusercontent.com`, shared by every
//! env (and any other tool) in the account, so no env's stack may own it or
//! delete it with itself. An existing provider is used as it is, unless it is
//! configured for something else (no `sts.amazonaws.com` audience, unknown
//! thumbprints): then bootstrap refuses before creating anything.

use aws_sdk_cloudformation::Client as CfnClient;
use aws_sdk_iam::Client as IamClient;
use upstack_stack::ci_identity::{
    CiIdentities, GITHUB_OIDC_HOST, GITHUB_THUMBPRINTS, OidcProvider,
};

use crate::aws::{CallError, Pacing, call};
use crate::changeset::{
    self, ChangeSetError, ChangeSetHandle, ChangeSetKind, ChangeSetRequest, ChangeSetState,
    TemplateSource,
};
use crate::events::{self, EventWatcher, WatchOutcome};
use crate::interact::{Answer, Approver, Reporter};
use crate::stack::{self, StackState, StatusClass};

/// The clients bootstrap --github uses.
#[derive(Debug, Clone)]
pub struct CiClients {
    pub cloudformation: CfnClient,
    pub iam: IamClient,
}

#[derive(Debug, thiserror::Error)]
pub enum CiBootstrapError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    ChangeSet(#[from] ChangeSetError),
    /// Found before anything was created.
    #[error(
        "the account's GitHub OIDC provider {arn} is configured differently from what the CI roles need, so nothing was created:{}\nFix the provider ({fix}), or delete it if nothing else uses it, then run bootstrap again",
        bullets(differences)
    )]
    ProviderMismatch {
        arn: String,
        differences: Vec<String>,
        fix: String,
    },
    #[error(
        "CloudFormation could not create the change set for {stack}: {reason} (the change set was deleted; nothing was changed)"
    )]
    ChangeSetFailed { stack: String, reason: String },
    #[error(
        "stack {stack} is {status}: another operation is running; wait for it (`aws cloudformation describe-stack-events --stack-name {stack}`) and run bootstrap again"
    )]
    Busy { stack: String, status: String },
    #[error(
        "stack {stack} is {status}{reason}; bootstrap will not change it. Inspect it with `aws cloudformation describe-stack-events --stack-name {stack}`; {fix}"
    )]
    Unusable {
        stack: String,
        status: String,
        reason: String,
        fix: String,
    },
    #[error("creating the CI identities of {stack} failed: {status}{cause}. {recovery}")]
    Failed {
        stack: String,
        status: String,
        cause: String,
        recovery: String,
    },
}

fn bullets(lines: &[String]) -> String {
    lines.iter().map(|line| format!("\n  - {line}")).collect()
}

/// What an existing provider for GitHub looks like, as IAM returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingProvider {
    pub arn: String,
    pub audiences: Vec<String>,
    pub thumbprints: Vec<String>,
}

/// What bootstrap does about the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderPlan {
    /// It exists and fits: used as it is.
    Use(ExistingProvider),
    /// None exists: it is created (after approval, before the stack).
    Create,
}

/// Why `existing` cannot serve the CI roles (empty: it can). Pure.
///
/// The roles' trust requires the audience `sts.amazonaws.com`, so the
/// provider must list it among its client IDs; other client IDs are other
/// tools' business. Thumbprints are no longer checked by AWS for GitHub,
/// but a value other than GitHub's two known ones means someone set the
/// provider up for a different certificate chain: that is theirs to explain
/// before it becomes the root of this repository's deploys.
pub fn provider_differences(expected: &OidcProvider, existing: &ExistingProvider) -> Vec<String> {
    let mut differences = Vec::new();
    if !existing
        .audiences
        .iter()
        .any(|audience| expected.audiences.contains(audience))
    {
        differences.push(format!(
            "its audiences (client IDs) are [{}]; the roles need {}",
            existing.audiences.join(", "),
            expected.audiences.join(", ")
        ));
    }
    let unknown: Vec<&String> = existing
        .thumbprints
        .iter()
        .filter(|thumbprint| {
            !GITHUB_THUMBPRINTS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(thumbprint))
        })
        .collect();
    if !unknown.is_empty() {
        differences.push(format!(
            "its thumbprints include {}, which is not one of GitHub's ({})",
            unknown
                .iter()
                .map(|thumbprint| thumbprint.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            GITHUB_THUMBPRINTS.join(", ")
        ));
    }
    differences
}

/// The commands that make `existing` fit.
fn provider_fix(expected: &OidcProvider, existing: &ExistingProvider) -> String {
    let mut commands = Vec::new();
    if !existing
        .audiences
        .iter()
        .any(|audience| expected.audiences.contains(audience))
    {
        commands.push(format!(
            "`aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {} --client-id {}`",
            existing.arn, expected.audiences.join(" ")
        ));
    }
    if existing.thumbprints.iter().any(|thumbprint| {
        !GITHUB_THUMBPRINTS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(thumbprint))
    }) {
        commands.push(format!(
            "`aws iam update-open-id-connect-provider-thumbprint --open-id-connect-provider-arn {} --thumbprint-list {}`",
            existing.arn,
            GITHUB_THUMBPRINTS.join(" ")
        ));
    }
    commands.join(" and ")
}

/// Reads the account's provider for GitHub (by its ARN, which is fixed by
/// the issuer's host) and decides what to do with it; refuses a misfit.
pub async fn plan_provider(
    iam: &IamClient,
    expected: &OidcProvider,
) -> Result<ProviderPlan, CiBootstrapError> {
    let listed = call("iam:ListOpenIDConnectProviders", {
        iam.list_open_id_connect_providers().send()
    })
    .await?;
    let found = listed
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|entry| entry.arn())
        .find(|arn| *arn == expected.arn || arn.ends_with(&format!("/{GITHUB_OIDC_HOST}")))
        .map(str::to_owned);
    let Some(arn) = found else {
        return Ok(ProviderPlan::Create);
    };
    let provider = call("iam:GetOpenIDConnectProvider", {
        iam.get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
    })
    .await?;
    let existing = ExistingProvider {
        arn,
        audiences: provider.client_id_list().to_vec(),
        thumbprints: provider.thumbprint_list().to_vec(),
    };
    let differences = provider_differences(expected, &existing);
    if differences.is_empty() {
        Ok(ProviderPlan::Use(existing))
    } else {
        Err(CiBootstrapError::ProviderMismatch {
            fix: provider_fix(expected, &existing),
            arn: existing.arn,
            differences,
        })
    }
}

/// CreateOpenIDConnectProvider with GitHub's URL, audience and thumbprints.
/// One made meanwhile (a concurrent bootstrap) is checked like any other.
async fn create_provider(iam: &IamClient, expected: &OidcProvider) -> Result<(), CiBootstrapError> {
    let result = call("iam:CreateOpenIDConnectProvider", {
        iam.create_open_id_connect_provider()
            .url(&expected.url)
            .set_client_id_list(Some(expected.audiences.clone()))
            .set_thumbprint_list(Some(expected.thumbprints.clone()))
            .send()
    })
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.code.as_deref() == Some("EntityAlreadyExists") => {
            plan_provider(iam, expected).await.map(|_| ())
        }
        Err(error) => Err(error.into()),
    }
}

/// How bootstrap --github ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiOutcome {
    /// The provider and the stack already were as wanted.
    UpToDate,
    /// Created or updated.
    Applied,
    NotApproved,
    /// Ctrl-C while CloudFormation worked: it carries on.
    Interrupted,
}

/// The stack's state before bootstrap, made ready for a change set.
async fn existing_stack(
    cfn: &CfnClient,
    stack_name: &str,
    pacing: &Pacing,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
) -> Result<Option<Option<StackState>>, CiBootstrapError> {
    loop {
        let Some(stack) = stack::describe(cfn, stack_name).await? else {
            return Ok(Some(None));
        };
        match stack.class() {
            StatusClass::Succeeded | StatusClass::UpdateRolledBack => {
                return Ok(Some(Some(stack)));
            }
            // A change set from an earlier bootstrap that was never
            // executed: the stack holds nothing.
            StatusClass::ReviewInProgress => {
                reporter.line(&format!(
                    "stack {stack_name} is REVIEW_IN_PROGRESS (an earlier bootstrap was not approved): deleting it; it holds no resources"
                ));
                delete_empty(cfn, &stack, pacing).await?;
            }
            StatusClass::CreateRolledBack => {
                let question = format!(
                    "stack {stack_name} is ROLLBACK_COMPLETE: an earlier creation failed{} and it holds no resources. Delete it and create it again?",
                    stack
                        .status_reason
                        .as_deref()
                        .map(|reason| format!(" ({reason})"))
                        .unwrap_or_default()
                );
                if approver.ask(&question) != Answer::Yes {
                    reporter.line(&format!(
                        "{question} -> not approved (use --yes in scripts)"
                    ));
                    return Ok(None);
                }
                delete_empty(cfn, &stack, pacing).await?;
            }
            StatusClass::InProgress => {
                return Err(CiBootstrapError::Busy {
                    stack: stack_name.to_owned(),
                    status: stack.status.to_string(),
                });
            }
            StatusClass::UpdateRollbackFailed => {
                return Err(CiBootstrapError::Unusable {
                    stack: stack_name.to_owned(),
                    status: stack.status.to_string(),
                    reason: reason_suffix(stack.status_reason.as_deref()),
                    fix: format!(
                        "fix the cause, run `aws cloudformation continue-update-rollback --stack-name {stack_name}`, then bootstrap again"
                    ),
                });
            }
            StatusClass::Failed | StatusClass::Unknown | StatusClass::Deleted => {
                return Err(CiBootstrapError::Unusable {
                    stack: stack_name.to_owned(),
                    status: stack.status.to_string(),
                    reason: reason_suffix(stack.status_reason.as_deref()),
                    fix: "fix the cause and delete it if it holds nothing you need, then bootstrap again"
                        .to_owned(),
                });
            }
        }
    }
}

fn reason_suffix(reason: Option<&str>) -> String {
    reason
        .filter(|reason| !reason.is_empty())
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default()
}

/// DeleteStack on a stack that holds no resources, waiting until it is gone.
async fn delete_empty(
    cfn: &CfnClient,
    stack: &StackState,
    pacing: &Pacing,
) -> Result<(), CiBootstrapError> {
    let mut watcher = EventWatcher::start(cfn, &stack.stack_id).await?;
    call("cloudformation:DeleteStack", {
        cfn.delete_stack().stack_name(&stack.stack_id).send()
    })
    .await?;
    let outcome = events::watch(
        cfn,
        &mut watcher,
        0,
        pacing,
        pacing.clock.now(),
        std::future::pending(),
        |_, _| {},
    )
    .await?;
    match outcome {
        WatchOutcome::Finished { state: None, .. } => Ok(()),
        WatchOutcome::Finished {
            state: Some(state), ..
        } => Err(CiBootstrapError::Unusable {
            stack: stack.stack_id.clone(),
            status: state.status.to_string(),
            reason: reason_suffix(state.status_reason.as_deref()),
            fix: "delete it by hand, then bootstrap again".to_owned(),
        }),
        WatchOutcome::Interrupted { .. } => Ok(()),
    }
}

/// Deletes a change set that will not run, and for a CREATE one the empty
/// REVIEW_IN_PROGRESS stack CloudFormation made for it.
async fn discard(
    cfn: &CfnClient,
    handle: &ChangeSetHandle,
    kind: ChangeSetKind,
) -> Result<(), CiBootstrapError> {
    changeset::delete(cfn, handle).await?;
    if kind == ChangeSetKind::Create {
        let stack = handle
            .stack_id
            .clone()
            .unwrap_or_else(|| handle.stack_name.clone());
        if let Some(state) = stack::describe(cfn, &stack).await?
            && state.class() == StatusClass::ReviewInProgress
        {
            call("cloudformation:DeleteStack", {
                cfn.delete_stack().stack_name(&stack).send()
            })
            .await?;
        }
    }
    Ok(())
}

/// The ARNs, repository variables and env-file key to set, for the summary.
pub fn summary(identities: &CiIdentities) -> String {
    use upstack_stack::ci_identity::RoleKind;
    let mut text = format!(
        "CI identities of env {} (stack {}), trusted by GitHub {}:\n",
        identities.env, identities.stack_name, identities.repository
    );
    for role in &identities.roles {
        let trusted = match role.kind {
            RoleKind::Plan => identities.repository.pull_request_subject(),
            RoleKind::Deploy => identities.repository.environment_subject(&identities.env),
            RoleKind::Execution => "cloudformation.amazonaws.com".to_owned(),
        };
        text.push_str(&format!(
            "  {:<7} {}  (trusted by {trusted})\n",
            role.kind.word(),
            role.arn
        ));
    }
    text.push_str(&format!(
        "  OIDC provider {}\n\nSet these repository variables (Settings > Secrets and variables > Actions > Variables):\n",
        identities.provider.arn
    ));
    for (name, value) in identities.repository_variables() {
        text.push_str(&format!("  {name} = {value}\n"));
    }
    text.push_str(&format!(
        "\nand in envs/{}.toml, so deploy passes the execution role (RoleARN):\n  {}\n",
        identities.env,
        identities.env_file_line()
    ));
    text.push_str(&format!(
        "\nThe deploy role trusts only jobs of the GitHub environment `{}`: create it (Settings > Environments){}. docs/ci.md explains the trust model.\n",
        identities.env,
        if identities.production {
            " with required reviewers and deployment branches limited to main"
        } else {
            " with deployment branches limited to main"
        }
    ));
    text
}

/// Options of one bootstrap --github run.
#[derive(Debug, Clone)]
pub struct CiBootstrapOptions {
    pub pacing: Pacing,
    /// Change set name and client tokens (tests fix it).
    pub run_id: String,
}

/// Brings the provider and the env's CI stack to `identities`, after showing
/// what changes and asking `approver`. Refuses a misfit provider, a busy or
/// broken stack, and a failed change set before anything is created.
pub async fn apply<I>(
    clients: &CiClients,
    identities: &CiIdentities,
    options: &CiBootstrapOptions,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<CiOutcome, CiBootstrapError>
where
    I: std::future::Future<Output = ()>,
{
    let cfn = &clients.cloudformation;
    let pacing = &options.pacing;
    let stack_name = &identities.stack_name;

    // 1. Everything read, nothing written: the provider first (a misfit
    //    refuses before any change set exists).
    let provider = plan_provider(&clients.iam, &identities.provider).await?;
    let Some(existing) = existing_stack(cfn, stack_name, pacing, reporter, approver).await? else {
        return Ok(CiOutcome::NotApproved);
    };

    // 2. The change set, reviewed like a deploy's.
    let kind = if existing.is_some() {
        ChangeSetKind::Update
    } else {
        ChangeSetKind::Create
    };
    let new_template = identities.template.to_json();
    let request = ChangeSetRequest {
        stack_name: stack_name.clone(),
        change_set_name: format!("upstack-ci-{}", options.run_id),
        kind,
        template: TemplateSource::Body(upstack_cfn::validate::upload_body(&new_template)),
        tags: identities.tags.clone(),
        client_token: format!("upstack-ci-cs-{}", options.run_id),
        description: Some(format!(
            "upstack bootstrap --env {} --github {}",
            identities.env, identities.repository
        )),
        role_arn: None,
    };
    let handle = changeset::create(cfn, &request).await?;
    let description = match changeset::wait_until_ready(cfn, &handle, pacing).await? {
        ChangeSetState::Ready(description) => Some(description),
        ChangeSetState::NoChanges { .. } => {
            discard(cfn, &handle, kind).await?;
            None
        }
        ChangeSetState::Failed { reason, .. } => {
            discard(cfn, &handle, kind).await?;
            return Err(CiBootstrapError::ChangeSetFailed {
                stack: stack_name.clone(),
                reason,
            });
        }
    };

    match &provider {
        ProviderPlan::Use(existing) => reporter.line(&format!(
            "OIDC provider {} exists (audiences {}): used as it is",
            existing.arn,
            existing.audiences.join(", ")
        )),
        ProviderPlan::Create => reporter.line(&format!(
            "OIDC provider {}: will be CREATED (url {}, audience {}, thumbprints {}); it is the account's, shared by every env, and not part of any stack",
            identities.provider.arn,
            identities.provider.url,
            identities.provider.audiences.join(", "),
            identities.provider.thumbprints.join(", ")
        )),
    }
    let Some(description) = description else {
        if provider == ProviderPlan::Create {
            if approver.ask("Create the account's GitHub OIDC provider?") != Answer::Yes {
                reporter.line("not approved: nothing was changed");
                return Ok(CiOutcome::NotApproved);
            }
            create_provider(&clients.iam, &identities.provider).await?;
            reporter.line("OIDC provider created");
            return Ok(CiOutcome::Applied);
        }
        reporter.line(&format!(
            "no changes: stack {stack_name} already matches (change set deleted)"
        ));
        return Ok(CiOutcome::UpToDate);
    };

    let old_template = match &existing {
        Some(stack) => {
            let output = call("cloudformation:GetTemplate", {
                cfn.get_template().stack_name(&stack.stack_id).send()
            })
            .await?;
            serde_json::from_str(output.template_body().unwrap_or("{}"))
                .unwrap_or_else(|_| serde_json::json!({"Resources": {}}))
        }
        None => serde_json::json!({"Resources": {}}),
    };
    let context = upstack_diff::DiffContext {
        pseudo: upstack_cfn::intrinsic::PseudoValues::for_region(&identities.region)
            .with_account_id(&identities.account)
            .with_stack_name(stack_name),
        stack_policy: None,
    };
    let changes = description.changes.len();
    match upstack_diff::diff_templates_with(
        &old_template,
        &new_template,
        upstack_cfn_resources::registry::lookup,
        &context,
    ) {
        Ok(mut diff) => {
            diff.merge_change_set(description.changes);
            let sources = upstack_diff::render::Sources {
                old: format!("stack {stack_name} (deployed)"),
                new: format!("change set {}", request.change_set_name),
            };
            reporter.line(upstack_diff::render::text(&diff, &sources, false).trim_end());
        }
        Err(error) => {
            discard(cfn, &handle, kind).await?;
            return Err(CiBootstrapError::ChangeSetFailed {
                stack: stack_name.clone(),
                reason: format!("the template diff failed: {error}"),
            });
        }
    }

    // 3. The answer, then the writes.
    let question = format!(
        "Apply these CI identities of env {} ({changes} resource change(s){})?",
        identities.env,
        if provider == ProviderPlan::Create {
            ", and create the OIDC provider"
        } else {
            ""
        }
    );
    if approver.ask(&question) != Answer::Yes {
        discard(cfn, &handle, kind).await?;
        reporter.line("not approved: nothing was changed (change set deleted)");
        return Ok(CiOutcome::NotApproved);
    }
    if provider == ProviderPlan::Create {
        create_provider(&clients.iam, &identities.provider).await?;
        reporter.line(&format!(
            "OIDC provider {} created",
            identities.provider.arn
        ));
    }

    let stack_ref = handle
        .stack_id
        .clone()
        .unwrap_or_else(|| stack_name.clone());
    let mut watcher = EventWatcher::start(cfn, &stack_ref).await?;
    changeset::execute(cfn, &handle, &format!("upstack-ci-exec-{}", options.run_id)).await?;
    reporter.line(&format!(
        "executing change set {} on {stack_name}",
        request.change_set_name
    ));
    let started = pacing.clock.now();
    let outcome = events::watch(
        cfn,
        &mut watcher,
        changes,
        pacing,
        started,
        interrupt,
        |event, progress| reporter.line(&events::format_event(event, progress)),
    )
    .await?;
    let (state, all_events) = match outcome {
        WatchOutcome::Interrupted { .. } => {
            reporter.line(&format!(
                "stopped watching; CloudFormation carries on. Follow it with `aws cloudformation describe-stack-events --stack-name {stack_name}` and run bootstrap again to print the roles"
            ));
            return Ok(CiOutcome::Interrupted);
        }
        WatchOutcome::Finished { state, events } => (state, events),
    };
    let Some(state) = state else {
        return Err(CiBootstrapError::Failed {
            stack: stack_name.clone(),
            status: "DELETE_COMPLETE".to_owned(),
            cause: String::new(),
            recovery: "the stack was deleted while bootstrap watched it; run bootstrap again"
                .to_owned(),
        });
    };
    if state.class() == StatusClass::Succeeded {
        reporter.line(&format!("{stack_name} {}", state.status));
        return Ok(CiOutcome::Applied);
    }
    let cause = events::root_cause(&all_events)
        .map(|event| {
            format!(
                ": {} ({}) {}: {}",
                event.logical_id,
                event.resource_type,
                event.status,
                event.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .unwrap_or_default();
    let provider_note = if provider == ProviderPlan::Create {
        " The OIDC provider created before it stays: it is the account's, and the next bootstrap uses it."
    } else {
        ""
    };
    let recovery = match state.class() {
        StatusClass::CreateRolledBack => format!(
            "The new stack was rolled back and holds no resources (ROLLBACK_COMPLETE). Fix the cause and run bootstrap again: it offers to delete the empty stack and create it anew.{provider_note}"
        ),
        StatusClass::UpdateRolledBack => format!(
            "The update was rolled back: the CI identities are as they were before.{provider_note}"
        ),
        StatusClass::UpdateRollbackFailed => format!(
            "The rollback failed too: fix the cause, run `aws cloudformation continue-update-rollback --stack-name {stack_name}`, then bootstrap again.{provider_note}"
        ),
        _ => format!("Inspect the stack's events before running bootstrap again.{provider_note}"),
    };
    reporter.line(&format!(
        "ROOT CAUSE{}",
        if cause.is_empty() {
            ": none reported".to_owned()
        } else {
            cause.clone()
        }
    ));
    Err(CiBootstrapError::Failed {
        stack: stack_name.clone(),
        status: state.status.to_string(),
        cause,
        recovery,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected() -> OidcProvider {
        OidcProvider {
            url: "https://token.actions.githubusercontent.com".into(),
            arn: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
                .into(),
            audiences: vec!["sts.amazonaws.com".into()],
            thumbprints: GITHUB_THUMBPRINTS.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    fn existing(audiences: &[&str], thumbprints: &[&str]) -> ExistingProvider {
        ExistingProvider {
            arn: expected().arn,
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            thumbprints: thumbprints.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn a_provider_with_the_sts_audience_and_known_thumbprints_fits() {
        let fits = existing(
            &["sts.amazonaws.com", "other-tool"],
            &["6938FD4D98BAB03FAADB97B34396831E3780AEA1"],
        );
        assert!(provider_differences(&expected(), &fits).is_empty());
        assert!(
            provider_differences(&expected(), &existing(&["sts.amazonaws.com"], &[])).is_empty()
        );
    }

    #[test]
    fn a_misfit_provider_names_each_difference_and_the_fix() {
        let misfit = existing(
            &["api://other"],
            &["0000000000000000000000000000000000000000"],
        );
        let differences = provider_differences(&expected(), &misfit);
        assert_eq!(
            differences,
            vec![
                "its audiences (client IDs) are [api://other]; the roles need sts.amazonaws.com"
                    .to_owned(),
                "its thumbprints include 0000000000000000000000000000000000000000, which is not one of GitHub's (1c58a3a8518e8759bf075b76b750d4f2df264fcd, 6938fd4d98bab03faadb97b34396831e3780aea1)".to_owned(),
            ]
        );
        let fix = provider_fix(&expected(), &misfit);
        assert!(
            fix.contains("add-client-id-to-open-id-connect-provider"),
            "{fix}"
        );
        assert!(
            fix.contains("update-open-id-connect-provider-thumbprint"),
            "{fix}"
        );
    }

    #[test]
    fn the_ci_prefixes_are_the_asset_buckets() {
        assert_eq!(
            upstack_stack::ci_identity::ASSET_PREFIX,
            crate::bootstrap::ASSET_PREFIX
        );
        assert_eq!(
            upstack_stack::ci_identity::TEMPLATE_PREFIX,
            crate::bootstrap::TEMPLATE_PREFIX
        );
    }
}
