//! `upstack diff`: what deploying would change, for a reviewer and a machine.
//!
//! Old side: the deployed stack (GetTemplate) by default, or `--against <file>`.
//! New side: the env's template synthesized in memory, or `--template <file>`.
//! `--change-set` also asks CloudFormation (create, read, delete a change set).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde_json::Value as Json;
use upstack_diff::render::{self, Sources};
use upstack_diff::{FailOn, TemplateDiff, diff_templates};
use upstack_toolkit::aws::{AwsSession, ExpectedTarget, Pacing};
use upstack_toolkit::live_diff::{self, Deployed};
use upstack_toolkit::synth;

use crate::exit::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal (coloured when stdout is one and NO_COLOR is unset).
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
    /// The env (a file stem of envs/*.toml): its template is the new side and
    /// its deployed stack the old side.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
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
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 3 when a change of this kind is found; repeatable or comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND")]
    pub fail_on: Vec<FailOnArg>,
    /// AWS profile (default: the standard credential chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Workspace root (default: the current directory or its nearest parent with envs/).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// A template and a label for headers.
struct Side {
    label: String,
    template: Json,
}

pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    let start = match &args.root {
        Some(root) => root.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };

    let (new, env_output) = new_side(&args, &start)?;
    let mut change_set = None;
    let old = match (&args.against, &env_output) {
        (Some(path), _) => Side {
            label: shown(path, &start),
            template: live_diff::read_template_file(path)?,
        },
        (None, Some(output)) => {
            let (old, changes) = deployed_side(&args, &start, output, &new.template).await?;
            change_set = changes;
            old
        }
        (None, None) => anyhow::bail!(
            "nothing to compare against: give --env <name> (diff against its deployed stack) or --against <file>"
        ),
    };

    let mut diff = diff_templates(
        &old.template,
        &new.template,
        upstack_resources::registry::lookup,
    )
    .with_context(|| format!("diff {} -> {}", old.label, new.label))?;
    if let Some(changes) = change_set {
        diff.merge_change_set(changes);
    }
    let sources = Sources {
        old: old.label,
        new: new.label,
    };
    print!("{}", render_diff(&diff, &sources, args.format, use_color()));

    Ok(outcome(&diff, &args.fail_on))
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

/// Colour only on a terminal, and never when NO_COLOR is set to a non-empty
/// value (https://no-color.org).
fn use_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

fn shown(path: &Path, base: &Path) -> String {
    upstack_toolkit::aws::display_path(path, base)
}

/// The proposed template: `--template <file>`, or `--env` synthesized in
/// memory (the same template `synth` would write and `deploy` would send).
fn new_side(args: &Args, start: &Path) -> anyhow::Result<(Side, Option<synth::SynthOutput>)> {
    let env_output = match &args.env {
        Some(env) => {
            let root = synth::find_workspace_root(start)?;
            Some(synth::synth_env(&root, env).with_context(|| format!("synthesize env `{env}`"))?)
        }
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
        (None, None) => anyhow::bail!(
            "no template to diff: give --env <name> (synthesize it) or --template <file>"
        ),
    };
    Ok((side, env_output))
}

type ChangeSetChanges = Option<Vec<upstack_diff::ChangeSetResource>>;

/// The deployed stack's template (and, with --change-set, CloudFormation's
/// change set), after checking the credentials point at the env's account
/// and region.
async fn deployed_side(
    args: &Args,
    start: &Path,
    output: &synth::SynthOutput,
    new_template: &Json,
) -> anyhow::Result<(Side, ChangeSetChanges)> {
    let root = synth::find_workspace_root(start)?;
    let stack = output.config.stack_name.as_str().to_owned();
    let expected = ExpectedTarget {
        env: output.env.clone(),
        region: output.config.region.as_str().to_owned(),
        account: output
            .config
            .account_id
            .as_ref()
            .map(|id| id.as_str().to_owned()),
        config_file: root.join("envs").join(format!("{}.toml", output.env)),
    };
    let pacing = Pacing::default();
    let session = AwsSession::connect(&expected, args.profile.as_deref(), None, &pacing).await?;
    let client = &session.cloudformation;
    let deployed = live_diff::deployed_template(client, &stack, &pacing)
        .await
        .with_context(|| format!("read the deployed template of stack {stack}"))?;
    let exists = deployed.exists();
    let label = match &deployed {
        Deployed::Template(_) => format!("stack {stack} (deployed, {})", session.region),
        Deployed::Nothing => format!("stack {stack} (not deployed, {})", session.region),
    };
    let changes = if args.change_set {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0);
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
    ))
}
