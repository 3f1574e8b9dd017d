//! Wall time of `deploy` against moto: a first deploy (CREATE change set)
//! and a no-change deploy, next to `aws cloudformation deploy` of the same
//! template against the same moto when the venv has the AWS CLI.
//!
//!   cargo bench -p upstack-deploy --bench deploy
//!
//! Uses the real synthesized dev template, as tests/deploy_moto.rs does (moto
//! needs the fixes in scripts/moto/upstack_moto_patches.py, which
//! scripts/setup-test-tools.sh installs), with small fake zips as assets.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use upstack_deploy::assets::{self, AssetFile};
use upstack_deploy::aws::{self, Pacing};
use upstack_deploy::bootstrap;
use upstack_deploy::deploy::{
    self, DeployClients, DeployOptions, DeployOutcome, DeployRequest, DriftHandling,
    RequireApproval,
};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_test_support::{
    ACCOUNT_ID as ACCOUNT, MotoServer, REGION, asset_key, fake_zip, pipeline_plan, venv_tool,
};

fn options(id: &str) -> DeployOptions {
    DeployOptions {
        require_approval: RequireApproval::Never,
        allow_replace: false,
        wait_if_busy: false,
        // The production pacing: the figure is what a user gets.
        pacing: Pacing::default(),
        deploy_id: id.into(),
        ignore_alarms: false,
        drift: DriftHandling::Skip,
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn aws_cli_deploy(endpoint: &str, template: &Path, stack: &str) -> Option<Duration> {
    let cli = venv_tool("aws");
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
    let moto = MotoServer::start();
    let work = tempfile::tempdir().unwrap();
    let config = runtime.block_on(moto.sdk_config());
    let clients = DeployClients::new(&config);
    let bucket = bootstrap::asset_bucket(ACCOUNT, REGION);
    runtime
        .block_on(bootstrap::bootstrap(&clients.s3, &bucket, REGION, false))
        .unwrap();
    let synthesized = pipeline_plan(256);
    let template = synthesized.template_json.clone();
    let mut manifest = synthesized.manifest;
    // No alarms to check: the figure is the deploy's own work.
    manifest.alarms = Default::default();
    let plan = DeployRequest {
        manifest,
        template_json: template.clone(),
        region: REGION.into(),
        account: ACCOUNT.into(),
        assets: ["notify", "ingest", "photo-check"]
            .into_iter()
            .map(|handler| {
                let path = fake_zip(work.path(), handler);
                let bytes = std::fs::read(&path).unwrap();
                AssetFile {
                    key: asset_key(handler),
                    sha256: assets::sha256_hex(&bytes),
                    size: bytes.len() as u64,
                    // A fake's one entry is smaller than its zip: an upper bound.
                    unzipped_size: bytes.len() as u64,
                    path,
                }
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
    let no_change = median(no_change);
    println!(
        "upstack deploy, no change (median/5): {:>7.0} ms (target < 2000 ms)",
        no_change.as_secs_f64() * 1000.0
    );
    // What verifying the assets costs a no-change deploy: every key is
    // there, so publishing is one checksum read (HeadObject) per asset.
    let mut verify = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        runtime
            .block_on(assets::publish(&clients.s3, &bucket, &plan.assets))
            .unwrap();
        verify.push(started.elapsed());
    }
    let verify = median(verify);
    println!(
        "  of which the asset checksum reads:  {:>7.1} ms ({:.1}% of the no-change deploy; target <= 5%)",
        verify.as_secs_f64() * 1000.0,
        100.0 * verify.as_secs_f64() / no_change.as_secs_f64()
    );

    // The CLI gets a fresh moto of its own (same template, same assets):
    // in the first one the stack's named resources already exist.
    let cli_moto = MotoServer::start();
    let cli_endpoint = &cli_moto.endpoint;
    let cli_config = runtime.block_on(cli_moto.sdk_config());
    let cli_s3 = aws::s3_client(&cli_config);
    runtime
        .block_on(bootstrap::bootstrap(&cli_s3, &bucket, REGION, false))
        .unwrap();
    runtime
        .block_on(assets::publish(&cli_s3, &bucket, &plan.assets))
        .unwrap();
    let template_file = work.path().join("template.json");
    std::fs::write(&template_file, &template).unwrap();
    match aws_cli_deploy(cli_endpoint, &template_file, "upstack-dev") {
        None => println!(
            "aws cloudformation deploy: not measured, .venv/bin/aws is missing \
             (bash scripts/setup-test-tools.sh --aws-cli installs it)"
        ),
        Some(first) => {
            let again: Vec<_> = (0..5)
                .filter_map(|_| aws_cli_deploy(cli_endpoint, &template_file, "upstack-dev"))
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
