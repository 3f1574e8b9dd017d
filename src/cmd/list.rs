//! `upstack list [--env E] [--format text|json]`: every env (or one), its
//! stack, region and functions as synth makes them, and whether the stack is
//! deployed (DescribeStacks, with its status and last deploy). Without
//! credentials, or with AWS out of reach, what synth knows is still listed
//! and the deployment is "unknown" with the reason. See
//! `upstack_deploy::list`.

use anyhow::Context;
use upstack_deploy::aws::{AwsSession, ExpectedTarget};
use upstack_deploy::list::{self, Deployment, EnvListing};
use upstack_project::synth;

use crate::cmd::ReportFormat as Format;
use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let root = ctx.root()?;
    let envs = match &ctx.args.env {
        Some(env) => vec![env.clone()],
        None => synth::list_envs(root)?,
    };
    let mut listings = Vec::with_capacity(envs.len());
    for env in &envs {
        // Synthesized in memory, as status does: an env file edited since
        // the last synth is listed as it is now.
        let output = synth::synth_env(root, env).with_context(|| format!("list {env}: synth"))?;
        let deployment =
            match AwsSession::connect(&ExpectedTarget::of(env, &output.config), &ctx.profile())
                .await
            {
                Ok(session) => {
                    list::deployment(&session.sdk_config, &output.manifest.stack_name).await
                }
                Err(error) => Deployment::Unknown {
                    reason: error.to_string(),
                },
            };
        listings.push(EnvListing::of(&output.manifest, deployment));
    }
    match args.format {
        Format::Text => print!("{}", list::render_text(&listings)),
        Format::Json => print!(
            "{}",
            list::render_json(&listings).context("encode the list as JSON")?
        ),
    }
    Ok(Outcome::Success)
}
