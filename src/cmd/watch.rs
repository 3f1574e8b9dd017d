//! `upstack watch --env <env>`: on every saved change of a handler's
//! sources, build it and set its code with a hotswap, then stream its logs,
//! until Ctrl-C (exit 130). Refused for a production env (exit 64). The loop
//! is `upstack_deploy::watch`.

use std::sync::Arc;

use upstack_deploy::interact::{self, StdoutReporter};
use upstack_deploy::watch::{self, CargoBuilder, WatchCommand, WatchTiming};

use crate::context::Ctx;
use crate::exit::{Outcome, UsageError};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let command = WatchCommand {
        root: ctx.root()?.to_path_buf(),
        env: ctx.env("watch")?.to_owned(),
        profile: ctx.profile(),
        pacing: ctx.pacing().clone(),
        timing: WatchTiming::default(),
    };
    watch::run(
        &command,
        Arc::new(CargoBuilder),
        &mut StdoutReporter,
        interact::ctrl_c(),
    )
    .await
    .map_err(|error| match error.usage_message() {
        Some(message) => anyhow::Error::from(UsageError(message)),
        None => error.into(),
    })?;
    // The loop ends only at Ctrl-C.
    Ok(Outcome::Interrupted)
}
