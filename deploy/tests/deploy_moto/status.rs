//! `status`: gathered against moto (CloudFormation stack resources, SQS
//! queue depths) with CloudWatch recorded, and both renderings snapshotted.
//! CloudWatch is recorded because the Rust CloudWatch SDK speaks Smithy RPC
//! v2 CBOR, which moto 5.2.5 does not serve (only CloudWatch's query and
//! JSON protocols, getmoto/moto#9195): alarms set with its API could not be
//! read back by the SDK.

use std::time::SystemTime;

use aws_sdk_cloudwatch::Client as Cw;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, MetricDataResult, StateValue};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use upstack_deploy::status::{
    self, AlarmReport, CodeReport, FunctionReport, Health, QueueReport, StackReport, StatusClients,
};
use upstack_diff::drift::{DriftStatus, PropertyDrift, ResourceDrift};
use upstack_stack::Manifest;
use upstack_test_support::{MotoServer, repo_root};

const BUCKET: &str = "upstack-assets-123456789012-eu-west-1";
const REASON: &str = "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (27/11/26 12:00:00)] was greater than or equal to the threshold (1.0).";

fn dev_targets() -> Manifest {
    upstack_project::manifest::load(&repo_root(), "dev").unwrap()
}

/// DescribeAlarms: ingest's errors alarm in ALARM, the others OK, one
/// missing; GetMetricData: 3 errors for ingest (two datapoints).
fn recorded_cloudwatch(targets: &Manifest) -> Cw {
    let names = targets.alarms.names();
    let alarms: Vec<MetricAlarm> = names
        .iter()
        .filter(|name| !name.ends_with("-ingest-rejected-rows"))
        .map(|name| {
            let firing = name.ends_with("-ingest-errors");
            MetricAlarm::builder()
                .alarm_name(name)
                .state_value(if firing {
                    StateValue::Alarm
                } else {
                    StateValue::Ok
                })
                .state_reason(if firing { REASON } else { "fine" })
                .build()
        })
        .collect();
    let describe = mock!(Cw::describe_alarms).then_output(move || {
        DescribeAlarmsOutput::builder()
            .set_metric_alarms(Some(alarms.clone()))
            .build()
    });
    let ingest = targets
        .functions
        .iter()
        .position(|function| function.handler == "ingest")
        .unwrap();
    let metrics = mock!(Cw::get_metric_data)
        .match_requests(|request| {
            // One query per function, Errors summed over one hour.
            request.metric_data_queries().len() == 3
                && request.metric_data_queries().iter().all(|query| {
                    query.metric_stat().is_some_and(|stat| {
                        stat.period() == Some(3600)
                            && stat.stat() == Some("Sum")
                            && stat.metric().and_then(|metric| metric.metric_name())
                                == Some("Errors")
                    })
                })
        })
        .then_output(move || {
            GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id(format!("errors{ingest}"))
                        .values(2.0)
                        .values(1.0)
                        .build(),
                )
                .build()
        });
    mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        &[&describe, &metrics]
    )
}

#[tokio::test]
async fn status_reads_queue_depths_from_the_stack_and_alarm_states() {
    let moto = MotoServer::start();
    let config = moto.sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let targets = dev_targets();
    // The stack's three queues under the names the dev pipeline gives them.
    let mut resources = serde_json::Map::new();
    for queue in &targets.queues {
        let fifo = queue.name.ends_with(".fifo");
        let mut properties = serde_json::json!({ "QueueName": queue.name });
        if fifo {
            properties["FifoQueue"] = true.into();
        }
        resources.insert(
            format!("Queue{}", resources.len()),
            serde_json::json!({ "Type": "AWS::SQS::Queue", "Properties": properties }),
        );
    }
    let template = serde_json::json!({ "Resources": resources }).to_string();
    cfn.create_stack()
        .stack_name(&targets.stack_name)
        .template_body(template)
        .send()
        .await
        .unwrap();
    let failures = targets
        .queues
        .iter()
        .find(|queue| queue.id == "failures")
        .unwrap();
    let url = sqs
        .get_queue_url()
        .queue_name(&failures.name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    for body in ["a", "b"] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    let clients = StatusClients {
        cloudformation: cfn,
        cloudwatch: recorded_cloudwatch(&targets),
        sqs,
        s3: upstack_deploy::aws::s3_client(&config),
        lambda: aws_sdk_lambda::Client::new(&config),
        // Drift has tests of its own (drift_moto.rs).
        drift: None,
    };
    let report = status::gather(
        &clients,
        &targets,
        BUCKET,
        upstack_test_support::ACCOUNT_ID,
        SystemTime::now(),
    )
    .await
    .unwrap();
    assert_eq!(report.health, Health::Alarm);
    assert_eq!(report.stack.status, "CREATE_COMPLETE");
    assert!(report.stack.last_deployed.is_some());
    let firing: Vec<_> = report.firing().map(|alarm| alarm.name.as_str()).collect();
    assert_eq!(firing, vec!["upstack-dev-ingest-errors"]);
    let missing = report
        .alarms
        .iter()
        .find(|alarm| alarm.name == "upstack-dev-ingest-rejected-rows")
        .unwrap();
    assert_eq!(missing.state, "MISSING");
    let depths: Vec<_> = report
        .queues
        .iter()
        .map(|queue| (queue.id.as_str(), queue.url.is_some(), queue.visible))
        .collect();
    assert_eq!(depths.len(), 3, "{depths:?}");
    assert!(depths.contains(&("failures", true, Some(2))), "{depths:?}");
    assert!(
        depths
            .iter()
            .filter(|(id, ..)| *id != "failures")
            .all(|(_, found, visible)| *found && *visible == Some(0)),
        "{depths:?}"
    );
    let errors: Vec<_> = report
        .functions
        .iter()
        .map(|function| (function.handler.as_str(), function.errors_last_hour))
        .collect();
    assert!(errors.contains(&("ingest", 3.0)), "{errors:?}");
    assert_eq!(errors.iter().map(|(_, n)| n).sum::<f64>(), 3.0);

    // No stack: an error naming what to do, not a report.
    let other = Manifest {
        stack_name: "upstack-nope".into(),
        ..targets.clone()
    };
    let error = status::gather(
        &clients,
        &other,
        BUCKET,
        upstack_test_support::ACCOUNT_ID,
        SystemTime::now(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "stack upstack-nope does not exist: deploy it first (`upstack deploy --env dev`)"
    );
}

/// A bucket policy opened to everyone by hand, and a queue deleted.
fn sample_drift() -> Vec<ResourceDrift> {
    vec![
        ResourceDrift {
            logical_id: "EventsQueue".into(),
            resource_type: "AWS::SQS::Queue".into(),
            physical_id: Some(
                "https://sqs.eu-west-1.amazonaws.com/123456789012/upstack-dev-events.fifo".into(),
            ),
            status: DriftStatus::Deleted,
            reason: None,
            properties: Vec::new(),
        },
        ResourceDrift {
            logical_id: "UploadBucketPolicy".into(),
            resource_type: "AWS::S3::BucketPolicy".into(),
            physical_id: Some("upstack-dev-UploadBucketPolicy-1".into()),
            status: DriftStatus::Modified,
            reason: None,
            properties: vec![PropertyDrift {
                path: "Properties.PolicyDocument".into(),
                declared: true,
                expected: Some(serde_json::json!({"Statement": []})),
                actual: Some(
                    serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}),
                ),
                broadening: true,
                details: vec!["+ principal *".into(), "+ action s3:GetObject".into()],
                fate: None,
            }],
        },
    ]
}

/// A fixed report: one alarm in ALARM, one in a state newer than the SDK,
/// one missing; a queue not in the stack; a bucket policy changed by hand.
fn sample_report() -> status::StatusReport {
    let mut report = sample_report_without_drift();
    report.drift = sample_drift();
    report
}

fn sample_report_without_drift() -> status::StatusReport {
    let targets = dev_targets();
    let alarm = |name: &str, state: &str, reason: Option<&str>| AlarmReport {
        name: name.into(),
        state: state.into(),
        reason: reason.map(str::to_owned),
        updated: Some("2026-11-27T12:00:00Z".into()),
    };
    status::report(
        &targets,
        StackReport {
            name: "upstack-dev".into(),
            status: "UPDATE_COMPLETE".into(),
            status_reason: None,
            last_deployed: Some("2026-11-27T11:00:00Z".into()),
        },
        vec![
            alarm("upstack-dev-notify-errors", "OK", Some("fine")),
            alarm("upstack-dev-ingest-errors", "ALARM", Some(REASON)),
            alarm(
                "upstack-dev-ingest-throttles",
                "PENDING_REVIEW",
                Some("a state newer than this SDK"),
            ),
            AlarmReport {
                name: "upstack-dev-ingest-rejected-rows".into(),
                state: "MISSING".into(),
                reason: None,
                updated: None,
            },
        ],
        vec![
            QueueReport {
                id: "failures".into(),
                name: "upstack-dev-failures".into(),
                url: Some(
                    "https://sqs.eu-west-1.amazonaws.com/123456789012/upstack-dev-failures".into(),
                ),
                visible: Some(2),
                in_flight: Some(0),
            },
            QueueReport {
                id: "events".into(),
                name: "upstack-dev-events.fifo".into(),
                url: None,
                visible: None,
                in_flight: None,
            },
        ],
        vec![
            FunctionReport {
                handler: "notify".into(),
                name: "upstack-dev-notify".into(),
                errors_last_hour: 0.0,
                code: CodeReport::AsDeployed {
                    sha256: "a".repeat(64),
                },
                hotswapped: None,
            },
            FunctionReport {
                handler: "ingest".into(),
                name: "upstack-dev-ingest".into(),
                errors_last_hour: 3.0,
                code: CodeReport::Differs {
                    running: "b".repeat(64),
                    deployed: "c".repeat(64),
                },
                // Set by `deploy --hotswap`: why the code differs.
                hotswapped: Some("assets/ingest-arm64-fedcba9876543210.zip".into()),
            },
        ],
    )
}

#[test]
fn status_text_rendering() {
    insta::assert_snapshot!("status_text", status::render_text(&sample_report()));
}

#[test]
fn status_json_rendering() {
    insta::assert_snapshot!(
        "status_json",
        status::render_json(&sample_report()).unwrap()
    );
}

#[test]
fn a_report_without_an_alarm_in_alarm_is_healthy() {
    let mut report = sample_report();
    report.alarms.retain(|alarm| alarm.state != "ALARM");
    // The sample's ingest runs other code than its last deploy: a finding.
    assert!(report.needs_attention());
    let mut functions = report.functions.clone();
    for function in &mut functions {
        function.code = CodeReport::AsDeployed {
            sha256: "a".repeat(64),
        };
    }
    let report = status::report(
        &dev_targets(),
        report.stack.clone(),
        report.alarms.clone(),
        report.queues.clone(),
        functions,
    );
    assert_eq!(report.health, Health::Healthy);
    assert!(!report.needs_attention());
    assert!(status::render_text(&report).ends_with("healthy: no alarm in ALARM\n"));
}

#[test]
fn drift_that_weakens_security_needs_attention_and_other_drift_is_listed() {
    let healthy = |drift: Vec<ResourceDrift>| {
        let sample = sample_report_without_drift();
        let mut functions = sample.functions.clone();
        for function in &mut functions {
            function.code = CodeReport::AsDeployed {
                sha256: "a".repeat(64),
            };
        }
        let mut report = status::report(
            &dev_targets(),
            sample.stack.clone(),
            sample
                .alarms
                .iter()
                .filter(|alarm| alarm.state != "ALARM")
                .cloned()
                .collect(),
            sample.queues.clone(),
            functions,
        );
        report.drift = drift;
        report
    };
    let mut drift = sample_drift();
    let report = healthy(drift.clone());
    assert!(report.needs_attention());
    assert!(
        status::render_text(&report).ends_with(
            "DRIFT: 1 resource(s) changed outside CloudFormation in a way that weakens security: UploadBucketPolicy\n"
        ),
        "{}",
        status::render_text(&report)
    );
    // A deleted queue is listed, but is not a security finding.
    drift.retain(|resource| resource.status == DriftStatus::Deleted);
    let report = healthy(drift);
    assert!(!report.needs_attention());
    assert!(status::render_text(&report).contains("! EventsQueue (AWS::SQS::Queue)"));
}
