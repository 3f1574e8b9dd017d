//! `upstack diff --env dev --template <file>` against a stack deployed on a
//! moto server (127.0.0.1): the binary reads the env's stack name and region,
//! checks the credentials, calls GetTemplate, and exits 0 for the same
//! template and 2 for a changed one.
//!
//! The stack is created with boto3 from `.venv` (moto's own dependency): the
//! root package does not depend on the AWS SDK, only the toolkit does.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use upstack_test_support::{MotoServer, require_venv_tool};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn aws_env(command: &mut Command, endpoint: &str) {
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
}

/// CreateStack with boto3 and wait for CREATE_COMPLETE.
fn create_stack(endpoint: &str, stack: &str, template: &Path) {
    let script = r#"
import sys, boto3
endpoint, stack, path = sys.argv[1:4]
cfn = boto3.client("cloudformation", endpoint_url=endpoint)
cfn.create_stack(StackName=stack, TemplateBody=open(path).read())
cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
"#;
    let mut command = Command::new(require_venv_tool("python"));
    command
        .arg("-c")
        .arg(script)
        .arg(endpoint)
        .arg(stack)
        .arg(template);
    aws_env(&mut command, endpoint);
    upstack_test_support::run_ok(&mut command);
}

fn upstack_diff(endpoint: &str, template: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_upstack"));
    command
        .args(["diff", "--env", "dev", "--root", REPO, "--template"])
        .arg(template);
    aws_env(&mut command, endpoint);
    command.output().unwrap()
}

fn stack_name() -> String {
    let config = std::fs::read_to_string(Path::new(REPO).join("envs/dev.toml")).unwrap();
    let line = config
        .lines()
        .find(|line| line.starts_with("stack_name"))
        .unwrap();
    line.split('"').nth(1).unwrap().to_owned()
}

#[test]
fn the_cli_diffs_against_the_deployed_stack() {
    let moto = MotoServer::start();
    let dir = tempfile::tempdir().unwrap();
    let deployed = dir.path().join("deployed.json");
    let changed = dir.path().join("changed.json");
    let queue = |timeout: u32| {
        serde_json::json!({"Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cli-diff-queue", "VisibilityTimeout": timeout}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "cli-diff-topic"}}
        }})
        .to_string()
    };
    std::fs::write(&deployed, queue(30)).unwrap();
    std::fs::write(&changed, queue(90)).unwrap();

    // Before the stack exists: everything is added.
    let output = upstack_diff(&moto.endpoint, &deployed);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("not deployed") && stdout.contains("2 to add"),
        "{stdout}"
    );

    create_stack(&moto.endpoint, &stack_name(), &deployed);

    let output = upstack_diff(&moto.endpoint, &deployed);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("No changes."), "{stdout}");

    let output = upstack_diff(&moto.endpoint, &changed);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("[~] Properties.VisibilityTimeout\n          - 30\n          + 90"),
        "{stdout}"
    );
}

fn upstack(endpoint: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_upstack"));
    command.args(args).args(["--root", REPO]);
    aws_env(&mut command, endpoint);
    command.output().unwrap()
}

/// A queue's timeout changed and a topic deleted with their own APIs (as
/// in the console): `diff --env` says so, before any template change;
/// `--fail-on drift` blocks on it; `--no-drift` compares templates only.
#[test]
fn the_cli_shows_what_changed_outside_cloudformation() {
    let moto = MotoServer::start();
    let dir = tempfile::tempdir().unwrap();
    let deployed = dir.path().join("deployed.json");
    std::fs::write(
        &deployed,
        serde_json::json!({"Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cli-drift-queue", "VisibilityTimeout": 30}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "cli-drift-topic"}}
        }})
        .to_string(),
    )
    .unwrap();
    create_stack(&moto.endpoint, &stack_name(), &deployed);
    let template = deployed.to_str().unwrap();

    let output = upstack(
        &moto.endpoint,
        &["diff", "--env", "dev", "--template", template],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let script = r#"
import sys, boto3
endpoint = sys.argv[1]
sqs = boto3.client("sqs", endpoint_url=endpoint)
url = sqs.get_queue_url(QueueName="cli-drift-queue")["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
sns = boto3.client("sns", endpoint_url=endpoint)
sns.delete_topic(TopicArn="arn:aws:sns:eu-west-1:123456789012:cli-drift-topic")
"#;
    let mut command = Command::new(require_venv_tool("python"));
    command.arg("-c").arg(script).arg(&moto.endpoint);
    aws_env(&mut command, &moto.endpoint);
    let changed = command.output().unwrap();
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );

    let output = upstack(
        &moto.endpoint,
        &["diff", "--env", "dev", "--template", template],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("0 to add, 0 to change, 0 to destroy · 0 security changes (0 broadening) · 2 changed outside CloudFormation"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "VisibilityTimeout: the template says 30, the account has 45; this deploy leaves it as it is (deploy --revert-drift sets it back)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("! Topic (AWS::SNS::Topic) arn:aws:sns:eu-west-1:123456789012:cli-drift-topic: DELETED outside CloudFormation"),
        "{stdout}"
    );

    let output = upstack(
        &moto.endpoint,
        &[
            "diff",
            "--env",
            "dev",
            "--template",
            template,
            "--fail-on",
            "drift",
            "--format",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("blocked by --fail-on drift:"), "{stderr}");
    assert!(
        stderr.contains(
            "Queue (AWS::SQS::Queue) changed outside CloudFormation: Properties.VisibilityTimeout"
        ),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["summary"]["drifted"], 2);
    assert_eq!(report["drift"][0]["logical_id"], "Queue");
    assert_eq!(report["drift"][0]["properties"][0]["fate"]["kind"], "left");

    let output = upstack(
        &moto.endpoint,
        &["diff", "--env", "dev", "--template", template, "--no-drift"],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
