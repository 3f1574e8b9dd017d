//! `upstack destroy --env <env>`: delete the env's stack after approval.

use anyhow::Context;
use upstack_deploy::destroy::{self, DestroyOptions, DestroyOutcome};
use upstack_deploy::interact::{self, StdoutReporter, TerminalApprover};

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Approve without asking (scripts). Without a terminal and without it, nothing is deleted (exit 4).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Turn the stack's termination protection off first (prod has it on).
    #[arg(long)]
    pub disable_termination_protection: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let env = ctx.env("destroy")?;
    let config = ctx.env_config("destroy")?;
    let pacing = ctx.pacing().clone();
    let session = ctx.session(env, &config).await?;
    let token = ctx.epoch_seconds();
    let options = DestroyOptions {
        disable_termination_protection: args.disable_termination_protection,
        pacing,
        client_token: format!("upstack-destroy-{token}"),
    };
    let outcome = destroy::destroy(
        &session.cloudformation,
        env,
        config.stack_name.as_str(),
        &options,
        &mut StdoutReporter,
        &mut TerminalApprover {
            assume_yes: args.yes,
        },
        interact::ctrl_c(),
    )
    .await
    .with_context(|| format!("destroy {env}"))?;
    Ok(match outcome {
        DestroyOutcome::NothingToDestroy | DestroyOutcome::Destroyed { .. } => Outcome::Success,
        DestroyOutcome::NotApproved => Outcome::NotApproved,
        DestroyOutcome::Interrupted { .. } => Outcome::Interrupted,
    })
}
