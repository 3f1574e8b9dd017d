//! What runs is what was built, against moto: a zip planted under an asset
//! key before the first deploy is refused (and nothing is uploaded or
//! deployed); an asset replaced between `--prepare` and `--execute` makes
//! the plan stale (exit 5, the stack untouched); a function whose code was
//! changed outside the deploy is named after the next deploy; the asset
//! bucket's objects are write-once.
//!
//! moto limitations: moto does not check a `ChecksumSHA256` against the body
//! (a wrong one is stored as given), and answers a policy-denied request
//! with an empty 403; S3's own refusals (BadDigest, a conditional write's
//! 409) are covered with recorded responses in tests/assets_recorded.rs.
//! Bucket-policy conditions are evaluated on moto by the patch in
//! scripts/moto/upstack_moto_patches.py (moto itself ignores them).

use aws_sdk_s3::primitives::ByteStream;
use upstack_deploy::assets::{self, AssetError};
use upstack_deploy::bootstrap;
use upstack_deploy::deploy::{self, DeployClients, DeployError};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_deploy::plan::StaleReason;
use upstack_deploy::status::CodeReport;
use upstack_test_support::{ACCOUNT_ID as ACCOUNT, MotoServer, REGION, asset_key};

use super::{bootstrapped, deploy_ok, dev_request, fake_assets, options};

fn bucket() -> String {
    bootstrap::asset_bucket(ACCOUNT, REGION)
}

/// A PutObject of `body` under `key`, conditional as the bucket demands
/// (what anyone with the plan role, or an attacker who has it, can do).
async fn plant(clients: &DeployClients, key: &str, body: &[u8]) {
    clients
        .s3
        .put_object()
        .bucket(bucket())
        .key(key)
        .if_none_match("*")
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap();
}

async fn exists(clients: &DeployClients, key: &str) -> bool {
    clients
        .s3
        .head_object()
        .bucket(bucket())
        .key(key)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_planted_under_an_asset_key_before_the_first_deploy_is_refused() {
    let moto = MotoServer::start();
    let clients = bootstrapped(&moto.sdk_config().await).await;
    let work = tempfile::tempdir().unwrap();
    let request = dev_request(work.path(), 256, fake_assets(work.path()));
    // Someone who can compute notify's key uploads their own zip first.
    plant(&clients, &asset_key("notify"), b"planted code").await;

    let mut reporter = RecordingReporter::default();
    let error = deploy::deploy(
        &clients,
        &request,
        &options("planted"),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    let DeployError::Assets(AssetError::Mismatch {
        key, stored, local, ..
    }) = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(key, &asset_key("notify"));
    assert_eq!(stored, &assets::sha256_hex(b"planted code"));
    assert_eq!(local, &request.assets[0].sha256);
    let message = error.to_string();
    assert!(
        message.contains("holds other bytes than the zip built for it")
            && message.contains("nothing was uploaded"),
        "{message}"
    );
    // Nothing was uploaded (the other keys are still free) and no stack made.
    for handler in ["ingest", "photo-check"] {
        assert!(!exists(&clients, &asset_key(handler)).await, "{handler}");
    }
    let stack = upstack_deploy::stack::describe(&clients.cloudformation, "upstack-dev")
        .await
        .unwrap();
    assert_eq!(stack, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asset_objects_are_write_once() {
    let moto = MotoServer::start();
    let clients = bootstrapped(&moto.sdk_config().await).await;
    let key = "assets/notify-arm64-writeonce.zip";
    // Unconditional writes are denied by the bucket policy...
    let denied = clients
        .s3
        .put_object()
        .bucket(bucket())
        .key(key)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        denied.raw_response().map(|raw| raw.status().as_u16()),
        Some(403)
    );
    // ...conditional ones succeed once, then the key is taken.
    plant(&clients, key, b"first").await;
    let taken = clients
        .s3
        .put_object()
        .bucket(bucket())
        .key(key)
        .if_none_match("*")
        .body(ByteStream::from_static(b"second"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        taken.raw_response().map(|raw| raw.status().as_u16()),
        Some(412)
    );
    // Outside the asset and template prefixes nothing changes.
    clients
        .s3
        .put_object()
        .bucket(bucket())
        .key("other/probe")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asset_replaced_between_prepare_and_execute_makes_the_plan_stale() {
    let moto = MotoServer::start();
    let clients = bootstrapped(&moto.sdk_config().await).await;
    let work = tempfile::tempdir().unwrap();
    let request = dev_request(work.path(), 256, fake_assets(work.path()));
    let mut reporter = RecordingReporter::default();
    let prepared = deploy::prepare(
        &clients,
        &request,
        &options("p"),
        &mut reporter,
        &mut FixedAnswer(Answer::NoTerminal),
        std::future::pending(),
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", reporter.lines.join("\n")));
    let deploy::PrepareOutcome::Ready(plan) = prepared else {
        panic!("{prepared:?}")
    };
    // An administrator (or an attacker with delete rights) swaps notify's
    // object: deleted, then other bytes written under the same key.
    let key = asset_key("notify");
    clients
        .s3
        .delete_object()
        .bucket(bucket())
        .key(&key)
        .send()
        .await
        .unwrap();
    plant(&clients, &key, b"swapped code").await;
    // ingest's object is deleted and written again with the same bytes: a
    // new version, which the plan never saw either.
    let ingest = &request.assets[1];
    clients
        .s3
        .delete_object()
        .bucket(bucket())
        .key(&ingest.key)
        .send()
        .await
        .unwrap();
    plant(&clients, &ingest.key, &std::fs::read(&ingest.path).unwrap()).await;

    let target = deploy::ExecuteTarget {
        env: "dev".into(),
        account: ACCOUNT.into(),
        region: REGION.into(),
        outputs_path: work.path().join("outputs.json"),
    };
    let mut reporter = RecordingReporter::default();
    let result = deploy::execute(
        &clients,
        &plan,
        &target,
        &options("e"),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await;
    let Err(DeployError::StalePlan { reasons, .. }) = result else {
        panic!("{result:?}\n{}", reporter.lines.join("\n"))
    };
    assert!(
        reasons.iter().any(|reason| matches!(
            reason,
            StaleReason::AssetChanged { key: changed, sha256, .. }
                if *changed == key && *sha256 == assets::sha256_hex(b"swapped code")
        )),
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|reason| matches!(
            reason,
            StaleReason::AssetReplaced { key: replaced, .. } if *replaced == ingest.key
        )),
        "{reasons:#?}"
    );
    // Touched nothing: the CREATE change set was not executed.
    let stack = upstack_deploy::stack::describe(&clients.cloudformation, "upstack-dev")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stack.status.as_str(), "REVIEW_IN_PROGRESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_changed_outside_the_deploy_is_named_after_the_next_deploy() {
    let moto = MotoServer::start();
    let clients = bootstrapped(&moto.sdk_config().await).await;
    let work = tempfile::tempdir().unwrap();
    let request = dev_request(work.path(), 256, fake_assets(work.path()));
    deploy_ok(&clients, &request, &options("1")).await;
    // Someone uploads other code to the function in the console.
    let other = upstack_test_support::fake_zip(work.path(), "console-edit");
    clients
        .lambda
        .update_function_code()
        .function_name("upstack-dev-notify")
        .zip_file(aws_sdk_lambda::primitives::Blob::new(
            std::fs::read(&other).unwrap(),
        ))
        .send()
        .await
        .unwrap();
    // The next deploy has nothing to change, and says the code is not what was built.
    let mut reporter = RecordingReporter::default();
    let error = deploy::deploy(
        &clients,
        &request,
        &options("2"),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    let DeployError::CodeMismatch(mismatch) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(mismatch.functions.len(), 1, "{error}");
    let notify = &mismatch.functions[0];
    assert_eq!(notify.function_name, "upstack-dev-notify");
    assert_eq!(
        notify.running_sha256.as_deref(),
        Some(assets::sha256_hex(&std::fs::read(&other).unwrap()).as_str())
    );
    assert_eq!(
        notify.expected_sha256.as_deref(),
        Some(request.assets[0].sha256.as_str())
    );
    assert!(error.to_string().contains("upstack-dev-notify"), "{error}");

    // `status` shows it too, until it is fixed, and needs attention (exit 2).
    let config = moto.sdk_config().await;
    let report = upstack_deploy::status::gather(
        &upstack_deploy::status::StatusClients::new(&config),
        &request.manifest,
        &bucket(),
        ACCOUNT,
        std::time::SystemTime::now(),
    )
    .await
    .unwrap();
    let code: Vec<(&str, &CodeReport)> = report
        .functions
        .iter()
        .map(|function| (function.name.as_str(), &function.code))
        .collect();
    assert!(
        matches!(code[0], ("upstack-dev-notify", CodeReport::Differs { running, deployed })
            if *running == assets::sha256_hex(&std::fs::read(&other).unwrap())
                && *deployed == request.assets[0].sha256),
        "{code:#?}"
    );
    for (name, state) in &code[1..] {
        assert!(
            matches!(state, CodeReport::AsDeployed { .. }),
            "{name}: {state:?}"
        );
    }
    assert!(report.needs_attention());
    let text = upstack_deploy::status::render_text(&report);
    assert!(
        text.contains(
            "CODE: 1 function(s) do not run the code of the last deploy: upstack-dev-notify"
        ),
        "{text}"
    );
}
