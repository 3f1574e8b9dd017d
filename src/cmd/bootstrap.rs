//! `upstack bootstrap --env <env> [--github OWNER/REPO]`: create (or
//! converge) the asset bucket of the env's account and region; with
//! `--github`, also the account's GitHub OIDC provider and the env's CI
//! identities (plan, deploy and CloudFormation execution roles), shown as a
//! change set and applied after approval. The work is
//! `upstack_deploy::bootstrap::command::run`.

use upstack_deploy::bootstrap::command::{self, BootstrapCommand, BootstrapFinished};
use upstack_deploy::interact::{self, StdoutReporter, TerminalApprover};
use upstack_stack::ci_identity::Repository;

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
    let command = BootstrapCommand {
        root: ctx.root()?.to_path_buf(),
        env: ctx.env("bootstrap")?.to_owned(),
        profile: ctx.profile(),
        github: args.github,
        pacing: ctx.pacing().clone(),
        run_id: ctx.epoch_seconds().to_string(),
    };
    let mut approver = TerminalApprover {
        assume_yes: args.yes,
    };
    let finished = command::run(
        &command,
        &mut StdoutReporter,
        &mut approver,
        interact::ctrl_c(),
    )
    .await?;
    Ok(match finished {
        BootstrapFinished::Done => Outcome::Success,
        BootstrapFinished::NotApproved => Outcome::NotApproved,
        BootstrapFinished::Interrupted => Outcome::Interrupted,
    })
}
