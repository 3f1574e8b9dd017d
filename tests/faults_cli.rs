//! The CLI on a flaky network: moto behind a proxy that answers one request
//! in ten with `503` or drops it (test-support's `FaultyProxy`). The SDK's
//! retry policy (`upstack_deploy::aws::retry_config`, and the identity
//! check's own attempts) must carry every command through; a command whose
//! credentials are missing must fail before sending anything.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use upstack_test_support::{FaultyProxy, MotoServer, repo_root};

/// One request in ten fails: half answered 503, half dropped.
const FAULT_RATE: f64 = 0.1;

/// The CLI against `endpoint` with `credentials`, a clean AWS environment
/// otherwise (no profile, no metadata service), stdin not a terminal.
fn upstack(args: &[&str], endpoint: &str, credentials: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_upstack"));
    command
        .args(args)
        .arg("--root")
        .arg(repo_root())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    if credentials {
        command
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn bootstrap_and_live_diffs_survive_a_network_failing_one_request_in_ten() {
    let moto = MotoServer::start();
    let proxy = FaultyProxy::start(&moto.endpoint, FAULT_RATE, 7);

    let bootstrap = upstack(&["bootstrap", "--env", "dev"], &proxy.endpoint, true);
    assert_eq!(bootstrap.status.code(), Some(0), "{}", text(&bootstrap));

    // A live diff of the stack (not deployed: everything is added), and one
    // that asks CloudFormation too (create, poll, read, delete a change set).
    for args in [
        &["diff", "--env", "dev"][..],
        &["diff", "--env", "dev", "--change-set"][..],
    ] {
        let diff = upstack(args, &proxy.endpoint, true);
        assert_eq!(diff.status.code(), Some(2), "{args:?}\n{}", text(&diff));
    }
    // The proxy did fail requests along the way (the seed decides which).
    assert!(
        proxy.counts.faults() >= 2,
        "{} faults in {} requests",
        proxy.counts.faults(),
        proxy.counts.requests()
    );
}

#[test]
fn no_credentials_fail_before_any_request_is_sent() {
    let moto = MotoServer::start();
    let proxy = FaultyProxy::start(&moto.endpoint, FAULT_RATE, 7);
    let output = upstack(&["diff", "--env", "dev"], &proxy.endpoint, false);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("no AWS credentials found"),
        "{}",
        text(&output)
    );
    assert_eq!(proxy.counts.requests(), 0, "a request reached AWS");
}
