//! `upstack logs --env dev` as a user runs it, against moto's CloudWatch
//! Logs: the log groups the manifest names, merged in time order, in both
//! formats; an unknown function and a bad `--since` are usage errors
//! (exit 64) decided before any AWS call.
//!
//! The events are written with boto3 from `.venv` (moto's own dependency):
//! the root package does not depend on the AWS SDK, only the toolkit does.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use upstack_test_support::{MotoServer, require_venv_tool};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn upstack(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_upstack"))
        .args(["logs", "--env", "dev", "--root", REPO])
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap()
}

/// Two functions' log groups with interleaved events a minute old.
fn write_events(endpoint: &str) {
    let script = r#"
import sys, time, boto3
logs = boto3.client("logs", endpoint_url=sys.argv[1], region_name="eu-west-1",
                    aws_access_key_id="testing", aws_secret_access_key="testing")
t0 = int(time.time() * 1000) - 60000
rid = "8f5e2a4c-0000-4000-8000-000000000001"
events = {
    "notify": [(t0, '{"level":"INFO","message":"notified","span":{"requestId":"%s"}}' % rid),
               (t0 + 20, "REPORT RequestId: %s\tDuration: 3.1 ms\t" % rid)],
    "ingest": [(t0 + 10, '{"level":"ERROR","message":"row 3: missing column id"}')],
}
for function, lines in events.items():
    group = "/aws/lambda/upstack-dev-" + function
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": t, "message": m} for t, m in lines])
"#;
    upstack_test_support::run_ok(
        Command::new(require_venv_tool("python"))
            .arg("-c")
            .arg(script)
            .arg(endpoint),
    );
}

/// The lines without their times, which depend on the clock.
fn without_times(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| line.split_once(' ').unwrap().1.to_owned())
        .collect()
}

#[test]
fn the_cli_merges_the_stacks_function_logs() {
    let moto = MotoServer::start();
    write_events(&moto.endpoint);

    let all = upstack(&moto.endpoint, &["--since", "1h"]);
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    insta::assert_snapshot!(without_times(&all.stdout).join("\n"), @r"
    notify      8f5e2a4c INFO    notified
    ingest      -        ERROR   row 3: missing column id
    notify      8f5e2a4c REPORT  Duration: 3.1 ms
    ");
    // photo-check has no log group yet: said on stderr, not an error.
    assert_eq!(
        String::from_utf8_lossy(&all.stderr).trim(),
        "photo-check: no log group /aws/lambda/upstack-dev-photo-check yet (the function has not run since it was deployed)"
    );

    let one = upstack(
        &moto.endpoint,
        &["ingest", "--since", "1h", "--format", "json"],
    );
    assert!(one.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&one.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["function"], "ingest");
    assert_eq!(lines[0]["level"], "ERROR");
    assert!(one.stderr.is_empty());

    let filtered = upstack(&moto.endpoint, &["--since", "1h", "--filter", "Duration"]);
    assert_eq!(without_times(&filtered.stdout).len(), 1);

    let recent = upstack(&moto.endpoint, &["--since", "10s"]);
    assert!(recent.status.success());
    assert!(recent.stdout.is_empty());
}

#[test]
fn bad_arguments_are_usage_errors_before_any_aws_call() {
    // No server at this address: an AWS call would fail differently.
    let nowhere = "http://127.0.0.1:9";
    let unknown = upstack(nowhere, &["thumbnail"]);
    assert_eq!(unknown.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains(
            "error: no function `thumbnail` in env dev; the stack's functions are: notify, ingest, photo-check"
        ),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let since = upstack(nowhere, &["--since", "yesterday"]);
    assert_eq!(since.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&since.stderr).contains("--since `yesterday`"));
}
