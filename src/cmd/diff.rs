//! `upstack diff`: what deploying would change, for a reviewer and a
//! machine. The comparison is `upstack_deploy::diff`; this module turns
//! arguments into its command and the diff into output and an exit code.

use std::path::PathBuf;

use anyhow::Context;
use upstack_deploy::diff::{self, DiffCommand, DiffCommandError};
use upstack_deploy::interact::StdoutReporter;
use upstack_diff::FailOn;

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
    /// A resource changed outside CloudFormation, deleted, or unreadable.
    Drift,
}

impl From<FailOnArg> for FailOn {
    fn from(value: FailOnArg) -> Self {
        match value {
            FailOnArg::Broadening => FailOn::Broadening,
            FailOnArg::Destructive => FailOn::Destructive,
            FailOnArg::Any => FailOn::Any,
            FailOnArg::Drift => FailOn::Drift,
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
    /// Do not read the deployed stack's resources for changes made outside
    /// CloudFormation (drift); only the templates are compared.
    #[arg(long)]
    pub no_drift: bool,
    /// Exit 3 when a change of this kind is found; repeatable or comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND")]
    pub fail_on: Vec<FailOnArg>,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let command = DiffCommand {
        root: match (&args.plan, &ctx.args.env) {
            // A plan or two files need no workspace.
            (Some(_), _) | (None, None) => ctx.root().map(Into::into).unwrap_or_default(),
            (None, Some(_)) => ctx.root()?.to_path_buf(),
        },
        shown_from: std::env::current_dir().context("cannot read the current directory")?,
        env: ctx.args.env.clone(),
        profile: ctx.profile(),
        against: args.against,
        template: args.template,
        change_set: args.change_set,
        plan: args.plan,
        drift: !args.no_drift,
        id: ctx.epoch_seconds().to_string(),
        pacing: ctx.pacing().clone(),
    };
    let outcome = match diff::run(&command, &mut StdoutReporter).await {
        Ok(outcome) => outcome,
        Err(DiffCommandError::Usage(message)) => return Err(UsageError(message.to_owned()).into()),
        Err(error) => return Err(error.into()),
    };
    print!(
        "{}",
        outcome.render(match args.format {
            Format::Text => diff::Format::Text { color: ctx.color() },
            Format::Markdown => diff::Format::Markdown,
            Format::Json => diff::Format::Json,
        })
    );
    // Exit 3 when a `--fail-on` kind matched (reasons on stderr), else 2 for
    // any change, 0 for none.
    let fail_on: Vec<FailOn> = args.fail_on.iter().map(|kind| (*kind).into()).collect();
    let blocked = outcome.violations(&fail_on);
    eprint!("{}", diff::render_blocked(&blocked));
    Ok(if !blocked.is_empty() {
        Outcome::Blocked
    } else if outcome.diff.is_empty() {
        Outcome::Success
    } else {
        Outcome::Changes
    })
}
