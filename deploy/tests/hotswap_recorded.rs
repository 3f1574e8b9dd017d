//! A hotswap's Lambda calls against recorded answers, for what moto cannot
//! show: moto's UpdateFunctionCode is done at once (`LastUpdateStatus` is
//! `Successful` on the first read), never fails an update, never answers
//! ResourceConflictException (an update already in progress), and knows no
//! status but its own.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use aws_sdk_lambda::Client as Lambda;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::tag_resource::TagResourceOutput;
use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput;
use aws_sdk_lambda::types::{LastUpdateStatus, LastUpdateStatusReasonCode};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use upstack_deploy::aws::{ManualClock, Pacing};
use upstack_deploy::deploy::hotswap::{self, HotswapError, RECORD_TAG};
use upstack_stack::ManifestFunction;

const BUCKET: &str = "upstack-assets-123456789012-eu-west-1";
const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:upstack-dev-notify";

fn lambda(rules: &[&Rule]) -> Lambda {
    mock_client!(aws_sdk_lambda, RuleMode::Sequential, rules, |config| config
        .retry_config(RetryConfig::disabled()))
}

fn notify() -> ManifestFunction {
    let work = tempfile::tempdir().unwrap();
    let manifest = crate::deploy_moto::dev_request(work.path(), 256, Vec::new()).manifest;
    let mut notify = manifest.functions[0].clone();
    assert_eq!(notify.function_name, "upstack-dev-notify");
    notify.asset_key = "assets/notify-arm64-fedcba9876543210.zip".into();
    notify
}

/// What `update_code` of notify fails with, given `client`'s answers and
/// `clock` as the pacing's clock.
async fn refusal(client: &Lambda, clock: ManualClock) -> HotswapError {
    hotswap::update_code(
        client,
        BUCKET,
        &notify(),
        &Pacing::with_clock(Arc::new(clock)),
    )
    .await
    .unwrap_err()
}

fn accepted() -> Rule {
    mock!(Lambda::update_function_code)
        .match_requests(|request| {
            request.s3_bucket() == Some(BUCKET)
                && request.s3_key() == Some("assets/notify-arm64-fedcba9876543210.zip")
        })
        .then_output(|| {
            UpdateFunctionCodeOutput::builder()
                .function_arn(ARN)
                .build()
        })
}

fn tagged() -> Rule {
    mock!(Lambda::tag_resource)
        .match_requests(|request| {
            request.resource() == Some(ARN)
                && request
                    .tags()
                    .and_then(|tags| tags.get(RECORD_TAG))
                    .map(String::as_str)
                    == Some("assets/notify-arm64-fedcba9876543210.zip")
        })
        .then_output(|| TagResourceOutput::builder().build())
}

fn status(status: LastUpdateStatus, reason: Option<(&'static str, &'static str)>) -> Rule {
    mock!(Lambda::get_function_configuration).then_output(move || {
        let mut output = GetFunctionConfigurationOutput::builder()
            .function_name("upstack-dev-notify")
            .last_update_status(status.clone());
        if let Some((code, reason)) = reason {
            output = output
                .last_update_status_reason_code(LastUpdateStatusReasonCode::from(code))
                .last_update_status_reason(reason);
        }
        output.build()
    })
}

#[tokio::test]
async fn in_progress_is_polled_with_the_pacing_clock_until_successful() {
    let clock = ManualClock::default();
    let pacing = Pacing::with_clock(Arc::new(clock.clone()));
    let client = lambda(&[
        &accepted(),
        &tagged(),
        &status(LastUpdateStatus::InProgress, None),
        &status(LastUpdateStatus::InProgress, None),
        &status(LastUpdateStatus::Successful, None),
    ]);
    hotswap::update_code(&client, BUCKET, &notify(), &pacing)
        .await
        .unwrap();
    assert_eq!(
        clock.sleeps(),
        [pacing.poll_initial, pacing.next_poll(pacing.poll_initial)]
    );
}

#[tokio::test]
async fn a_failed_update_names_the_function_and_lambdas_reason() {
    let clock = ManualClock::default();
    let client = lambda(&[
        &accepted(),
        &tagged(),
        &status(LastUpdateStatus::InProgress, None),
        &status(
            LastUpdateStatus::Failed,
            Some(("InvalidZipFileException", "Could not unzip uploaded file.")),
        ),
    ]);
    let error = refusal(&client, clock).await;
    assert!(
        matches!(error, HotswapError::UpdateFailed { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.starts_with("upstack-dev-notify:"), "{text}");
    assert!(text.contains("InvalidZipFileException"), "{text}");
    assert!(text.contains("Could not unzip uploaded file."), "{text}");
}

#[tokio::test]
async fn an_unknown_status_is_refused_not_waited_on() {
    let clock = ManualClock::default();
    let client = lambda(&[
        &accepted(),
        &tagged(),
        &status(LastUpdateStatus::from("Paused"), None),
    ]);
    let error = refusal(&client, clock.clone()).await;
    assert!(
        matches!(error, HotswapError::UnknownStatus { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("`Paused`"), "{error}");
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn an_update_in_progress_is_a_conflict_naming_the_function_and_nothing_is_tagged() {
    let conflict = mock!(Lambda::update_function_code).then_http_response(|| {
        error_response(
            409,
            "ResourceConflictException",
            "The operation cannot be performed at this time. An update is in progress for resource: upstack-dev-notify",
        )
    });
    // Sequential rules: a TagResource after the conflict would find no rule and fail the test.
    let client = lambda(&[&conflict]);
    let error = refusal(&client, ManualClock::default()).await;
    assert!(matches!(error, HotswapError::Conflict { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.starts_with("upstack-dev-notify:"), "{text}");
    assert!(text.contains("An update is in progress"), "{text}");
}

/// Lambda's answer for an error: the status, its type in a header, the message.
fn error_response(status: u16, error_type: &'static str, message: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"Type":"User","message":"{message}"}}"#)),
    );
    response
        .headers_mut()
        .insert("x-amzn-ErrorType", error_type);
    response
}

fn lambda_error(status: u16, error_type: &'static str, message: &'static str) -> Rule {
    mock!(Lambda::get_function_configuration)
        .then_http_response(move || error_response(status, error_type, message))
}

/// The code check after a deploy reads each function's CodeSha256: a
/// function that does not exist is `None` (reported as missing), and any
/// other refusal is an error, never taken for a missing function (moto
/// answers every GetFunctionConfiguration; these are recorded answers).
#[tokio::test]
async fn the_code_check_tells_a_missing_function_from_a_refused_read() {
    let missing = lambda_error(
        404,
        "ResourceNotFoundException",
        "Function not found: upstack-dev-notify",
    );
    let client = lambda(&[&missing]);
    assert_eq!(
        upstack_deploy::deploy::running_code(&client, "upstack-dev-notify")
            .await
            .unwrap(),
        None
    );
    let denied = lambda_error(
        403,
        "AccessDeniedException",
        "not authorized to perform: lambda:GetFunctionConfiguration",
    );
    let client = lambda(&[&denied]);
    let error = upstack_deploy::deploy::running_code(&client, "upstack-dev-notify")
        .await
        .unwrap_err();
    assert_eq!(error.code.as_deref(), Some("AccessDeniedException"));
}

/// Lambda took the code but the record could not be written (no
/// lambda:TagResource, say): said as such, never a silent hotswap.
#[tokio::test]
async fn code_set_without_its_record_is_an_error_that_says_so() {
    let refused = mock!(Lambda::tag_resource).then_http_response(|| {
        error_response(
            403,
            "AccessDeniedException",
            "not authorized to perform: lambda:TagResource",
        )
    });
    let client = lambda(&[&accepted(), &refused]);
    let error = refusal(&client, ManualClock::default()).await;
    assert!(
        matches!(error, HotswapError::Unrecorded { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.starts_with("upstack-dev-notify: Lambda took the new code (assets/notify-arm64-fedcba9876543210.zip)"), "{text}");
    assert!(text.contains("lambda:TagResource"), "{text}");
    assert!(
        text.contains("a deploy without --hotswap sets it back"),
        "{text}"
    );
}

/// GetFunction leaves the tags out for a caller without lambda:ListTags and
/// says why: that is refused, never read as "no hotswap record".
#[tokio::test]
async fn tags_withheld_from_the_caller_are_an_error_not_an_absent_record() {
    let withheld = mock!(Lambda::get_function).then_output(|| {
        aws_sdk_lambda::operation::get_function::GetFunctionOutput::builder()
            .tags_error(
                aws_sdk_lambda::types::TagsError::builder()
                    .error_code("AccessDeniedException")
                    .message("not authorized to perform: lambda:ListTags")
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let client = lambda(&[&withheld]);
    let work = tempfile::tempdir().unwrap();
    let mut manifest = crate::deploy_moto::dev_request(work.path(), 256, Vec::new()).manifest;
    manifest.functions.truncate(1);
    let error = hotswap::records(&client, &manifest).await.unwrap_err();
    assert_eq!(error.code.as_deref(), Some("AccessDeniedException"));
    assert!(
        error.message.contains("upstack-dev-notify") && error.message.contains("lambda:ListTags"),
        "{error}"
    );
}
