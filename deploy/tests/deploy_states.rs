//! Every stack state `deploy` must handle, against recorded CloudFormation
//! responses. moto cannot show any of these: its stacks go straight to
//! CREATE_COMPLETE/UPDATE_COMPLETE inside the API call (no *_IN_PROGRESS,
//! no per-resource event stream while working), it never fails a resource
//! with a reason or rolls back, never leaves ROLLBACK_COMPLETE,
//! UPDATE_ROLLBACK_FAILED or REVIEW_IN_PROGRESS stacks behind, never
//! throttles, and has no way to return a status newer than the SDK.
//! Each test names the limitation it covers.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

// `prepare` and `execute` of a saved plan: tests/deploy_states/plan.rs.
#[path = "deploy_states/plan.rs"]
mod plan;

// Alarms: the pre-flight check, rollback triggers, an alarm's rollback.
#[path = "deploy_states/alarms.rs"]
mod alarms;

// The account pre-flight: tests/deploy_states/account.rs.
#[path = "deploy_states/account.rs"]
mod account;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ExecutionStatus, ResourceChange, ResourceStatus, Stack,
    StackEvent, StackStatus,
};
use aws_sdk_s3::Client as S3;
use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use upstack_deploy::aws::{ManualClock, Pacing};
use upstack_deploy::deploy::{
    self, DeployClients, DeployError, DeployOptions, DeployOutcome, DeployRequest, DriftHandling,
    RequireApproval,
};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};

const STACK: &str = "upstack-dev";
const STACK_ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/upstack-dev/1";
const TEMPLATE: &str =
    r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic","Properties":{"TopicName":"t"}}}}"#;

fn stack(status: &str) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(STACK)
                .stack_id(STACK_ID)
                .stack_status(StackStatus::from(status))
                .creation_time(DateTime::from_secs(0))
                .build(),
        )
        .build()
}

fn query_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )),
    )
}

fn no_stack() -> HttpResponse {
    query_error(
        400,
        "ValidationError",
        "Stack with id upstack-dev does not exist",
    )
}

fn event(id: &str, logical_id: &str, kind: &str, status: &str, reason: Option<&str>) -> StackEvent {
    StackEvent::builder()
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .event_id(id)
        .logical_resource_id(logical_id)
        .resource_type(kind)
        .resource_status(ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(str::to_owned))
        .timestamp(DateTime::from_secs(0))
        .build()
}

fn events(newest_first: Vec<StackEvent>) -> DescribeStackEventsOutput {
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(newest_first))
        .build()
}

/// DescribeStacks answering each status in turn (the statuses a real stack
/// goes through), then, with `then_deleted`, "does not exist" three times:
/// each test states only the states that make its case.
fn stack_statuses(statuses: &[&'static str], then_deleted: bool) -> Rule {
    let mut sequence = mock!(Cfn::describe_stacks).sequence();
    for &status in statuses {
        sequence = sequence.output(move || stack(status));
    }
    if then_deleted {
        sequence = sequence.http_response(no_stack).times(3);
    }
    sequence.build()
}

/// CreateChangeSet, accepted only as `kind` (`CREATE` or `UPDATE`).
fn change_set_created_as(kind: &'static str) -> Rule {
    mock!(Cfn::create_change_set)
        .match_requests(move |request| {
            request.change_set_type().map(|kind| kind.as_str()) == Some(kind)
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("arn:cs/1")
                .stack_id(STACK_ID)
                .build()
        })
}

fn created_change_set() -> Rule {
    mock!(Cfn::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:cs/1")
            .stack_id(STACK_ID)
            .build()
    })
}

fn no_changes() -> Rule {
    mock!(Cfn::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
            .execution_status(ExecutionStatus::Unavailable)
            .build()
    })
}

fn ready_change_set() -> Rule {
    mock!(Cfn::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .execution_status(ExecutionStatus::Available)
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .logical_resource_id("Topic")
                            .resource_type("AWS::SNS::Topic")
                            .action(ChangeAction::Add)
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

fn delete_change_set() -> Rule {
    mock!(Cfn::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build())
}

fn cfn_client(rules: &[&Rule]) -> Cfn {
    // SDK retries off: each recorded response is answered once, in order.
    mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        rules,
        |config| config.retry_config(RetryConfig::disabled())
    )
}

/// A CloudWatch client with no recorded responses: any call fails the
/// test, proving a deploy of a stack without alarms asks CloudWatch nothing.
fn no_cloudwatch() -> aws_sdk_cloudwatch::Client {
    mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[] as &[&Rule])
}

fn s3_bootstrapped() -> S3 {
    let head = mock!(S3::head_bucket).then_output(|| HeadBucketOutput::builder().build());
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head])
}

/// A Lambda client with no recorded responses: any call fails the test,
/// proving a deploy of a stack without functions asks Lambda nothing.
fn no_lambda() -> aws_sdk_lambda::Client {
    mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[] as &[&Rule])
}

/// The manifest of a dev stack without functions or alarms.
fn manifest() -> upstack_stack::Manifest {
    upstack_stack::Manifest {
        env: "dev".into(),
        stack_name: STACK.into(),
        region: "eu-west-1".into(),
        account_id: None,
        termination_protection: false,
        production: false,
        template_sha256: "b".repeat(64),
        tags: Default::default(),
        functions: Vec::new(),
        stateful_resources: Vec::new(),
        stack_policy: None,
        alarms: Default::default(),
        queues: Vec::new(),
        execution_role_arn: None,
        upload_bucket: None,
    }
}

fn plan(dir: &std::path::Path) -> DeployRequest {
    DeployRequest {
        manifest: manifest(),
        region: "eu-west-1".into(),
        account: "123456789012".into(),
        template_json: TEMPLATE.into(),
        assets: vec![],
        outputs_path: dir.join("outputs.json"),
    }
}

/// [`plan`], edited.
fn request_with(dir: &std::path::Path, edit: impl FnOnce(&mut DeployRequest)) -> DeployRequest {
    let mut request = plan(dir);
    edit(&mut request);
    request
}

/// The policy synth's manifest carries for a production env with `template`.
fn production_policy(template: &str) -> Option<upstack_cfn::StackPolicy> {
    upstack_cfn::stack_policy::protective(
        &serde_json::from_str(template).unwrap(),
        upstack_cfn_resources::registry::lookup,
    )
}

fn options(
    clock: &ManualClock,
    require_approval: RequireApproval,
    wait_if_busy: bool,
) -> DeployOptions {
    DeployOptions {
        require_approval,
        allow_replace: false,
        wait_if_busy,
        pacing: Pacing::with_clock(Arc::new(clock.clone())),
        deploy_id: "1".into(),
        ignore_alarms: false,
        drift: DriftHandling::Skip,
    }
}

struct Run {
    result: Result<DeployOutcome, DeployError>,
    lines: Vec<String>,
}

async fn run(cfn: Cfn, options: DeployOptions, answer: Answer) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let clients = DeployClients {
        cloudformation: cfn,
        s3: s3_bootstrapped(),
        cloudwatch: no_cloudwatch(),
        lambda: no_lambda(),
        drift: None,
    };
    let mut reporter = RecordingReporter::default();
    let result = deploy::deploy(
        &clients,
        &plan(dir.path()),
        &options,
        &mut reporter,
        &mut FixedAnswer(answer),
        std::future::pending(),
    )
    .await;
    Run {
        result,
        lines: reporter.lines,
    }
}

/// moto never leaves a ROLLBACK_COMPLETE stack (its creations cannot fail).
#[tokio::test]
async fn rollback_complete_is_deleted_and_recreated_after_approval() {
    let describe = stack_statuses(
        &["ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"],
        true,
    );
    let stack_events = mock!(Cfn::describe_stack_events).then_output(|| events(vec![]));
    let delete_stack =
        mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let create = change_set_created_as("CREATE");
    let (no_changes, delete_cs) = (no_changes(), delete_change_set());
    let cfn = cfn_client(&[
        &describe,
        &stack_events,
        &delete_stack,
        &create,
        &no_changes,
        &delete_cs,
    ]);
    let clock = ManualClock::default();
    let run = run(
        cfn,
        options(&clock, RequireApproval::Broadening, false),
        Answer::Yes,
    )
    .await;
    assert_eq!(
        run.result.unwrap(),
        DeployOutcome::NoChanges,
        "{:#?}",
        run.lines
    );
    assert_eq!(delete_stack.num_calls(), 1);
    assert_eq!(create.num_calls(), 1);
}

/// moto never leaves a ROLLBACK_COMPLETE stack; without approval nothing is deleted.
#[tokio::test]
async fn rollback_complete_without_a_terminal_is_not_deleted() {
    let describe = mock!(Cfn::describe_stacks).then_output(|| stack("ROLLBACK_COMPLETE"));
    let delete_stack =
        mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cfn = cfn_client(&[&describe, &delete_stack]);
    let clock = ManualClock::default();
    let run = run(
        cfn,
        options(&clock, RequireApproval::Broadening, false),
        Answer::NoTerminal,
    )
    .await;
    assert_eq!(run.result.unwrap(), DeployOutcome::NotApproved);
    assert_eq!(delete_stack.num_calls(), 0);
    assert!(
        run.lines.iter().any(|line| line.contains("--yes")),
        "{:#?}",
        run.lines
    );
}

/// moto finishes every operation inside the API call: no *_IN_PROGRESS to refuse.
#[tokio::test]
async fn in_progress_stack_is_refused_with_its_status() {
    let describe = mock!(Cfn::describe_stacks).then_output(|| stack("UPDATE_IN_PROGRESS"));
    let create = created_change_set();
    let cfn = cfn_client(&[&describe, &create]);
    let clock = ManualClock::default();
    let error = run(
        cfn,
        options(&clock, RequireApproval::Broadening, false),
        Answer::Yes,
    )
    .await
    .result
    .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, DeployError::Busy { .. }), "{message}");
    assert!(
        message.contains("UPDATE_IN_PROGRESS") && message.contains("--wait"),
        "{message}"
    );
    assert_eq!(create.num_calls(), 0);
}

/// moto finishes every operation inside the API call: no *_IN_PROGRESS to wait for.
#[tokio::test]
async fn in_progress_stack_is_waited_for_with_wait() {
    let describe = stack_statuses(
        &[
            "UPDATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_COMPLETE",
            "UPDATE_COMPLETE",
        ],
        false,
    );
    let stack_events = mock!(Cfn::describe_stack_events).then_output(|| events(vec![]));
    let create = change_set_created_as("UPDATE");
    let (no_changes, delete_cs) = (no_changes(), delete_change_set());
    let cfn = cfn_client(&[&describe, &stack_events, &create, &no_changes, &delete_cs]);
    let clock = ManualClock::default();
    let run = run(
        cfn,
        options(&clock, RequireApproval::Broadening, true),
        Answer::Yes,
    )
    .await;
    assert_eq!(
        run.result.unwrap(),
        DeployOutcome::NoChanges,
        "{:#?}",
        run.lines
    );
    assert_eq!(create.num_calls(), 1);
    assert!(
        clock.sleeps().len() >= 2,
        "polled with pauses: {:?}",
        clock.sleeps()
    );
}

/// moto cannot fail a rollback, so it never reports UPDATE_ROLLBACK_FAILED.
#[tokio::test]
async fn update_rollback_failed_gives_continue_update_rollback_guidance() {
    let describe = mock!(Cfn::describe_stacks).then_output(|| stack("UPDATE_ROLLBACK_FAILED"));
    let cfn = cfn_client(&[&describe]);
    let clock = ManualClock::default();
    let message = run(
        cfn,
        options(&clock, RequireApproval::Broadening, false),
        Answer::Yes,
    )
    .await
    .result
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("aws cloudformation continue-update-rollback --stack-name upstack-dev"),
        "{message}"
    );
    assert!(message.contains("--resources-to-skip"), "{message}");
}

/// moto does not keep a REVIEW_IN_PROGRESS stack for an unexecuted CREATE change set.
#[tokio::test]
async fn leftover_review_in_progress_stack_is_cleaned_up() {
    let describe = stack_statuses(&["REVIEW_IN_PROGRESS"], true);
    let stack_events = mock!(Cfn::describe_stack_events).then_output(|| events(vec![]));
    let delete_stack =
        mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let create = change_set_created_as("CREATE");
    let (no_changes, delete_cs) = (no_changes(), delete_change_set());
    let cfn = cfn_client(&[
        &describe,
        &stack_events,
        &delete_stack,
        &create,
        &no_changes,
        &delete_cs,
    ]);
    let clock = ManualClock::default();
    let run = run(
        cfn,
        options(&clock, RequireApproval::Broadening, false),
        Answer::NoTerminal,
    )
    .await;
    assert_eq!(
        run.result.unwrap(),
        DeployOutcome::NoChanges,
        "{:#?}",
        run.lines
    );
    assert_eq!(
        delete_stack.num_calls(),
        1,
        "the leftover stack is deleted without asking"
    );
    assert!(
        run.lines
            .iter()
            .any(|line| line.contains("REVIEW_IN_PROGRESS")),
        "{:#?}",
        run.lines
    );
}

/// moto does report empty change sets, but this pins the deploy-level
/// behaviour (change set deleted, "no changes", nothing executed) without a server.
#[tokio::test]
async fn empty_change_set_is_deleted_and_reported_as_no_changes() {
    let describe = mock!(Cfn::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let (create, no_changes, delete_cs) = (created_change_set(), no_changes(), delete_change_set());
    let execute =
        mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = cfn_client(&[&describe, &create, &no_changes, &delete_cs, &execute]);
    let clock = ManualClock::default();
    let run = run(
        cfn,
        options(&clock, RequireApproval::Never, false),
        Answer::Yes,
    )
    .await;
    assert_eq!(run.result.unwrap(), DeployOutcome::NoChanges);
    assert_eq!(delete_cs.num_calls(), 1);
    assert_eq!(execute.num_calls(), 0);
    assert!(
        run.lines.last().unwrap().starts_with("no changes"),
        "{:#?}",
        run.lines
    );
}

/// moto never fails a resource (so no reasons, cancellations or rollback events).
#[tokio::test]
async fn failure_prints_the_root_cause_first_then_the_rollback_outcome() {
    let describe = stack_statuses(
        &[
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
        ],
        false,
    );
    let before = event(
        "e0",
        STACK,
        "AWS::CloudFormation::Stack",
        "UPDATE_COMPLETE",
        None,
    );
    let wave_one = vec![
        event(
            "e3",
            "Table",
            "AWS::DynamoDB::Table",
            "UPDATE_FAILED",
            Some("Cannot update GSI: limit exceeded"),
        ),
        event("e2", "Queue", "AWS::SQS::Queue", "UPDATE_IN_PROGRESS", None),
        event(
            "e1",
            STACK,
            "AWS::CloudFormation::Stack",
            "UPDATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
        before.clone(),
    ];
    let mut wave_two = vec![
        event(
            "e6",
            STACK,
            "AWS::CloudFormation::Stack",
            "UPDATE_ROLLBACK_COMPLETE",
            None,
        ),
        event(
            "e5",
            STACK,
            "AWS::CloudFormation::Stack",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to update: [Queue, Table]."),
        ),
        event(
            "e4",
            "Queue",
            "AWS::SQS::Queue",
            "UPDATE_FAILED",
            Some("Resource update cancelled"),
        ),
    ];
    wave_two.extend(wave_one.clone());
    let (wave_one, wave_two, only_before) = (wave_one.clone(), wave_two.clone(), vec![before]);
    let stack_events = mock!(Cfn::describe_stack_events)
        .sequence()
        .output(move || events(only_before.clone()))
        .output(move || events(wave_one.clone()))
        .output(move || events(wave_two.clone()))
        .repeatedly()
        .build();
    let template = mock!(Cfn::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body(TEMPLATE).build());
    let (create, ready, execute) = (
        created_change_set(),
        ready_change_set(),
        mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build()),
    );
    let resources = mock!(Cfn::describe_stack_resources)
        .then_output(|| DescribeStackResourcesOutput::builder().build());
    let cfn = cfn_client(&[
        &describe,
        &stack_events,
        &template,
        &create,
        &ready,
        &execute,
        &resources,
    ]);
    let clock = ManualClock::default();
    let run = run(
        cfn,
        options(&clock, RequireApproval::Never, false),
        Answer::Yes,
    )
    .await;
    let message = run.result.unwrap_err().to_string();
    assert!(
        message.contains("Table (AWS::DynamoDB::Table) UPDATE_FAILED: Cannot update GSI"),
        "{message}"
    );
    let root = run
        .lines
        .iter()
        .position(|line| line.starts_with("ROOT CAUSE: Table"))
        .unwrap();
    let rollback = run
        .lines
        .iter()
        .position(|line| line.starts_with("rollback complete"))
        .unwrap();
    assert!(root < rollback, "{:#?}", run.lines);
    // Each event exactly once, oldest first, none from before the execution.
    let event_lines: Vec<_> = run
        .lines
        .iter()
        .filter(|line| line.starts_with('['))
        .collect();
    assert_eq!(event_lines.len(), 6, "{event_lines:#?}");
    assert!(
        event_lines[0].contains("UPDATE_IN_PROGRESS") && event_lines[0].contains(STACK),
        "{event_lines:#?}"
    );
    assert!(
        event_lines[5].contains("UPDATE_ROLLBACK_COMPLETE"),
        "{event_lines:#?}"
    );
    insta::assert_snapshot!("failed_update_output", run.lines.join("\n"));
}

/// A client with the SDK's retries as every real client has them
/// ([`upstack_deploy::aws::retry_config`]), with a 1 ms backoff so the test
/// does not wait for real.
fn cfn_client_with_sdk_retries(rules: &[&Rule]) -> Cfn {
    mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        rules,
        |config| {
            config.retry_config(
                upstack_deploy::aws::retry_config().with_initial_backoff(Duration::from_millis(1)),
            )
        }
    )
}

/// moto never throttles. Retries come from one place, the SDK's retry
/// configuration: a throttled call is retried by the SDK (4 calls for 3
/// throttles) and deploy adds no pause or attempt of its own.
#[tokio::test]
async fn throttled_calls_are_retried_by_the_sdk_alone() {
    let describe = mock!(Cfn::describe_stacks)
        .sequence()
        .http_response(|| query_error(400, "Throttling", "Rate exceeded"))
        .times(3)
        .output(|| stack("UPDATE_COMPLETE"))
        .build();
    let (create, no_changes, delete_cs) = (created_change_set(), no_changes(), delete_change_set());
    let cfn = cfn_client_with_sdk_retries(&[&describe, &create, &no_changes, &delete_cs]);
    let clock = ManualClock::default();
    let run = run(
        cfn,
        options(&clock, RequireApproval::Never, false),
        Answer::Yes,
    )
    .await;
    assert_eq!(run.result.unwrap(), DeployOutcome::NoChanges);
    assert_eq!(describe.num_calls(), 4);
}

/// After the SDK's attempts (the policy's maximum) the throttling error is
/// reported with AWS's code, once: no loop around the SDK multiplies them.
#[tokio::test]
async fn throttling_beyond_the_sdk_attempts_fails_after_exactly_those_attempts() {
    let describe = mock!(Cfn::describe_stacks)
        .sequence()
        .http_response(|| query_error(400, "Throttling", "Rate exceeded"))
        .times(10)
        .build();
    let cfn = cfn_client_with_sdk_retries(&[&describe]);
    let attempts = upstack_deploy::aws::retry_config().max_attempts() as usize;
    let clock = ManualClock::default();
    let error = run(
        cfn,
        options(&clock, RequireApproval::Never, false),
        Answer::Yes,
    )
    .await
    .result
    .unwrap_err();
    assert_eq!(describe.num_calls(), attempts, "{error}");
    assert_eq!(attempts, 8);
    assert!(error.to_string().contains("Throttling"), "{error}");
}

/// moto cannot return a stack status the SDK does not know.
#[tokio::test]
async fn unknown_stack_status_is_refused_without_panicking() {
    let describe = mock!(Cfn::describe_stacks).then_output(|| stack("UPDATE_TELEPORTED"));
    let create = created_change_set();
    let cfn = cfn_client(&[&describe, &create]);
    let clock = ManualClock::default();
    let error = run(
        cfn,
        options(&clock, RequireApproval::Broadening, false),
        Answer::Yes,
    )
    .await
    .result
    .unwrap_err();
    assert!(
        matches!(&error, DeployError::UnknownStatus { status, .. } if status == "UPDATE_TELEPORTED"),
        "{error}"
    );
    assert_eq!(create.num_calls(), 0);
}

/// Approval is ours, not moto's; pinned here without a server: no terminal and
/// no --yes means the change set is deleted and nothing executes.
#[tokio::test]
async fn required_approval_without_a_terminal_is_refused() {
    let describe = mock!(Cfn::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let template = mock!(Cfn::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body(r#"{"Resources":{}}"#)
            .build()
    });
    let (create, ready, delete_cs) = (
        created_change_set(),
        ready_change_set(),
        delete_change_set(),
    );
    let execute =
        mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = cfn_client(&[&describe, &template, &create, &ready, &delete_cs, &execute]);
    let clock = ManualClock::default();
    let run = run(
        cfn,
        options(&clock, RequireApproval::AnyChange, false),
        Answer::NoTerminal,
    )
    .await;
    assert_eq!(run.result.unwrap(), DeployOutcome::NotApproved);
    assert_eq!(execute.num_calls(), 0);
    assert_eq!(delete_cs.num_calls(), 1);
    assert!(
        run.lines
            .iter()
            .any(|line| line.contains("re-run with --yes")),
        "{:#?}",
        run.lines
    );
    insta::assert_snapshot!("not_approved_output", run.lines.join("\n"));
}

/// moto finishes inside ExecuteChangeSet, so there is nothing to interrupt.
#[tokio::test]
async fn ctrl_c_stops_watching_without_touching_the_stack() {
    let describe = mock!(Cfn::describe_stacks)
        .sequence()
        .output(|| stack("UPDATE_COMPLETE"))
        .output(|| stack("UPDATE_IN_PROGRESS"))
        .repeatedly()
        .build();
    let stack_events = mock!(Cfn::describe_stack_events).then_output(|| events(vec![]));
    let template = mock!(Cfn::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body(r#"{"Resources":{}}"#)
            .build()
    });
    let (create, ready) = (created_change_set(), ready_change_set());
    let execute =
        mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cancel = mock!(Cfn::cancel_update_stack)
        .then_output(|| aws_sdk_cloudformation::operation::cancel_update_stack::CancelUpdateStackOutput::builder().build());
    let cfn = cfn_client(&[
        &describe,
        &stack_events,
        &template,
        &create,
        &ready,
        &execute,
        &cancel,
    ]);
    let clock = ManualClock::default();
    let dir = tempfile::tempdir().unwrap();
    let clients = DeployClients {
        cloudformation: cfn,
        s3: s3_bootstrapped(),
        cloudwatch: no_cloudwatch(),
        lambda: no_lambda(),
        drift: None,
    };
    let mut reporter = RecordingReporter::default();
    let outcome = deploy::deploy(
        &clients,
        &plan(dir.path()),
        &options(&clock, RequireApproval::Never, false),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::ready(()),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        DeployOutcome::Interrupted {
            resume: "upstack deploy --env dev --wait".into()
        }
    );
    assert_eq!(cancel.num_calls(), 0);
    assert!(
        reporter
            .lines
            .last()
            .unwrap()
            .contains("upstack deploy --env dev --wait"),
        "{:#?}",
        reporter.lines
    );
}

/// moto accepts SetStackPolicy but does not enforce stack policies, so
/// only the calls around the execution can be checked: `--allow-replace`
/// lifts the policy just before ExecuteChangeSet and restores the
/// protective one after, and prod gets termination protection.
#[tokio::test]
async fn allow_replace_lifts_the_stack_policy_for_one_deploy_only() {
    use std::sync::Mutex;
    const BUCKET_TEMPLATE: &str = r#"{"Resources":{"Uploads":{"Type":"AWS::S3::Bucket"}}}"#;
    let describe = mock!(Cfn::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let stack_events = mock!(Cfn::describe_stack_events).then_output(|| events(vec![]));
    let template = mock!(Cfn::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body(BUCKET_TEMPLATE)
            .build()
    });
    let (create, ready) = (created_change_set(), ready_change_set());
    let execute =
        mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let policies = Arc::new(Mutex::new(Vec::<String>::new()));
    let recorded = policies.clone();
    let set_policy = mock!(Cfn::set_stack_policy).then_compute_output(move |request| {
        recorded
            .lock()
            .unwrap()
            .push(request.stack_policy_body().unwrap_or_default().to_owned());
        aws_sdk_cloudformation::operation::set_stack_policy::SetStackPolicyOutput::builder().build()
    });
    let protection = mock!(Cfn::update_termination_protection)
        .match_requests(|request| request.enable_termination_protection() == Some(true))
        .then_output(|| {
            aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput::builder()
                .build()
        });
    let resources = mock!(Cfn::describe_stack_resources)
        .then_output(|| DescribeStackResourcesOutput::builder().build());
    let cfn = cfn_client(&[
        &describe,
        &stack_events,
        &template,
        &create,
        &ready,
        &execute,
        &set_policy,
        &protection,
        &resources,
    ]);
    let clock = ManualClock::default();
    let dir = tempfile::tempdir().unwrap();
    let plan = request_with(dir.path(), |request| {
        request.template_json = BUCKET_TEMPLATE.into();
        request.manifest.env = "prod".into();
        request.manifest.stack_name = STACK.into();
        request.manifest.termination_protection = true;
        request.manifest.production = true;
        request.manifest.stack_policy = production_policy(BUCKET_TEMPLATE);
    });
    let clients = DeployClients {
        cloudformation: cfn,
        s3: s3_bootstrapped(),
        cloudwatch: no_cloudwatch(),
        lambda: no_lambda(),
        drift: None,
    };
    let mut reporter = RecordingReporter::default();
    let mut options = options(&clock, RequireApproval::Never, false);
    options.allow_replace = true;
    let outcome = deploy::deploy(
        &clients,
        &plan,
        &options,
        &mut reporter,
        &mut FixedAnswer(Answer::NoTerminal),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert!(
        matches!(outcome, DeployOutcome::Deployed { .. }),
        "{outcome:?} {:#?}",
        reporter.lines
    );
    let policies = policies.lock().unwrap().clone();
    assert_eq!(policies.len(), 2, "{policies:#?}");
    assert_eq!(policies[0], deploy::ALLOW_ALL_STACK_POLICY);
    assert!(
        policies[1].contains("Update:Replace") && policies[1].contains("LogicalResourceId/Uploads"),
        "{policies:#?}"
    );
    assert_eq!(protection.num_calls(), 1);
    assert!(dir.path().join("outputs.json").is_file());
}
