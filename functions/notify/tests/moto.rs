//! `notify` end to end against moto: real S3 objects, DynamoDB idempotency
//! items, and the SQS FIFO queue subscribed (raw delivery) to the FIFO topic.

// Scenarios outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use upstack_test_support::emf_values;

use handler_common::config::EnvSource;
use handler_common::process::RecordOutcome;
use handler_common::testing::{EventRecord, MotoPipeline, s3_event, text};
use handler_common::{CallRecorder, Clock, FixedClock, IdempotencyStore, SystemClock};
use upstack_notify::{Clients, IAM_ACTIONS, Notify};

fn notify_for(
    pipeline: &MotoPipeline,
    fifo_topic_arn: &str,
    recorder: &CallRecorder,
    clock: Arc<dyn Clock>,
) -> Notify {
    let pairs = [
        ("TABLE_NAME", pipeline.table.as_str()),
        ("TOPIC_ARN", pipeline.topic_arn.as_str()),
        ("FIFO_TOPIC_ARN", fifo_topic_arn),
        ("APP_ENV", "test"),
    ];
    let clients = Clients {
        sns: recorder.sns_client(&pipeline.sdk_config),
        dynamodb: recorder.dynamodb_client(&pipeline.sdk_config),
    };
    Notify::from_env(clients, &EnvSource::from_pairs(&pairs), clock)
        .expect("test configuration is valid")
}

fn deadline() -> SystemTime {
    SystemTime::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn each_object_version_is_announced_once_on_both_topics() {
    each_object_version_is_announced_once_on_both_topics_scenario().await;
}

/// [`each_object_version_is_announced_once_on_both_topics`], returning every IAM action it made.
async fn each_object_version_is_announced_once_on_both_topics_scenario() -> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    let (metrics, lines) =
        handler_common::Metrics::in_memory("upstack/test", Arc::new(SystemClock));
    let notify = notify_for(
        &pipeline,
        &pipeline.fifo_topic_arn,
        &recorder,
        Arc::new(SystemClock),
    )
    .with_metrics(metrics);
    let key = "uploads/my report+1 ü.txt";
    let version = pipeline.put_object(key, b"hello".to_vec()).await;
    let event = pipeline.created_event(key, &version, 5);

    let summary = notify.handle(&event, "req-1", deadline()).await.unwrap();
    assert!(
        matches!(summary.records[0].outcome, RecordOutcome::Processed(_)),
        "{summary:?}"
    );

    let fifo = pipeline.drain(&pipeline.fifo_queue_url).await;
    assert_eq!(fifo.len(), 1, "{fifo:?}");
    let body: serde_json::Value = serde_json::from_str(fifo[0].body().unwrap()).unwrap();
    assert_eq!(body["key"], key);
    assert_eq!(body["versionId"], version.as_str());
    assert_eq!(body["type"], "upload.created");
    assert_eq!(body["uploadedBy"], "AWS:AIDAEXAMPLEUPLOADER");
    let attributes = fifo[0].attributes().unwrap();
    let attribute = |name: &str| {
        attributes
            .get(&aws_sdk_sqs::types::MessageSystemAttributeName::from(name))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        attribute("MessageGroupId"),
        upstack_notify::MessageGroupId::for_object(&pipeline.bucket, key).as_str()
    );

    let standard = pipeline.drain(&pipeline.topic_queue_url).await;
    assert_eq!(standard.len(), 1);
    let envelope: serde_json::Value = serde_json::from_str(standard[0].body().unwrap()).unwrap();
    assert_eq!(
        envelope["Subject"],
        "[test] New upload: uploads/my report+1 ?.txt"
    );
    let message = envelope["Message"].as_str().unwrap();
    assert!(
        message.contains("Key:         uploads/my report+1 ü.txt\n"),
        "{message}"
    );
    assert!(message.contains("Size:        5 bytes\n"), "{message}");
    assert!(
        message.contains("Uploaded by: AWS:AIDAEXAMPLEUPLOADER\n"),
        "{message}"
    );

    // S3 delivers at least once: the same event again changes nothing.
    let again = notify.handle(&event, "req-2", deadline()).await.unwrap();
    assert!(
        matches!(again.records[0].outcome, RecordOutcome::Duplicate(_)),
        "{again:?}"
    );
    assert!(pipeline.drain(&pipeline.fifo_queue_url).await.is_empty());
    assert!(pipeline.drain(&pipeline.topic_queue_url).await.is_empty());

    let items = pipeline.items().await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        text(&items[0], "pk"),
        format!("idem#notify#{}/{key}", pipeline.bucket)
    );
    assert_eq!(text(&items[0], "sk"), format!("version#{version}"));
    assert_eq!(text(&items[0], "state"), "DONE");

    let used: Vec<String> = recorder.actions().into_iter().collect();
    assert_eq!(
        used,
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "sns:Publish"
        ]
    );
    assert!(
        used.iter()
            .all(|action| IAM_ACTIONS.contains(&action.as_str()))
    );
    let topics: Vec<String> = recorder
        .calls()
        .into_iter()
        .filter(|call| call.action == "sns:Publish")
        .map(|call| call.resource)
        .collect();
    assert_eq!(
        topics,
        [pipeline.fifo_topic_arn.clone(), pipeline.topic_arn.clone()]
    );
    assert_eq!(
        emf_values(&lines, "upstack/test"),
        [serde_json::json!({"FifoNotificationsSent": 1, "NotificationsSent": 1})]
    );
    recorder.actions()
}

#[tokio::test]
async fn a_bad_record_does_not_cost_the_others() {
    a_bad_record_does_not_cost_the_others_scenario().await;
}

/// [`a_bad_record_does_not_cost_the_others`], returning every IAM action it made.
async fn a_bad_record_does_not_cost_the_others_scenario() -> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    let notify = notify_for(
        &pipeline,
        &pipeline.fifo_topic_arn,
        &recorder,
        Arc::new(SystemClock),
    );
    let first = pipeline.put_object("uploads/a.txt", b"a".to_vec()).await;
    let second = pipeline.put_object("uploads/b.txt", b"bb".to_vec()).await;
    let mut event = s3_event(&[
        EventRecord::created(&pipeline.bucket, "uploads/a.txt", Some(&first), 1),
        EventRecord::created(&pipeline.bucket, "uploads/broken.txt", Some("v"), 1),
        EventRecord::created(&pipeline.bucket, "data/not-mine.csv", Some("v"), 1),
        EventRecord::created(&pipeline.bucket, "uploads/b.txt", Some(&second), 2),
    ]);
    event["Records"][1]["s3"]["object"]
        .as_object_mut()
        .unwrap()
        .remove("key");

    let summary = notify.handle(&event, "req", deadline()).await.unwrap();
    let outcomes: Vec<&RecordOutcome> = summary
        .records
        .iter()
        .map(|record| &record.outcome)
        .collect();
    assert!(matches!(outcomes[0], RecordOutcome::Processed(_)));
    assert_eq!(
        outcomes[1],
        &RecordOutcome::FailedPermanently(
            "S3 event record field `Records[1].s3.object.key` is missing".into()
        )
    );
    assert_eq!(
        outcomes[2],
        &RecordOutcome::Ignored("key is not under uploads/".into())
    );
    assert!(matches!(outcomes[3], RecordOutcome::Processed(_)));

    let mut keys: Vec<String> = pipeline
        .drain(&pipeline.fifo_queue_url)
        .await
        .iter()
        .map(|message| {
            serde_json::from_str::<serde_json::Value>(message.body().unwrap()).unwrap()["key"]
                .to_string()
        })
        .collect();
    keys.sort();
    assert_eq!(keys, ["\"uploads/a.txt\"", "\"uploads/b.txt\""]);
    recorder.actions()
}

#[tokio::test]
async fn a_transient_failure_fails_the_invocation_and_releases_the_claim() {
    a_transient_failure_fails_the_invocation_and_releases_the_claim_scenario().await;
}

/// [`a_transient_failure_fails_the_invocation_and_releases_the_claim`], returning every IAM action it made.
async fn a_transient_failure_fails_the_invocation_and_releases_the_claim_scenario()
-> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    let missing_topic = format!(
        "arn:aws:sns:eu-west-1:{}:gone.fifo",
        handler_common::testing::ACCOUNT_ID
    );
    let broken = notify_for(&pipeline, &missing_topic, &recorder, Arc::new(SystemClock));
    let version = pipeline
        .put_object("uploads/retry.txt", b"r".to_vec())
        .await;
    let other = pipeline
        .put_object("uploads/other.txt", b"o".to_vec())
        .await;
    let event = s3_event(&[
        EventRecord::created(&pipeline.bucket, "uploads/retry.txt", Some(&version), 1),
        EventRecord::created(&pipeline.bucket, "uploads/other.txt", Some(&other), 1),
    ]);

    // moto answers NotFound for an unknown topic: not known to be about the
    // object, so it is retried rather than recorded as FAILED.
    let error = broken
        .handle(&event, "req-1", deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("2 of 2 record(s) failed transiently"),
        "{error}"
    );
    assert!(error.contains("SNS Publish (FIFO topic)"), "{error}");
    assert!(
        pipeline.items().await.is_empty(),
        "claims must be released for the retry"
    );
    assert!(recorder.actions().contains("dynamodb:DeleteItem"));

    // Lambda's retry, once the topic is right, goes through.
    let fixed = notify_for(
        &pipeline,
        &pipeline.fifo_topic_arn,
        &recorder,
        Arc::new(SystemClock),
    );
    let summary = fixed.handle(&event, "req-2", deadline()).await.unwrap();
    assert!(
        summary
            .records
            .iter()
            .all(|record| matches!(record.outcome, RecordOutcome::Processed(_)))
    );
    assert_eq!(pipeline.drain(&pipeline.fifo_queue_url).await.len(), 2);
    let used: Vec<String> = recorder.actions().into_iter().collect();
    assert_eq!(
        used,
        [
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "sns:Publish"
        ]
    );
    assert!(
        used.iter()
            .all(|action| IAM_ACTIONS.contains(&action.as_str()))
    );
    recorder.actions()
}

#[tokio::test]
async fn a_crashed_attempt_blocks_only_until_its_lease_expires() {
    a_crashed_attempt_blocks_only_until_its_lease_expires_scenario().await;
}

/// [`a_crashed_attempt_blocks_only_until_its_lease_expires`], returning every IAM action it made.
async fn a_crashed_attempt_blocks_only_until_its_lease_expires_scenario() -> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let clock = Arc::new(FixedClock::at_epoch_seconds(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    ));
    let recorder = CallRecorder::new();
    let notify = notify_for(
        &pipeline,
        &pipeline.fifo_topic_arn,
        &recorder,
        clock.clone(),
    );
    let version = pipeline
        .put_object("uploads/crash.txt", b"c".to_vec())
        .await;
    let event = pipeline.created_event("uploads/crash.txt", &version, 1);

    // An attempt that claimed the version and then died (no completion).
    let store = IdempotencyStore::new(
        pipeline.dynamodb.clone(),
        &pipeline.table,
        "notify",
        clock.clone(),
    );
    let parsed = handler_common::s3_event::parse_s3_event(&event)
        .unwrap()
        .remove(0)
        .unwrap();
    let lease_end = clock.now() + Duration::from_secs(90);
    assert!(matches!(
        store
            .claim(&parsed.version, "crashed", lease_end)
            .await
            .unwrap(),
        handler_common::Claim::Acquired(_)
    ));

    let error = notify
        .handle(&event, "req-1", clock.now())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("another attempt holds this version"),
        "{error}"
    );
    assert!(pipeline.drain(&pipeline.fifo_queue_url).await.is_empty());

    clock.advance(Duration::from_secs(91));
    let summary = notify.handle(&event, "req-2", clock.now()).await.unwrap();
    assert!(
        matches!(summary.records[0].outcome, RecordOutcome::Processed(_)),
        "{summary:?}"
    );
    assert_eq!(pipeline.drain(&pipeline.fifo_queue_url).await.len(), 1);
    recorder.actions()
}

/// The handler's `IAM_ACTIONS` are exactly the actions its scenarios above
/// call, together: an action granted but never called fails here (each
/// scenario alone only checks that what it calls is granted).
#[tokio::test]
async fn iam_actions_are_exactly_what_the_scenarios_call() {
    let mut called = BTreeSet::new();
    called.extend(each_object_version_is_announced_once_on_both_topics_scenario().await);
    called.extend(a_bad_record_does_not_cost_the_others_scenario().await);
    called.extend(a_transient_failure_fails_the_invocation_and_releases_the_claim_scenario().await);
    called.extend(a_crashed_attempt_blocks_only_until_its_lease_expires_scenario().await);
    let granted: BTreeSet<String> = IAM_ACTIONS
        .iter()
        .map(|action| (*action).to_owned())
        .collect();
    assert_eq!(
        called, granted,
        "called by the scenarios (left) vs IAM_ACTIONS (right)"
    );
}
