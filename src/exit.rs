//! Exit codes, documented in the README ("Exit codes").

use std::process::ExitCode;

/// How a command ended. Errors are `Err(anyhow::Error)` and exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: done; for `diff` and `deploy`, nothing to change.
    Success,
    /// 1: an error (bad input, AWS failure, failed deploy); the message says what and where.
    Error,
    /// 2: `diff` found changes.
    Changes,
    /// 3: `diff --fail-on` matched, or `synth --check` found synth-out/ stale.
    Blocked,
    /// 4: an approval was required but not given (no terminal and no `--yes`, or answered no).
    NotApproved,
    /// 130: interrupted (Ctrl-C); the stack was left as it was.
    Interrupted,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(match outcome {
            Outcome::Success => 0,
            Outcome::Error => 1,
            Outcome::Changes => 2,
            Outcome::Blocked => 3,
            Outcome::NotApproved => 4,
            Outcome::Interrupted => 130,
        })
    }
}
