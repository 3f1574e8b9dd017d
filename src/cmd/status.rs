//! `upstack status --env <env> [--format text|json]`: the stack's alarms and
//! their states, queue depths, status and last deploy, and each function's
//! errors in the last hour, whether each runs the code of the last deploy.
//! Exit 0 when nothing needs a look, 2 when an alarm is in ALARM, a function
//! runs other code or a change made outside CloudFormation weakens
//! security, so a script can gate on it. See
//! `upstack_deploy::status`.

use anyhow::Context;
use upstack_deploy::status::{self, StatusClients};
use upstack_project::synth;

use crate::cmd::ReportFormat as Format;
use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Do not read the stack's resources for changes made outside
    /// CloudFormation.
    #[arg(long)]
    pub no_drift: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let env = ctx.env("status")?;
    // What to look at comes from the env's plan, synthesized in memory as
    // diff and deploy do (a synth-out/ not yet regenerated after an env
    // file's edit would name the wrong alarms); the toolkit asks AWS.
    let output =
        synth::synth_env(ctx.root()?, env).with_context(|| format!("status {env}: synth"))?;
    let session = ctx.session(env, &output.config).await?;
    let asset_bucket =
        upstack_contract::assets::bucket_name(&session.identity.account, &session.region);
    let mut clients = StatusClients::new(&session.sdk_config);
    if args.no_drift {
        clients.drift = None;
    }
    let report = status::gather(
        &clients,
        &output.manifest,
        &asset_bucket,
        &session.identity.account,
        ctx.now(),
    )
    .await
    .with_context(|| format!("status {env}"))?;
    match args.format {
        Format::Text => print!("{}", status::render_text(&report)),
        Format::Json => print!(
            "{}",
            status::render_json(&report).context("encode the status as JSON")?
        ),
    }
    // Exit 2, the code `diff` uses for "changes found": a finding, not an
    // error. An alarm in ALARM, a function not running the code of the last
    // deploy, or drift that weakens security.
    Ok(if report.needs_attention() {
        Outcome::Unhealthy
    } else {
        Outcome::Success
    })
}
