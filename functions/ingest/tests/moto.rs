//! `ingest` end to end against moto: real objects streamed from S3 into the
//! table, idempotency and report items, failures recorded or retried.

// Scenarios outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use upstack_test_support::emf_values;

use handler_common::config::EnvSource;
use handler_common::process::RecordOutcome;
use handler_common::testing::{EventRecord, MotoPipeline, s3_event, text};
use handler_common::{CallRecorder, SystemClock};
use upstack_ingest::{Clients, IAM_ACTIONS, Ingest};

fn ingest_for(pipeline: &MotoPipeline, extra: &[(&str, &str)], recorder: &CallRecorder) -> Ingest {
    let mut pairs = vec![("TABLE_NAME", pipeline.table.as_str())];
    pairs.extend_from_slice(extra);
    let clients = Clients {
        s3: recorder.s3_client(&pipeline.sdk_config),
        dynamodb: recorder.dynamodb_client(&pipeline.sdk_config),
    };
    Ingest::from_env(
        clients,
        &EnvSource::from_pairs(&pairs),
        Arc::new(SystemClock),
    )
    .expect("test configuration is valid")
}

fn deadline() -> SystemTime {
    SystemTime::now() + Duration::from_secs(300)
}

#[tokio::test]
async fn csv_with_a_tricky_key_and_bad_rows_is_ingested_once() {
    csv_with_a_tricky_key_and_bad_rows_is_ingested_once_scenario().await;
}

/// [`csv_with_a_tricky_key_and_bad_rows_is_ingested_once`], returning every IAM action it made.
async fn csv_with_a_tricky_key_and_bad_rows_is_ingested_once_scenario() -> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    let (metrics, lines) =
        handler_common::Metrics::in_memory("upstack/test", Arc::new(SystemClock));
    let ingest = ingest_for(&pipeline, &[], &recorder).with_metrics(metrics);
    let key = "data/my file+1 ü.csv";
    let mut csv = String::from("id,name,city\n");
    for row in 0..60 {
        csv.push_str(&format!("{row},name {row},Lyon\n"));
    }
    csv.push_str("bad,row\n"); // line 62: wrong column count
    csv.push_str("61,last,Paris\n");
    let version = pipeline.put_object(key, csv.clone().into_bytes()).await;
    let event = pipeline.created_event(key, &version, csv.len() as i64);

    let summary = ingest.handle(&event, "req-1", deadline()).await.unwrap();
    match &summary.records[0].outcome {
        RecordOutcome::Processed(detail) => assert_eq!(
            detail,
            &format!(
                "wrote 61 item(s) from {} bytes of csv; 1 bad row(s), first at line 62: expected 3 columns, found 2",
                csv.len()
            )
        ),
        other => panic!("{other:?}"),
    }

    let items = pipeline.items().await;
    let rows: Vec<_> = items
        .iter()
        .filter(|item| text(item, "pk") == key)
        .collect();
    assert_eq!(rows.len(), 61);
    assert_eq!(text(rows[0], "sk"), "row#0000000002");
    assert_eq!(text(rows[0], "name"), "name 0");
    assert_eq!(text(rows[60], "sk"), "row#0000000063");
    assert_eq!(text(rows[60], "city"), "Paris");

    let report = items
        .iter()
        .find(|item| text(item, "pk") == format!("ingest-report#{}/{key}", pipeline.bucket))
        .expect("report item");
    assert_eq!(text(report, "sk"), format!("version#{version}"));
    assert_eq!(report["rows_written"].as_n().unwrap(), "61");
    assert_eq!(report["rows_bad"].as_n().unwrap(), "1");
    assert_eq!(report["first_bad_line"].as_n().unwrap(), "62");
    assert_eq!(
        text(report, "first_bad_reason"),
        "expected 3 columns, found 2"
    );
    assert_eq!(items.len(), 61 + 2, "rows + report + idempotency item");

    let writes_before = recorder.calls().len();
    let again = ingest.handle(&event, "req-2", deadline()).await.unwrap();
    assert!(
        matches!(again.records[0].outcome, RecordOutcome::Duplicate(_)),
        "{again:?}"
    );
    let repeated: Vec<String> = recorder.calls()[writes_before..]
        .iter()
        .map(|call| call.action.clone())
        .collect();
    assert_eq!(
        repeated,
        ["dynamodb:PutItem", "dynamodb:GetItem"],
        "a duplicate only looks at its claim"
    );
    assert_eq!(pipeline.items().await.len(), 63);
    // One EMF line for the file, none for the duplicate.
    assert_eq!(
        emf_values(&lines, "upstack/test"),
        [serde_json::json!({"RowsWritten": 61, "RowsRejected": 1})]
    );

    let used: Vec<String> = recorder.actions().into_iter().collect();
    assert_eq!(
        used,
        [
            "dynamodb:BatchWriteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "s3:GetObjectVersion"
        ]
    );
    assert!(
        used.iter()
            .all(|action| IAM_ACTIONS.contains(&action.as_str()))
    );
    let object_reads: Vec<String> = recorder
        .calls()
        .into_iter()
        .filter(|call| call.action.starts_with("s3:"))
        .map(|call| call.resource)
        .collect();
    assert_eq!(
        object_reads,
        [format!("arn:aws:s3:::{}/{key}", pipeline.bucket)]
    );
    recorder.actions()
}

#[tokio::test]
async fn missing_objects_and_unsupported_types_are_recorded_not_retried() {
    missing_objects_and_unsupported_types_are_recorded_not_retried_scenario().await;
}

/// [`missing_objects_and_unsupported_types_are_recorded_not_retried`], returning every IAM action it made.
async fn missing_objects_and_unsupported_types_are_recorded_not_retried_scenario()
-> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    let ingest = ingest_for(&pipeline, &[("INGEST_SK_COLUMNS", "id")], &recorder);
    let jsonl =
        "{\"id\": \"a\", \"n\": 1}\n{\"id\": \"b\", \"n\": 2.5, \"tags\": [\"x\"]}\nnot json\n";
    let good = pipeline
        .put_object("data/events.jsonl", jsonl.as_bytes().to_vec())
        .await;
    let text_file = pipeline
        .put_object("data/readme.txt", b"hello".to_vec())
        .await;
    let gone = pipeline
        .put_object("data/gone.csv", b"id\n1\n".to_vec())
        .await;
    pipeline
        .s3
        .delete_object()
        .bucket(&pipeline.bucket)
        .key("data/gone.csv")
        .version_id(&gone)
        .send()
        .await
        .unwrap();
    let event = s3_event(&[
        EventRecord::created(&pipeline.bucket, "data/gone.csv", Some(&gone), 5),
        EventRecord::created(&pipeline.bucket, "data/readme.txt", Some(&text_file), 5),
        EventRecord::created(
            &pipeline.bucket,
            "data/events.jsonl",
            Some(&good),
            jsonl.len() as i64,
        ),
    ]);

    // Permanent failures do not fail the invocation.
    let summary = ingest.handle(&event, "req", deadline()).await.unwrap();
    let outcomes: Vec<&RecordOutcome> = summary
        .records
        .iter()
        .map(|record| &record.outcome)
        .collect();
    match outcomes[0] {
        RecordOutcome::FailedPermanently(reason) => {
            assert!(reason.starts_with("S3 GetObject: NoSuch"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        outcomes[1],
        &RecordOutcome::FailedPermanently(
            "unsupported file type: ingest reads .csv and .jsonl".into()
        )
    );
    assert!(
        matches!(outcomes[2], RecordOutcome::Processed(_)),
        "{:?}",
        outcomes[2]
    );

    let items = pipeline.items().await;
    let rows: Vec<_> = items
        .iter()
        .filter(|item| text(item, "pk") == "data/events.jsonl")
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(text(rows[1], "sk"), "b");
    assert_eq!(rows[1]["n"].as_n().unwrap(), "2.5");
    let failed: Vec<(String, String)> = items
        .iter()
        .filter(|item| text(item, "state") == "FAILED")
        .map(|item| (text(item, "pk"), text(item, "reason")))
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(
        failed[0].0,
        format!("idem#ingest#{}/data/gone.csv", pipeline.bucket)
    );
    assert_eq!(
        failed[1].1,
        "unsupported file type: ingest reads .csv and .jsonl"
    );

    // A redelivery of the failed versions is skipped, not retried.
    let again = ingest.handle(&event, "req-2", deadline()).await.unwrap();
    assert!(
        again
            .records
            .iter()
            .all(|record| matches!(record.outcome, RecordOutcome::Duplicate(_)))
    );
    recorder.actions()
}

#[tokio::test]
async fn configured_key_columns_overwrite_on_reingest_and_missing_columns_fail_the_file() {
    configured_key_columns_overwrite_on_reingest_and_missing_columns_fail_the_file_scenario().await;
}

/// [`configured_key_columns_overwrite_on_reingest_and_missing_columns_fail_the_file`], returning every IAM action it made.
async fn configured_key_columns_overwrite_on_reingest_and_missing_columns_fail_the_file_scenario()
-> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    let ingest = ingest_for(
        &pipeline,
        &[
            ("INGEST_PK_COLUMNS", "country"),
            ("INGEST_SK_COLUMNS", "id"),
        ],
        &recorder,
    );
    let first = pipeline
        .put_object(
            "data/cities.csv",
            b"id,country,city\n1,FR,Lyon\n2,FR,Nice\n1,FR,Paris\n".to_vec(),
        )
        .await;
    let second = pipeline
        .put_object(
            "data/cities.csv",
            b"id,country,city\n2,FR,Nantes\n".to_vec(),
        )
        .await;
    let wrong = pipeline
        .put_object("data/other.csv", b"id,city\n1,Lyon\n".to_vec())
        .await;
    let event = s3_event(&[
        EventRecord::created(&pipeline.bucket, "data/cities.csv", Some(&first), 10),
        EventRecord::created(&pipeline.bucket, "data/cities.csv", Some(&second), 10),
        EventRecord::created(&pipeline.bucket, "data/other.csv", Some(&wrong), 10),
    ]);
    let summary = ingest.handle(&event, "req", deadline()).await.unwrap();
    assert!(matches!(
        summary.records[0].outcome,
        RecordOutcome::Processed(_)
    ));
    assert!(matches!(
        summary.records[1].outcome,
        RecordOutcome::Processed(_)
    ));
    assert_eq!(
        summary.records[2].outcome,
        RecordOutcome::FailedPermanently(
            "key column \"country\" is not in the header [\"id\", \"city\"]".into()
        )
    );
    let items = pipeline.items().await;
    let cities: Vec<(String, String)> = items
        .iter()
        .filter(|item| text(item, "pk") == "FR")
        .map(|item| (text(item, "sk"), text(item, "city")))
        .collect();
    // Within a file the last row for a key wins; the later version overwrites.
    assert_eq!(
        cities,
        [
            ("1".to_owned(), "Paris".to_owned()),
            ("2".to_owned(), "Nantes".to_owned())
        ]
    );
    recorder.actions()
}

#[tokio::test]
async fn an_unreadable_object_releases_its_claim_for_the_retry() {
    an_unreadable_object_releases_its_claim_for_the_retry_scenario().await;
}

/// S3 unreachable (a transient failure, not one about the object): the
/// invocation fails so Lambda retries it, and the claim on the object is
/// released (`dynamodb:DeleteItem`) so the retry is not skipped as a
/// duplicate. The event has no `versionId` (a bucket without versions): the
/// retry reads the current object (`s3:GetObject`).
async fn an_unreadable_object_releases_its_claim_for_the_retry_scenario() -> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    pipeline
        .put_object("data/late.csv", b"customer_id,order_id\nc1,o1\n".to_vec())
        .await;
    let event = s3_event(&[EventRecord::created(
        &pipeline.bucket,
        "data/late.csv",
        None,
        26,
    )]);
    // Nothing listens on port 1: every S3 call is refused, once (no retries).
    let unreachable = aws_config::SdkConfig::builder()
        .endpoint_url("http://127.0.0.1:1")
        .region(pipeline.sdk_config.region().cloned())
        .credentials_provider(
            pipeline
                .sdk_config
                .credentials_provider()
                .expect("moto credentials"),
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let broken = Ingest::from_env(
        Clients {
            s3: recorder.s3_client(&unreachable),
            dynamodb: recorder.dynamodb_client(&pipeline.sdk_config),
        },
        &EnvSource::from_pairs(&[("TABLE_NAME", pipeline.table.as_str())]),
        Arc::new(SystemClock),
    )
    .expect("test configuration is valid");
    let error = broken
        .handle(&event, "req-1", deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("failed transiently"), "{error}");
    assert!(
        pipeline.items().await.is_empty(),
        "the claim must be released for the retry"
    );
    assert!(recorder.actions().contains("dynamodb:DeleteItem"));

    // Lambda's retry, with S3 back, goes through.
    let fixed = ingest_for(&pipeline, &[], &recorder);
    let summary = fixed.handle(&event, "req-2", deadline()).await.unwrap();
    assert!(
        summary
            .records
            .iter()
            .all(|record| matches!(record.outcome, RecordOutcome::Processed(_))),
        "{summary:?}"
    );
    let actions = recorder.actions();
    assert!(actions.contains("s3:GetObject"), "{actions:?}");
    actions
}

/// The handler's `IAM_ACTIONS` are exactly the actions its scenarios above
/// call, together: an action granted but never called fails here (each
/// scenario alone only checks that what it calls is granted).
#[tokio::test]
async fn iam_actions_are_exactly_what_the_scenarios_call() {
    let mut called = BTreeSet::new();
    called.extend(an_unreadable_object_releases_its_claim_for_the_retry_scenario().await);
    called.extend(csv_with_a_tricky_key_and_bad_rows_is_ingested_once_scenario().await);
    called.extend(missing_objects_and_unsupported_types_are_recorded_not_retried_scenario().await);
    called.extend(
        configured_key_columns_overwrite_on_reingest_and_missing_columns_fail_the_file_scenario()
            .await,
    );
    let granted: BTreeSet<String> = IAM_ACTIONS
        .iter()
        .map(|action| (*action).to_owned())
        .collect();
    assert_eq!(
        called, granted,
        "called by the scenarios (left) vs IAM_ACTIONS (right)"
    );
}
