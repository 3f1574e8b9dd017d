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

use std::path::PathBuf;

use aws_sdk_iam::Client as IamClient;
use upstack_stack::Manifest;
use upstack_stack::ci_identity::{
    CiIdentities, GITHUB_OIDC_HOST, GITHUB_THUMBPRINTS, OidcProvider,
};

use crate::aws::{CallError, Pacing, call};
use crate::deploy::{
    self, DeployClients, DeployError, DeployOptions, DeployOutcome, DeployRequest, PrepareOutcome,
    RequireApproval,
};
use crate::interact::{Answer, Approver, Reporter};

/// The clients bootstrap --github uses.
#[derive(Debug, Clone)]
pub struct CiClients {
    /// The CI stack is deployed by the one deploy flow, with its clients.
    pub deploy: DeployClients,
    pub iam: IamClient,
}

#[derive(Debug, thiserror::Error)]
pub enum CiBootstrapError {
    #[error(transparent)]
    Call(#[from] CallError),
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
    /// The CI stack's deploy failed or was refused; what it says names the
    /// stack and the state it was left in.
    #[error("the CI stack {stack} was not applied{provider_note}")]
    Deploy {
        stack: String,
        /// Why an OIDC provider created before stays.
        provider_note: &'static str,
        #[source]
        source: Box<DeployError>,
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
    /// Where the CI stack's outputs are written (`synth-out/<env>/ci-outputs.json`).
    pub outputs_path: PathBuf,
}

/// The CI stack as the deploy flow takes a stack: its own manifest (no
/// functions, no alarms, no stack policy) beside its template.
fn ci_manifest(identities: &CiIdentities, template_json: &str) -> Manifest {
    Manifest {
        env: identities.env.clone(),
        stack_name: identities.stack_name.clone(),
        region: identities.region.clone(),
        account_id: Some(identities.account.clone()),
        termination_protection: false,
        production: false,
        template_sha256: upstack_stack::plan::template_sha256(template_json),
        tags: identities.tags.iter().cloned().collect(),
        functions: Vec::new(),
        stateful_resources: Vec::new(),
        stack_policy: None,
        alarms: Default::default(),
        queues: Vec::new(),
        // Created with the caller's own credentials: the execution role is
        // one of the roles this stack makes.
        execution_role_arn: None,
        upload_bucket: None,
    }
}

/// Brings the provider and the env's CI stack to `identities`, after showing
/// what changes and asking `approver`: the provider is read first (a misfit
/// refuses before anything exists), the stack goes through the deploy flow
/// (`prepare`: its state made ready, the change set created and reviewed;
/// then, after the answer and the provider, the change set executed).
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
    let mut interrupt = std::pin::pin!(interrupt);
    let stack_name = &identities.stack_name;
    let provider = plan_provider(&clients.iam, &identities.provider).await?;
    let template_json = identities.template.to_pretty_string();
    let request = DeployRequest {
        manifest: ci_manifest(identities, &template_json),
        template_json,
        account: identities.account.clone(),
        region: identities.region.clone(),
        assets: Vec::new(),
        outputs_path: options.outputs_path.clone(),
    };
    // Approval is asked here, once, for the stack and the provider together.
    let deploy_options = DeployOptions {
        require_approval: RequireApproval::Never,
        allow_replace: false,
        wait_if_busy: false,
        pacing: options.pacing.clone(),
        deploy_id: format!("ci-{}", options.run_id),
        ignore_alarms: false,
        // The CI stack is three roles and an asset policy, created here:
        // nobody else changes them.
        drift: crate::deploy::DriftHandling::Skip,
    };
    let failed = |provider_note: &'static str| {
        move |source: DeployError| CiBootstrapError::Deploy {
            stack: stack_name.clone(),
            provider_note,
            source: Box::new(source),
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
    let prepared = deploy::prepare(
        &clients.deploy,
        &request,
        &deploy_options,
        reporter,
        approver,
        &mut interrupt,
    )
    .await
    .map_err(failed(""))?;
    let plan = match prepared {
        PrepareOutcome::Ready(plan) => plan,
        PrepareOutcome::NoChanges(_) if provider == ProviderPlan::Create => {
            if approver.ask("Create the account's GitHub OIDC provider?") != Answer::Yes {
                reporter.line("not approved: nothing was changed");
                return Ok(CiOutcome::NotApproved);
            }
            create_provider(&clients.iam, &identities.provider).await?;
            reporter.line("OIDC provider created");
            return Ok(CiOutcome::Applied);
        }
        PrepareOutcome::NoChanges(_) => return Ok(CiOutcome::UpToDate),
        PrepareOutcome::NotApproved => return Ok(CiOutcome::NotApproved),
        PrepareOutcome::Interrupted { .. } => return Ok(CiOutcome::Interrupted),
    };

    let question = format!(
        "Apply these CI identities of env {} ({} resource change(s){})?",
        identities.env,
        plan.review.changes,
        if provider == ProviderPlan::Create {
            ", and create the OIDC provider"
        } else {
            ""
        }
    );
    if approver.ask(&question) != Answer::Yes {
        deploy::discard_plan(&clients.deploy, &plan)
            .await
            .map_err(failed(""))?;
        reporter.line("not approved: nothing was changed (change set deleted)");
        return Ok(CiOutcome::NotApproved);
    }
    let provider_note = if provider == ProviderPlan::Create {
        create_provider(&clients.iam, &identities.provider).await?;
        reporter.line(&format!(
            "OIDC provider {} created",
            identities.provider.arn
        ));
        "; the OIDC provider created before it stays (it is the account's, and the next bootstrap uses it)"
    } else {
        ""
    };
    let outcome = deploy::execute_prepared(
        &clients.deploy,
        &plan,
        &request.outputs_path,
        &deploy_options,
        reporter,
        approver,
        &mut interrupt,
    )
    .await
    .map_err(failed(provider_note))?;
    Ok(match outcome {
        DeployOutcome::Deployed { .. } => CiOutcome::Applied,
        DeployOutcome::NoChanges => CiOutcome::UpToDate,
        DeployOutcome::NotApproved => CiOutcome::NotApproved,
        DeployOutcome::Interrupted { .. } => CiOutcome::Interrupted,
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
