//! `destroy` of a protected (prod) stack, against recorded responses: moto
//! stores termination protection but its DeleteStack ignores it, and it
//! does not report retained resources, so refusal and the "kept" list are
//! pinned here. moto cannot return a stack status the SDK does not know
//! either: the refusal of one is pinned here too.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::{Stack, StackResource, StackStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use upstack_deploy::aws::{ManualClock, Pacing};
use upstack_deploy::destroy::{self, DestroyError, DestroyOptions, DestroyOutcome};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};

const STACK_ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/upstack-prod/1";
const TEMPLATE: &str = r#"{"Resources":{
  "Uploads":{"Type":"AWS::S3::Bucket","DeletionPolicy":"Retain"},
  "Topic":{"Type":"AWS::SNS::Topic"}}}"#;

fn protected_stack() -> DescribeStacksOutput {
    stack_in(StackStatus::UpdateComplete)
}

fn stack_in(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name("upstack-prod")
                .stack_id(STACK_ID)
                .stack_status(status)
                .creation_time(DateTime::from_secs(0))
                .enable_termination_protection(true)
                .build(),
        )
        .build()
}

fn options(disable: bool) -> DestroyOptions {
    DestroyOptions {
        disable_termination_protection: disable,
        pacing: Pacing::with_clock(Arc::new(ManualClock::default())),
        client_token: "t".into(),
    }
}

/// Destroy of a stack DescribeStacks reports as `stack`, which must be
/// refused before DeleteStack: the error, and that DeleteStack was not called.
async fn refused(stack: fn() -> DescribeStacksOutput, disable: bool) -> DestroyError {
    let describe = mock!(Cfn::describe_stacks).then_output(stack);
    let delete = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&describe, &delete]
    );
    let error = destroy::destroy(
        &cfn,
        "prod",
        "upstack-prod",
        &options(disable),
        &mut RecordingReporter::default(),
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert_eq!(delete.num_calls(), 0, "{error}");
    error
}

#[tokio::test]
async fn protected_stack_is_refused_with_the_flag_to_use() {
    let error = refused(protected_stack, false).await;
    assert!(matches!(error, DestroyError::Protected { .. }));
    assert!(
        error
            .to_string()
            .contains("--disable-termination-protection"),
        "{error}"
    );
}

#[tokio::test]
async fn a_stack_status_this_version_does_not_know_is_refused() {
    let error = refused(|| stack_in(StackStatus::from("UPDATE_TELEPORTED")), true).await;
    assert!(
        matches!(&error, DestroyError::UnknownStatus { status, .. } if status == "UPDATE_TELEPORTED"),
        "{error}"
    );
}

#[tokio::test]
async fn with_the_flag_protection_is_lifted_and_retained_resources_are_listed() {
    let describe = mock!(Cfn::describe_stacks)
        .sequence()
        .output(protected_stack)
        .http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id upstack-prod does not exist</Message></Error></ErrorResponse>",
                ),
            )
        })
        .build();
    let template = mock!(Cfn::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body(TEMPLATE).build());
    let resources = mock!(Cfn::describe_stack_resources).then_output(|| {
        DescribeStackResourcesOutput::builder()
            .stack_resources(
                StackResource::builder()
                    .logical_resource_id("Uploads")
                    .physical_resource_id("upstack-prod-uploads-123456789012")
                    .resource_type("AWS::S3::Bucket")
                    .timestamp(DateTime::from_secs(0))
                    .resource_status("UPDATE_COMPLETE".into())
                    .build(),
            )
            .build()
    });
    let unprotect = mock!(Cfn::update_termination_protection)
        .match_requests(|request| request.enable_termination_protection() == Some(false))
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let events = mock!(Cfn::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let delete = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[
            &describe, &template, &resources, &unprotect, &events, &delete
        ]
    );
    let mut reporter = RecordingReporter::default();
    let outcome = destroy::destroy(
        &cfn,
        "prod",
        "upstack-prod",
        &options(true),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap();
    let DestroyOutcome::Destroyed { retained } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(retained.len(), 1);
    assert_eq!(unprotect.num_calls(), 1);
    assert_eq!(delete.num_calls(), 1);
    insta::assert_snapshot!(reporter.lines.join("\n"));
}
