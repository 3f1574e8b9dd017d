//! Wall time of `diff --env prod` against moto with the prod stack
//! deployed: the whole command (synth in memory, STS, GetTemplate, and the
//! drift reads of all its resources, eight at a time), next to the same
//! diff with `--no-drift`. The target is under 5 s with drift.
//!
//!   cargo bench -p upstack-deploy --bench diff_drift
//!
//! moto answers in milliseconds, so the figure is upstack's own work and the
//! number of round trips, not AWS's latency (about 20-60 ms a call in a
//! region, which the concurrency hides).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use upstack_deploy::assets::{self, AssetFile};
use upstack_deploy::aws::{Pacing, ProfileChoice};
use upstack_deploy::bootstrap;
use upstack_deploy::deploy::{
    self, DeployClients, DeployOptions, DeployOutcome, DeployRequest, DriftHandling,
    RequireApproval,
};
use upstack_deploy::diff::{self as live, DiffCommand};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_test_support::{ACCOUNT_ID as ACCOUNT, MotoServer, REGION, fake_zip};

const RUNS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Set in the child that measures: the command reads its endpoint and
/// credentials from the environment, as the CLI does.
const MEASURE: &str = "UPSTACK_BENCH_MEASURE";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var_os(MEASURE).is_some() {
        measure().await;
        return;
    }
    let moto = MotoServer::start();
    deploy_prod(&moto).await;
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .env(MEASURE, "1")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .status()
        .unwrap();
    assert!(status.success());
}

/// The prod stack as synth renders it, deployed with small fake zips under
/// its asset keys.
async fn deploy_prod(moto: &MotoServer) {
    let root = root();
    let config = moto.sdk_config().await;
    let clients = DeployClients::new(&config);
    bootstrap::bootstrap(
        &clients.s3,
        &bootstrap::asset_bucket(ACCOUNT, REGION),
        REGION,
        false,
    )
    .await
    .unwrap();

    let synthesized = upstack_project::synth::synth_env(&root, "prod").unwrap();
    let work = tempfile::tempdir().unwrap();
    let assets: Vec<AssetFile> = synthesized
        .manifest
        .functions
        .iter()
        .map(|function| {
            let path = fake_zip(work.path(), &function.handler);
            let bytes = std::fs::read(&path).unwrap();
            AssetFile {
                key: function.asset_key.clone(),
                sha256: assets::sha256_hex(&bytes),
                size: bytes.len() as u64,
                // A fake's one entry is smaller than its zip: an upper bound.
                unzipped_size: bytes.len() as u64,
                path,
            }
        })
        .collect();
    let request = DeployRequest {
        manifest: synthesized.manifest.clone(),
        template_json: synthesized.template_json.clone(),
        region: REGION.into(),
        account: ACCOUNT.into(),
        assets,
        outputs_path: work.path().join("outputs.json"),
    };
    let options = DeployOptions {
        require_approval: RequireApproval::Never,
        allow_replace: false,
        wait_if_busy: false,
        pacing: Pacing::default(),
        deploy_id: "bench".into(),
        ignore_alarms: true,
        drift: DriftHandling::Skip,
    };
    let outcome = deploy::deploy(
        &clients,
        &request,
        &options,
        &mut RecordingReporter::default(),
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await;
    match outcome {
        Ok(outcome) => assert!(
            matches!(outcome, DeployOutcome::Deployed { .. }),
            "{outcome:?}"
        ),
        // moto has no UpdateTerminationProtection (prod's file turns it on),
        // the last step: the stack is deployed by then.
        Err(error) if error.to_string().contains("UpdateTerminationProtection") => {}
        Err(error) => panic!("{error}"),
    }
}

async fn measure() {
    let root = root();
    let resources = upstack_project::synth::synth_env(&root, "prod")
        .unwrap()
        .template
        .resources
        .len();
    let command = |drift: bool| DiffCommand {
        root: root.clone(),
        shown_from: root.clone(),
        env: Some("prod".into()),
        profile: ProfileChoice {
            name: None,
            from_flag: false,
        },
        against: None,
        template: None,
        change_set: false,
        plan: None,
        drift,
        id: "bench".into(),
        pacing: Pacing::default(),
    };
    for drift in [true, false] {
        let mut samples = Vec::new();
        let mut read = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let outcome = live::run(&command(drift), &mut RecordingReporter::default())
                .await
                .unwrap();
            samples.push(started.elapsed());
            read = outcome.diff.drift.len();
        }
        println!(
            "diff --env prod{} ({resources} resources{}): median {:.0} ms of {RUNS} runs (min {:.0} ms, max {:.0} ms)",
            if drift { "" } else { " --no-drift" },
            if drift {
                format!(", {read} with drift on moto")
            } else {
                String::new()
            },
            median(samples.clone()).as_secs_f64() * 1000.0,
            samples.iter().min().unwrap().as_secs_f64() * 1000.0,
            samples.iter().max().unwrap().as_secs_f64() * 1000.0,
        );
    }
}
