//! Publishing assets against recorded S3 answers, for what moto cannot
//! show: moto never checks a `ChecksumSHA256` against the body (S3 answers
//! BadDigest), never reports a concurrent conditional write (409
//! ConditionalRequestConflict), and never races a conditional write against
//! another uploader (412 after our HEAD found the key free), nor stores a
//! multipart (composite) checksum.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use aws_sdk_s3::Client as S3;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumType;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use upstack_deploy::assets::{self, AssetError, AssetFile, Placement, checksum_of_hex, sha256_hex};

const BUCKET: &str = "upstack-assets-123456789012-eu-west-1";
const KEY: &str = "assets/notify-arm64-f00d.zip";

fn s3(rules: &[&Rule]) -> S3 {
    mock_client!(aws_sdk_s3, RuleMode::Sequential, rules, |config| config
        .retry_config(RetryConfig::disabled()))
}

fn s3_error(status: u16, code: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message><RequestId>r</RequestId></Error>"
        )),
    )
}

/// A HEAD of a missing key: 404 and no body, as S3 answers.
fn absent() -> Rule {
    mock!(S3::head_object).then_http_response(|| {
        HttpResponse::new(StatusCode::try_from(404).unwrap(), SdkBody::empty())
    })
}

fn stored(sha256: &str) -> Rule {
    let checksum = checksum_of_hex(sha256).unwrap();
    mock!(S3::head_object).then_output(move || {
        HeadObjectOutput::builder()
            .checksum_sha256(checksum.clone())
            .version_id("v1")
            .build()
    })
}

fn local_zip(dir: &std::path::Path, bytes: &[u8]) -> AssetFile {
    let path = dir.join("bootstrap.zip");
    std::fs::write(&path, bytes).unwrap();
    AssetFile {
        key: KEY.into(),
        path,
        sha256: sha256_hex(bytes),
        size: bytes.len() as u64,
        unzipped_size: bytes.len() as u64,
    }
}

#[tokio::test]
async fn another_uploader_winning_the_race_with_the_same_bytes_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let zip = local_zip(dir.path(), b"the zip");
    let put = mock!(S3::put_object).then_http_response(|| s3_error(412, "PreconditionFailed"));
    let client = s3(&[&absent(), &put, &stored(&zip.sha256)]);
    let published = assets::publish(&client, BUCKET, std::slice::from_ref(&zip))
        .await
        .unwrap();
    assert_eq!(published[0].placement, Placement::AlreadyStored);
    assert_eq!(published[0].stored.sha256, zip.sha256);
    assert_eq!(published[0].stored.version_id.as_deref(), Some("v1"));
}

#[tokio::test]
async fn another_uploader_winning_the_race_with_other_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zip = local_zip(dir.path(), b"the zip");
    let other = sha256_hex(b"someone else's zip");
    let put = mock!(S3::put_object).then_http_response(|| s3_error(412, "PreconditionFailed"));
    let client = s3(&[&absent(), &put, &stored(&other)]);
    let error = assets::publish(&client, BUCKET, std::slice::from_ref(&zip))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AssetError::Mismatch { stored, local, .. } if *stored == other && *local == zip.sha256),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_concurrent_conditional_write_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let zip = local_zip(dir.path(), b"the zip");
    let conflict =
        mock!(S3::put_object).then_http_response(|| s3_error(409, "ConditionalRequestConflict"));
    let put =
        mock!(S3::put_object).then_output(|| PutObjectOutput::builder().version_id("v2").build());
    let client = s3(&[&absent(), &conflict, &put]);
    let published = assets::publish(&client, BUCKET, &[zip]).await.unwrap();
    assert_eq!(published[0].placement, Placement::Uploaded);
    assert_eq!(published[0].stored.version_id.as_deref(), Some("v2"));
    assert_eq!(conflict.num_calls(), 1);
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn an_upload_sends_its_sha256_and_is_conditional() {
    let dir = tempfile::tempdir().unwrap();
    let zip = local_zip(dir.path(), b"the zip");
    let expected = checksum_of_hex(&zip.sha256).unwrap();
    let put = mock!(S3::put_object)
        .match_requests(move |request| {
            request.if_none_match() == Some("*")
                && request.checksum_sha256() == Some(expected.as_str())
                && request
                    .checksum_algorithm()
                    .map(|algorithm| algorithm.as_str())
                    == Some("SHA256")
        })
        .then_output(|| PutObjectOutput::builder().build());
    let client = s3(&[&absent(), &put]);
    assets::publish(&client, BUCKET, &[zip]).await.unwrap();
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn a_checksum_s3_rejects_fails_the_deploy_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let zip = local_zip(dir.path(), b"the zip");
    let put = mock!(S3::put_object).then_http_response(|| s3_error(400, "BadDigest"));
    let client = s3(&[&absent(), &put]);
    let error = assets::publish(&client, BUCKET, &[zip]).await.unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("s3:PutObject: BadDigest"), "{message}");
}

#[tokio::test]
async fn a_composite_checksum_is_verified_by_reading_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let zip = local_zip(dir.path(), b"the zip");
    let head = mock!(S3::head_object).then_output(|| {
        HeadObjectOutput::builder()
            .checksum_sha256("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=-2")
            .checksum_type(ChecksumType::Composite)
            .version_id("v7")
            .build()
    });
    let get = mock!(S3::get_object)
        .match_requests(|request| request.version_id() == Some("v7"))
        .then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from_static(b"other bytes"))
                .build()
        });
    let client = s3(&[&head, &get]);
    let error = assets::publish(&client, BUCKET, &[zip]).await.unwrap_err();
    assert!(
        matches!(&error, AssetError::Mismatch { stored, .. } if *stored == sha256_hex(b"other bytes")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_zip_changed_after_bundle_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut zip = local_zip(dir.path(), b"the zip");
    zip.sha256 = sha256_hex(b"what bundle recorded");
    // No recorded answer: any call would fail the test.
    let client = s3(&[]);
    let error = assets::publish(&client, BUCKET, &[zip]).await.unwrap_err();
    assert!(
        matches!(error, AssetError::LocalChanged { .. }),
        "{error:?}"
    );
}

/// S3's whole-object SHA-256 (checksum type FULL_OBJECT) is the zip's own:
/// trusted as it is, with no GET of the bytes (a GET would find no rule).
#[tokio::test]
async fn a_full_object_checksum_is_trusted_without_reading_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let zip = local_zip(dir.path(), b"the zip");
    let checksum = checksum_of_hex(&sha256_hex(b"the zip")).unwrap();
    let head = mock!(S3::head_object).then_output(move || {
        HeadObjectOutput::builder()
            .checksum_sha256(checksum.clone())
            .checksum_type(ChecksumType::FullObject)
            .version_id("v3")
            .build()
    });
    let client = s3(&[&head]);
    let published = assets::publish(&client, BUCKET, &[zip]).await.unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].stored.sha256, sha256_hex(b"the zip"));
    assert_eq!(published[0].stored.version_id.as_deref(), Some("v3"));
}
