//! Alarms in deploy, against recorded responses, for what moto cannot show:
//! moto's CloudFormation ignores a change set's RollbackConfiguration, never
//! rolls a stack back because of an alarm, and moto 5.2.5 has no composite
//! alarms. (Metric alarms on moto, through the CBOR shim in
//! scripts/moto/upstack_moto_patches.py, are tested in tests/deploy_cli.rs:
//! `status` exit codes and deploy's refusal.)

use std::sync::{Arc, Mutex};

use aws_sdk_cloudformation::operation::create_change_set::{
    CreateChangeSetInput, CreateChangeSetOutput,
};
use aws_sdk_cloudwatch::Client as Cw;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, StateValue};
use aws_sdk_s3::Client as S3;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use upstack_deploy::aws::ManualClock;
use upstack_deploy::deploy::{
    self, DeployClients, DeployError, DeployOptions, DeployOutcome, PrepareOutcome, RequireApproval,
};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_deploy::status::{StackAlarm, StackAlarms};
use upstack_stack::config::AlarmKind;

use super::*;

const REASON: &str = "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (27/11/26 12:00:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).";

/// Seven alarms of four kinds, in the stack model's order, and the
/// composite deploy guard over them.
fn stack_alarms(monitoring_minutes: i64) -> StackAlarms {
    let alarm = |name: &str, kind| StackAlarm {
        name: format!("upstack-dev-{name}"),
        kind,
    };
    StackAlarms {
        alarms: vec![
            alarm("notify-errors", AlarmKind::FunctionErrors),
            alarm("notify-throttles", AlarmKind::FunctionThrottles),
            alarm("ingest-errors", AlarmKind::FunctionErrors),
            alarm("ingest-throttles", AlarmKind::FunctionThrottles),
            alarm("photo-check-errors", AlarmKind::FunctionErrors),
            alarm("failures-queue-messages", AlarmKind::FailuresQueueMessages),
            alarm("ingest-rejected-rows", AlarmKind::RejectedRows),
        ],
        deploy_guard: Some("upstack-dev-deploy-guard".to_owned()),
        monitoring_minutes,
    }
}

fn guard(state: &str, reason: &str) -> CompositeAlarm {
    CompositeAlarm::builder()
        .alarm_name("upstack-dev-deploy-guard")
        .state_value(StateValue::from(state))
        .state_reason(reason)
        .build()
}

fn metric_alarm(name: &str, state: &str, reason: &str) -> MetricAlarm {
    MetricAlarm::builder()
        .alarm_name(format!("upstack-dev-{name}"))
        .state_value(StateValue::from(state))
        .state_reason(reason)
        .build()
}

/// DescribeAlarms answering `answers` in turn (the last one repeatedly).
fn cloudwatch(answers: Vec<Vec<MetricAlarm>>) -> Cw {
    cloudwatch_with_guard(answers.into_iter().map(|alarms| (alarms, vec![])).collect())
}

/// [`cloudwatch`], each answer with metric and composite alarms.
fn cloudwatch_with_guard(answers: Vec<(Vec<MetricAlarm>, Vec<CompositeAlarm>)>) -> Cw {
    let mut sequence = mock!(Cw::describe_alarms).sequence();
    for (alarms, composites) in answers {
        sequence = sequence.output(move || {
            DescribeAlarmsOutput::builder()
                .set_metric_alarms(Some(alarms.clone()))
                .set_composite_alarms(Some(composites.clone()))
                .build()
        });
    }
    let rule = sequence.repeatedly().build();
    mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&rule])
}

fn options(clock: &ManualClock, ignore_alarms: bool) -> DeployOptions {
    DeployOptions {
        ignore_alarms,
        ..super::options(clock, RequireApproval::Never, false)
    }
}

/// CreateChangeSet that keeps the request it was sent.
fn recorded_create(sent: &Arc<Mutex<Vec<CreateChangeSetInput>>>) -> Rule {
    let sent = Arc::clone(sent);
    mock!(Cfn::create_change_set).then_compute_output(move |request| {
        sent.lock().unwrap().push(request.clone());
        CreateChangeSetOutput::builder()
            .id("arn:cs/1")
            .stack_id(STACK_ID)
            .build()
    })
}

/// `(trigger ARNs, monitoring minutes)` of the one CreateChangeSet sent;
/// the deploy guard's trigger is typed as a composite alarm, every other as
/// a metric alarm.
fn rollback_sent(sent: &Arc<Mutex<Vec<CreateChangeSetInput>>>) -> (Vec<String>, Option<i32>) {
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1, "one CreateChangeSet");
    let configuration = sent[0]
        .rollback_configuration()
        .expect("a RollbackConfiguration is always sent");
    (
        configuration
            .rollback_triggers()
            .iter()
            .inspect(|trigger| {
                let composite = trigger
                    .arn()
                    .unwrap()
                    .ends_with(":alarm:upstack-dev-deploy-guard");
                assert_eq!(
                    trigger.r#type(),
                    Some(if composite {
                        "AWS::CloudWatch::CompositeAlarm"
                    } else {
                        "AWS::CloudWatch::Alarm"
                    })
                );
            })
            .filter_map(|trigger| trigger.arn().map(str::to_owned))
            .collect(),
        configuration.monitoring_time_in_minutes(),
    )
}

fn arn(name: &str) -> String {
    format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:upstack-dev-{name}")
}

/// Runs `prepare` on a stack that does not exist yet (a CREATE change set).
async fn prepare_create(
    cloudwatch: Cw,
    sent: &Arc<Mutex<Vec<CreateChangeSetInput>>>,
    alarms: StackAlarms,
    ignore_alarms: bool,
) -> (Result<PrepareOutcome, DeployError>, Vec<String>) {
    let describe = mock!(Cfn::describe_stacks).then_http_response(no_stack);
    let (create, ready) = (recorded_create(sent), ready_change_set());
    let cfn = cfn_client(&[&describe, &create, &ready]);
    let dir = tempfile::tempdir().unwrap();
    let plan = request_with(dir.path(), |request| {
        request.manifest.alarms = alarms;
    });
    let clients = DeployClients {
        cloudformation: cfn,
        s3: s3_bootstrapped(),
        cloudwatch,
        lambda: no_lambda(),
        drift: None,
    };
    let clock = ManualClock::default();
    let mut reporter = RecordingReporter::default();
    let result = deploy::prepare(
        &clients,
        &plan,
        &options(&clock, ignore_alarms),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await;
    (result, reporter.lines)
}

#[tokio::test]
async fn alarms_in_alarm_refuse_the_deploy_before_anything_is_touched() {
    let cloudwatch = cloudwatch(vec![vec![
        metric_alarm("notify-errors", "OK", "fine"),
        metric_alarm("ingest-errors", "ALARM", REASON),
        metric_alarm(
            "failures-queue-messages",
            "ALARM",
            "Threshold Crossed: 2 messages",
        ),
    ]]);
    // No recorded CloudFormation or S3 response: any call fails the test.
    let cfn = cfn_client(&[]);
    let s3: S3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[] as &[&Rule]);
    let dir = tempfile::tempdir().unwrap();
    let clients = DeployClients {
        cloudformation: cfn,
        s3,
        cloudwatch,
        lambda: no_lambda(),
        drift: None,
    };
    let plan = request_with(dir.path(), |request| {
        request.manifest.alarms = stack_alarms(10);
    });
    let clock = ManualClock::default();
    let mut reporter = RecordingReporter::default();
    let error = deploy::deploy(
        &clients,
        &plan,
        &options(&clock, false),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, DeployError::AlarmsFiring { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("2 alarm(s) of upstack-dev in ALARM; nothing was changed"),
        "{message}"
    );
    assert!(
        message.contains(&format!("\n  - upstack-dev-ingest-errors: {REASON}")),
        "{message}"
    );
    assert!(
        message
            .contains("\n  - upstack-dev-failures-queue-messages: Threshold Crossed: 2 messages"),
        "{message}"
    );
    assert!(message.contains("--ignore-alarms"), "{message}");
    assert!(reporter.lines.is_empty(), "{:#?}", reporter.lines);
}

#[tokio::test]
async fn the_change_set_names_the_deploy_guard_as_its_one_rollback_trigger() {
    let ok = |name| metric_alarm(name, "OK", "fine");
    let cloudwatch = cloudwatch_with_guard(vec![(
        vec![ok("notify-errors"), ok("ingest-errors")],
        vec![guard("OK", "fine")],
    )]);
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (result, lines) = prepare_create(cloudwatch, &sent, stack_alarms(10), false).await;
    assert!(matches!(result, Ok(PrepareOutcome::Ready(_))), "{result:?}");
    assert_eq!(rollback_sent(&sent), (vec![arn("deploy-guard")], Some(10)));
    let said: Vec<_> = lines
        .iter()
        .filter(|line| line.contains("rollback trigger") || line.starts_with("  not triggers"))
        .collect();
    assert_eq!(
        said,
        vec![
            "rollback trigger: composite alarm upstack-dev-deploy-guard (ALARM when any of the stack's 7 alarms is), watched while the change set runs and 10 min after"
        ]
    );
}

/// The deploy that adds the guard to an older stack: its members exist, it
/// does not, so the best five members guard this deploy.
#[tokio::test]
async fn without_the_guard_yet_existing_alarms_are_the_triggers_at_most_five() {
    let ok = |name| metric_alarm(name, "OK", "fine");
    // ingest-rejected-rows is not in CloudWatch yet (this deploy adds it).
    let cloudwatch = cloudwatch(vec![vec![
        ok("notify-errors"),
        ok("notify-throttles"),
        ok("ingest-errors"),
        ok("ingest-throttles"),
        ok("photo-check-errors"),
        ok("failures-queue-messages"),
    ]]);
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (result, lines) = prepare_create(cloudwatch, &sent, stack_alarms(10), false).await;
    assert!(matches!(result, Ok(PrepareOutcome::Ready(_))), "{result:?}");
    let (arns, minutes) = rollback_sent(&sent);
    // Errors first, then the failures queue; throttles only if room is left.
    assert_eq!(
        arns,
        vec![
            arn("notify-errors"),
            arn("ingest-errors"),
            arn("photo-check-errors"),
            arn("failures-queue-messages"),
            arn("notify-throttles"),
        ]
    );
    assert_eq!(minutes, Some(10));
    let said: Vec<_> = lines
        .iter()
        .filter(|line| line.contains("rollback triggers") || line.starts_with("  not triggers"))
        .collect();
    assert_eq!(
        said,
        vec![
            "rollback triggers: 5 alarm(s), watched while the change set runs and 10 min after: upstack-dev-notify-errors, upstack-dev-ingest-errors, upstack-dev-photo-check-errors, upstack-dev-failures-queue-messages, upstack-dev-notify-throttles",
            "  not triggers yet (created by this deploy): upstack-dev-ingest-rejected-rows, upstack-dev-deploy-guard",
            "  not triggers (CloudFormation takes at most 5): upstack-dev-ingest-throttles",
        ]
    );
}

#[tokio::test]
async fn a_first_deploy_has_no_triggers_and_says_so() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (result, lines) =
        prepare_create(cloudwatch(vec![vec![]]), &sent, stack_alarms(0), false).await;
    assert!(matches!(result, Ok(PrepareOutcome::Ready(_))), "{result:?}");
    // Sent, and empty: it replaces whatever triggers the stack remembered.
    assert_eq!(rollback_sent(&sent), (vec![], Some(0)));
    assert!(
        lines.iter().any(|line| line.starts_with(
            "rollback triggers: none: the stack's 8 alarm(s) do not exist yet (this deploy creates them"
        )),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn ignore_alarms_deploys_and_leaves_firing_alarms_out_of_the_triggers() {
    // The guard is in ALARM with its member: as a trigger it would roll the
    // deploy back at once, so the members not in ALARM guard it instead.
    let cloudwatch = cloudwatch_with_guard(vec![(
        vec![
            metric_alarm("notify-errors", "OK", "fine"),
            metric_alarm("ingest-errors", "ALARM", REASON),
            // A state newer than this SDK: carried, neither OK nor ALARM.
            metric_alarm("photo-check-errors", "PENDING_REVIEW", "new"),
        ],
        vec![guard("ALARM", "upstack-dev-ingest-errors is in ALARM")],
    )]);
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (result, lines) = prepare_create(cloudwatch, &sent, stack_alarms(10), true).await;
    assert!(matches!(result, Ok(PrepareOutcome::Ready(_))), "{result:?}");
    let (arns, _) = rollback_sent(&sent);
    assert_eq!(arns, vec![arn("notify-errors"), arn("photo-check-errors")]);
    assert_eq!(
        lines[0],
        format!(
            "--ignore-alarms: deploying although 2 alarm(s) are in ALARM:\n  - upstack-dev-ingest-errors: {REASON}\n  - upstack-dev-deploy-guard: upstack-dev-ingest-errors is in ALARM"
        )
    );
    assert!(
        lines.contains(
            &"  not triggers (in ALARM now, they would roll this deploy back at once): upstack-dev-ingest-errors, upstack-dev-deploy-guard"
                .to_owned()
        ),
        "{lines:#?}"
    );
}

/// A deploy whose update succeeds and is then rolled back because the alarm
/// `trigger` (`upstack-dev-<trigger>`) fired: the reporter's lines, the
/// error and the trigger ARNs sent.
async fn rolled_back_by(trigger: &str, cloudwatch: Cw) -> (Vec<String>, String, Vec<String>) {
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
    // The update itself succeeds; the alarm fires during the monitoring time.
    // The reason's wording is representative (CloudFormation documents no
    // exact text); deploy recognises it by the alarm's ARN in it.
    let after = vec![
        event(
            "e5",
            STACK,
            "AWS::CloudFormation::Stack",
            "UPDATE_ROLLBACK_COMPLETE",
            None,
        ),
        event(
            "e4",
            "IngestFunction",
            "AWS::Lambda::Function",
            "UPDATE_COMPLETE",
            None,
        ),
        event(
            "e3",
            STACK,
            "AWS::CloudFormation::Stack",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some(&format!(
                "Rollback triggered: alarm {} is in ALARM state",
                arn(trigger)
            )),
        ),
        event(
            "e2",
            "IngestFunction",
            "AWS::Lambda::Function",
            "UPDATE_COMPLETE",
            None,
        ),
        event(
            "e1",
            STACK,
            "AWS::CloudFormation::Stack",
            "UPDATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
        before.clone(),
    ];
    let only_before = vec![before];
    let stack_events = mock!(Cfn::describe_stack_events)
        .sequence()
        .output(move || events(only_before.clone()))
        .output(move || events(after.clone()))
        .repeatedly()
        .build();
    let template = mock!(Cfn::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body(TEMPLATE).build());
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (create, ready, execute) = (
        recorded_create(&sent),
        ready_change_set(),
        mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build()),
    );
    let cfn = cfn_client(&[
        &describe,
        &stack_events,
        &template,
        &create,
        &ready,
        &execute,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let clients = DeployClients {
        cloudformation: cfn,
        s3: s3_bootstrapped(),
        cloudwatch,
        lambda: no_lambda(),
        drift: None,
    };
    let plan = request_with(dir.path(), |request| {
        request.manifest.alarms = stack_alarms(10);
    });
    let clock = ManualClock::default();
    let mut reporter = RecordingReporter::default();
    let result = deploy::deploy(
        &clients,
        &plan,
        &options(&clock, false),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await;
    assert!(!matches!(result, Ok(DeployOutcome::Deployed { .. })));
    let message = result.unwrap_err().to_string();
    (reporter.lines, message, rollback_sent(&sent).0)
}

#[tokio::test]
async fn an_alarm_rollback_names_the_alarm_and_its_reason_as_the_root_cause() {
    // No guard yet. Before the deploy: OK. After the rollback: ALARM, with
    // CloudWatch's reason.
    let cloudwatch = cloudwatch(vec![
        vec![metric_alarm("ingest-errors", "OK", "fine")],
        vec![metric_alarm("ingest-errors", "ALARM", REASON)],
    ]);
    let (lines, message, arns) = rolled_back_by("ingest-errors", cloudwatch).await;
    let expected = format!(
        "ROOT CAUSE: alarm upstack-dev-ingest-errors went to ALARM: {REASON} (CloudFormation: UPDATE_ROLLBACK_IN_PROGRESS Rollback triggered: alarm {} is in ALARM state)",
        arn("ingest-errors")
    );
    assert!(lines.contains(&expected), "{lines:#?}");
    assert!(
        message.contains("failed: UPDATE_ROLLBACK_COMPLETE: alarm upstack-dev-ingest-errors went to ALARM: Threshold Crossed"),
        "{message}"
    );
    assert_eq!(arns, vec![arn("ingest-errors")]);
}

#[tokio::test]
async fn a_rollback_by_the_guard_names_the_member_alarms_that_fired() {
    let at = |secs| aws_smithy_types::DateTime::from_secs(secs);
    let member = |name: &str, state: &str, reason: &str, secs| {
        MetricAlarm::builder()
            .alarm_name(format!("upstack-dev-{name}"))
            .state_value(StateValue::from(state))
            .state_reason(reason)
            .state_updated_timestamp(at(secs))
            .build()
    };
    let cloudwatch = cloudwatch_with_guard(vec![
        // Before the deploy: all OK, the guard a trigger.
        (
            vec![member("ingest-errors", "OK", "fine", 0)],
            vec![guard("OK", "fine")],
        ),
        // After the rollback: two members in ALARM, the later one first in
        // CloudWatch's answer; the guard's own reason only lists ARNs.
        (
            vec![
                member(
                    "notify-errors",
                    "ALARM",
                    "Threshold Crossed: 2",
                    1_800_000_100,
                ),
                member("ingest-errors", "ALARM", REASON, 1_800_000_000),
                member("photo-check-errors", "OK", "fine", 0),
            ],
            vec![guard("ALARM", "arn:... transitioned to ALARM")],
        ),
    ]);
    let (lines, message, arns) = rolled_back_by("deploy-guard", cloudwatch).await;
    assert_eq!(arns, vec![arn("deploy-guard")]);
    let expected = format!(
        "ROOT CAUSE: alarm upstack-dev-ingest-errors went to ALARM: {REASON}; alarm upstack-dev-notify-errors went to ALARM: Threshold Crossed: 2 (through composite alarm upstack-dev-deploy-guard; CloudFormation: UPDATE_ROLLBACK_IN_PROGRESS Rollback triggered: alarm {} is in ALARM state)",
        arn("deploy-guard")
    );
    assert!(lines.contains(&expected), "{lines:#?}");
    assert!(
        message.contains(": alarm upstack-dev-ingest-errors went to ALARM: Threshold Crossed"),
        "{message}"
    );
}
