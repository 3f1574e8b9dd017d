//! docs/quickstart.md, run: every command of its `sh` blocks, in the doc's
//! order, against moto, in a copy of the workspace, so the doc
//! cannot drift from what the CLI does. A command the test cannot run
//! against an emulator is listed in [`NOT_RUN`] with the reason (and, for
//! `bundle`, what stands in for it); a command in the doc that is neither
//! run nor listed fails the test. `invoke` runs with `--binary` naming the
//! workspace's own build of the handler (see [`workspace_binary`]).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use upstack_test_support::{MotoServer, stand_in_bundle};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Commands of the doc this test does not run, and why.
const NOT_RUN: [(&str, &str); 5] = [
    (
        "bash scripts/setup-test-tools.sh",
        "installs the toolchain and .venv/: the test runs inside what it installed",
    ),
    (
        "cargo install --path . --locked",
        "installs this binary: the test runs the one cargo built for it",
    ),
    (
        "upstack bundle --env dev",
        "a cold arm64 build takes 20-30 minutes: zips with the records bundle writes stand in (stand_in_bundle), and `deploy --no-build` checks them as it checks real ones",
    ),
    (
        "aws s3 cp README.md \"s3://$(jq -r .UploadBucketName synth-out/dev/outputs.json)/uploads/readme.md\"",
        "needs the AWS CLI (not among the test tools): boto3 puts the same object (stand_in_upload); moto runs no Lambda function on the event",
    ),
    (
        "upstack logs --env dev --since 5m --follow",
        "follows until Ctrl-C; --follow is tested in deploy/tests/logs_moto.rs",
    ),
];

/// What a command exits with when it does what the doc says, if not 0.
fn expected_exit(command: &str) -> i32 {
    if command.starts_with("upstack diff") {
        // A new stack is a change: diff's finding code.
        2
    } else if command.starts_with("upstack status") {
        // moto's CloudFormation applies a fraction of the template
        // (deploy/tests/drift_moto.rs lists what): status reads the rest as
        // drift, encryption among it, which needs a look (2). Its output is
        // checked below for what does not depend on moto.
        2
    } else {
        0
    }
}

/// The commands of the doc's `sh` blocks, in order.
fn doc_commands() -> Vec<String> {
    let doc = std::fs::read_to_string(Path::new(REPO).join("docs/quickstart.md")).unwrap();
    let mut commands = Vec::new();
    let mut in_sh = false;
    for line in doc.lines() {
        match line.trim_start() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            text if in_sh && !text.is_empty() && !text.starts_with('#') => {
                commands.push(text.to_owned());
            }
            _ => {}
        }
    }
    commands
}

/// The path of `handler`'s binary as the workspace's own build makes it
/// (`cargo build --workspace --all-targets`, CI's build step: nothing to do
/// there; anywhere else it brings the binary up to date first).
fn workspace_binary(handler: &str) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = upstack_test_support::run_ok(
        Command::new(cargo)
            .args([
                "build",
                "--workspace",
                "--all-targets",
                "--locked",
                "--message-format=json",
            ])
            .current_dir(REPO),
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["name"] == handler
                && message["target"]["kind"][0] == "bin"
                && message["profile"]["test"] == false
        })
        .and_then(|message| message["executable"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("the workspace build made no `{handler}` binary"))
}

/// `aws s3 cp README.md s3://<upload bucket>/uploads/readme.md`, with boto3
/// from `.venv` (moto's own dependency).
fn stand_in_upload(endpoint: &str, root: &Path) {
    let script = r#"
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="eu-west-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.put_object(Bucket="upstack-dev-uploads-123456789012-eu-west-1", Key="uploads/readme.md",
              Body=open(sys.argv[2], "rb").read())
"#;
    upstack_test_support::run_ok(
        Command::new(upstack_test_support::require_venv_tool("python"))
            .arg("-c")
            .arg(script)
            .arg(endpoint)
            .arg(root.join("README.md")),
    );
}

#[test]
fn the_quickstart_runs_as_written() {
    let commands = doc_commands();
    assert!(commands.len() >= 10, "{commands:?}");
    // Every listed exception is still in the doc (a stale one hides nothing).
    for (command, _) in NOT_RUN {
        assert!(
            commands.iter().any(|line| line == command),
            "NOT_RUN lists `{command}`, which docs/quickstart.md no longer has"
        );
    }
    let moto = MotoServer::start();
    // The quickstart changes no source and builds nothing in the copy.
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("quickstart-workspace");
    upstack_test_support::copy_workspace(Path::new(REPO), &scratch, &[]);
    let mut ran = Vec::new();
    for command in &commands {
        if NOT_RUN.iter().any(|(listed, _)| listed == command) {
            if command == "upstack bundle --env dev" {
                stand_in_bundle(&scratch, "dev");
            }
            if command.starts_with("aws s3 cp README.md") {
                stand_in_upload(&moto.endpoint, &scratch);
            }
            continue;
        }
        let arguments = command.strip_prefix("upstack ").unwrap_or_else(|| {
            panic!(
                "docs/quickstart.md: `{command}` is neither an upstack command this test runs \
                 nor listed in NOT_RUN with the reason it is not run"
            )
        });
        // The doc's words, split as a shell would split these (no quotes in them).
        assert!(!arguments.contains(['"', '\'', '$', '|']), "{command}");
        let mut arguments: Vec<String> = arguments.split_whitespace().map(str::to_owned).collect();
        if arguments[0] == "invoke" {
            // The host build itself is tested in local/tests/invoke_moto.rs.
            // notify built alone unifies other features than the workspace's
            // build (serde_core's among them) and would build its whole
            // dependency tree a second time: the workspace's notify is the
            // same code, so the command runs with it.
            arguments.extend(["--binary".to_owned(), workspace_binary("notify")]);
        }
        let output = Command::new(env!("CARGO_BIN_EXE_upstack"))
            .args(&arguments)
            .current_dir(&scratch)
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "eu-west-1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(expected_exit(command)),
            "`{command}`\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if command.starts_with("upstack status") {
            let stdout = String::from_utf8_lossy(&output.stdout);
            // Each function runs the zip deploy uploaded.
            assert_eq!(stdout.matches("as deployed").count(), 3, "{stdout}");
            assert!(
                stdout.contains("upstack-dev (dev): CREATE_COMPLETE"),
                "{stdout}"
            );
        }
        ran.push(command.as_str());
    }
    // The walk reached the end: deployed, used and destroyed.
    assert_eq!(
        ran.iter()
            .map(|command| command.split_whitespace().nth(1).unwrap())
            .collect::<Vec<_>>(),
        [
            "synth",
            "bootstrap",
            "diff",
            "deploy",
            "status",
            "invoke",
            "logs",
            "destroy"
        ]
    );
}
