//! `notify`: tells people and systems about each object created under
//! `uploads/`.
//!
//! * Standard topic: a human-readable message (email-friendly subject).
//! * FIFO topic: a structured JSON event. **Grouping:** one message group per
//!   object (bucket + key), so events about one object stay in order while
//!   different objects are delivered in parallel. **Deduplication:** the ID
//!   is derived from the object version, so a redelivered S3 event or a
//!   Lambda retry within SNS's 5-minute deduplication window cannot enqueue
//!   the same version twice (and the idempotency record covers the rest).
//!
//! Environment: `TABLE_NAME`, `TOPIC_ARN`, `FIFO_TOPIC_ARN` (required),
//! `APP_ENV` (default `unknown`), `IDEMPOTENCY_LEASE_MARGIN_SECONDS` (default 30).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use handler_common::config::{ConfigError, EnvSource};
use handler_common::process::{InvocationSummary, lease_until};
use handler_common::{
    Clock, HandlerError, IdempotencyStore, Metrics, ObjectEvent, ObjectVersion, classify_sdk_error,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use upstack_contract::{env, handler, metrics, prefix};

/// Every IAM action `notify` performs (checked against the recorded calls
/// in tests and against the stack's role).
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "sns:Publish",
];

pub use handler_common::sns::{MAX_SUBJECT_CHARS, sns_subject};

/// Why a FIFO ID was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FifoIdError {
    #[error("{what} must be 1 to 128 characters, got {length}")]
    Length { what: &'static str, length: usize },
    #[error(
        "{what} may only contain a-z, A-Z, 0-9 and punctuation; {character:?} at position {position} is not allowed"
    )]
    Character {
        what: &'static str,
        character: char,
        position: usize,
    },
}

/// SNS/SQS FIFO rule for `MessageGroupId` and `MessageDeduplicationId`:
/// 1..=128 characters from alphanumerics and ASCII punctuation
/// (<https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>).
fn validate_fifo_id(what: &'static str, value: &str) -> Result<(), FifoIdError> {
    let length = value.chars().count();
    if length == 0 || length > 128 {
        return Err(FifoIdError::Length { what, length });
    }
    match value
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || c.is_ascii_punctuation()))
    {
        Some((position, character)) => Err(FifoIdError::Character {
            what,
            character,
            position,
        }),
        None => Ok(()),
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A valid FIFO message group ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageGroupId(String);

impl MessageGroupId {
    pub fn new(value: impl Into<String>) -> Result<Self, FifoIdError> {
        let value = value.into();
        validate_fifo_id("MessageGroupId", &value)?;
        Ok(MessageGroupId(value))
    }

    /// One group per object: `object-<sha256(bucket/key) hex>`. Hashed because
    /// keys may hold spaces, non-ASCII and up to 1,024 bytes, none of which a
    /// group ID allows.
    pub fn for_object(bucket: &str, key: &str) -> Self {
        MessageGroupId(format!("object-{}", sha256_hex(&format!("{bucket}/{key}"))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid FIFO deduplication ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeduplicationId(String);

impl DeduplicationId {
    pub fn new(value: impl Into<String>) -> Result<Self, FifoIdError> {
        let value = value.into();
        validate_fifo_id("MessageDeduplicationId", &value)?;
        Ok(DeduplicationId(value))
    }

    /// sha256 hex (64 characters) of `bucket/key?versionId=...` (or the
    /// sequencer when the bucket is unversioned).
    pub fn for_version(version: &ObjectVersion) -> Self {
        DeduplicationId(sha256_hex(&version.canonical()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Publishes to a FIFO topic; the signature makes a group ID and a
/// deduplication ID mandatory.
#[derive(Debug, Clone)]
pub struct FifoPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl FifoPublisher {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        FifoPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// Returns the SNS message ID.
    pub async fn publish(
        &self,
        group: MessageGroupId,
        dedup: DeduplicationId,
        body: String,
    ) -> Result<String, HandlerError> {
        let output = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message_group_id(group.0)
            .message_deduplication_id(dedup.0)
            .message(body)
            .send()
            .await
            .map_err(|error| classify_sdk_error("SNS Publish (FIFO topic)", &error, &[]))?;
        Ok(output.message_id.unwrap_or_default())
    }
}

/// The structured event on the FIFO topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadEvent<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub bucket: &'a str,
    pub key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<&'a str>,
    pub size: Option<i64>,
    pub etag: Option<&'a str>,
    pub uploaded_by: Option<&'a str>,
    pub event_time: &'a str,
    pub environment: &'a str,
}

impl<'a> UploadEvent<'a> {
    pub fn from_object(event: &'a ObjectEvent, environment: &'a str) -> Self {
        UploadEvent {
            kind: "upload.created",
            bucket: &event.bucket,
            key: &event.key,
            version_id: event.version_id(),
            size: event.size,
            etag: event.etag.as_deref(),
            uploaded_by: event.principal.as_deref(),
            event_time: &event.event_time,
            environment,
        }
    }
}

/// `1234567` -> `1,234,567 bytes (1.2 MiB)`.
pub fn human_size(bytes: i64) -> String {
    let digits = bytes.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if bytes < 0 { "-" } else { "" };
    let units = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = None;
    for candidate in units {
        if value.abs() < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = Some(candidate);
    }
    match unit {
        Some(unit) => format!("{sign}{grouped} bytes ({value:.1} {unit})"),
        None => format!("{sign}{grouped} bytes"),
    }
}

/// The standard topic's message: (subject, body).
pub fn human_message(event: &ObjectEvent, environment: &str) -> (String, String) {
    let subject = sns_subject(&format!("[{environment}] New upload: {}", event.key));
    let size = event
        .size
        .map(human_size)
        .unwrap_or_else(|| "unknown".to_owned());
    let mut body = String::from("A new object was uploaded.\n\n");
    body.push_str(&format!("Bucket:      {}\n", event.bucket));
    body.push_str(&format!("Key:         {}\n", event.key));
    body.push_str(&format!("Size:        {size}\n"));
    if let Some(version_id) = event.version_id() {
        body.push_str(&format!("Version:     {version_id}\n"));
    }
    body.push_str(&format!(
        "Uploaded by: {}\n",
        event.principal.as_deref().unwrap_or("unknown")
    ));
    body.push_str(&format!("Event time:  {}\n", event.event_time));
    body.push_str(&format!("Environment: {environment}\n"));
    (subject, body)
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Event(#[from] handler_common::EventError),
    #[error(transparent)]
    Retry(#[from] handler_common::process::InvocationError),
}

/// The AWS clients `notify` calls, built once per execution environment.
#[derive(Debug, Clone)]
pub struct Clients {
    pub sns: aws_sdk_sns::Client,
    /// The idempotency table.
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Clients {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        Clients {
            sns: handler_common::sdk::sns_client(sdk_config),
            dynamodb: handler_common::sdk::dynamodb_client(sdk_config),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Notify {
    sns: aws_sdk_sns::Client,
    topic_arn: String,
    fifo: FifoPublisher,
    store: IdempotencyStore,
    environment: String,
    lease_margin: Duration,
    metrics: Metrics,
}

impl Notify {
    pub fn from_env(
        clients: Clients,
        env_source: &EnvSource<'_>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let table = env_source.required(env::TABLE_NAME)?;
        let topic_arn = env_source.topic_arn(env::TOPIC_ARN, false)?;
        let fifo_topic_arn = env_source.topic_arn(env::FIFO_TOPIC_ARN, true)?;
        let environment = env_source
            .get(env::APP_ENV)
            .unwrap_or_else(|| "unknown".to_owned());
        let margin: u64 =
            env_source.parsed_or(handler_common::env::IDEMPOTENCY_LEASE_MARGIN_SECONDS, 30)?;
        let Clients { sns, dynamodb } = clients;
        let metrics = Metrics::from_env(env_source, Arc::clone(&clock));
        Ok(Notify {
            fifo: FifoPublisher::new(sns.clone(), fifo_topic_arn),
            sns,
            topic_arn,
            store: IdempotencyStore::new(dynamodb, table, handler::NOTIFY, clock),
            environment,
            lease_margin: Duration::from_secs(margin),
            metrics,
        })
    }

    /// Replaces the metrics writer (tests collect the EMF lines in memory).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Handles one invocation. `deadline` is the invocation's deadline.
    pub async fn handle(
        &self,
        payload: &serde_json::Value,
        request_id: &str,
        deadline: SystemTime,
    ) -> Result<InvocationSummary, NotifyError> {
        let summary = handler_common::process_event(
            payload,
            &self.store,
            request_id,
            lease_until(deadline, self.lease_margin),
            |event| event.ignore_reason(prefix::UPLOADS),
            async |event| self.notify_one(event).await,
        )
        .await?;
        Ok(summary.into_result()?)
    }

    async fn notify_one(&self, event: &ObjectEvent) -> Result<String, HandlerError> {
        // FIFO first: its deduplication ID makes a retry's second publish
        // harmless, so a failure on the standard topic afterwards costs at
        // most a duplicate email, never a duplicate structured event.
        let body = serde_json::to_string(&UploadEvent::from_object(event, &self.environment))
            .map_err(|error| {
                HandlerError::Permanent(format!("event does not serialise: {error}"))
            })?;
        let fifo_message_id = self
            .fifo
            .publish(
                MessageGroupId::for_object(&event.bucket, &event.key),
                DeduplicationId::for_version(&event.version),
                body,
            )
            .await?;
        let (subject, message) = human_message(event, &self.environment);
        let output = self
            .sns
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|error| classify_sdk_error("SNS Publish (standard topic)", &error, &[]))?;
        // Counted once both are published: a failure before this point is
        // retried (the FIFO publish deduplicated by SNS) and would count twice.
        self.metrics.emit(&[
            (metrics::FIFO_NOTIFICATIONS_SENT, 1),
            (metrics::NOTIFICATIONS_SENT, 1),
        ]);
        Ok(format!(
            "published FIFO message {fifo_message_id} and message {}",
            output.message_id.unwrap_or_default()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_ids_follow_sns_rules() {
        assert!(MessageGroupId::new("group-1").is_ok());
        assert_eq!(
            MessageGroupId::new("").unwrap_err(),
            FifoIdError::Length {
                what: "MessageGroupId",
                length: 0
            }
        );
        assert_eq!(
            DeduplicationId::new("a".repeat(129)).unwrap_err(),
            FifoIdError::Length {
                what: "MessageDeduplicationId",
                length: 129
            }
        );
        assert_eq!(
            MessageGroupId::new("has space").unwrap_err(),
            FifoIdError::Character {
                what: "MessageGroupId",
                character: ' ',
                position: 3
            }
        );
        assert!(MessageGroupId::new("ü").is_err());
        assert!(DeduplicationId::new("a".repeat(128)).is_ok());
    }

    #[test]
    fn derived_ids_are_valid_stable_and_version_specific() {
        let version = |id: &str| ObjectVersion {
            bucket: "b".into(),
            key: "uploads/my file ü.txt".into(),
            marker: handler_common::VersionMarker::VersionId(id.into()),
        };
        let first = DeduplicationId::for_version(&version("v1"));
        assert_eq!(first, DeduplicationId::for_version(&version("v1")));
        assert_ne!(first, DeduplicationId::for_version(&version("v2")));
        assert_eq!(
            first.as_str(),
            sha256_hex("b/uploads/my file ü.txt?versionId=v1")
        );
        assert!(DeduplicationId::new(first.as_str()).is_ok());

        let group = MessageGroupId::for_object("b", "uploads/my file ü.txt");
        assert_eq!(group.as_str().len(), "object-".len() + 64);
        assert!(MessageGroupId::new(group.as_str()).is_ok());
        assert_ne!(group, MessageGroupId::for_object("b", "uploads/other"));
    }

    #[test]
    fn sizes_are_human_readable() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1023), "1,023 bytes");
        assert_eq!(human_size(1_234_567), "1,234,567 bytes (1.2 MiB)");
    }
}
