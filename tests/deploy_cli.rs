//! `upstack bootstrap`, `deploy` and `destroy` as a user runs them: exit
//! codes and what they print, against moto on 127.0.0.1 where AWS is needed.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use upstack_test_support::{MotoServer, repo_root, venv_tool};

/// Runs the CLI with a clean AWS environment (no profile, no real credentials)
/// and stdin not a terminal.
fn upstack(args: &[&str], endpoint: &str, region: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_upstack"))
        .args(args)
        .arg("--root")
        .arg(repo_root())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", region)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn wrong_region_is_refused_before_any_aws_call() {
    // Port 9 (discard) has no server: any AWS call would fail differently.
    let output = upstack(
        &["deploy", "--env", "dev"],
        "http://127.0.0.1:9",
        "us-east-1",
    );
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("us-east-1") && printed.contains("eu-west-1"),
        "{printed}"
    );
    assert!(printed.contains("envs/dev.toml"), "{printed}");
    insta::assert_snapshot!("wrong_region", printed);
}

#[test]
fn bootstrap_then_destroy_without_a_stack_against_moto() {
    let moto = MotoServer::start();
    let output = upstack(&["bootstrap", "--env", "dev"], &moto.endpoint, "eu-west-1");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    insta::assert_snapshot!("bootstrap_created", String::from_utf8_lossy(&output.stdout));
    let again = upstack(&["bootstrap", "--env", "dev"], &moto.endpoint, "eu-west-1");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already existed"),
        "{}",
        text(&again)
    );

    let destroy = upstack(&["destroy", "--env", "dev"], &moto.endpoint, "eu-west-1");
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    assert!(
        text(&destroy).contains("nothing to destroy"),
        "{}",
        text(&destroy)
    );
}

#[test]
fn destroy_without_a_terminal_or_yes_exits_4_and_keeps_the_stack() {
    let moto = MotoServer::start();
    // A stack to destroy, created straight through CloudFormation.
    let created = Command::new(venv_tool("aws"))
        .args([
            "cloudformation",
            "create-stack",
            "--stack-name",
            "upstack-dev",
            "--region",
            "eu-west-1",
        ])
        .args([
            "--template-body",
            r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}"#,
        ])
        .args(["--endpoint-url", &moto.endpoint])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", text(&created));
    let output = upstack(&["destroy", "--env", "dev"], &moto.endpoint, "eu-west-1");
    assert_eq!(output.status.code(), Some(4), "{}", text(&output));
    assert!(
        text(&output).contains("re-run with --yes"),
        "{}",
        text(&output)
    );
    let output = upstack(
        &["destroy", "--env", "dev", "--yes"],
        &moto.endpoint,
        "eu-west-1",
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains("stack upstack-dev deleted"),
        "{}",
        text(&output)
    );
}
