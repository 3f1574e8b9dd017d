//! Change set lifecycle against recorded CloudFormation responses.
//!
//! moto creates change sets synchronously (CREATE_COMPLETE on the first
//! DescribeChangeSet) and never reports the "didn't contain changes" FAILED
//! status, pagination, or throttling, so those paths are covered here.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ExecutionStatus, Replacement, ResourceChange,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use upstack_deploy::aws::{ManualClock, Pacing};
use upstack_deploy::changeset::{
    self, ChangeSetHandle, ChangeSetKind, ChangeSetRequest, ChangeSetState, TemplateSource,
};

fn pacing(clock: &ManualClock) -> Pacing {
    Pacing::with_clock(Arc::new(clock.clone()))
}

fn status(status: ChangeSetStatus, reason: Option<&str>) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .status(status)
        .set_status_reason(reason.map(str::to_owned))
        .execution_status(ExecutionStatus::Unavailable)
        .build()
}

fn change(logical_id: &str, action: ChangeAction, replacement: Option<Replacement>) -> Change {
    Change::builder()
        .resource_change(
            ResourceChange::builder()
                .logical_resource_id(logical_id)
                .resource_type("AWS::S3::Bucket")
                .action(action)
                .set_replacement(replacement)
                .build(),
        )
        .build()
}

/// The execution role a change set is created with (`RoleARN`).
const ROLE: &str = "arn:aws:iam::123456789012:role/upstack-ci/upstack-dev-cfn-exec";

#[tokio::test]
async fn create_sends_named_iam_capability_tags_token_and_template() {
    let rule = mock!(Client::create_change_set)
        .match_requests(|request| {
            request.stack_name() == Some("upstack-dev")
                && request.change_set_type().map(|kind| kind.as_str()) == Some("CREATE")
                && request
                    .capabilities()
                    .iter()
                    .any(|capability| capability.as_str() == "CAPABILITY_NAMED_IAM")
                && request
                    .tags()
                    .iter()
                    .any(|tag| tag.key() == Some("env") && tag.value() == Some("dev"))
                && request.client_token() == Some("token-1")
                && request.template_url() == Some("https://bucket.s3.amazonaws.com/t.json")
                && request.template_body().is_none()
                && request.role_arn() == Some(ROLE)
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("arn:cs/1")
                .stack_id("arn:stack/1")
                .build()
        });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &[&rule]);
    let request = ChangeSetRequest {
        stack_name: "upstack-dev".into(),
        change_set_name: ChangeSetRequest::default_name(1),
        kind: ChangeSetKind::Create,
        template: TemplateSource::Url("https://bucket.s3.amazonaws.com/t.json".into()),
        tags: vec![("env".into(), "dev".into())],
        client_token: "token-1".into(),
        description: None,
        role_arn: Some(ROLE.into()),
        revert_drift: false,
    };
    let handle = changeset::create(&client, &request).await.unwrap();
    assert_eq!(handle.id, "arn:cs/1");
    assert_eq!(handle.stack_id.as_deref(), Some("arn:stack/1"));
    assert_eq!(rule.num_calls(), 1);
}

/// `deploy --revert-drift`: the update's change set is drift-aware
/// (`DeploymentMode: REVERT_DRIFT`); a stack's first change set cannot be,
/// and is sent without it. moto ignores the parameter, so the request is
/// checked here.
#[tokio::test]
async fn revert_drift_makes_an_update_change_set_drift_aware() {
    for (kind, expected) in [
        (ChangeSetKind::Update, Some("REVERT_DRIFT")),
        (ChangeSetKind::Create, None),
    ] {
        let rule = mock!(Client::create_change_set)
            .match_requests(move |request| {
                request.deployment_mode().map(|mode| mode.as_str()) == expected
            })
            .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/1").build());
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &[&rule]);
        let request = ChangeSetRequest {
            stack_name: "upstack-dev".into(),
            change_set_name: ChangeSetRequest::default_name(1),
            kind,
            template: TemplateSource::Body("{}".into()),
            tags: Vec::new(),
            client_token: "token-1".into(),
            description: None,
            role_arn: None,
            revert_drift: true,
        };
        changeset::create(&client, &request).await.unwrap();
        assert_eq!(rule.num_calls(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn waits_with_backoff_then_returns_every_page_of_changes() {
    let pending = mock!(Client::describe_change_set)
        .sequence()
        .output(|| status(ChangeSetStatus::CreatePending, None))
        .output(|| status(ChangeSetStatus::CreateInProgress, None))
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .execution_status(ExecutionStatus::Available)
                .changes(change(
                    "Uploads",
                    ChangeAction::Modify,
                    Some(Replacement::True),
                ))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .execution_status(ExecutionStatus::Available)
                .changes(change("Table", ChangeAction::Add, None))
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &[&pending]);
    let clock = ManualClock::default();
    let handle = ChangeSetHandle::existing("upstack-dev", "upstack-1");
    let state = changeset::wait_until_ready(&client, &handle, &pacing(&clock))
        .await
        .unwrap();
    let ChangeSetState::Ready(description) = state else {
        panic!("expected ready, got {state:?}")
    };
    assert!(description.is_executable());
    let ids: Vec<_> = description
        .changes
        .iter()
        .map(|change| change.logical_id.as_str())
        .collect();
    assert_eq!(ids, ["Uploads", "Table"]);
    assert_eq!(
        description.changes[0].view.replacement,
        Some(upstack_diff::ChangeSetReplacement::True)
    );
    // Two polls that were not ready: two pauses, the second longer.
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    assert!(sleeps[1] > sleeps[0], "{sleeps:?}");
}

#[tokio::test]
async fn empty_change_set_is_reported_as_no_changes() {
    let rule = mock!(Client::describe_change_set).then_output(|| {
        status(
            ChangeSetStatus::Failed,
            Some("The submitted information didn't contain changes. Submit different information to create a change set."),
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &[&rule]);
    let handle = ChangeSetHandle::existing("upstack-dev", "upstack-1");
    let state = changeset::wait_until_ready(&client, &handle, &Pacing::default())
        .await
        .unwrap();
    assert!(
        matches!(state, ChangeSetState::NoChanges { .. }),
        "{state:?}"
    );
}

#[tokio::test]
async fn other_failures_keep_the_reason() {
    let rule = mock!(Client::describe_change_set).then_output(|| {
        status(
            ChangeSetStatus::Failed,
            Some("Template format error: Unresolved resource dependencies [Missing]"),
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &[&rule]);
    let handle = ChangeSetHandle::existing("upstack-dev", "upstack-1");
    let state = changeset::wait_until_ready(&client, &handle, &Pacing::default())
        .await
        .unwrap();
    let ChangeSetState::Failed { reason, .. } = state else {
        panic!("expected failure, got {state:?}")
    };
    assert!(reason.contains("Unresolved resource dependencies"));
}

#[tokio::test]
async fn unknown_status_keeps_polling_until_the_timeout() {
    let rule = mock!(Client::describe_change_set)
        .sequence()
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::from("CREATE_TELEPORTING"))
                .execution_status(ExecutionStatus::from("SOMETHING_NEW"))
                .build()
        })
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &[&rule]);
    let clock = ManualClock::default();
    let mut pacing = pacing(&clock);
    pacing.change_set_timeout = Duration::from_secs(60);
    let handle = ChangeSetHandle::existing("upstack-dev", "upstack-1");
    let error = changeset::wait_until_ready(&client, &handle, &pacing)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("CREATE_TELEPORTING"), "{error}");
    assert!(error.contains("describe-change-set"), "{error}");
    assert!(clock.elapsed() >= Duration::from_secs(60));
}

/// moto never throttles. The SDK retries a throttled DescribeChangeSet
/// (its standard mode, configured once in `upstack_deploy::aws::retry_config`);
/// the waiter adds no attempt and no pause of its own.
#[tokio::test]
async fn throttled_describe_is_retried_by_the_sdk() {
    let rule = mock!(Client::describe_change_set)
        .sequence()
        .http_status(400, Some(throttling_body()))
        .times(2)
        .output(|| status(ChangeSetStatus::CreateComplete, None))
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::Sequential,
        &[&rule],
        |config| config.retry_config(
            upstack_deploy::aws::retry_config()
                .with_initial_backoff(std::time::Duration::from_millis(1))
        )
    );
    let clock = ManualClock::default();
    let handle = ChangeSetHandle::existing("upstack-dev", "upstack-1");
    let state = changeset::wait_until_ready(&client, &handle, &pacing(&clock))
        .await
        .unwrap();
    assert!(matches!(state, ChangeSetState::Ready(_)));
    assert_eq!(rule.num_calls(), 3);
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
}

#[tokio::test]
async fn deleting_a_missing_change_set_is_not_an_error() {
    let gone = mock!(Client::delete_change_set).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(404).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>ChangeSetNotFound</Code><Message>ChangeSet [x] does not exist</Message></Error></ErrorResponse>",
            ),
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &[&gone]);
    let handle = ChangeSetHandle::existing("upstack-dev", "upstack-1");
    changeset::delete(&client, &handle).await.unwrap();
    assert_eq!(gone.num_calls(), 1);
}

/// The awsQuery error body CloudFormation sends when throttling.
pub fn throttling_body() -> String {
    "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>".to_owned()
}
