//! Both synthesized templates pass cfn-lint (zero errors and warnings) and
//! checkov (zero failed checks). The tools come from `.venv`
//! (`scripts/setup-test-tools.sh`); without them this test fails.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
    let run = Command::new(env!("CARGO_BIN_EXE_upstack"))
        .args(["synth", "--root", REPO, "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "synth failed: {}",
        String::from_utf8_lossy(&run.stderr)
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
    for template in templates {
        let run = Command::new(&checkov)
            .arg("-f")
            .arg(&template)
            .args([
                "--framework",
                "cloudformation",
                "--compact",
                "--quiet",
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
        // `--quiet` with nothing failed prints a summary only; with failures, the results.
        let summary = report.get("summary").cloned().unwrap_or_default();
        let failed = summary["failed"].as_u64().unwrap_or(0);
        let passed = summary["passed"].as_u64().unwrap_or(0);
        assert!(
            passed > 0,
            "checkov ran no check on {}: {stdout}",
            template.display()
        );
        assert_eq!(
            failed,
            0,
            "checkov failures in {}:\n{stdout}",
            template.display()
        );
    }
}
