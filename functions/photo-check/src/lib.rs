//! `photo-check`: passport-photo checks on images created under `photos/`.
//!
//! 1. A ranged GET of the first 16 bytes checks the JPEG/PNG signature (the
//!    image itself is never downloaded: Rekognition reads it from S3).
//! 2. `DetectFaces` with `Attributes=ALL` on the S3 object (exact version).
//! 3. [`rules::evaluate`] gives the verdict with every failed rule.
//! 4. The verdict is written to DynamoDB and announced on the standard topic.
//!
//! Verdict item: `pk = photo-check#<bucket>/<key>`, `sk = version#<id>` (or
//! `sequencer#<seq>`), `verdict` (`PASSED`/`REJECTED`), `passed` (BOOL),
//! `reasons` (list of strings), `face_count` (N), `checked_at`.
//!
//! A rejected photo is a successful check (DONE), not a failure. Not an
//! image, deleted, or refused by Rekognition as an image: FAILED with the
//! reason. Throttling and other errors: retried.
//!
//! Environment: `TABLE_NAME`, `TOPIC_ARN` (required), `APP_ENV` (default
//! `unknown`), `PHOTO_*` thresholds (see [`rules::Thresholds`]),
//! `IDEMPOTENCY_LEASE_MARGIN_SECONDS` (default 30).

pub mod rules;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_rekognition::types::{Attribute, FaceDetail, Image, S3Object};
use handler_common::config::{ConfigError, EnvSource};
use handler_common::process::{InvocationSummary, lease_until};
use handler_common::sns::sns_subject;
use handler_common::{
    Clock, HandlerError, IdempotencyStore, Metrics, ObjectEvent, classify_sdk_error,
};
use upstack_contract::table::{PARTITION_KEY, SORT_KEY};
use upstack_contract::{env, handler, metrics, prefix};

use crate::rules::{Face, Thresholds, Verdict};

/// Every IAM action `photo-check` performs. Rekognition reads the image
/// with the caller's permissions, so the S3 read actions cover it too.
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "rekognition:DetectFaces",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "sns:Publish",
];

/// Error codes that mean this object can never pass through DetectFaces
/// (<https://docs.aws.amazon.com/rekognition/latest/APIReference/API_DetectFaces.html#API_DetectFaces_Errors>).
const REKOGNITION_PERMANENT: &[&str] = &[
    "InvalidImageFormatException",
    "ImageTooLargeException",
    "InvalidS3ObjectException",
    "InvalidParameterException",
];

#[derive(Debug, thiserror::Error)]
pub enum PhotoCheckError {
    #[error(transparent)]
    Event(#[from] handler_common::EventError),
    #[error(transparent)]
    Retry(#[from] handler_common::process::InvocationError),
}

/// The AWS clients `photo-check` calls, built once per execution environment.
#[derive(Debug, Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub rekognition: aws_sdk_rekognition::Client,
    pub sns: aws_sdk_sns::Client,
    /// The table: verdicts and idempotency items.
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Clients {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        Clients {
            s3: handler_common::sdk::s3_client(sdk_config),
            rekognition: handler_common::sdk::rekognition_client(sdk_config),
            sns: handler_common::sdk::sns_client(sdk_config),
            dynamodb: handler_common::sdk::dynamodb_client(sdk_config),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PhotoCheck {
    s3: aws_sdk_s3::Client,
    rekognition: aws_sdk_rekognition::Client,
    sns: aws_sdk_sns::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    topic_arn: String,
    environment: String,
    thresholds: Thresholds,
    store: IdempotencyStore,
    lease_margin: Duration,
    metrics: Metrics,
}

impl PhotoCheck {
    pub fn from_env(
        clients: Clients,
        env_source: &EnvSource<'_>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let table = env_source.required(env::TABLE_NAME)?;
        let topic_arn = env_source.topic_arn(env::TOPIC_ARN, false)?;
        let thresholds = Thresholds::from_env(env_source)?;
        let margin: u64 =
            env_source.parsed_or(handler_common::env::IDEMPOTENCY_LEASE_MARGIN_SECONDS, 30)?;
        let Clients {
            s3,
            rekognition,
            sns,
            dynamodb,
        } = clients;
        let metrics = Metrics::from_env(env_source, Arc::clone(&clock));
        Ok(PhotoCheck {
            s3,
            rekognition,
            sns,
            store: IdempotencyStore::new(
                dynamodb.clone(),
                table.clone(),
                handler::PHOTO_CHECK,
                clock,
            ),
            dynamodb,
            table,
            topic_arn,
            environment: env_source
                .get(env::APP_ENV)
                .unwrap_or_else(|| "unknown".to_owned()),
            thresholds,
            lease_margin: Duration::from_secs(margin),
            metrics,
        })
    }

    /// Replaces the metrics writer (tests collect the EMF lines in memory).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub async fn handle(
        &self,
        payload: &serde_json::Value,
        request_id: &str,
        deadline: SystemTime,
    ) -> Result<InvocationSummary, PhotoCheckError> {
        let summary = handler_common::process_event(
            payload,
            &self.store,
            request_id,
            lease_until(deadline, self.lease_margin),
            |event| event.ignore_reason(prefix::PHOTOS),
            async |event| self.check_one(event).await,
        )
        .await?;
        Ok(summary.into_result()?)
    }

    async fn check_one(&self, event: &ObjectEvent) -> Result<String, HandlerError> {
        let head = self
            .s3
            .get_object()
            .bucket(&event.bucket)
            .key(&event.key)
            .set_version_id(event.version_id().map(str::to_owned))
            .range("bytes=0-15")
            .send()
            .await
            .map_err(|error| {
                // InvalidRange: the object is empty.
                classify_sdk_error(
                    "S3 GetObject (first bytes)",
                    &error,
                    &[
                        "NoSuchKey",
                        "NoSuchVersion",
                        "InvalidObjectState",
                        "InvalidRange",
                    ],
                )
            })?;
        let first_bytes = head
            .body
            .collect()
            .await
            .map_err(|error| {
                HandlerError::Transient(format!("reading the first bytes failed: {error}"))
            })?
            .into_bytes();
        let Some(kind) = rules::image_kind(&first_bytes) else {
            return Err(HandlerError::Permanent(
                "not a JPEG or PNG image".to_owned(),
            ));
        };

        let object = S3Object::builder()
            .bucket(&event.bucket)
            .name(&event.key)
            .set_version(event.version_id().map(str::to_owned))
            .build();
        let detected = self
            .rekognition
            .detect_faces()
            .image(Image::builder().s3_object(object).build())
            .attributes(Attribute::All)
            .send()
            .await
            .map_err(|error| {
                classify_sdk_error("Rekognition DetectFaces", &error, REKOGNITION_PERMANENT)
            })?;
        let faces: Vec<Face> = detected.face_details().iter().map(face_from_sdk).collect();
        let verdict = rules::evaluate(&faces, &self.thresholds);

        self.record_verdict(event, &verdict).await?;
        let subject = sns_subject(&format!(
            "[{}] Photo {}: {}",
            self.environment,
            verdict.label(),
            event.key
        ));
        let message = format!(
            "Passport photo check for s3://{}/{} ({kind}).\n\n{}",
            event.bucket,
            event.key,
            verdict.describe()
        );
        self.sns
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|error| classify_sdk_error("SNS Publish (standard topic)", &error, &[]))?;
        // Counted once the verdict is recorded and announced: a transient
        // failure before this point is retried and would count twice.
        self.metrics.emit(&[
            (metrics::PHOTOS_ACCEPTED, u64::from(verdict.passed)),
            (metrics::PHOTOS_REJECTED, u64::from(!verdict.passed)),
        ]);
        Ok(if verdict.passed {
            "PASSED".to_owned()
        } else {
            format!("REJECTED: {}", verdict.reasons.join("; "))
        })
    }

    async fn record_verdict(
        &self,
        event: &ObjectEvent,
        verdict: &Verdict,
    ) -> Result<(), HandlerError> {
        let item = HashMap::from([
            (
                PARTITION_KEY.to_owned(),
                AttributeValue::S(format!("photo-check#{}/{}", event.bucket, event.key)),
            ),
            (
                SORT_KEY.to_owned(),
                AttributeValue::S(event.version.marker.as_sort_key()),
            ),
            (
                "verdict".to_owned(),
                AttributeValue::S(verdict.label().to_owned()),
            ),
            ("passed".to_owned(), AttributeValue::Bool(verdict.passed)),
            (
                "reasons".to_owned(),
                AttributeValue::L(
                    verdict
                        .reasons
                        .iter()
                        .cloned()
                        .map(AttributeValue::S)
                        .collect(),
                ),
            ),
            (
                "face_count".to_owned(),
                AttributeValue::N(verdict.face_count.to_string()),
            ),
            (
                "checked_at".to_owned(),
                AttributeValue::S(handler_common::clock::rfc3339(self.store.clock().now())),
            ),
        ]);
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|error| classify_sdk_error("DynamoDB PutItem (photo verdict)", &error, &[]))?;
        Ok(())
    }
}

/// The SDK's `FaceDetail` in the rule engine's terms.
pub fn face_from_sdk(detail: &FaceDetail) -> Face {
    Face {
        bounding_box: detail.bounding_box().map(|bounds| rules::BoundingBox {
            width: bounds.width(),
            height: bounds.height(),
            left: bounds.left(),
            top: bounds.top(),
        }),
        confidence: detail.confidence(),
        eyes_open: detail.eyes_open().map(|eyes| rules::BooleanAttribute {
            value: Some(eyes.value()),
            confidence: eyes.confidence(),
        }),
        sunglasses: detail.sunglasses().map(|glasses| rules::BooleanAttribute {
            value: Some(glasses.value()),
            confidence: glasses.confidence(),
        }),
        pose: detail.pose().map(|pose| rules::Pose {
            roll: pose.roll(),
            yaw: pose.yaw(),
            pitch: pose.pitch(),
        }),
        quality: detail.quality().map(|quality| rules::Quality {
            brightness: quality.brightness(),
            sharpness: quality.sharpness(),
        }),
    }
}
