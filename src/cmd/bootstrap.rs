//! `upstack bootstrap --env <env> [--github OWNER/REPO]`: create (or
//! converge) the asset bucket of the env's account and region; with
//! `--github`, also the account's GitHub OIDC provider and the env's CI
//! identities (plan, deploy and CloudFormation execution roles), shown as a
//! change set and applied after approval.

use anyhow::Context;
use upstack_deploy::bootstrap;
use upstack_deploy::ci_identity::{self, CiBootstrapOptions, CiClients, CiOutcome};
use upstack_deploy::deploy::{StdoutReporter, TerminalApprover};
use upstack_project::synth;
use upstack_stack::ci_identity::{Repository, ci_identities};

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also create the env's CI identities for this GitHub repository
    /// (OWNER/REPO): the account's GitHub OIDC provider if absent, and a
    /// stack `<stack_name>-ci` with a plan role (the repository's pull
    /// requests), a deploy role (its `<env>` environment) and the role
    /// CloudFormation deploys with. Needs `account_id` in the env file.
    /// Shown as a change set and applied after approval (docs/ci.md).
    #[arg(long, value_name = "OWNER/REPO", value_parser = parse_repository)]
    pub github: Option<Repository>,
    /// Approve the CI identities' change set without asking (scripts).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

fn parse_repository(value: &str) -> Result<Repository, String> {
    Repository::parse(value).map_err(|error| error.to_string())
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let env = ctx.env("bootstrap")?;
    // Everything the CI identities need is decided before any AWS call: a
    // missing account_id or an unusable stack name fails here.
    let (config, identities) = match &args.github {
        Some(repository) => {
            let output = synth::synth_env(ctx.root()?, env)
                .with_context(|| format!("bootstrap {env}: synth"))?;
            let identities = ci_identities(env, &output.config, repository, &output.template)
                .with_context(|| format!("bootstrap {env} --github {repository}"))?;
            (output.config, Some(identities))
        }
        None => (ctx.env_config("bootstrap")?, None),
    };
    let pacing = ctx.pacing().clone();
    let session = ctx.session(env, &config).await?;
    let bucket = bootstrap::asset_bucket(&session.identity.account, &session.region);
    let report = bootstrap::bootstrap(
        &session.s3,
        &bucket,
        &session.region,
        bootstrap::tls_enforceable(session.sdk_config.endpoint_url()),
        &pacing,
    )
    .await
    .with_context(|| format!("bootstrap {env} ({})", session.region))?;
    print!("{}", report.render());

    let Some(identities) = identities else {
        return Ok(Outcome::Success);
    };
    println!(
        "\nCI identities of {env} for GitHub {} (stack {}):",
        identities.repository, identities.stack_name
    );
    let clients = CiClients {
        cloudformation: session.cloudformation.clone(),
        iam: aws_sdk_iam::Client::new(&session.sdk_config),
    };
    let options = CiBootstrapOptions {
        pacing,
        run_id: ctx.epoch_seconds().to_string(),
    };
    let outcome = ci_identity::apply(
        &clients,
        &identities,
        &options,
        &mut StdoutReporter,
        &mut TerminalApprover {
            assume_yes: args.yes,
        },
        upstack_deploy::deploy::ctrl_c(),
    )
    .await
    .with_context(|| format!("bootstrap {env} --github {}", identities.repository))?;
    Ok(match outcome {
        CiOutcome::Applied | CiOutcome::UpToDate => {
            print!("\n{}", ci_identity::summary(&identities));
            Outcome::Success
        }
        CiOutcome::NotApproved => Outcome::NotApproved,
        CiOutcome::Interrupted => Outcome::Interrupted,
    })
}
