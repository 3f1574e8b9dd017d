//! `list`, `sample-event` and `completions` as a user runs them: what they
//! print (snapshots), their exit codes on bad input, and, against moto,
//! `list` telling a deployed stack from one that is not.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use upstack_test_support::{MotoServer, repo_root};

/// The CLI with no AWS credentials anywhere; `vars` on top.
fn upstack(args: &[&str], vars: &[(&str, &str)]) -> Output {
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
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn list_without_credentials_lists_what_synth_knows() {
    let output = upstack(&["list"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn list_of_an_unknown_env_fails_naming_the_known_ones() {
    let output = upstack(&["list", "--env", "nope"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output).replace(&repo_root().display().to_string(), "<root>");
    insta::assert_snapshot!(message);
}

#[test]
fn list_tells_a_deployed_stack_from_one_that_is_not_on_moto() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(async {
            aws_sdk_cloudformation::Client::new(&moto.sdk_config().await)
                .create_stack()
                .stack_name("upstack-dev")
                .template_body(r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}"#)
                .send()
                .await
        })
        .unwrap();
    let endpoint = moto.endpoint.clone();
    let output = upstack(
        &["list", "--format", "json"],
        &[
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(listed["schema_version"], 1);
    let dev = &listed["envs"][0];
    assert_eq!(dev["env"], "dev");
    assert_eq!(dev["deployment"]["state"], "deployed");
    assert_eq!(dev["deployment"]["status"], "CREATE_COMPLETE");
    assert!(dev["deployment"]["last_deployed"].is_string(), "{dev}");
    assert_eq!(dev["functions"][1]["function_name"], "upstack-dev-ingest");
    let prod = &listed["envs"][1];
    assert_eq!(prod["deployment"]["state"], "not_deployed");
}

/// The event for `key`, as printed for `--env dev --bucket B`.
fn sample_event(key: &str) -> serde_json::Value {
    let output = upstack(
        &[
            "sample-event",
            "s3-put",
            "--key",
            key,
            "--env",
            "dev",
            "--bucket",
            "upstack-dev-uploads-123456789012-eu-west-1",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

#[test]
fn sample_event_round_trips_through_the_handlers_event_parsing() {
    let key = "uploads/report 2026+ü=1.csv";
    let event = sample_event(key);
    let records = handler_common::s3_event::parse_s3_event(&event).unwrap();
    assert_eq!(records.len(), 1);
    let record = records.into_iter().next().unwrap().unwrap();
    assert_eq!(record.key, key);
    assert_eq!(record.bucket, "upstack-dev-uploads-123456789012-eu-west-1");
    assert!(record.is_object_created(), "{record:?}");

    // The printed text, with what moves with the clock left out.
    let mut shown = event.clone();
    let record = &mut shown["Records"][0];
    record["eventTime"] = "<now>".into();
    record["s3"]["object"]["sequencer"] = "<now>".into();
    insta::assert_snapshot!(serde_json::to_string_pretty(&shown).unwrap());
}

#[test]
fn bad_input_is_a_clear_error_and_a_usage_exit() {
    let cases: [(&str, &[&str]); 5] = [
        (
            "empty key",
            &["sample-event", "s3-put", "--key", "", "--env", "dev"],
        ),
        (
            "no bucket without account_id",
            &["sample-event", "s3-put", "--key", "a.csv", "--env", "dev"],
        ),
        (
            "neither env nor bucket",
            &["sample-event", "s3-put", "--key", "a.csv"],
        ),
        (
            "unknown event",
            &["sample-event", "s3-delete", "--key", "a.csv"],
        ),
        ("unknown shell", &["completions", "nosh"]),
    ];
    let mut report = String::new();
    for (name, args) in cases {
        let output = upstack(args, &[]);
        report.push_str(&format!(
            "== {name}: exit {:?}\n{}\n",
            output.status.code(),
            stderr(&output).trim_end()
        ));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn completions_are_generated_for_every_subcommand() {
    let output = upstack(&["completions", "bash"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let script = stdout(&output);
    for subcommand in [
        "deploy",
        "list",
        "sample-event",
        "completions",
        "--outputs-file",
    ] {
        assert!(script.contains(subcommand), "{subcommand} missing");
    }
}
