//! One test per synth-time check: each builds a violating pipeline from the
//! real dev config and asserts the message names the parts involved.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use upstack_stack::checks;
use upstack_stack::model::{Endpoint, Grant, KeyChoice, KeyUse, Route, Subscription, Target, ids};
use upstack_stack::{EnvConfig, Pipeline, StackError, config};

fn dev() -> (EnvConfig, Pipeline) {
    let config = config::parse("envs/dev.toml", include_str!("../../envs/dev.toml")).unwrap();
    let pipeline = Pipeline::for_env("dev", &config);
    (config, pipeline)
}

fn assets() -> BTreeMap<String, String> {
    upstack_stack::pipeline::handlers()
        .iter()
        .map(|h| ((*h).to_owned(), format!("assets/{h}-arm64-test.zip")))
        .collect()
}

fn messages(pipeline: &Pipeline) -> Vec<String> {
    checks::check(pipeline)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_standard_pipeline_passes_every_check() {
    let (_, pipeline) = dev();
    assert_eq!(checks::check(&pipeline), vec![]);
}

#[test]
fn overlapping_routes_are_reported_with_both_routes() {
    let (_, mut pipeline) = dev();
    pipeline.routes.push(Route {
        event: "s3:ObjectCreated:Put".into(),
        prefix: "photos/raw/".into(),
        suffix: "".into(),
        target: Target::Function("notify".into()),
    });
    let messages = messages(&pipeline);
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert_eq!(
        messages[0],
        "routes `s3:ObjectCreated:* photos/*.jpg -> function photo-check` and `s3:ObjectCreated:Put photos/raw/* -> function notify` overlap (same event, one prefix starts the other and the suffixes overlap); S3 rejects this with \"Configurations overlap\""
    );
}

#[test]
fn same_prefix_with_distinct_suffixes_does_not_overlap() {
    let (_, pipeline) = dev();
    // photos/ has .jpg, .jpeg and .png: `.jpeg` is not a suffix of `.jpg`.
    assert!(
        pipeline
            .routes
            .iter()
            .filter(|r| r.prefix == "photos/")
            .count()
            == 3
    );
    assert!(messages(&pipeline).is_empty());
}

#[test]
fn a_function_writing_where_it_is_triggered_is_a_loop() {
    let (_, mut pipeline) = dev();
    let ingest = pipeline
        .functions
        .iter_mut()
        .find(|f| f.handler == "ingest")
        .unwrap();
    ingest.grants.push(Grant::WriteObjects {
        prefix: "data/reports/".into(),
    });
    assert_eq!(
        messages(&pipeline),
        vec![
            "function ingest may write objects under `data/reports/`, which triggers it again through route `s3:ObjectCreated:* data/*.csv -> function ingest` (recursive invocation loop)",
            "function ingest may write objects under `data/reports/`, which triggers it again through route `s3:ObjectCreated:* data/*.jsonl -> function ingest` (recursive invocation loop)",
        ]
    );
}

#[test]
fn writing_into_another_functions_prefix_is_not_a_loop() {
    let (_, mut pipeline) = dev();
    let ingest = pipeline
        .functions
        .iter_mut()
        .find(|f| f.handler == "ingest")
        .unwrap();
    ingest.grants.push(Grant::WriteObjects {
        prefix: "reports/".into(),
    });
    assert!(messages(&pipeline).is_empty());
}

#[test]
fn fifo_names_must_end_in_dot_fifo() {
    let (_, mut pipeline) = dev();
    pipeline
        .topics
        .iter_mut()
        .find(|t| t.id == ids::EVENTS_TOPIC)
        .unwrap()
        .name = "upstack-dev-events".into();
    pipeline
        .queues
        .iter_mut()
        .find(|q| q.id == ids::FAILURES_QUEUE)
        .unwrap()
        .name = "upstack-dev-failures.fifo".into();
    assert_eq!(
        messages(&pipeline),
        vec![
            "FIFO topic events is named `upstack-dev-events`; FIFO topic names must end in `.fifo`",
            "standard queue failures is named `upstack-dev-failures.fifo`; only FIFO queue names may end in `.fifo`",
        ]
    );
}

#[test]
fn a_fifo_topic_takes_no_email_subscription() {
    let (_, mut pipeline) = dev();
    pipeline.subscriptions.push(Subscription {
        topic: ids::EVENTS_TOPIC.into(),
        endpoint: Endpoint::Email("ops@example.com".into()),
    });
    assert_eq!(
        messages(&pipeline),
        vec![
            "FIFO topic events cannot have the email subscription `ops@example.com`: SNS FIFO topics deliver only to SQS queues"
        ]
    );
}

#[test]
fn s3_cannot_notify_a_fifo_topic_or_queue() {
    let (_, mut pipeline) = dev();
    pipeline.routes.push(Route {
        event: "s3:ObjectRemoved:*".into(),
        prefix: "".into(),
        suffix: "".into(),
        target: Target::Topic(ids::EVENTS_TOPIC.into()),
    });
    pipeline.routes.push(Route {
        event: "s3:ObjectRestore:*".into(),
        prefix: "".into(),
        suffix: "".into(),
        target: Target::Queue(ids::EVENTS_QUEUE.into()),
    });
    assert_eq!(
        messages(&pipeline),
        vec![
            "route `s3:ObjectRemoved:* * -> topic events` targets a FIFO destination; S3 event notifications cannot deliver to FIFO topics or queues",
            "route `s3:ObjectRestore:* * -> queue events` targets a FIFO destination; S3 event notifications cannot deliver to FIFO topics or queues",
        ]
    );
}

#[test]
fn a_standard_topic_cannot_feed_a_fifo_queue() {
    let (_, mut pipeline) = dev();
    pipeline.subscriptions.push(Subscription {
        topic: ids::ALERTS_TOPIC.into(),
        endpoint: Endpoint::Queue(ids::EVENTS_QUEUE.into()),
    });
    pipeline.key_policy = pipeline.required_key_uses();
    assert_eq!(
        messages(&pipeline),
        vec![
            "topic alerts and its subscribed queue events differ in FIFO-ness; a standard topic cannot feed a FIFO queue and a FIFO topic delivers only to FIFO queues"
        ]
    );
}

#[test]
fn an_aws_managed_key_cannot_take_service_deliveries() {
    let (_, mut pipeline) = dev();
    pipeline
        .queues
        .iter_mut()
        .find(|q| q.id == ids::EVENTS_QUEUE)
        .unwrap()
        .key = KeyChoice::AwsManaged("alias/aws/sqs".into());
    pipeline.functions[0].log_key = KeyChoice::AwsManaged("alias/aws/logs".into());
    pipeline.key_policy = pipeline.required_key_uses();
    assert_eq!(
        messages(&pipeline),
        vec![
            "queue events is encrypted with the AWS managed key `alias/aws/sqs`, but sns.amazonaws.com (topic delivery) must encrypt into it and an AWS managed key's policy cannot grant that; use the stack's customer managed key",
            "log group /aws/lambda/upstack-dev-notify is encrypted with the AWS managed key `alias/aws/logs`, but logs.eu-west-1.amazonaws.com must encrypt into it and an AWS managed key's policy cannot grant that; use the stack's customer managed key",
        ]
    );
}

#[test]
fn a_service_missing_from_the_key_policy_is_named() {
    let (_, mut pipeline) = dev();
    pipeline.key_policy.retain(|key_use| match key_use {
        KeyUse::SnsToQueue { .. } => false,
        KeyUse::Logs { log_group } => !log_group.ends_with("photo-check"),
        KeyUse::AlarmsToTopic { .. } => true,
    });
    assert_eq!(
        messages(&pipeline),
        vec![
            "the key policy does not allow sns.amazonaws.com, which must use the key for topic events delivering into queue events",
            "the key policy does not allow logs.eu-west-1.amazonaws.com, which must use the key for log group /aws/lambda/upstack-dev-photo-check",
        ]
    );
}

#[test]
fn alarms_cannot_notify_a_topic_whose_key_denies_cloudwatch() {
    let (_, mut pipeline) = dev();
    assert!(pipeline.key_policy.contains(&KeyUse::AlarmsToTopic {
        topic: ids::ALERTS_TOPIC.into()
    }));
    pipeline
        .key_policy
        .retain(|key_use| !matches!(key_use, KeyUse::AlarmsToTopic { .. }));
    let messages = messages(&pipeline);
    assert_eq!(messages.len(), pipeline.alarms.len(), "{messages:#?}");
    assert_eq!(
        messages[0],
        "alarm upstack-dev-notify-errors notifies topic alerts, but the key encrypting that topic does not allow cloudwatch.amazonaws.com (kms:Decrypt, kms:GenerateDataKey): its notifications would never arrive"
    );
    // And synth refuses to build it.
    let (config, _) = dev();
    let error = upstack_stack::synthesize_pipeline(&pipeline, &config, &assets()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("alarm upstack-dev-ingest-rejected-rows notifies topic alerts"),
        "{error}"
    );
}

#[test]
fn references_to_missing_parts_are_reported() {
    let (_, mut pipeline) = dev();
    pipeline.functions[0].grants.push(Grant::Publish {
        topic: "audit".into(),
    });
    assert_eq!(
        messages(&pipeline),
        vec![
            "function notify's publish grant refers to topic `audit`, which is not in the pipeline"
        ]
    );
}

#[test]
fn synth_refuses_a_pipeline_with_problems_and_lists_them_all() {
    let (config, mut pipeline) = dev();
    pipeline.topics[1].name = "x".into();
    pipeline.subscriptions.push(Subscription {
        topic: ids::EVENTS_TOPIC.into(),
        endpoint: Endpoint::Email("a@b.co".into()),
    });
    let error = upstack_stack::synthesize_pipeline(&pipeline, &config, &assets()).unwrap_err();
    assert!(matches!(&error, StackError::Pipeline { problems, .. } if problems.len() == 2));
    let text = error.to_string();
    assert!(
        text.starts_with(
            "env `dev`: the pipeline has 2 problem(s):\n  - FIFO topic events is named `x`"
        ),
        "{text}"
    );
}

#[test]
fn the_template_validation_runs_at_synth() {
    // Two handlers whose names map to the same logical IDs: only the
    // template validation (upstack_cfn::validate) can see that.
    let (config, mut pipeline) = dev();
    let mut twin = pipeline.functions[2].clone();
    twin.handler = "photo_check".into();
    twin.name = "upstack-dev-photo-check-2".into();
    pipeline.functions.push(twin);
    pipeline.key_policy = pipeline.required_key_uses();
    let mut assets = assets();
    assets.insert("photo_check".into(), "assets/x.zip".into());
    let error = upstack_stack::synthesize_pipeline(&pipeline, &config, &assets).unwrap_err();
    assert!(matches!(error, StackError::Template { .. }), "{error}");
    assert!(error.to_string().contains("PhotoCheckFunction"), "{error}");
}

#[test]
fn a_missing_asset_key_is_an_error() {
    let (config, pipeline) = dev();
    let mut assets = assets();
    assets.remove("ingest");
    let error = upstack_stack::synthesize_pipeline(&pipeline, &config, &assets).unwrap_err();
    assert_eq!(
        error.to_string(),
        "env `dev`: no asset key for handler `ingest`; synth computes one per handler declared in upstack_stack::pipeline"
    );
}
