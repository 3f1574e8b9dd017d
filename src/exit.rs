//! Exit codes, documented in docs/commands.md ("Exit codes") and docs/cli.md.

use std::process::ExitCode;

/// How a command ended. Errors are `Err(anyhow::Error)` and exit 1, except a
/// [`UsageError`] in the chain, which exits 64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: done; for `diff` and `deploy`, nothing to change.
    Success,
    /// 1: an error (bad input, AWS failure, failed deploy), or a pre-flight
    /// refusal (alarms in ALARM, an account quota); the message says what and where.
    Error,
    /// 2: `diff` found changes.
    Changes,
    /// 2: `status` found an alarm in ALARM, or a function running other code
    /// than its last deploy (the same code as `diff`'s "something to look
    /// at", so one `case $?` serves both).
    Unhealthy,
    /// 3: `diff --fail-on` matched, or `synth --check` found synth-out/ stale.
    Blocked,
    /// 4: an approval was required but not given (no terminal and no `--yes`, or answered no).
    NotApproved,
    /// 5: `deploy --execute`: the plan is stale (the stack or the change set
    /// changed since it was made); nothing was touched.
    StalePlan,
    /// 64 (sysexits EX_USAGE): the command line is wrong (unknown flag, missing
    /// `--env`, ...). No result uses this code, so a CI gate never reads a
    /// typo as "changes found".
    Usage,
    /// 130: interrupted (Ctrl-C); the stack was left as it was.
    Interrupted,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Error => 1,
            Outcome::Changes | Outcome::Unhealthy => 2,
            Outcome::Blocked => 3,
            Outcome::NotApproved => 4,
            Outcome::StalePlan => 5,
            Outcome::Usage => 64,
            Outcome::Interrupted => 130,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome.code())
    }
}

/// A command line that parsed but cannot be run as given (e.g. `deploy`
/// without `--env`). Raised as an error; `main` turns it into exit 64.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
