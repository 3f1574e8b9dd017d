//! bootstrap -> deploy -> no-change deploy -> update -> destroy, against a
//! moto server on 127.0.0.1, with the real dev stack: the template is what
//! `upstack synth` renders from envs/dev.toml (the update is a config change:
//! the functions' default memory). moto needs the two emulator fixes in
//! scripts/moto/upstack_moto_patches.py (tagged KMS keys, SNS TopicArn) that
//! scripts/setup-test-tools.sh loads into the venv. Handler zips are small
//! valid zips, not cross-compiled handlers (minutes with cargo-zigbuild):
//! moto's Lambda only stores the code at CreateFunction, so what is tested is
//! the upload/skip logic and that each function's code is its uploaded asset.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

// `deploy --prepare` / `--execute` against moto: tests/deploy_moto/plan.rs.
#[path = "deploy_moto/plan.rs"]
mod plan;

// Verified assets and running code: tests/deploy_moto/assets.rs.
#[path = "deploy_moto/assets.rs"]
mod assets_verified;

// `status`: tests/deploy_moto/status.rs.
#[path = "deploy_moto/status.rs"]
mod status;

// The account pre-flight: tests/deploy_moto/account.rs.
#[path = "deploy_moto/account.rs"]
mod account;

use std::path::Path;
use std::time::{Duration, Instant};

use upstack_deploy::assets::{self, AssetFile};
use upstack_deploy::aws::{self, Pacing};
use upstack_deploy::bootstrap;
use upstack_deploy::deploy::{
    self, DeployClients, DeployOptions, DeployOutcome, DeployRequest, DriftHandling,
    RequireApproval,
};
use upstack_deploy::destroy::{self, DestroyOptions, DestroyOutcome};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_test_support::{
    ACCOUNT_ID as ACCOUNT, MotoServer, REGION, asset_key, fake_zip, pipeline_plan,
    pipeline_template,
};

/// moto answers in milliseconds: poll fast so the test measures upstack, not sleeps.
fn fast_pacing() -> Pacing {
    Pacing {
        poll_initial: Duration::from_millis(50),
        poll_max: Duration::from_millis(200),
        ..Pacing::default()
    }
}

/// The template the `upstack-dev` stack holds now, as CloudFormation returns it.
async fn deployed_template_body(cfn: &aws_sdk_cloudformation::Client) -> String {
    cfn.get_template()
        .stack_name("upstack-dev")
        .send()
        .await
        .unwrap()
        .template_body
        .unwrap()
}

/// The template the `upstack-dev` stack holds now.
async fn deployed_template(cfn: &aws_sdk_cloudformation::Client) -> serde_json::Value {
    serde_json::from_str(&deployed_template_body(cfn).await).unwrap()
}

/// The notify function's memory in the template the stack holds: what the
/// config-change deploys here change (moto's Lambda is not asked; see the
/// asset check in `bootstrap_deploy_noop_update_destroy`).
async fn notify_memory(cfn: &aws_sdk_cloudformation::Client) -> Option<i64> {
    deployed_template(cfn).await["Resources"]["NotifyFunction"]["Properties"]["MemorySize"].as_i64()
}

/// The zips of the three handlers (small valid zips, see the module doc),
/// each with the SHA-256 bundle would record.
pub(crate) fn fake_assets(out_dir: &Path) -> Vec<AssetFile> {
    ["notify", "ingest", "photo-check"]
        .into_iter()
        .map(|handler| {
            let path = fake_zip(out_dir, handler);
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
        .collect()
}

/// Clients for `config`'s account, with the asset bucket bootstrapped.
pub(crate) async fn bootstrapped(config: &aws_config::SdkConfig) -> DeployClients {
    let clients = DeployClients::new(config);
    bootstrap::bootstrap(
        &clients.s3,
        &bootstrap::asset_bucket(ACCOUNT, REGION),
        REGION,
        false,
    )
    .await
    .unwrap();
    clients
}

/// Deploys `request` approving every question, and fails the test (with
/// what the deploy said) unless it deployed; returns what it said.
pub(crate) async fn deploy_ok(
    clients: &DeployClients,
    request: &DeployRequest,
    options: &DeployOptions,
) -> RecordingReporter {
    let mut reporter = RecordingReporter::default();
    let outcome = deploy::deploy(
        clients,
        request,
        options,
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", reporter.lines.join("\n")));
    assert!(
        matches!(outcome, DeployOutcome::Deployed { .. }),
        "{outcome:?}\n{}",
        reporter.lines.join("\n")
    );
    reporter
}

/// The dev stack (functions' default memory `memory_mb`) with `assets`.
pub(crate) fn dev_request(out_dir: &Path, memory_mb: u32, assets: Vec<AssetFile>) -> DeployRequest {
    let synthesized = pipeline_plan(memory_mb);
    DeployRequest {
        manifest: synthesized.manifest,
        template_json: synthesized.template_json,
        region: REGION.into(),
        account: ACCOUNT.into(),
        assets,
        outputs_path: out_dir.join("dev/outputs.json"),
    }
}

/// [`dev_request`] with fresh [`fake_assets`] and a template of its own.
fn dev_plan(out_dir: &Path, template_json: String) -> DeployRequest {
    DeployRequest {
        template_json,
        ..dev_request(out_dir, 256, fake_assets(out_dir))
    }
}

pub(crate) fn options(id: &str) -> DeployOptions {
    DeployOptions {
        require_approval: RequireApproval::Broadening,
        allow_replace: false,
        wait_if_busy: false,
        pacing: fast_pacing(),
        deploy_id: id.into(),
        ignore_alarms: false,
        drift: DriftHandling::Skip,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_deploy_noop_update_destroy() {
    let moto = MotoServer::start();
    let config = moto.sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let s3 = aws::s3_client(&config);
    let work = tempfile::tempdir().unwrap();

    // The account moto answers for is the one the plans below name (the
    // STS code path itself is tested with aws.rs).
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.account(), Some(ACCOUNT));

    // Deploy before bootstrap says what to run.
    let plan = dev_plan(work.path(), pipeline_template(256));
    let clients = DeployClients::new(&config);
    let error = deploy::deploy(
        &clients,
        &plan,
        &options("0"),
        &mut RecordingReporter::default(),
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.contains("upstack bootstrap --env dev"), "{error}");

    // Bootstrap twice: created, then converged.
    let bucket = bootstrap::asset_bucket(ACCOUNT, REGION);
    let enforce_tls = bootstrap::tls_enforceable(config.endpoint_url());
    assert!(!enforce_tls, "moto is plain http");
    let first = bootstrap::bootstrap(&s3, &bucket, REGION, enforce_tls)
        .await
        .unwrap();
    assert!(first.created);
    let second = bootstrap::bootstrap(&s3, &bucket, REGION, enforce_tls)
        .await
        .unwrap();
    assert!(!second.created);
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    let block = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    // moto answers GetBucketVersioning with a root element the SDK rejects
    // (GetBucketVersioningResponse), so versioning is observed instead: two
    // writes of one key leave two versions.
    for body in ["one", "two"] {
        s3.put_object()
            .bucket(&bucket)
            .key("probe")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let versions = s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix("probe")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2);
    // The TLS-only policy, on a bucket of its own: moto enforces bucket
    // policies, so a plain-http request is then refused.
    let tls_bucket = format!("{bucket}-tls");
    bootstrap::bootstrap(&s3, &tls_bucket, REGION, true)
        .await
        .unwrap();
    let policy = s3
        .get_bucket_policy()
        .bucket(&tls_bucket)
        .send()
        .await
        .unwrap();
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"));
    let denied = s3
        .put_object()
        .bucket(&tls_bucket)
        .key("x")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        denied
            .raw_response()
            .map(|response| response.status().as_u16()),
        Some(403)
    );

    // First deploy: CREATE change set, executed.
    let mut reporter = RecordingReporter::default();
    let outcome = deploy::deploy(
        &clients,
        &plan,
        &options("1"),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", reporter.lines.join("\n")));
    let DeployOutcome::Deployed { outputs } = outcome else {
        panic!("{outcome:?}")
    };
    // moto returns no Outputs after ExecuteChangeSet, so deploy lists each
    // resource's physical id instead: exactly the stack's resources.
    let listed = cfn
        .describe_stack_resources()
        .stack_name("upstack-dev")
        .send()
        .await
        .unwrap();
    let expected: std::collections::BTreeMap<String, String> = listed
        .stack_resources()
        .iter()
        .filter_map(|resource| {
            Some((
                format!("{}.PhysicalId", resource.logical_resource_id()?),
                resource.physical_resource_id()?.to_owned(),
            ))
        })
        .collect();
    assert!(
        expected.contains_key("UploadBucket.PhysicalId"),
        "{expected:?}"
    );
    assert_eq!(outputs, expected);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan.outputs_path).unwrap()).unwrap();
    assert_eq!(written["stack"], "upstack-dev");
    let stack = cfn
        .describe_stacks()
        .stack_name("upstack-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stack.stacks()[0].stack_status().unwrap().as_str(),
        "CREATE_COMPLETE"
    );
    assert!(
        reporter
            .lines
            .iter()
            .any(|line| line.starts_with("assets: 3 uploaded")),
        "{:#?}",
        reporter.lines
    );

    // Each function's code, in the template the stack now holds, is the
    // object deploy uploaded from that handler's zip (S3 keeps its SHA-256),
    // and each function runs exactly those bytes (Lambda's CodeSha256).
    let deployed = deployed_template(&cfn).await;
    let asset_bucket = bootstrap::asset_bucket(ACCOUNT, REGION);
    let lambda = aws_sdk_lambda::Client::new(&config);
    for (handler, function) in [
        ("notify", "NotifyFunction"),
        ("ingest", "IngestFunction"),
        ("photo-check", "PhotoCheckFunction"),
    ] {
        let key = deployed["Resources"][function]["Properties"]["Code"]["S3Key"]
            .as_str()
            .unwrap_or_else(|| panic!("{function} has no Code.S3Key"));
        assert_eq!(key, asset_key(handler), "{function} runs another asset");
        let zip = std::fs::read(work.path().join(format!("{handler}.zip"))).unwrap();
        let checksum = assets::checksum_of_hex(&assets::sha256_hex(&zip)).unwrap();
        let uploaded = s3
            .head_object()
            .bucket(&asset_bucket)
            .key(key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .unwrap_or_else(|error| panic!("{handler}'s asset {key}: {error:?}"));
        assert_eq!(
            uploaded.checksum_sha256(),
            Some(checksum.as_str()),
            "{handler}'s uploaded asset is not its zip"
        );
        let name = format!("upstack-dev-{handler}");
        let running = lambda
            .get_function_configuration()
            .function_name(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            running.code_sha256(),
            Some(checksum.as_str()),
            "{name} does not run its zip"
        );
    }
    assert!(
        reporter
            .lines
            .iter()
            .any(|line| line
                .starts_with("code: each of the 3 function(s) runs the zip built for it")),
        "{:#?}",
        reporter.lines
    );
    // The upload bucket is encrypted with the stack's own key.
    let resources = cfn
        .describe_stack_resources()
        .stack_name("upstack-dev")
        .send()
        .await
        .unwrap();
    let physical = |logical: &str| {
        resources
            .stack_resources()
            .iter()
            .find(|r| r.logical_resource_id() == Some(logical))
            .and_then(|r| r.physical_resource_id())
            .unwrap_or_else(|| panic!("no {logical} in the stack"))
            .to_owned()
    };
    let encryption = s3
        .get_bucket_encryption()
        .bucket(physical("UploadBucket"))
        .send()
        .await
        .unwrap();
    let default = encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .clone();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    let key_id = physical("Key");
    assert!(
        default
            .kms_master_key_id()
            .unwrap_or_default()
            .contains(&key_id),
        "upload bucket key {:?}, stack key {key_id}",
        default.kms_master_key_id()
    );
    let tables = aws_sdk_dynamodb::Client::new(&config)
        .list_tables()
        .send()
        .await
        .unwrap();
    assert!(!tables.table_names().is_empty());
    let topics = aws_sdk_sns::Client::new(&config)
        .list_topics()
        .send()
        .await
        .unwrap();
    assert!(
        topics
            .topics()
            .iter()
            .any(|topic| topic.topic_arn().unwrap_or_default().ends_with(".fifo"))
    );
    let queues = aws_sdk_sqs::Client::new(&config)
        .list_queues()
        .send()
        .await
        .unwrap();
    assert!(
        queues.queue_urls().iter().any(|url| url.ends_with(".fifo")),
        "{:?}",
        queues.queue_urls()
    );

    // Same template again: no changes, quickly, assets skipped.
    let started = Instant::now();
    let mut reporter = RecordingReporter::default();
    let outcome = deploy::deploy(
        &clients,
        &plan,
        &options("2"),
        &mut reporter,
        &mut FixedAnswer(Answer::No),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, DeployOutcome::NoChanges, "{:#?}", reporter.lines);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no-change deploy took {:?}",
        started.elapsed()
    );
    assert!(
        reporter
            .lines
            .iter()
            .any(|line| line.starts_with("assets: 0 uploaded, 3 already")),
        "{:#?}",
        reporter.lines
    );

    // A config change (function memory) deploys as an update.
    let updated = dev_request(work.path(), 1024, plan.assets.clone());
    deploy_ok(&clients, &updated, &options("3")).await;
    let stack = cfn
        .describe_stacks()
        .stack_name("upstack-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stack.stacks()[0].stack_status().unwrap().as_str(),
        "UPDATE_COMPLETE"
    );
    assert_eq!(notify_memory(&cfn).await, Some(1024));

    // Destroy without approval changes nothing; with it, the stack is gone.
    let destroy_options = DestroyOptions {
        disable_termination_protection: false,
        pacing: fast_pacing(),
        client_token: "d-1".into(),
    };
    let outcome = destroy::destroy(
        &cfn,
        "dev",
        "upstack-dev",
        &destroy_options,
        &mut RecordingReporter::default(),
        &mut FixedAnswer(Answer::NoTerminal),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, DestroyOutcome::NotApproved);
    let mut reporter = RecordingReporter::default();
    let outcome = destroy::destroy(
        &cfn,
        "dev",
        "upstack-dev",
        &destroy_options,
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", reporter.lines.join("\n")));
    assert!(
        matches!(outcome, DestroyOutcome::Destroyed { .. }),
        "{outcome:?}"
    );
    let gone = upstack_deploy::stack::describe(&cfn, "upstack-dev")
        .await
        .unwrap();
    assert_eq!(gone, None);
}

/// A first deploy of the dev template with `padding` bytes of Metadata to a
/// fresh, bootstrapped moto.
struct PaddedDeploy {
    clients: DeployClients,
    indented_bytes: usize,
    compact: String,
    lines: Vec<String>,
    uploaded_templates: usize,
}

async fn deploy_padded(moto: &MotoServer, padding: usize) -> PaddedDeploy {
    let config = moto.sdk_config().await;
    let clients = bootstrapped(&config).await;
    let work = tempfile::tempdir().unwrap();
    let mut template: serde_json::Value = serde_json::from_str(&pipeline_template(256)).unwrap();
    template["Resources"]["Table"]["Metadata"] =
        serde_json::json!({ "Padding": "x".repeat(padding) });
    let indented = serde_json::to_string_pretty(&template).unwrap();
    let compact = serde_json::to_string(&template).unwrap();
    let plan = dev_plan(work.path(), indented.clone());
    let reporter = deploy_ok(&clients, &plan, &options("padded")).await;
    let uploaded = clients
        .s3
        .list_objects_v2()
        .bucket(bootstrap::asset_bucket(ACCOUNT, REGION))
        .prefix("templates/")
        .send()
        .await
        .unwrap();
    PaddedDeploy {
        clients,
        indented_bytes: indented.len(),
        compact,
        lines: reporter.lines,
        uploaded_templates: uploaded.contents().len(),
    }
}

/// The synthesized file is indented; deploy sends the compact form, which
/// is what synth's validation measured against the inline limit. A template
/// over 51,200 bytes indented but not compact goes inline, uploads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_over_the_limit_only_when_indented_is_sent_inline() {
    let moto = MotoServer::start();
    let deployed = deploy_padded(&moto, 4_000).await;
    assert!(
        deployed.indented_bytes > 51_200 && deployed.compact.len() < 51_200,
        "indented {} / compact {} bytes",
        deployed.indented_bytes,
        deployed.compact.len()
    );
    assert!(
        !deployed
            .lines
            .iter()
            .any(|line| line.contains("passed by URL")),
        "{:#?}",
        deployed.lines
    );
    assert_eq!(deployed.uploaded_templates, 0);
    let stored = deployed
        .clients
        .cloudformation
        .get_template()
        .stack_name("upstack-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(stored.template_body(), Some(deployed.compact.as_str()));
}

/// A template over TemplateBody's 51,200 bytes goes via the asset bucket
/// (TemplateURL), and moto's CloudFormation reads it back from moto's S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_over_the_body_limit_is_passed_by_url() {
    let moto = MotoServer::start();
    let deployed = deploy_padded(&moto, 52_000).await;
    assert!(deployed.compact.len() > 51_200);
    assert!(
        deployed
            .lines
            .iter()
            .any(|line| line.contains("passed by URL https://upstack-assets-")),
        "{:#?}",
        deployed.lines
    );
    assert_eq!(deployed.uploaded_templates, 1);
}
