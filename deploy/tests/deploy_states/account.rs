//! The account pre-flight against recorded Lambda answers, for what moto
//! cannot show: a new account's quota of 10 (moto's is 1000 unless its
//! server's environment says otherwise), code sizes at Lambda's limits, and
//! a role that may not call GetAccountSettings (moto allows every call).
//! CloudFormation and S3 have no recorded answers: any call to them fails
//! the test, so a refusal is proven to come before any change set or upload.

use aws_sdk_lambda::Client as Lambda;
use aws_sdk_lambda::operation::get_account_settings::GetAccountSettingsOutput;
use aws_sdk_lambda::operation::get_function::GetFunctionError;
use aws_sdk_lambda::types::error::ResourceNotFoundException;
use aws_sdk_lambda::types::{AccountLimit, AccountUsage};
use upstack_deploy::deploy::{DeployClients, DeployError};

use super::*;

/// GetAccountSettings answering `limit` concurrency (all unreserved), AWS's
/// default code limits; GetFunction: no function deployed yet.
fn lambda(limit: i32) -> Lambda {
    let settings = mock!(Lambda::get_account_settings).then_output(move || {
        GetAccountSettingsOutput::builder()
            .account_limit(
                AccountLimit::builder()
                    .concurrent_executions(limit)
                    .unreserved_concurrent_executions(limit)
                    .code_size_unzipped(262_144_000)
                    .code_size_zipped(52_428_800)
                    .total_code_size(80_530_636_800)
                    .build(),
            )
            .account_usage(AccountUsage::builder().total_code_size(0).build())
            .build()
    });
    let missing = mock!(Lambda::get_function).then_error(|| {
        GetFunctionError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Function not found")
                .meta(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .build(),
                )
                .build(),
        )
    });
    mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[&settings, &missing])
}

/// The real dev stack (3 functions reserving 5 each, its alarms left out)
/// and 1-byte "zips".
fn dev_request(dir: &std::path::Path, unzipped_size: u64) -> DeployRequest {
    let mut synthesized = upstack_test_support::pipeline_plan(256);
    // The alarm pre-flight is tested in alarms.rs.
    synthesized.manifest.alarms = Default::default();
    let assets = synthesized
        .manifest
        .functions
        .iter()
        .map(|function| upstack_deploy::assets::AssetFile {
            key: function.asset_key.clone(),
            path: dir.join(format!("{}.zip", function.handler)),
            sha256: "0".repeat(64),
            size: 1,
            unzipped_size,
        })
        .collect();
    DeployRequest {
        manifest: synthesized.manifest,
        template_json: synthesized.template_json,
        region: "eu-west-1".into(),
        account: "123456789012".into(),
        assets,
        outputs_path: dir.join("outputs.json"),
    }
}

fn clients(lambda: Lambda) -> DeployClients {
    DeployClients {
        cloudformation: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[] as &[&Rule]),
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[] as &[&Rule]),
        cloudwatch: no_cloudwatch(),
        lambda,
        drift: None,
    }
}

async fn deploy_error(clients: &DeployClients, request: &DeployRequest) -> DeployError {
    let clock = ManualClock::default();
    deploy::deploy(
        clients,
        request,
        &options(&clock, RequireApproval::Never, false),
        &mut RecordingReporter::default(),
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_err()
}

#[tokio::test]
async fn a_new_accounts_quota_of_10_is_refused_before_any_change() {
    let dir = tempfile::tempdir().unwrap();
    let error = deploy_error(&clients(lambda(10)), &dev_request(dir.path(), 1)).await;
    assert!(matches!(error, DeployError::AccountLimits(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "account 123456789012 in eu-west-1 allows 10 concurrent executions; the stack reserves 15 (notify 5, ingest 5, photo-check 5) and Lambda keeps 100 unreserved: lower reserved_concurrency in envs/dev.toml (or remove it) or request a concurrency quota of at least 115; nothing was changed"
    );
}

#[tokio::test]
async fn a_binary_over_lambdas_unzipped_limit_is_refused_before_any_upload() {
    let dir = tempfile::tempdir().unwrap();
    let error = deploy_error(
        &clients(lambda(1000)),
        &dev_request(dir.path(), 262_144_001),
    )
    .await;
    let message = error.to_string();
    assert!(
        message.starts_with("account 123456789012 in eu-west-1 cannot take this stack; nothing was changed:\n  - notify's code is 262144001 bytes unzipped; Lambda in account 123456789012 in eu-west-1 takes at most 262144000"),
        "{message}"
    );
    assert_eq!(message.matches("bytes unzipped").count(), 3, "{message}");
}

#[tokio::test]
async fn a_role_that_may_not_read_the_settings_skips_the_check_and_says_so() {
    let denied = mock!(Lambda::get_account_settings).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from(
                r#"{"__type":"AccessDeniedException","Message":"not authorized to perform: lambda:GetAccountSettings"}"#,
            ),
        )
    });
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[&denied]);
    let dir = tempfile::tempdir().unwrap();
    let request = dev_request(dir.path(), 1);
    let mut reporter = RecordingReporter::default();
    upstack_deploy::deploy::preflight_account(
        &lambda,
        &request.manifest,
        "123456789012",
        "eu-west-1",
        Some(&request.assets),
        &mut reporter,
    )
    .await
    .unwrap();
    let said = reporter.lines.join("\n");
    assert!(
        said.contains("warning: account pre-flight skipped") && said.contains("AccessDenied"),
        "{said}"
    );
}
