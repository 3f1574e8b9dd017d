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
    /// 3: `diff --fail-on` matched, `synth --check` found synth-out/ stale, or
    /// `bundle` built from sources that changed since synth.
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
    /// 130: interrupted (Ctrl-C); a stack was left as it was.
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

/// A failed `deploy`: a refusal of the command line as given (`--hotswap`
/// for a production env) is a [`UsageError`], anything else an error.
pub fn deploy_failed(error: upstack_deploy::deploy::DeployCommandError) -> anyhow::Error {
    match error.usage_message() {
        Some(message) => UsageError(message).into(),
        None => error.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [(&str, Outcome); 9] = [
        ("Success", Outcome::Success),
        ("Error", Outcome::Error),
        ("Changes", Outcome::Changes),
        ("Unhealthy", Outcome::Unhealthy),
        ("Blocked", Outcome::Blocked),
        ("NotApproved", Outcome::NotApproved),
        ("StalePlan", Outcome::StalePlan),
        ("Usage", Outcome::Usage),
        ("Interrupted", Outcome::Interrupted),
    ];

    /// docs/commands.md's exit-code table: code → the row's text.
    fn documented() -> Vec<(u8, String)> {
        let doc = include_str!("../docs/commands.md");
        let table = &doc[doc.find("## Exit codes").unwrap()..];
        table
            .lines()
            .skip_while(|line| !line.starts_with("| code"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let mut cells = line.split('|').skip(1);
                let code = cells.next().unwrap().trim().parse().unwrap();
                (code, cells.next().unwrap().to_owned())
            })
            .collect()
    }

    /// The table lists each code an `Outcome` has, no other, and each row
    /// names every command whose module returns that outcome (an error,
    /// exit 1, and usage, 64, belong to every command).
    #[test]
    fn the_documented_exit_codes_are_the_ones_each_command_returns() {
        let rows = documented();
        let mut codes: Vec<u8> = ALL.iter().map(|(_, outcome)| outcome.code()).collect();
        codes.dedup();
        assert_eq!(
            rows.iter().map(|(code, _)| *code).collect::<Vec<_>>(),
            codes
        );
        let help = <crate::Cli as clap::CommandFactory>::command()
            .get_after_help()
            .map(ToString::to_string)
            .unwrap_or_default();
        for code in &codes {
            assert!(
                help.contains(&format!("{code} ")),
                "--help's exit codes lack {code}: {help}"
            );
        }
        let commands = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/cmd")).unwrap();
        for entry in commands {
            let path = entry.unwrap().path();
            let name = path
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .replace('_', "-");
            if name == "mod" || path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for (variant, outcome) in ALL {
                if matches!(outcome, Outcome::Success | Outcome::Error | Outcome::Usage) {
                    continue;
                }
                if !source.contains(&format!(" Outcome::{variant}"))
                    && !source.contains(&format!("(Outcome::{variant}"))
                {
                    continue;
                }
                let row = &rows
                    .iter()
                    .find(|(code, _)| *code == outcome.code())
                    .unwrap()
                    .1;
                assert!(
                    row.contains(&format!("`{name}")),
                    "src/cmd/{name}.rs returns Outcome::{variant} (exit {}), but docs/commands.md's row for it does not name `{name}`: {row}",
                    outcome.code()
                );
            }
            // Every `Outcome::X` in a command is one this test knows.
            for (index, _) in source.match_indices("Outcome::") {
                // `InvocationOutcome::...` and the like are other enums.
                if source[..index]
                    .chars()
                    .next_back()
                    .is_some_and(|before| before.is_alphanumeric() || before == '_')
                {
                    continue;
                }
                let variant: String = source[index + "Outcome::".len()..]
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                assert!(
                    ALL.iter().any(|(known, _)| *known == variant),
                    "src/cmd/{name}.rs: Outcome::{variant} is not in this test's list"
                );
            }
        }
    }
}
