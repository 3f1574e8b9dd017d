//! `upstack diff`: what deploying would change, for a reviewer and a machine.
//!
//! Old side: the deployed stack (GetTemplate) by default, or `--against <file>`.
//! New side: the env's template synthesized in memory, or `--template <file>`.
//! `--change-set` also asks CloudFormation (create, read, delete a change set).
//! `--plan <file>` renders a plan made by `deploy --prepare` (no AWS calls).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value as Json;
use upstack_cfn::intrinsic::PseudoValues;
use upstack_deploy::live_diff;
use upstack_deploy::stack::{self, Deployed};
use upstack_diff::render::{self, Sources};
use upstack_diff::{DiffContext, FailOn, TemplateDiff, diff_templates_with};
use upstack_project::synth;

use crate::context::Ctx;
use crate::exit::{Outcome, UsageError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal (coloured per --color).
    Text,
    /// For a pull-request comment.
    Markdown,
    /// Versioned JSON (schema in diff/SCHEMA.md).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOnArg {
    /// A security change that grants more.
    Broadening,
    /// Data loss or lost retention (stateful resource removed or replaced, Retain removed).
    Destructive,
    /// Any change.
    Any,
}

impl From<FailOnArg> for FailOn {
    fn from(value: FailOnArg) -> Self {
        match value {
            FailOnArg::Broadening => FailOn::Broadening,
            FailOnArg::Destructive => FailOn::Destructive,
            FailOnArg::Any => FailOn::Any,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Compare against this template file (e.g. the base branch's
    /// synth-out/<env>/template.json) instead of the deployed stack; no AWS calls.
    #[arg(long, value_name = "FILE", conflicts_with = "change_set")]
    pub against: Option<PathBuf>,
    /// Use this template file as the new side instead of synthesizing --env.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Also create a change set (never executed, deleted afterwards) and show
    /// CloudFormation's own replacement verdicts.
    #[arg(long)]
    pub change_set: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Render the change reviewed in this plan (written by `deploy --prepare`)
    /// instead of computing one; no AWS calls.
    #[arg(long, value_name = "PLAN.json", conflicts_with_all = ["against", "template", "change_set"])]
    pub plan: Option<PathBuf>,
    /// Exit 3 when a change of this kind is found; repeatable or comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND")]
    pub fail_on: Vec<FailOnArg>,
}

/// A template and a label for headers.
struct Side {
    label: String,
    template: Json,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    if let Some(path) = &args.plan {
        let plan = upstack_deploy::plan::ReviewedPlan::load(path)?;
        let (diff, sources) = plan.reviewed_diff();
        print!("{}", render_diff(&diff, &sources, args.format, ctx.color()));
        return Ok(outcome(&diff, &args.fail_on));
    }
    let start = std::env::current_dir().context("cannot read the current directory")?;
    let (new, env_output) = new_side(&args, ctx, &start)?;
    let mut change_set = None;
    let mut live_account = None;
    let old = match (&args.against, &env_output) {
        (Some(path), _) => Side {
            label: shown(path, &start),
            template: live_diff::read_template_file(path)?,
        },
        (None, Some(output)) => {
            let (old, changes, account) = deployed_side(&args, ctx, output, &new.template).await?;
            change_set = changes;
            live_account = Some(account);
            old
        }
        (None, None) => {
            return Err(UsageError(
                "nothing to compare against: give --env <name> (diff against its deployed stack) or --against <file>".to_owned(),
            )
            .into());
        }
    };

    let context = diff_context(
        env_output.as_ref(),
        live_account,
        &new.template,
        args.template.is_some(),
    );
    let mut diff = diff_templates_with(
        &old.template,
        &new.template,
        upstack_cfn_resources::registry::lookup,
        &context,
    )
    .with_context(|| format!("diff {} -> {}", old.label, new.label))?;
    if let Some(changes) = change_set {
        diff.merge_change_set(changes);
    }
    let sources = Sources {
        old: old.label,
        new: new.label,
    };
    print!("{}", render_diff(&diff, &sources, args.format, ctx.color()));

    Ok(outcome(&diff, &args.fail_on))
}

/// What is known of the target, so replacement is decided wherever it can
/// be: region and stack from the env's manifest, the account from it or
/// (diffing the live stack) from STS, and production's stack policy as
/// deploy will set it.
fn diff_context(
    env: Option<&synth::SynthOutput>,
    live_account: Option<String>,
    new_template: &Json,
    from_template_file: bool,
) -> DiffContext {
    let Some(output) = env else {
        return DiffContext::default();
    };
    let manifest = &output.manifest;
    let mut pseudo =
        PseudoValues::for_region(&manifest.region).with_stack_name(&manifest.stack_name);
    if let Some(account) = live_account.or_else(|| manifest.account_id.clone()) {
        pseudo = pseudo.with_account_id(account);
    }
    // The synthesized template's policy is the manifest's; a `--template`
    // file's is computed the same way, as deploy would set it for that file.
    let stack_policy = if !manifest.production {
        None
    } else if from_template_file {
        upstack_cfn::stack_policy::protective(new_template, upstack_cfn_resources::registry::lookup)
    } else {
        manifest.stack_policy.clone()
    };
    DiffContext {
        pseudo,
        stack_policy,
    }
}

/// Exit status: 3 when a `--fail-on` kind matched (reasons on stderr), else
/// 2 for any change, 0 for none.
fn outcome(diff: &TemplateDiff, fail_on: &[FailOnArg]) -> Outcome {
    let mut blocked = false;
    for kind in fail_on {
        let violations = FailOn::from(*kind).violations(diff);
        if !violations.is_empty() {
            blocked = true;
            let name = match kind {
                FailOnArg::Broadening => "broadening",
                FailOnArg::Destructive => "destructive",
                FailOnArg::Any => "any",
            };
            eprintln!("blocked by --fail-on {name}:");
            for violation in violations {
                eprintln!("  {violation}");
            }
        }
    }
    if blocked {
        Outcome::Blocked
    } else if diff.is_empty() {
        Outcome::Success
    } else {
        Outcome::Changes
    }
}

pub fn render_diff(diff: &TemplateDiff, sources: &Sources, format: Format, color: bool) -> String {
    match format {
        Format::Text => render::text(diff, sources, color),
        Format::Markdown => render::markdown(diff, sources),
        Format::Json => render::json(diff, sources),
    }
}

fn shown(path: &Path, base: &Path) -> String {
    upstack_deploy::aws::display_path(path, base)
}

/// The proposed template: `--template <file>`, or `--env` synthesized in
/// memory (the same template `synth` would write and `deploy` would send).
fn new_side(
    args: &Args,
    ctx: &Ctx,
    start: &Path,
) -> anyhow::Result<(Side, Option<synth::SynthOutput>)> {
    let env_output = match &ctx.args.env {
        Some(env) => Some(
            synth::synth_env(ctx.root()?, env)
                .with_context(|| format!("synthesize env `{env}`"))?,
        ),
        None => None,
    };
    let side = match (&args.template, &env_output) {
        (Some(path), _) => Side {
            label: shown(path, start),
            template: live_diff::read_template_file(path)?,
        },
        (None, Some(output)) => Side {
            label: format!("synth --env {}", output.env),
            template: serde_json::from_str(&output.template_json).with_context(|| {
                format!(
                    "the synthesized template of env `{}` is not JSON",
                    output.env
                )
            })?,
        },
        (None, None) => {
            return Err(UsageError(
                "no template to diff: give --env <name> (synthesize it) or --template <file>"
                    .to_owned(),
            )
            .into());
        }
    };
    Ok((side, env_output))
}

type ChangeSetChanges = Option<Vec<upstack_diff::ChangeSetResource>>;

/// The old side, the change set (if asked for) and the account STS named.
type DeployedSide = (Side, ChangeSetChanges, String);

/// The deployed stack's template (and, with --change-set, CloudFormation's
/// change set), after checking the credentials point at the env's account
/// and region.
async fn deployed_side(
    args: &Args,
    ctx: &Ctx,
    output: &synth::SynthOutput,
    new_template: &Json,
) -> anyhow::Result<DeployedSide> {
    let stack = output.manifest.stack_name.clone();
    let pacing = ctx.pacing().clone();
    let session = ctx.session(&output.env, &output.config).await?;
    let client = &session.cloudformation;
    let (_, deployed) = stack::deployed(client, &stack)
        .await
        .with_context(|| format!("read the deployed template of stack {stack}"))?;
    let exists = deployed.exists();
    let label = match &deployed {
        Deployed::Template(_) => format!("stack {stack} (deployed, {})", session.region),
        Deployed::Nothing => format!("stack {stack} (not deployed, {})", session.region),
    };
    let changes = if args.change_set {
        let seconds = ctx.epoch_seconds();
        let name = format!("upstack-diff-{seconds}");
        Some(
            live_diff::change_set_changes(client, &stack, new_template, exists, &name, &pacing)
                .await
                .with_context(|| format!("change set for stack {stack}"))?,
        )
    } else {
        None
    };
    Ok((
        Side {
            label,
            template: deployed.into_template(),
        },
        changes,
        session.identity.account.clone(),
    ))
}
