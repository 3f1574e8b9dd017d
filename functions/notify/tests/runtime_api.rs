//! The real `notify` binary, run as Lambda runs it: spawned behind the
//! embedded Lambda Runtime API (`upstack_runtime_api`, the same one
//! `upstack invoke` uses), talking to moto. moto's CloudFormation creates no
//! SNS subscriptions, so the fixture subscribes the FIFO queue to the FIFO
//! topic itself (raw delivery), as the stack does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use handler_common::testing::{ACCOUNT_ID, MotoPipeline, REGION};
use upstack_runtime_api::{Invocation, InvocationOutcome, invoke_once};

fn invocation(pipeline: &MotoPipeline, event: &serde_json::Value) -> Invocation {
    let environment = [
        ("TABLE_NAME", pipeline.table.as_str()),
        ("TOPIC_ARN", pipeline.topic_arn.as_str()),
        ("FIFO_TOPIC_ARN", pipeline.fifo_topic_arn.as_str()),
        ("APP_ENV", "test"),
        // What Lambda's execution role provides, here pointing at moto.
        ("AWS_ENDPOINT_URL", pipeline.moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect::<BTreeMap<_, _>>();
    Invocation {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_notify")),
        function_name: "upstack-test-notify".into(),
        environment,
        memory_mb: 256,
        timeout: Duration::from_secs(30),
        region: REGION.into(),
        account_id: ACCOUNT_ID.into(),
        event: serde_json::to_vec(event).expect("an S3 event serializes"),
        extra_passthrough: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notify_binary_announces_once_on_both_topics_through_the_runtime_api() {
    let pipeline = MotoPipeline::start().await;
    let key = "uploads/passport scan+1 ü.pdf";
    let version = pipeline.put_object(key, b"%PDF-1.7".to_vec()).await;
    let event = pipeline.created_event(key, &version, 8);

    let report = invoke_once(invocation(&pipeline, &event)).await.unwrap();
    let logs: Vec<&str> = report.logs.iter().map(|line| line.text.as_str()).collect();
    assert!(
        matches!(report.outcome, InvocationOutcome::Response(_)),
        "{:?}\n{}",
        report.outcome,
        logs.join("\n")
    );

    let fifo = pipeline.drain(&pipeline.fifo_queue_url).await;
    assert_eq!(fifo.len(), 1, "{fifo:?}");
    let body: serde_json::Value = serde_json::from_str(fifo[0].body().unwrap_or_default()).unwrap();
    assert_eq!(body["key"], key);
    assert_eq!(body["versionId"], version.as_str());
    let standard = pipeline.drain(&pipeline.topic_queue_url).await;
    assert_eq!(standard.len(), 1, "{standard:?}");
    assert!(
        standard[0]
            .body()
            .unwrap_or_default()
            .contains("passport scan+1")
    );

    // The same event again: skipped by the idempotency record, no message.
    let report = invoke_once(invocation(&pipeline, &event)).await.unwrap();
    assert!(
        matches!(report.outcome, InvocationOutcome::Response(_)),
        "{:?}",
        report.outcome
    );
    assert!(pipeline.drain(&pipeline.fifo_queue_url).await.is_empty());
    assert!(pipeline.drain(&pipeline.topic_queue_url).await.is_empty());
}
