//! `upstack bootstrap`, `deploy` and `destroy` as a user runs them: exit
//! codes and what they print, against moto on 127.0.0.1 where AWS is needed.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use upstack_test_support::{MotoServer, repo_root};

/// Runs the CLI with a clean AWS environment (no profile, no real credentials)
/// and stdin not a terminal.
fn upstack(args: &[&str], endpoint: &str, region: &str) -> Output {
    command(args, endpoint, region).output().unwrap()
}

/// What [`upstack`] runs, to spawn instead of waiting for its output.
fn command(args: &[&str], endpoint: &str, region: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_upstack"));
    command
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
        .stdin(Stdio::null());
    command
}

/// Creates the stack `upstack-dev`, holding one SNS topic, straight through
/// CloudFormation: a stack the CLI under test did not make.
fn create_topic_stack(moto: &MotoServer) {
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
        .unwrap_or_else(|error| panic!("CreateStack on moto: {error:?}"));
}

/// The status of the stack `upstack-dev`.
fn stack_status(moto: &MotoServer) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let described = runtime
        .block_on(async {
            aws_sdk_cloudformation::Client::new(&moto.sdk_config().await)
                .describe_stacks()
                .stack_name("upstack-dev")
                .send()
                .await
        })
        .unwrap_or_else(|error| panic!("DescribeStacks on moto: {error:?}"));
    described.stacks()[0]
        .stack_status()
        .map(|status| status.as_str().to_owned())
        .unwrap_or_default()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// One bad input: the command line, the environment it runs in and, for
/// env-file cases, how `envs/dev.toml` is edited.
struct Case {
    name: &'static str,
    args: Vec<String>,
    /// Variables set on top of a clean AWS environment (no profile, no keys).
    vars: Vec<(&'static str, String)>,
    /// `(line in envs/dev.toml, replacement)`; the case runs in a scratch
    /// workspace when non-empty.
    edits: Vec<(&'static str, &'static str)>,
}

fn case(name: &'static str, args: &[&str]) -> Case {
    Case {
        name,
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        vars: Vec::new(),
        edits: Vec::new(),
    }
}

fn env_case(name: &'static str, line: &'static str, replacement: &'static str) -> Case {
    Case {
        edits: vec![(line, replacement)],
        ..case(name, &["synth", "--env", "dev"])
    }
}

/// A workspace with the real envs/ and Cargo.toml, `edits` applied to dev.toml.
fn scratch_root(edits: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = repo_root();
    std::fs::copy(root.join("Cargo.toml"), dir.path().join("Cargo.toml")).unwrap();
    std::fs::create_dir(dir.path().join("envs")).unwrap();
    let mut dev = std::fs::read_to_string(root.join("envs/dev.toml")).unwrap();
    for (line, replacement) in edits {
        assert!(dev.contains(line), "envs/dev.toml has no line {line:?}");
        dev = dev.replacen(line, replacement, 1);
    }
    std::fs::write(dir.path().join("envs/dev.toml"), dev).unwrap();
    std::fs::copy(
        root.join("envs/prod.toml"),
        dir.path().join("envs/prod.toml"),
    )
    .unwrap();
    dir
}

/// An AWS config whose SSO profile `work` has a cached token that expired.
fn expired_sso_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    std::fs::create_dir_all(aws.join("sso/cache")).unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile work]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    )
    .unwrap();
    home
}

/// Every kind of bad input a user can give, with the exit code and the
/// message each gets: the corpus issue 12 asks for, in one snapshot so a
/// reviewer sees any change to what users are told.
#[test]
fn error_corpus() {
    let moto = MotoServer::start();
    let sso_home = expired_sso_home();
    write_expired_sso_token(sso_home.path());
    let empty_home = tempfile::tempdir().unwrap();
    let bad_json = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad_json.path(), "{\"Resources\": {").unwrap();
    let dev_template = repo_root().join("synth-out/dev/template.json");
    let dev_template = dev_template.to_str().unwrap();

    let mut cases = vec![
        // envs/dev.toml, each key wrong in turn
        env_case("env: app", "app = \"upstack\"", "app = \"Bad_Name\""),
        env_case(
            "env: stack_name",
            "stack_name = \"upstack-dev\"",
            "stack_name = \"9-dev\"",
        ),
        env_case(
            "env: region (unknown)",
            "region = \"eu-west-1\"",
            "region = \"eu-west-9\"",
        ),
        env_case("env: region (missing)", "region = \"eu-west-1\"\n", ""),
        env_case(
            "env: account_id",
            "# account_id = \"123456789012\"",
            "account_id = \"12345\"",
        ),
        env_case(
            "env: notification_emails",
            "[\"dev-alerts@example.com\"]",
            "[\"dev-alerts@\"]",
        ),
        env_case(
            "env: log_retention_days",
            "log_retention_days = 14",
            "log_retention_days = 10",
        ),
        env_case(
            "env: architecture",
            "architecture = \"arm64\"",
            "architecture = \"arm\"",
        ),
        env_case(
            "env: retain_stateful_resources",
            "retain_stateful_resources = false",
            "retain_stateful_resources = \"no\"",
        ),
        env_case(
            "env: termination_protection",
            "termination_protection = false",
            "termination_protection = 0",
        ),
        env_case("env: tracing", "tracing = false", "tracing = \"off\""),
        env_case(
            "env: tags",
            "owner = \"platform-team\"",
            "\"aws:owner\" = \"platform-team\"",
        ),
        env_case(
            "env: functions.defaults.memory_mb",
            "memory_mb = 256",
            "memory_mb = 64",
        ),
        env_case(
            "env: functions.defaults.timeout_seconds",
            "timeout_seconds = 30",
            "timeout_seconds = 901",
        ),
        env_case(
            "env: functions.defaults.reserved_concurrency",
            "reserved_concurrency = 5",
            "reserved_concurrency = 0",
        ),
        env_case(
            "env: functions.<unknown handler>",
            "[functions.photo-check]",
            "[functions.thumbnail]",
        ),
        env_case(
            "env: ingest.pk_columns",
            "pk_columns = [\"customer_id\"]",
            "pk_columns = []",
        ),
        env_case(
            "env: ingest.sk_columns",
            "sk_columns = [\"order_id\"]",
            "sk_columns = \"order_id\"",
        ),
        env_case(
            "env: photo.min_confidence",
            "min_confidence = 90.0",
            "min_confidence = 120.0",
        ),
        env_case("env: photo.max_yaw", "max_yaw = 20.0", "max_yaw = -1.0"),
        env_case(
            "env: photo.min_face_area",
            "min_face_area = 0.05",
            "min_face_area = 2.0",
        ),
        env_case(
            "env: unknown key",
            "tracing = false",
            "tracing = false\nregoin = \"eu-west-1\"",
        ),
        env_case("env: TOML syntax", "tracing = false", "tracing = = false"),
        // every subcommand with a misspelt flag, and a misspelt global one
        case("flag: synth", &["synth", "--chek"]),
        case("flag: diff", &["diff", "--env", "dev", "--fial-on", "any"]),
        case("flag: bundle", &["bundle", "--env", "dev", "--quite"]),
        case(
            "flag: invoke",
            &["invoke", "ingest", "--env", "dev", "--kye", "data/a.csv"],
        ),
        case("flag: bootstrap", &["bootstrap", "--evn", "dev"]),
        case("flag: deploy", &["deploy", "--env", "dev", "--yse"]),
        case(
            "flag: destroy",
            &["destroy", "--env", "dev", "--disable-termination"],
        ),
        case("flag: global", &["--colour", "never", "synth"]),
        case("usage: deploy without --env", &["deploy"]),
        case(
            "usage: invoke an unknown handler",
            &["invoke", "thumbnail", "--env", "dev", "--key", "a"],
        ),
        case("usage: unknown env", &["deploy", "--env", "staging"]),
        // templates
        case(
            "template: missing",
            &[
                "diff",
                "--against",
                "/nonexistent/old.json",
                "--template",
                dev_template,
            ],
        ),
        case(
            "template: malformed",
            &[
                "diff",
                "--against",
                bad_json.path().to_str().unwrap(),
                "--template",
                dev_template,
            ],
        ),
    ];
    // AWS: credentials and target
    let aws_case = |name: &'static str, vars: Vec<(&'static str, String)>| Case {
        vars,
        ..case(name, &["bootstrap", "--env", "dev"])
    };
    cases.push(aws_case(
        "aws: no credentials",
        vec![
            ("HOME", empty_home.path().display().to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ],
    ));
    cases.push(Case {
        args: vec![
            "bootstrap".into(),
            "--env".into(),
            "dev".into(),
            "--profile".into(),
            "nope".into(),
        ],
        ..aws_case(
            "aws: unknown profile",
            vec![("HOME", empty_home.path().display().to_string())],
        )
    });
    cases.push(aws_case(
        "aws: expired SSO token",
        vec![
            ("HOME", sso_home.path().display().to_string()),
            (
                "AWS_CONFIG_FILE",
                sso_home.path().join(".aws/config").display().to_string(),
            ),
            ("AWS_PROFILE", "work".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ],
    ));
    let keys = || {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ]
    };
    let mut unreachable = keys();
    // Port 9 (discard) has no server on this machine.
    unreachable.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()));
    cases.push(aws_case("aws: unreachable endpoint", unreachable));
    let mut moto_vars = keys();
    moto_vars.push(("AWS_ENDPOINT_URL", moto.endpoint.clone()));
    cases.push(Case {
        edits: vec![(
            "# account_id = \"123456789012\"",
            "account_id = \"111111111111\"",
        )],
        ..aws_case("aws: wrong account", moto_vars.clone())
    });
    let mut other_region = moto_vars.clone();
    other_region.push(("AWS_REGION", "us-east-1".into()));
    cases.push(Case {
        args: vec![
            "diff".into(),
            "--env".into(),
            "dev".into(),
            "--format".into(),
            "json".into(),
        ],
        ..aws_case(
            "aws: AWS_REGION differs (a note; the env's region is used)",
            other_region,
        )
    });

    let mut report = String::new();
    for case in &cases {
        let scratch = (!case.edits.is_empty()).then(|| scratch_root(&case.edits));
        let root = scratch
            .as_ref()
            .map_or_else(repo_root, |dir| dir.path().to_path_buf());
        let mut command = Command::new(env!("CARGO_BIN_EXE_upstack"));
        command
            .args(&case.args)
            .arg("--root")
            .arg(&root)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .stdin(Stdio::null());
        for name in [
            "AWS_PROFILE",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL",
            "NO_COLOR",
            "RUST_LOG",
        ] {
            command.env_remove(name);
        }
        command
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
        for (name, value) in &case.vars {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr)
            .replace(&root.display().to_string(), "<root>")
            .replace(&moto.endpoint, "<moto>")
            .replace(bad_json.path().to_str().unwrap(), "<bad.json>")
            .replace(dev_template, "<dev template>");
        let shown_args = case
            .args
            .join(" ")
            .replace(bad_json.path().to_str().unwrap(), "<bad.json>")
            .replace(dev_template, "<dev template>");
        report.push_str(&format!(
            "## {}\n$ upstack {shown_args}\nexit {}\n{}\n",
            case.name,
            output
                .status
                .code()
                .map_or_else(|| "signal".to_owned(), |code| code.to_string()),
            stderr.trim_end()
        ));
    }
    insta::assert_snapshot!("error_corpus", report);
}

/// The cached token of the `corp` SSO session, expired in 2020.
fn write_expired_sso_token(home: &Path) {
    // The SDK finds a session's token at ~/.aws/sso/cache/<sha1 of the
    // session name>.json; sha1("corp") = ee0bfd2552fbd840c02cc48b6e823320543c450f.
    let file = home.join(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json");
    std::fs::write(
        file,
        r#"{"accessToken":"expired","expiresAt":"2020-01-01T00:00:00Z","region":"eu-west-1","startUrl":"https://corp.awsapps.com/start"}"#,
    )
    .unwrap();
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
    create_topic_stack(&moto);
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

/// moto: a plan whose change set is gone (deleted, or never made on this
/// stack) is refused with exit 5 and the stack is left as it was.
#[test]
fn execute_of_a_stale_plan_exits_5_and_touches_nothing() {
    use upstack_deploy::plan::{
        FORMAT_VERSION, PlannedChangeSet, PlannedKind, Review, ReviewedPlan,
    };
    let moto = MotoServer::start();
    create_topic_stack(&moto);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan-dev.json");
    ReviewedPlan {
        format_version: FORMAT_VERSION,
        manifest: upstack_stack::Manifest {
            env: "dev".into(),
            stack_name: "upstack-dev".into(),
            region: "eu-west-1".into(),
            account_id: None,
            termination_protection: false,
            production: false,
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
            arn: "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/upstack-gone/0".into(),
            name: "upstack-gone".into(),
            kind: PlannedKind::Create,
            stack_id: None,
        },
        template_sha256: "a".repeat(64),
        asset_bucket: "upstack-assets-123456789012-eu-west-1".into(),
        assets: vec![],
        stack: None,
        review: Review::default(),
        diff: upstack_diff::render::report(
            &upstack_diff::TemplateDiff::default(),
            &upstack_diff::render::Sources {
                old: "stack upstack-dev (deployed)".into(),
                new: "change set upstack-gone".into(),
            },
        ),
    }
    .save(&path)
    .unwrap();
    let output = upstack(
        &[
            "deploy",
            "--env",
            "dev",
            "--yes",
            "--execute",
            path.to_str().unwrap(),
        ],
        &moto.endpoint,
        "eu-west-1",
    );
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(5), "{printed}");
    assert!(printed.contains("nothing was touched"), "{printed}");
    assert_eq!(stack_status(&moto), "CREATE_COMPLETE");
}

/// `status` as a script sees it on moto: a stack that does not exist is an
/// error (exit 1) naming what to do; without --env a usage error (64); a
/// stack whose alarms are quiet exits 0, one with an alarm in ALARM exits 2.
/// moto 5.2.5 serves CloudWatch's query protocol only, the Rust SDK speaks
/// RPC v2 CBOR: `scripts/moto/upstack_moto_patches.py` translates, so the
/// CLI's real CloudWatch calls run here.
#[test]
fn status_exits_0_healthy_2_in_alarm_1_without_a_stack_64_without_env() {
    let moto = MotoServer::start();
    let output = upstack(&["status", "--env", "dev"], &moto.endpoint, "eu-west-1");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains(
            "error: status dev: stack upstack-dev does not exist: deploy it first (`upstack deploy --env dev`)"
        ),
        "{}",
        text(&output)
    );
    let output = upstack(&["status"], &moto.endpoint, "eu-west-1");
    assert_eq!(output.status.code(), Some(64), "{}", text(&output));

    create_topic_stack(&moto);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cloudwatch =
        runtime.block_on(async { aws_sdk_cloudwatch::Client::new(&moto.sdk_config().await) });
    let alarm = "upstack-dev-notify-errors";
    runtime
        .block_on(
            cloudwatch
                .put_metric_alarm()
                .alarm_name(alarm)
                .namespace("AWS/Lambda")
                .metric_name("Errors")
                .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
                .period(60)
                .evaluation_periods(1)
                .threshold(1.0)
                .comparison_operator(
                    aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
                )
                .send(),
        )
        .unwrap();
    let set_state = |state: aws_sdk_cloudwatch::types::StateValue, reason: &str| {
        runtime
            .block_on(
                cloudwatch
                    .set_alarm_state()
                    .alarm_name(alarm)
                    .state_value(state)
                    .state_reason(reason)
                    .send(),
            )
            .unwrap();
    };
    set_state(aws_sdk_cloudwatch::types::StateValue::Ok, "quiet");
    let output = upstack(&["status", "--env", "dev"], &moto.endpoint, "eu-west-1");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    set_state(
        aws_sdk_cloudwatch::types::StateValue::Alarm,
        "Threshold Crossed: 1 datapoint [3.0] was >= 1.0",
    );
    let output = upstack(
        &["status", "--env", "dev", "--format", "json"],
        &moto.endpoint,
        "eu-west-1",
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report.to_string().contains("Threshold Crossed"), "{report}");
    // The composite deploy guard is listed after its members; moto 5.2.5
    // has no PutCompositeAlarm, so it is MISSING here.
    let listed: Vec<(&str, &str)> = report["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alarm| {
            (
                alarm["name"].as_str().unwrap(),
                alarm["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed.first(), Some(&(alarm, "ALARM")), "{report}");
    assert_eq!(
        listed.last(),
        Some(&("upstack-dev-deploy-guard", "MISSING")),
        "{report}"
    );

    // deploy's pre-flight refuses while an alarm is in ALARM, before any change.
    let output = upstack(
        &["deploy", "--env", "dev", "--yes"],
        &moto.endpoint,
        "eu-west-1",
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains(alarm), "{}", text(&output));
}

#[test]
fn hotswap_of_a_production_env_is_a_usage_error_before_any_aws_call() {
    // Nothing listens on the discard port: any AWS call would fail with a
    // connection error (exit 1), not this refusal.
    let output = upstack(
        &["deploy", "--env", "prod", "--hotswap", "--yes"],
        "http://127.0.0.1:9",
        "eu-west-1",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("env prod"), "{stderr}");
    assert!(stderr.contains("production = true"), "{stderr}");
    assert!(!stderr.contains("127.0.0.1"), "{stderr}");
}

#[test]
fn watch_of_a_production_env_is_a_usage_error_before_any_aws_call() {
    let output = upstack(
        &["watch", "--env", "prod"],
        "http://127.0.0.1:9",
        "eu-west-1",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("watch (which hotswaps) is refused for env prod"),
        "{stderr}"
    );
    assert!(!stderr.contains("127.0.0.1"), "{stderr}");
}

/// `watch` with nothing deployed says to deploy first and keeps watching;
/// Ctrl-C (SIGINT) ends it with 130. (Builds and hotswaps:
/// deploy/tests/watch_moto.rs.)
#[test]
fn watch_says_what_only_a_deploy_can_do_and_ctrl_c_exits_130() {
    use std::io::{BufRead, BufReader};
    let moto = MotoServer::start();
    let mut child = command(&["watch", "--env", "dev"], &moto.endpoint, "eu-west-1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut read = Vec::new();
    while !read
        .iter()
        .any(|line: &String| line.contains("stack upstack-dev is not deployed yet"))
    {
        match lines.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(line) => read.push(line),
            Err(error) => {
                let _ = child.kill();
                panic!("{error}; read: {read:#?}");
            }
        }
    }
    assert!(
        read.iter()
            .any(|line| line.contains("deploy these with `upstack deploy --env dev`")),
        "{read:#?}"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
