//! Wall time of `deploy` against moto: a first deploy (CREATE change set)
//! and a no-change deploy, next to `aws cloudformation deploy` of the same
//! template against the same moto when the venv has the AWS CLI.
//!
//!   cargo bench -p upstack-toolkit --bench deploy
//!
//! Uses the real synthesized dev template, as tests/deploy_moto.rs does (moto
//! needs the fixes in scripts/moto/upstack_moto_patches.py, which
//! scripts/setup-test-tools.sh installs), with small fake zips as assets.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::config::Credentials;
use upstack_toolkit::aws::{self, Pacing};
use upstack_toolkit::bootstrap;
use upstack_toolkit::deploy::{
    self, Answer, AssetFile, DeployClients, DeployOptions, DeployOutcome, DeployPlan, FixedAnswer,
    RecordingReporter, RequireApproval,
};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto() -> (Moto, String) {
    let server = repo_root().join(".venv/bin/moto_server");
    assert!(
        server.is_file(),
        "{} missing: run `scripts/setup-test-tools.sh`",
        server.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto_server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (Moto(child), format!("http://127.0.0.1:{port}"))
}

/// The real dev template, as `upstack synth` renders it, with the functions'
/// default memory set to `memory_mb` and fake asset keys (same as
/// tests/deploy_moto.rs).
fn pipeline_template(memory_mb: u32) -> String {
    let text = std::fs::read_to_string(repo_root().join("envs/dev.toml")).unwrap();
    let defaults = "[functions.defaults]\nmemory_mb = 256\n";
    assert!(
        text.contains(defaults),
        "envs/dev.toml no longer has {defaults:?}"
    );
    let text = text.replacen(
        defaults,
        &format!("[functions.defaults]\nmemory_mb = {memory_mb}\n"),
        1,
    );
    let config = upstack_stack::config::parse("envs/dev.toml", &text).unwrap();
    let assets = ["notify", "ingest", "photo-check"]
        .into_iter()
        .map(|handler| (handler.to_owned(), asset_key(handler)))
        .collect();
    upstack_toolkit::synth::render("dev", config, &assets)
        .unwrap()
        .template_json
}

fn asset_key(handler: &str) -> String {
    format!("assets/{handler}-arm64-0123456789abcdef.zip")
}

fn fake_zip(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.zip"));
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    writer
        .start_file("bootstrap", zip::write::SimpleFileOptions::default())
        .unwrap();
    writer
        .write_all(format!("#!/bin/sh\necho {name}\n").as_bytes())
        .unwrap();
    writer.finish().unwrap();
    path
}

fn options(id: &str) -> DeployOptions {
    DeployOptions {
        require_approval: RequireApproval::Never,
        allow_replace: false,
        wait_if_busy: false,
        // The production pacing: the figure is what a user gets.
        pacing: Pacing::default(),
        deploy_id: id.into(),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn aws_cli_deploy(endpoint: &str, template: &Path, stack: &str) -> Option<Duration> {
    let cli = repo_root().join(".venv/bin/aws");
    if !cli.is_file() {
        return None;
    }
    let started = Instant::now();
    let status = Command::new(cli)
        .args([
            "cloudformation",
            "deploy",
            "--no-fail-on-empty-changeset",
            "--capabilities",
            "CAPABILITY_NAMED_IAM",
        ])
        .arg("--template-file")
        .arg(template)
        .args([
            "--stack-name",
            stack,
            "--endpoint-url",
            endpoint,
            "--region",
            REGION,
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "aws cloudformation deploy failed");
    Some(started.elapsed())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_moto, endpoint) = start_moto();
    let work = tempfile::tempdir().unwrap();
    let config = runtime.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load(),
    );
    let clients = DeployClients {
        cloudformation: aws_sdk_cloudformation::Client::new(&config),
        s3: aws::s3_client(&config),
    };
    let bucket = bootstrap::asset_bucket(ACCOUNT, REGION);
    runtime
        .block_on(bootstrap::bootstrap(
            &clients.s3,
            &bucket,
            REGION,
            false,
            &Pacing::default(),
        ))
        .unwrap();
    let template = pipeline_template(256);
    let plan = DeployPlan {
        env: "dev".into(),
        stack_name: "upstack-dev".into(),
        region: REGION.into(),
        account: ACCOUNT.into(),
        template_json: template.clone(),
        tags: vec![],
        termination_protection: false,
        production: false,
        assets: ["notify", "ingest", "photo-check"]
            .into_iter()
            .map(|handler| AssetFile {
                key: asset_key(handler),
                path: fake_zip(work.path(), handler),
            })
            .collect(),
        outputs_path: work.path().join("outputs.json"),
    };
    let run = |id: &str| {
        let started = Instant::now();
        let outcome = runtime
            .block_on(deploy::deploy(
                &clients,
                &plan,
                &options(id),
                &mut RecordingReporter::default(),
                &mut FixedAnswer(Answer::Yes),
                std::future::pending(),
            ))
            .unwrap();
        (started.elapsed(), outcome)
    };
    let (first, outcome) = run("first");
    assert!(
        matches!(outcome, DeployOutcome::Deployed { .. }),
        "{outcome:?}"
    );
    let mut no_change = Vec::new();
    for attempt in 0..5 {
        let (elapsed, outcome) = run(&format!("again-{attempt}"));
        assert_eq!(outcome, DeployOutcome::NoChanges);
        no_change.push(elapsed);
    }
    println!(
        "upstack deploy, first (create):      {:>7.0} ms",
        first.as_secs_f64() * 1000.0
    );
    println!(
        "upstack deploy, no change (median/5): {:>7.0} ms (target < 2000 ms)",
        median(no_change.clone()).as_secs_f64() * 1000.0
    );

    // The CLI gets a fresh moto of its own (same template, same assets):
    // in the first one the stack's named resources already exist.
    let (_cli_moto, cli_endpoint) = start_moto();
    let cli_config = runtime.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&cli_endpoint)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load(),
    );
    let cli_s3 = aws::s3_client(&cli_config);
    runtime
        .block_on(bootstrap::bootstrap(
            &cli_s3,
            &bucket,
            REGION,
            false,
            &Pacing::default(),
        ))
        .unwrap();
    runtime
        .block_on(deploy::upload_assets(
            &cli_s3,
            &bucket,
            &plan.assets,
            &Pacing::default(),
        ))
        .unwrap();
    let template_file = work.path().join("template.json");
    std::fs::write(&template_file, &template).unwrap();
    match aws_cli_deploy(&cli_endpoint, &template_file, "upstack-dev") {
        None => println!(
            "aws cloudformation deploy: .venv/bin/aws not found (pip install awscli), not measured"
        ),
        Some(first) => {
            let again: Vec<_> = (0..5)
                .filter_map(|_| aws_cli_deploy(&cli_endpoint, &template_file, "upstack-dev"))
                .collect();
            println!(
                "aws cloudformation deploy, first:     {:>7.0} ms",
                first.as_secs_f64() * 1000.0
            );
            println!(
                "aws cloudformation deploy, no change: {:>7.0} ms (median/5)",
                median(again).as_secs_f64() * 1000.0
            );
        }
    }
}
