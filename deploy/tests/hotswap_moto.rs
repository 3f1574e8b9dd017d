//! `deploy --hotswap` against moto, with the real dev stack: a new asset
//! for one handler (and nothing else) is set on that function alone, with
//! no stack update, and recorded on it; a change beyond code is refused by
//! the hotswap and deployed with a change set, which reconciles the
//! function and clears the record; production is refused before any call.
//! moto's UpdateFunctionCode finishes at once (`LastUpdateStatus` is
//! `Successful` on the first read): waiting, failures and conflicts are in
//! tests/hotswap_recorded.rs.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use upstack_deploy::assets::{self, AssetFile};
use upstack_deploy::deploy::hotswap::{self, HotswapError, HotswapPlan, RECORD_TAG};
use upstack_deploy::deploy::{DeployClients, DeployRequest, running_code};
use upstack_deploy::interact::RecordingReporter;
use upstack_test_support::{MotoServer, asset_key, fake_zip};

use crate::deploy_moto::{bootstrapped, deploy_ok, dev_request, fake_assets, options};

const NEW_NOTIFY_KEY: &str = "assets/notify-arm64-fedcba9876543210.zip";

/// `request` with notify's code rebuilt: a new zip under a new key, in the
/// manifest and the template alike (what synth does for a source change).
fn with_new_notify(request: &DeployRequest, dir: &std::path::Path) -> DeployRequest {
    let old_key = asset_key("notify");
    let path = fake_zip(dir, "notify-v2");
    let mut next = request.clone();
    assert!(next.template_json.contains(&old_key));
    next.template_json = next.template_json.replace(&old_key, NEW_NOTIFY_KEY);
    for function in &mut next.manifest.functions {
        if function.asset_key == old_key {
            function.asset_key = NEW_NOTIFY_KEY.into();
        }
    }
    next.assets.retain(|asset| asset.key != old_key);
    let bytes = std::fs::read(&path).unwrap();
    next.assets.push(AssetFile {
        key: NEW_NOTIFY_KEY.into(),
        sha256: assets::sha256_hex(&bytes),
        size: bytes.len() as u64,
        // A fake's one entry is smaller than its zip: an upper bound.
        unzipped_size: bytes.len() as u64,
        path,
    });
    next
}

/// The stack's LastUpdatedTime, how many change sets it has and its
/// template: what any stack update moves (moto stamps no LastUpdatedTime,
/// so there the template and the change sets tell).
async fn stack_marks(clients: &DeployClients) -> (Option<String>, usize, String) {
    let cfn = &clients.cloudformation;
    let stacks = cfn
        .describe_stacks()
        .stack_name("upstack-dev")
        .send()
        .await
        .unwrap();
    let updated = stacks.stacks()[0]
        .last_updated_time()
        .map(|time| time.to_string());
    let change_sets = cfn
        .list_change_sets()
        .stack_name("upstack-dev")
        .send()
        .await
        .unwrap()
        .summaries()
        .len();
    let template = cfn
        .get_template()
        .stack_name("upstack-dev")
        .send()
        .await
        .unwrap()
        .template_body
        .unwrap();
    (updated, change_sets, template)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_change_is_hotswapped_recorded_and_reconciled_by_the_next_deploy() {
    let moto = MotoServer::start();
    let clients = bootstrapped(&moto.sdk_config().await).await;
    let work = tempfile::tempdir().unwrap();
    let first = dev_request(work.path(), 256, fake_assets(work.path()));
    deploy_ok(&clients, &first, &options("1")).await;
    let before = stack_marks(&clients).await;
    let ingest_before = running_code(&clients.lambda, "upstack-dev-ingest")
        .await
        .unwrap();

    // Only notify's code changed: the plan names notify alone.
    let next = with_new_notify(&first, work.path());
    let HotswapPlan::Code(functions) =
        hotswap::plan(&clients.cloudformation, &next.manifest, &next.template_json)
            .await
            .unwrap()
    else {
        panic!("not a code-only change")
    };
    let names: Vec<&str> = functions.iter().map(|f| f.function_name.as_str()).collect();
    assert_eq!(names, ["upstack-dev-notify"]);
    let mut reporter = RecordingReporter::default();
    hotswap::apply(
        &clients,
        &next,
        &functions,
        &options("2").pacing,
        &mut reporter,
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", reporter.lines.join("\n")));

    let new_sha = &next.assets.last().unwrap().sha256;
    assert_eq!(
        running_code(&clients.lambda, "upstack-dev-notify")
            .await
            .unwrap()
            .as_ref(),
        Some(new_sha)
    );
    assert_eq!(
        running_code(&clients.lambda, "upstack-dev-ingest")
            .await
            .unwrap(),
        ingest_before,
        "another function's code changed"
    );
    assert_eq!(stack_marks(&clients).await, before, "the stack was updated");
    let records = hotswap::records(&clients.lambda, &next.manifest)
        .await
        .unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].function_name, "upstack-dev-notify");
    assert_eq!(records[0].asset_key, NEW_NOTIFY_KEY);
    // `status` says why notify's code differs from the last deploy.
    let report = upstack_deploy::status::gather(
        &upstack_deploy::status::StatusClients::new(&moto.sdk_config().await),
        &next.manifest,
        &next.asset_bucket(),
        upstack_test_support::ACCOUNT_ID,
        std::time::SystemTime::now(),
    )
    .await
    .unwrap();
    let hotswapped: Vec<(&str, Option<&str>)> = report
        .functions
        .iter()
        .map(|function| (function.handler.as_str(), function.hotswapped.as_deref()))
        .collect();
    assert_eq!(
        hotswapped,
        [
            ("notify", Some(NEW_NOTIFY_KEY)),
            ("ingest", None),
            ("photo-check", None)
        ]
    );
    assert!(
        reporter
            .lines
            .iter()
            .any(|line| line.contains(RECORD_TAG) && line.contains("upstack-dev-notify")),
        "{:?}",
        reporter.lines
    );

    // More than code (the functions' memory too): the hotswap says what
    // else changed and leaves it to a change set.
    let bigger = DeployRequest {
        template_json: with_new_notify(&dev_request(work.path(), 512, Vec::new()), work.path())
            .template_json,
        ..next.clone()
    };
    let HotswapPlan::Fallback(lines) = hotswap::plan(
        &clients.cloudformation,
        &bigger.manifest,
        &bigger.template_json,
    )
    .await
    .unwrap() else {
        panic!("a memory change was taken for code")
    };
    assert!(
        lines
            .iter()
            .any(|line| line == "NotifyFunction (AWS::Lambda::Function): modified"),
        "{lines:?}"
    );
    let mut reporter = deploy_ok(&clients, &bigger, &options("3")).await;
    assert_ne!(stack_marks(&clients).await.2, before.2);
    // The deploy checked notify runs the template's (the hotswapped) zip;
    // the record goes.
    hotswap::clear_records(&clients.lambda, &bigger.manifest, &mut reporter)
        .await
        .unwrap();
    assert!(
        hotswap::records(&clients.lambda, &bigger.manifest)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        reporter
            .lines
            .iter()
            .any(|line| line.contains("reconciled, record removed")),
        "{:?}",
        reporter.lines
    );
}

#[test]
fn production_is_refused_naming_the_env() {
    let work = tempfile::tempdir().unwrap();
    let mut manifest = dev_request(work.path(), 256, Vec::new()).manifest;
    assert!(hotswap::refuse_production(&manifest).is_ok());
    // The manifest's flag decides, whatever the env is called.
    manifest.production = true;
    let error = hotswap::refuse_production(&manifest).unwrap_err();
    assert!(
        matches!(error, HotswapError::Production { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("env dev"), "{text}");
    assert!(text.contains("production = true"), "{text}");
}
