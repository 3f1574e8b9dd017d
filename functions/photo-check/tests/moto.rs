//! `photo-check` end to end: S3, DynamoDB and SNS in moto; DetectFaces from
//! recorded responses via aws-smithy-mocks, because moto's Rekognition
//! returns a fixed canned face and cannot show the rules' failure cases.

// Scenarios outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use upstack_test_support::emf_values;

use aws_sdk_rekognition::Client as Rekognition;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use handler_common::config::EnvSource;
use handler_common::process::RecordOutcome;
use handler_common::testing::{EventRecord, MotoPipeline, s3_event, text};
use handler_common::{CallRecorder, SystemClock};
use upstack_photo_check::{Clients, IAM_ACTIONS, PhotoCheck};

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1,
];

/// The recorded DetectFaces response for images whose key contains `marker`.
fn detect_faces_returns(marker: &'static str, fixture: &'static str) -> Rule {
    mock!(Rekognition::detect_faces)
        .match_requests(move |request| {
            request
                .image()
                .and_then(|image| image.s3_object())
                .and_then(|object| object.name())
                .is_some_and(|name| name.contains(marker))
        })
        .then_http_response(move || {
            HttpResponse::new(
                StatusCode::try_from(200).expect("valid status"),
                SdkBody::from(fixture),
            )
        })
}

fn photo_check(pipeline: &MotoPipeline, rules: &[&Rule], recorder: &CallRecorder) -> PhotoCheck {
    let pairs = [
        ("TABLE_NAME", pipeline.table.as_str()),
        ("TOPIC_ARN", pipeline.topic_arn.as_str()),
        ("APP_ENV", "test"),
    ];
    let clients = Clients {
        s3: recorder.s3_client(&pipeline.sdk_config),
        rekognition: mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, rules, |config| {
            config.interceptor(recorder.clone())
        }),
        sns: recorder.sns_client(&pipeline.sdk_config),
        dynamodb: recorder.dynamodb_client(&pipeline.sdk_config),
    };
    PhotoCheck::from_env(
        clients,
        &EnvSource::from_pairs(&pairs),
        Arc::new(SystemClock),
    )
    .expect("test configuration is valid")
}

fn deadline() -> SystemTime {
    SystemTime::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn verdicts_are_recorded_and_announced_and_non_images_fail() {
    verdicts_are_recorded_and_announced_and_non_images_fail_scenario().await;
}

/// [`verdicts_are_recorded_and_announced_and_non_images_fail`], returning every IAM action it made.
async fn verdicts_are_recorded_and_announced_and_non_images_fail_scenario() -> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    let good = detect_faces_returns("good", include_str!("../fixtures/passport_ok.json"));
    let bad = detect_faces_returns(
        "bad",
        include_str!("../fixtures/sunglasses_tilted_dark.json"),
    );
    let (metrics, lines) =
        handler_common::Metrics::in_memory("upstack/test", Arc::new(SystemClock));
    let check = photo_check(&pipeline, &[&good, &bad], &recorder).with_metrics(metrics);

    let good_version = pipeline
        .put_object("photos/good passport ü.jpg", JPEG.to_vec())
        .await;
    let bad_version = pipeline.put_object("photos/bad.jpg", JPEG.to_vec()).await;
    let text_version = pipeline
        .put_object("photos/notes.jpg", b"just some text, not an image".to_vec())
        .await;
    let event = s3_event(&[
        EventRecord::created(
            &pipeline.bucket,
            "photos/good passport ü.jpg",
            Some(&good_version),
            18,
        ),
        EventRecord::created(
            &pipeline.bucket,
            "photos/notes.jpg",
            Some(&text_version),
            28,
        ),
        EventRecord::created(&pipeline.bucket, "photos/bad.jpg", Some(&bad_version), 18),
    ]);

    let summary = check.handle(&event, "req-1", deadline()).await.unwrap();
    let outcomes: Vec<&RecordOutcome> = summary
        .records
        .iter()
        .map(|record| &record.outcome)
        .collect();
    assert_eq!(outcomes[0], &RecordOutcome::Processed("PASSED".into()));
    assert_eq!(
        outcomes[1],
        &RecordOutcome::FailedPermanently("not a JPEG or PNG image".into())
    );
    match outcomes[2] {
        RecordOutcome::Processed(detail) => {
            assert!(
                detail.starts_with("REJECTED: face confidence 84.0 is below 90.0; eyes are closed"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        good.num_calls() + bad.num_calls(),
        2,
        "no DetectFaces for the non-image"
    );

    let items = pipeline.items().await;
    let verdict = |key: &str| {
        items
            .iter()
            .find(|item| text(item, "pk") == format!("photo-check#{}/{key}", pipeline.bucket))
            .cloned()
            .unwrap_or_else(|| panic!("no verdict for {key}"))
    };
    let passed = verdict("photos/good passport ü.jpg");
    assert_eq!(text(&passed, "verdict"), "PASSED");
    assert_eq!(text(&passed, "sk"), format!("version#{good_version}"));
    assert_eq!(passed["passed"].as_bool().unwrap(), &true);
    let rejected = verdict("photos/bad.jpg");
    assert_eq!(rejected["reasons"].as_l().unwrap().len(), 9);
    assert_eq!(rejected["face_count"].as_n().unwrap(), "1");
    let failed = items
        .iter()
        .find(|item| {
            text(item, "pk") == format!("idem#photo-check#{}/photos/notes.jpg", pipeline.bucket)
        })
        .unwrap();
    assert_eq!(text(failed, "state"), "FAILED");
    assert_eq!(text(failed, "reason"), "not a JPEG or PNG image");

    let mut subjects: Vec<String> = pipeline
        .drain(&pipeline.topic_queue_url)
        .await
        .iter()
        .map(|message| {
            serde_json::from_str::<serde_json::Value>(message.body().unwrap()).unwrap()["Subject"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "[test] Photo PASSED: photos/good passport ?.jpg",
            "[test] Photo REJECTED: photos/bad.jpg"
        ]
    );

    // The Rekognition call names the exact version; the S3 read is ranged.
    let used: Vec<String> = recorder.actions().into_iter().collect();
    assert_eq!(
        used,
        [
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "rekognition:DetectFaces",
            "s3:GetObjectVersion",
            "sns:Publish"
        ]
    );
    assert!(
        used.iter()
            .all(|action| IAM_ACTIONS.contains(&action.as_str()))
    );

    // Redelivery: nothing is called again except the claim.
    let calls_before = recorder.calls().len();
    let again = check.handle(&event, "req-2", deadline()).await.unwrap();
    assert!(
        again
            .records
            .iter()
            .all(|record| matches!(record.outcome, RecordOutcome::Duplicate(_)))
    );
    assert!(
        recorder.calls()[calls_before..]
            .iter()
            .all(|call| call.action.starts_with("dynamodb:"))
    );
    assert!(pipeline.drain(&pipeline.topic_queue_url).await.is_empty());
    // One verdict each for the two photos (the text file is no verdict),
    // nothing for the redelivery.
    let mut verdicts = emf_values(&lines, "upstack/test");
    verdicts.sort_by_key(|value| value["PhotosAccepted"].as_u64());
    assert_eq!(
        verdicts,
        [
            serde_json::json!({"PhotosAccepted": 0, "PhotosRejected": 1}),
            serde_json::json!({"PhotosAccepted": 1, "PhotosRejected": 0}),
        ]
    );
    recorder.actions()
}

#[tokio::test]
async fn throttling_is_retried_and_rekognition_image_errors_are_recorded() {
    throttling_is_retried_and_rekognition_image_errors_are_recorded_scenario().await;
}

/// [`throttling_is_retried_and_rekognition_image_errors_are_recorded`], returning every IAM action it made.
async fn throttling_is_retried_and_rekognition_image_errors_are_recorded_scenario()
-> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    let throttled = mock!(Rekognition::detect_faces)
        .match_requests(|request| {
            request
                .image()
                .and_then(|image| image.s3_object())
                .and_then(|object| object.name())
                == Some("photos/busy.jpg")
        })
        .then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(
                    r#"{"__type":"ProvisionedThroughputExceededException","Message":"slow down"}"#,
                ),
            )
        });
    let corrupt = mock!(Rekognition::detect_faces)
        .match_requests(|request| {
            request.image().and_then(|image| image.s3_object()).and_then(|object| object.name())
                == Some("photos/corrupt.jpg")
        })
        .then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(r#"{"__type":"InvalidImageFormatException","Message":"Request has invalid image format"}"#),
            )
        });
    let check = photo_check(&pipeline, &[&throttled, &corrupt], &recorder);
    let busy = pipeline.put_object("photos/busy.jpg", JPEG.to_vec()).await;
    let broken = pipeline
        .put_object("photos/corrupt.jpg", JPEG.to_vec())
        .await;
    let event = s3_event(&[
        EventRecord::created(&pipeline.bucket, "photos/busy.jpg", Some(&busy), 18),
        EventRecord::created(&pipeline.bucket, "photos/corrupt.jpg", Some(&broken), 18),
        EventRecord::created(
            &pipeline.bucket,
            "photos/deleted.png",
            Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"),
            18,
        ),
    ]);

    let error = check
        .handle(&event, "req", deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("1 of 3 record(s) failed transiently"),
        "{error}"
    );
    assert!(
        error.contains("ProvisionedThroughputExceededException"),
        "{error}"
    );

    let items = pipeline.items().await;
    let states: Vec<(String, String, String)> = items
        .iter()
        .map(|item| (text(item, "pk"), text(item, "state"), text(item, "reason")))
        .collect();
    assert_eq!(
        states.len(),
        2,
        "the throttled photo's claim is released: {states:?}"
    );
    assert_eq!(
        states[0].0,
        format!("idem#photo-check#{}/photos/corrupt.jpg", pipeline.bucket)
    );
    assert_eq!(
        states[0].2,
        "Rekognition DetectFaces: InvalidImageFormatException: Request has invalid image format"
    );
    assert_eq!(states[1].1, "FAILED");
    assert!(
        states[1]
            .2
            .starts_with("S3 GetObject (first bytes): NoSuch"),
        "{}",
        states[1].2
    );
    recorder.actions()
}

#[tokio::test]
async fn an_event_without_a_version_id_reads_the_current_object() {
    an_event_without_a_version_id_reads_the_current_object_scenario().await;
}

/// An object in a bucket that keeps no versions (or one written before
/// versioning was turned on) comes with no `versionId`: the handler reads
/// the current object (`s3:GetObject`, not `s3:GetObjectVersion`).
async fn an_event_without_a_version_id_reads_the_current_object_scenario() -> BTreeSet<String> {
    let pipeline = MotoPipeline::start().await;
    let recorder = CallRecorder::new();
    let good = detect_faces_returns("plain", include_str!("../fixtures/passport_ok.json"));
    let check = photo_check(&pipeline, &[&good], &recorder);
    pipeline.put_object("photos/plain.jpg", JPEG.to_vec()).await;
    let event = s3_event(&[EventRecord::created(
        &pipeline.bucket,
        "photos/plain.jpg",
        None,
        18,
    )]);
    let summary = check.handle(&event, "req-1", deadline()).await.unwrap();
    assert!(
        summary
            .records
            .iter()
            .all(|record| matches!(record.outcome, RecordOutcome::Processed(_))),
        "{summary:?}"
    );
    let actions = recorder.actions();
    assert!(actions.contains("s3:GetObject"), "{actions:?}");
    assert!(!actions.contains("s3:GetObjectVersion"), "{actions:?}");
    actions
}

/// The handler's `IAM_ACTIONS` are exactly the actions its scenarios above
/// call, together: an action granted but never called fails here (each
/// scenario alone only checks that what it calls is granted).
#[tokio::test]
async fn iam_actions_are_exactly_what_the_scenarios_call() {
    let mut called = BTreeSet::new();
    called.extend(an_event_without_a_version_id_reads_the_current_object_scenario().await);
    called.extend(verdicts_are_recorded_and_announced_and_non_images_fail_scenario().await);
    called.extend(throttling_is_retried_and_rekognition_image_errors_are_recorded_scenario().await);
    let granted: BTreeSet<String> = IAM_ACTIONS
        .iter()
        .map(|action| (*action).to_owned())
        .collect();
    assert_eq!(
        called, granted,
        "called by the scenarios (left) vs IAM_ACTIONS (right)"
    );
}
