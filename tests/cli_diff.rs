//! `upstack diff` from the outside: exit codes (0 no change, 2 changes,
//! 3 `--fail-on` matched, 1 error), error messages that name the file, and
//! plain output when stdout is not a terminal. Offline (`--against`); the
//! AWS modes are tested in toolkit/tests/live_diff*.rs.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(case: &str, side: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("diff/tests/fixtures")
        .join(case)
        .join(format!("{side}.json"))
}

fn diff(case: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_upstack"))
        .arg("diff")
        .arg("--against")
        .arg(fixture(case, "old"))
        .arg("--template")
        .arg(fixture(case, "new"))
        .args(extra)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn no_changes_exits_0() {
    let output = diff("no_change", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("No changes."));
}

#[test]
fn changes_exit_2_and_a_pipe_gets_no_colour() {
    let output = diff("replacement", &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("Records AWS::DynamoDB::Table (replace by Properties.TableName)"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escape in piped output: {text:?}"
    );
}

#[test]
fn fail_on_turns_matching_changes_into_exit_3_with_reasons() {
    let output = diff("iam_widened", &["--fail-on", "broadening"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("blocked by --fail-on broadening"),
        "{}",
        stderr(&output)
    );
    // Still printed, so CI logs show what was blocked.
    assert!(stdout(&output).contains("Security changes"));

    // Narrowing only: --fail-on broadening does not match, plain "changes".
    assert_eq!(
        diff("iam_narrowed", &["--fail-on", "broadening,destructive"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        diff("stateful_removed", &["--fail-on", "destructive"])
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        diff("no_change", &["--fail-on", "any"]).status.code(),
        Some(0)
    );
}

#[test]
fn json_output_is_the_versioned_document() {
    let output = diff("key_policy", &["--format", "json"]);
    assert_eq!(output.status.code(), Some(2));
    let report: upstack_diff::JsonReport = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report.schema_version, upstack_diff::SCHEMA_VERSION);
    assert_eq!(report.summary.broadening, 1);
}

#[test]
fn markdown_output_starts_with_the_summary() {
    let output = diff("stateful_removed", &["--format", "markdown"]);
    let text = stdout(&output);
    assert!(
        text.contains("**0 to add, 5 to change (1 may be replaced), 3 to destroy**"),
        "{text}"
    );
}

#[test]
fn a_bad_against_file_is_exit_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("base-template.json");
    std::fs::write(&broken, "Resources: {}").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_upstack"))
        .args(["diff", "--template"])
        .arg(fixture("no_change", "new"))
        .arg("--against")
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("base-template.json") && message.contains("not valid JSON"),
        "{message}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_upstack"))
        .args(["diff", "--template"])
        .arg(fixture("no_change", "new"))
        .output()
        .unwrap();
    // Nothing to compare against is a usage error: 64, never a result code.
    assert_eq!(output.status.code(), Some(64));
    assert!(stderr(&output).contains("--against"), "{}", stderr(&output));
}
