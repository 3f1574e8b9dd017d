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

/// A plan as `deploy --prepare` writes it, carrying the diff of a fixture pair.
fn plan_file(case: &str, dir: &std::path::Path) -> PathBuf {
    use upstack_deploy::plan::{
        FORMAT_VERSION, PlannedChangeSet, PlannedKind, Review, ReviewedPlan,
    };
    let read = |side: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(fixture(case, side)).unwrap()).unwrap()
    };
    let diff = upstack_diff::diff_templates(
        &read("old"),
        &read("new"),
        upstack_cfn_resources::registry::lookup,
    )
    .unwrap();
    let sources = upstack_diff::render::Sources {
        old: "stack upstack-prod (deployed)".into(),
        new: "change set upstack-1".into(),
    };
    let plan = ReviewedPlan {
        format_version: FORMAT_VERSION,
        manifest: upstack_stack::Manifest {
            env: "prod".into(),
            stack_name: "upstack-prod".into(),
            region: "eu-west-1".into(),
            account_id: None,
            termination_protection: true,
            production: true,
            template_sha256: "b".repeat(64),
            tags: Default::default(),
            functions: Vec::new(),
            stateful_resources: Vec::new(),
            stack_policy: None,
            alarms: Default::default(),
            queues: Vec::new(),
            execution_role_arn: None,
            upload_bucket: None,
        },
        account: "123456789012".into(),
        region: "eu-west-1".into(),
        change_set: PlannedChangeSet {
            arn: "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/upstack-1/abc".into(),
            name: "upstack-1".into(),
            kind: PlannedKind::Create,
            stack_id: None,
        },
        template_sha256: "a".repeat(64),
        asset_bucket: "upstack-assets-123456789012-eu-west-1".into(),
        assets: vec![],
        stack: None,
        review: Review::default(),
        diff: upstack_diff::render::report(&diff, &sources),
    };
    let path = dir.join("plan-prod.json");
    plan.save(&path).unwrap();
    path
}

#[test]
fn diff_plan_renders_the_reviewed_change_without_aws() {
    let dir = tempfile::tempdir().unwrap();
    let path = plan_file("replacement", dir.path());
    // No credentials and an endpoint that answers nothing: any AWS call would fail.
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_upstack"))
            .args(["diff", "--plan"])
            .arg(&path)
            .args(extra)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env_remove("AWS_ACCESS_KEY_ID")
            .output()
            .unwrap()
    };
    let output = run(&["--format", "markdown"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let markdown = stdout(&output);
    assert!(markdown.contains("change set upstack-1"), "{markdown}");
    assert!(markdown.contains("Records"), "{markdown}");
    let blocked = run(&["--fail-on", "destructive"]);
    assert_eq!(blocked.status.code(), Some(3), "{}", stderr(&blocked));

    let no_change = plan_file("no_change", dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_upstack"))
        .args(["diff", "--plan"])
        .arg(&no_change)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    std::fs::write(&path, "{\"format_version\": 9}").unwrap();
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("format_version 9"),
        "{}",
        stderr(&output)
    );
}
