//! `upstack deploy --env <env>`: synth, bundle, upload, change set, review,
//! execute, follow. `--prepare PLAN.json` stops after the change set is made
//! and writes the reviewed plan; `--execute PLAN.json` runs exactly that
//! change set, or refuses (exit 5) when anything moved since. The flow is
//! `upstack_deploy::deploy::run`; this module turns arguments into its
//! command and its ending into an exit code.

use std::path::PathBuf;

use upstack_deploy::deploy::{
    self, DeployCommand, DeployOptions, DriftHandling, Finished, Mode, RequireApproval,
};
use upstack_deploy::interact::{self, StdoutReporter, TerminalApprover};

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Approval {
    /// Never ask.
    Never,
    /// Ask before any change.
    AnyChange,
    /// Ask when IAM permissions grow (prod also asks for destructive changes).
    Broadening,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// When to stop for approval before executing the change set.
    #[arg(long, value_enum, default_value = "broadening")]
    pub require_approval: Approval,
    /// Approve without asking (scripts, CI).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Lift prod's stack policy (no replacement/deletion of stateful resources) for this deploy only.
    #[arg(long)]
    pub allow_replace: bool,
    /// Wait for an in-progress stack operation instead of refusing.
    #[arg(long)]
    pub wait: bool,
    /// Bundle, upload, create the change set, write the reviewed plan here and stop (a pull request).
    #[arg(long, value_name = "PLAN.json", conflicts_with = "execute")]
    pub prepare: Option<PathBuf>,
    /// Execute exactly the change set of this plan (made by --prepare); exit 5,
    /// touching nothing, if the change set or the stack changed since.
    #[arg(long, value_name = "PLAN.json", conflicts_with_all = ["prepare", "wait"])]
    pub execute: Option<PathBuf>,
    /// Deploy although alarms of the stack are in ALARM (by default: refused, exit 1); they
    /// are then left out of the rollback triggers. Also for --execute.
    #[arg(long)]
    pub ignore_alarms: bool,
    /// Set what changed outside CloudFormation back to the template (a drift-aware change
    /// set); without it, the review lists the drift this deploy leaves as it is.
    #[arg(long, conflicts_with_all = ["execute", "no_drift"])]
    pub revert_drift: bool,
    /// Do not read the stack's resources for drift before the review.
    #[arg(long, conflicts_with = "execute")]
    pub no_drift: bool,
    /// Deploy the zips `upstack bundle` built (checked against their records and the
    /// sources) instead of building them; CI builds before it assumes an AWS role.
    #[arg(long, conflicts_with = "execute")]
    pub no_build: bool,
    /// Also write the stack's outputs as JSON (`{"stack": ..., "outputs": {...}}`) to this
    /// file, atomically, after a deploy with nothing to change too.
    #[arg(long, value_name = "FILE", conflicts_with = "prepare")]
    pub outputs_file: Option<PathBuf>,
    /// When only function code changed, set it with Lambda directly (no stack update; never production).
    #[arg(long, conflicts_with_all = ["prepare", "execute"])]
    pub hotswap: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let command = DeployCommand {
        no_build: args.no_build,
        outputs_file: args.outputs_file,
        hotswap: args.hotswap,
        root: ctx.root()?.to_path_buf(),
        env: ctx.env("deploy")?.to_owned(),
        profile: ctx.profile(),
        mode: match (args.prepare, args.execute) {
            (Some(path), _) => Mode::Prepare(path),
            (None, Some(path)) => Mode::Execute(path),
            (None, None) => Mode::Deploy,
        },
        options: DeployOptions {
            require_approval: match args.require_approval {
                Approval::Never => RequireApproval::Never,
                Approval::AnyChange => RequireApproval::AnyChange,
                Approval::Broadening => RequireApproval::Broadening,
            },
            allow_replace: args.allow_replace,
            wait_if_busy: args.wait,
            pacing: ctx.pacing().clone(),
            deploy_id: ctx.epoch_seconds().to_string(),
            ignore_alarms: args.ignore_alarms,
            drift: match (args.no_drift, args.revert_drift) {
                (true, _) => DriftHandling::Skip,
                (false, true) => DriftHandling::Revert,
                (false, false) => DriftHandling::Report,
            },
        },
    };
    let finished = deploy::run(
        &command,
        &mut StdoutReporter,
        &mut TerminalApprover {
            assume_yes: args.yes,
        },
        interact::ctrl_c(),
    )
    .await
    .map_err(crate::exit::deploy_failed)?;
    Ok(match finished {
        Finished::Done => Outcome::Success,
        Finished::NotApproved => Outcome::NotApproved,
        Finished::Interrupted => Outcome::Interrupted,
        Finished::StalePlan => Outcome::StalePlan,
    })
}
