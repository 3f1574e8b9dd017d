//! `upstack bootstrap --env <env>`: create (or converge) the asset bucket of
//! the env's account and region.

use anyhow::Context;
use upstack_deploy::bootstrap;

use crate::context::Ctx;
use crate::exit::Outcome;

/// Takes only the global options (`--env`, `--profile`, `--root`).
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let env = ctx.env("bootstrap")?;
    let config = ctx.env_config("bootstrap")?;
    let session = ctx.session(env, &config).await?;
    let bucket = bootstrap::asset_bucket(&session.identity.account, &session.region);
    let report = bootstrap::bootstrap(
        &session.s3,
        &bucket,
        &session.region,
        bootstrap::tls_enforceable(session.sdk_config.endpoint_url()),
    )
    .await
    .with_context(|| format!("bootstrap {env} ({})", session.region))?;
    print!("{}", report.render());
    Ok(Outcome::Success)
}
