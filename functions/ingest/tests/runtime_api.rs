//! The real `ingest` binary, run as Lambda runs it: spawned behind the
//! embedded Lambda Runtime API (`upstack_runtime_api`, the same one
//! `upstack invoke` uses), talking to moto. The in-process tests in moto.rs
//! cover the cases; this one proves the binary itself: start-up from its
//! environment, the Runtime API loop, JSON logs with the request ID.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use handler_common::testing::{ACCOUNT_ID, MotoPipeline, REGION, text};
use upstack_runtime_api::{Invocation, InvocationOutcome, invoke_once};

fn invocation(pipeline: &MotoPipeline, event: &serde_json::Value) -> Invocation {
    let environment = [
        ("TABLE_NAME", pipeline.table.as_str()),
        ("INGEST_PK_COLUMNS", "customer_id"),
        ("INGEST_SK_COLUMNS", "order_id"),
        // What Lambda's execution role provides, here pointing at moto.
        ("AWS_ENDPOINT_URL", pipeline.moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect::<BTreeMap<_, _>>();
    Invocation {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_ingest")),
        function_name: "upstack-test-ingest".into(),
        environment,
        memory_mb: 512,
        timeout: Duration::from_secs(60),
        region: REGION.into(),
        account_id: ACCOUNT_ID.into(),
        event: serde_json::to_vec(event).expect("an S3 event serializes"),
        extra_passthrough: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_binary_writes_items_once_through_the_runtime_api() {
    let pipeline = MotoPipeline::start().await;
    let key = "data/orders 2026+ü.csv";
    let csv = "customer_id,order_id,total\nc1,o1,9.50\nc2,o2,3.00\n";
    let version = pipeline.put_object(key, csv.as_bytes().to_vec()).await;
    let event = pipeline.created_event(key, &version, csv.len() as i64);

    let report = invoke_once(invocation(&pipeline, &event)).await.unwrap();
    let logs: Vec<&str> = report.logs.iter().map(|line| line.text.as_str()).collect();
    assert!(
        matches!(report.outcome, InvocationOutcome::Response(_)),
        "{:?}\n{}",
        report.outcome,
        logs.join("\n")
    );
    assert!(
        logs.iter()
            .any(|line| line.starts_with('{') && line.contains(&report.request_id)),
        "no JSON log line carries the request ID {}:\n{}",
        report.request_id,
        logs.join("\n")
    );
    let rows = |items: &[std::collections::HashMap<String, _>]| -> Vec<(String, String, String)> {
        items
            .iter()
            .filter(|item| item.contains_key("total"))
            .map(|item| (text(item, "pk"), text(item, "sk"), text(item, "total")))
            .collect()
    };
    let expected = vec![
        ("c1".to_owned(), "o1".to_owned(), "9.50".to_owned()),
        ("c2".to_owned(), "o2".to_owned(), "3.00".to_owned()),
    ];
    let items = pipeline.items().await;
    assert_eq!(rows(&items), expected);

    // The same event again, as S3 may deliver it: skipped, nothing new written.
    let report = invoke_once(invocation(&pipeline, &event)).await.unwrap();
    assert!(
        matches!(report.outcome, InvocationOutcome::Response(_)),
        "{:?}",
        report.outcome
    );
    let again = pipeline.items().await;
    assert_eq!(again.len(), items.len(), "a duplicate event wrote items");
    assert_eq!(rows(&again), expected);
}
