//! `upstack bootstrap --env <env> [--github OWNER/REPO]` as a whole: the
//! asset bucket of the env's account and region; with a repository, also
//! the account's GitHub OIDC provider and the env's CI identities, shown as
//! a change set and applied after approval ([`super::ci`]). The CLI turns
//! arguments into a [`BootstrapCommand`] and the [`BootstrapFinished`] into
//! an exit code.

use std::path::PathBuf;

use upstack_project::synth::{self, SynthError};
use upstack_stack::ci_identity::{CiIdentities, CiIdentityError, Repository, ci_identities};

use super::ci::{self, CiBootstrapError, CiBootstrapOptions, CiClients, CiOutcome};
use super::{BootstrapError, asset_bucket, bootstrap, tls_enforceable};
use crate::aws::{AwsSession, ExpectedTarget, Pacing, ProfileChoice, TargetError};
use crate::interact::{Approver, Reporter};

/// One `upstack bootstrap` invocation.
#[derive(Debug, Clone)]
pub struct BootstrapCommand {
    pub root: PathBuf,
    pub env: String,
    pub profile: ProfileChoice,
    /// Also the CI identities for this repository.
    pub github: Option<Repository>,
    pub pacing: Pacing,
    /// Names the CI stack's change set.
    pub run_id: String,
}

/// How the command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootstrapFinished {
    Done,
    NotApproved,
    Interrupted,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapCommandError {
    #[error("bootstrap {env}: synth")]
    Synth {
        env: String,
        #[source]
        source: SynthError,
    },
    #[error(transparent)]
    EnvConfig(SynthError),
    #[error("bootstrap {env} --github {repository}")]
    Identities {
        env: String,
        repository: Repository,
        #[source]
        source: CiIdentityError,
    },
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("bootstrap {env} ({region})")]
    Bucket {
        env: String,
        region: String,
        #[source]
        source: BootstrapError,
    },
    #[error("bootstrap {env} --github {repository}")]
    Ci {
        env: String,
        repository: Repository,
        #[source]
        source: CiBootstrapError,
    },
}

/// Runs the command; `interrupt` resolving (Ctrl-C) stops waiting without
/// touching the CI stack.
pub async fn run<I>(
    command: &BootstrapCommand,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<BootstrapFinished, BootstrapCommandError>
where
    I: std::future::Future<Output = ()>,
{
    let env = command.env.as_str();
    // Everything the CI identities need is decided before any AWS call: a
    // missing account_id or an unusable stack name fails here.
    let (config, identities) = match &command.github {
        Some(repository) => {
            let output = synth::synth_env(&command.root, env).map_err(|source| {
                BootstrapCommandError::Synth {
                    env: env.to_owned(),
                    source,
                }
            })?;
            let identities = ci_identities(env, &output.config, repository, &output.template)
                .map_err(|source| BootstrapCommandError::Identities {
                    env: env.to_owned(),
                    repository: repository.clone(),
                    source,
                })?;
            (output.config, Some(identities))
        }
        None => (
            synth::load_env(&command.root, env).map_err(BootstrapCommandError::EnvConfig)?,
            None,
        ),
    };
    let session = AwsSession::connect(&ExpectedTarget::of(env, &config), &command.profile).await?;
    if let Some(note) = &session.region_note {
        reporter.warning(note);
    }
    let bucket = asset_bucket(&session.identity.account, &session.region);
    let report = bootstrap(
        &session.s3,
        &bucket,
        &session.region,
        tls_enforceable(session.sdk_config.endpoint_url()),
    )
    .await
    .map_err(|source| BootstrapCommandError::Bucket {
        env: env.to_owned(),
        region: session.region.clone(),
        source,
    })?;
    reporter.line(report.render().trim_end());

    let Some(identities) = identities else {
        return Ok(BootstrapFinished::Done);
    };
    apply_identities(
        command,
        &session,
        &identities,
        reporter,
        approver,
        interrupt,
    )
    .await
}

async fn apply_identities<I>(
    command: &BootstrapCommand,
    session: &AwsSession,
    identities: &CiIdentities,
    reporter: &mut dyn Reporter,
    approver: &mut dyn Approver,
    interrupt: I,
) -> Result<BootstrapFinished, BootstrapCommandError>
where
    I: std::future::Future<Output = ()>,
{
    reporter.line(&format!(
        "\nCI identities of {} for GitHub {} (stack {}):",
        command.env, identities.repository, identities.stack_name
    ));
    let clients = CiClients {
        deploy: crate::deploy::DeployClients::new(&session.sdk_config),
        iam: aws_sdk_iam::Client::new(&session.sdk_config),
    };
    let options = CiBootstrapOptions {
        pacing: command.pacing.clone(),
        run_id: command.run_id.clone(),
        outputs_path: command.root.join(upstack_project::manifest::output_file(
            &command.env,
            "ci-outputs.json",
        )),
    };
    let outcome = ci::apply(
        &clients, identities, &options, reporter, approver, interrupt,
    )
    .await
    .map_err(|source| BootstrapCommandError::Ci {
        env: command.env.clone(),
        repository: identities.repository.clone(),
        source,
    })?;
    Ok(match outcome {
        CiOutcome::Applied | CiOutcome::UpToDate => {
            reporter.line(&format!("\n{}", ci::summary(identities).trim_end()));
            BootstrapFinished::Done
        }
        CiOutcome::NotApproved => BootstrapFinished::NotApproved,
        CiOutcome::Interrupted => BootstrapFinished::Interrupted,
    })
}
