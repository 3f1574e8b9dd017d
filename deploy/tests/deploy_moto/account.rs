//! The account pre-flight against moto: GetAccountSettings, which moto
//! 5.2.5 lacks, is answered by the patch in
//! scripts/moto/upstack_moto_patches.py from moto's own Lambda backend (the
//! default quota of 1000, every function's reservation, their code sizes),
//! so these tests run the real calls: a deploy whose reservations do not
//! fit is refused before anything is uploaded or a change set made, and
//! goes through once they fit.

use aws_sdk_lambda::primitives::Blob;
use upstack_deploy::deploy::{self, DeployClients, DeployError};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_test_support::{ACCOUNT_ID as ACCOUNT, MotoServer, REGION, fake_zip};

use super::{deploy_ok, dev_request, fake_assets, options};

/// A function outside the stack, reserving `reserved` of the account's 1000.
async fn other_function(config: &aws_config::SdkConfig, dir: &std::path::Path, reserved: i32) {
    let role = aws_sdk_iam::Client::new(config)
        .create_role()
        .role_name("other-function")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(config);
    lambda
        .create_function()
        .function_name("other-function")
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role.role().unwrap().arn())
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(Blob::new(std::fs::read(fake_zip(dir, "other")).unwrap()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    set_reservation(&lambda, reserved).await;
}

async fn set_reservation(lambda: &aws_sdk_lambda::Client, reserved: i32) {
    lambda
        .put_function_concurrency()
        .function_name("other-function")
        .reserved_concurrent_executions(reserved)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_that_do_not_fit_refuse_before_any_change_then_deploy_once_they_fit() {
    let moto = MotoServer::start();
    let config = moto.sdk_config().await;
    let work = tempfile::tempdir().unwrap();
    let clients = DeployClients::new(&config);
    let bucket = upstack_deploy::bootstrap::asset_bucket(ACCOUNT, REGION);
    upstack_deploy::bootstrap::bootstrap(&clients.s3, &bucket, REGION, false)
        .await
        .unwrap();
    // 990 reserved elsewhere leaves 10: the dev stack's 3 x 5 would leave -5.
    other_function(&config, work.path(), 990).await;

    let request = dev_request(work.path(), 256, fake_assets(work.path()));
    let error = deploy::deploy(
        &clients,
        &request,
        &options("1"),
        &mut RecordingReporter::default(),
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, DeployError::AccountLimits(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "account 123456789012 in eu-west-1 allows 1000 concurrent executions; the stack reserves 15 (notify 5, ingest 5, photo-check 5), other functions in the account reserve 990 and Lambda keeps 100 unreserved: lower reserved_concurrency in envs/dev.toml (or remove it) or request a concurrency quota of at least 1105; nothing was changed"
    );
    // Nothing was created: no stack (a CREATE change set would have made
    // one, in REVIEW_IN_PROGRESS) and no asset uploaded.
    let stacks = clients
        .cloudformation
        .describe_stacks()
        .stack_name("upstack-dev")
        .send()
        .await;
    assert!(stacks.is_err(), "no stack: {stacks:?}");
    let uploaded = clients
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("assets/")
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.key_count(), Some(0), "{uploaded:?}");

    // 885 elsewhere: 885 + 15 + 100 = 1000, exactly the quota.
    set_reservation(&clients.lambda, 885).await;
    deploy_ok(&clients, &request, &options("2")).await;
    let notify = clients
        .lambda
        .get_function()
        .function_name("upstack-dev-notify")
        .send()
        .await
        .unwrap();
    assert_eq!(
        notify
            .concurrency()
            .and_then(|concurrency| concurrency.reserved_concurrent_executions()),
        Some(5)
    );
}
