//! Both synthesized templates pass cfn-lint (zero errors and warnings) and
//! checkov (zero failed checks). The tools come from `.venv`
//! (`scripts/setup-test-tools.sh`); without them this test fails.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn tool(name: &str) -> PathBuf {
    let path = Path::new(REPO).join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/setup-test-tools.sh",
        path.display()
    );
    path
}

/// Synthesizes into a scratch directory so the test checks what the code
/// produces now, not whatever synth-out/ holds.
fn templates() -> (tempfile::TempDir, Vec<PathBuf>) {
    let out = tempfile::tempdir().unwrap();
    upstack_test_support::run_ok(
        Command::new(env!("CARGO_BIN_EXE_upstack"))
            .args(["synth", "--root", REPO, "--out"])
            .arg(out.path()),
    );
    let paths = ["dev", "prod"]
        .iter()
        .map(|env| out.path().join(env).join("template.json"))
        .collect();
    (out, paths)
}

#[test]
fn cfn_lint_reports_nothing() {
    let cfn_lint = tool("cfn-lint");
    let (_out, templates) = templates();
    // Default rules include warnings (W*); informational (I*) are off by default.
    let run = Command::new(cfn_lint).args(&templates).output().unwrap();
    assert!(
        run.status.success() && run.stdout.is_empty(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn checkov_fails_no_check() {
    let checkov = tool("checkov");
    let (_out, templates) = templates();
    // One checkov process for both templates: its start-up (importing every
    // check) costs as much as the scan, and the report names each result's file.
    let run = Command::new(&checkov)
        .args(
            templates
                .iter()
                .flat_map(|template| [OsStr::new("-f"), template.as_os_str()]),
        )
        .args([
            "--framework",
            "cloudformation",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!(
            "checkov printed no JSON ({error}):\n{stdout}\n{}",
            String::from_utf8_lossy(&run.stderr)
        )
    });
    let results = &report["results"];
    let checks_on = |kind: &str, env: &str| {
        results[kind].as_array().map_or(0, |checks| {
            checks
                .iter()
                .filter(|check| {
                    check["file_path"]
                        .as_str()
                        .is_some_and(|path| path.ends_with(&format!("{env}/template.json")))
                })
                .count()
        })
    };
    for env in ["dev", "prod"] {
        assert!(
            checks_on("passed_checks", env) > 0,
            "checkov ran no check on the {env} template: {}",
            report["summary"]
        );
    }
    assert_eq!(
        report["summary"]["parsing_errors"].as_u64(),
        Some(0),
        "checkov could not parse a template: {}",
        results["parsing_errors"]
    );
    assert_eq!(
        results["failed_checks"].as_array().map(Vec::len),
        Some(0),
        "checkov failures:\n{:#}",
        results["failed_checks"]
    );
}
