//! S3 event notifications, as S3 delivers them to Lambda.
//!
//! Object keys arrive URL-encoded the way HTML forms are: a space is `+`, a
//! literal `+` is `%2B`, and non-ASCII characters are their UTF-8 bytes as
//! `%XX` (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>).
//! Using the raw key for `GetObject` would fail with `NoSuchKey` on any key
//! with a space, so every key goes through [`decode_event_key`].

use aws_lambda_events::event::s3::S3EventRecord;
use chrono::SecondsFormat;
use serde::Deserialize;
use upstack_contract::s3_key::decode_event_key;

/// Why an event, or one record in it, could not be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EventError {
    #[error("event is not an S3 notification: at `{path}`: {message}")]
    NotAnS3Event { path: String, message: String },
    #[error("S3 event record does not parse at `{path}`: {message}")]
    MalformedRecord { path: String, message: String },
    #[error("S3 event record field `{path}` is missing")]
    MissingField { path: String },
    #[error(
        "S3 event record field `{path}`: object key {raw:?} is not S3 event encoding: {reason}"
    )]
    BadKey {
        path: String,
        raw: String,
        reason: String,
    },
}

/// How one object version is told apart from every other write to its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VersionMarker {
    /// The bucket is versioned: the version ID names this write for good.
    VersionId(String),
    /// Unversioned (or versioning suspended, where every write reuses the
    /// version ID `null`): S3's `sequencer` orders writes to one key, so it
    /// identifies this write.
    Sequencer(String),
}

impl VersionMarker {
    /// The sort-key-safe spelling used in DynamoDB items.
    pub fn as_sort_key(&self) -> String {
        match self {
            VersionMarker::VersionId(id) => format!("version#{id}"),
            VersionMarker::Sequencer(sequencer) => format!("sequencer#{sequencer}"),
        }
    }

    pub fn version_id(&self) -> Option<&str> {
        match self {
            VersionMarker::VersionId(id) => Some(id),
            VersionMarker::Sequencer(_) => None,
        }
    }
}

/// The identity idempotency is keyed on: (bucket, key, version or sequencer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectVersion {
    pub bucket: String,
    pub key: String,
    pub marker: VersionMarker,
}

impl ObjectVersion {
    /// The string hashed for FIFO deduplication IDs: unambiguous because a
    /// bucket name cannot contain `/`.
    pub fn canonical(&self) -> String {
        match &self.marker {
            VersionMarker::VersionId(id) => format!("{}/{}?versionId={id}", self.bucket, self.key),
            VersionMarker::Sequencer(seq) => {
                format!("{}/{}?sequencer={seq}", self.bucket, self.key)
            }
        }
    }
}

/// One record of an S3 event with its key decoded and the fields the
/// handlers use pulled out of `aws_lambda_events`' optional fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvent {
    pub bucket: String,
    /// Decoded key (`data/my file+1 ü.csv`).
    pub key: String,
    pub size: Option<i64>,
    pub etag: Option<String>,
    /// e.g. `ObjectCreated:Put`.
    pub event_name: String,
    /// RFC 3339, as S3 sent it.
    pub event_time: String,
    /// The principal that made the request (`AWS:AIDA...`), when S3 sent one.
    pub principal: Option<String>,
    pub version: ObjectVersion,
}

impl ObjectEvent {
    pub fn is_object_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated:")
    }

    /// Why a handler of objects created under `prefix` ignores this event,
    /// or `None` when it is one to handle (the `relevant` argument of
    /// [`crate::process_event`]).
    pub fn ignore_reason(&self, prefix: &str) -> Option<String> {
        if !self.key.starts_with(prefix) {
            Some(format!("key is not under {prefix}"))
        } else if !self.is_object_created() {
            Some(format!(
                "event {} is not an object creation",
                self.event_name
            ))
        } else {
            None
        }
    }

    pub fn version_id(&self) -> Option<&str> {
        self.version.marker.version_id()
    }

    /// `s3://bucket/key` plus the version, for logs and messages.
    pub fn label(&self) -> String {
        match &self.version.marker {
            VersionMarker::VersionId(id) => {
                format!("s3://{}/{} (version {id})", self.bucket, self.key)
            }
            VersionMarker::Sequencer(_) => format!("s3://{}/{}", self.bucket, self.key),
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Records")]
    records: Vec<serde_json::Value>,
}

/// Splits an invocation payload into records, each parsed on its own so that
/// one malformed record does not cost the others. The outer error means the
/// payload is not an S3 notification at all.
pub fn parse_s3_event(
    payload: &serde_json::Value,
) -> Result<Vec<Result<ObjectEvent, EventError>>, EventError> {
    let envelope: Envelope =
        serde_path_to_error::deserialize(payload).map_err(|error| EventError::NotAnS3Event {
            path: error.path().to_string(),
            message: error.inner().to_string(),
        })?;
    Ok(envelope
        .records
        .iter()
        .enumerate()
        .map(|(index, record)| parse_record(index, record))
        .collect())
}

fn parse_record(index: usize, value: &serde_json::Value) -> Result<ObjectEvent, EventError> {
    let record: S3EventRecord =
        serde_path_to_error::deserialize(value).map_err(|error| EventError::MalformedRecord {
            path: format!("Records[{index}].{}", error.path()),
            message: error.inner().to_string(),
        })?;
    let field = |name: &str| format!("Records[{index}].{name}");
    let missing = |name: &str| EventError::MissingField { path: field(name) };

    let bucket = record
        .s3
        .bucket
        .name
        .clone()
        .filter(|name| !name.is_empty());
    let bucket = bucket.ok_or_else(|| missing("s3.bucket.name"))?;
    let raw_key = record
        .s3
        .object
        .key
        .clone()
        .ok_or_else(|| missing("s3.object.key"))?;
    let key = decode_event_key(&raw_key).map_err(|reason| EventError::BadKey {
        path: field("s3.object.key"),
        raw: raw_key.clone(),
        reason: reason.to_string(),
    })?;
    let version_id = record
        .s3
        .object
        .version_id
        .clone()
        .filter(|id| !id.is_empty() && id != "null");
    let marker = match (version_id, record.s3.object.sequencer.clone()) {
        (Some(id), _) => VersionMarker::VersionId(id),
        (None, Some(sequencer)) if !sequencer.is_empty() => VersionMarker::Sequencer(sequencer),
        _ => {
            return Err(missing(
                "s3.object.sequencer (needed when there is no versionId)",
            ));
        }
    };
    let event_name = record
        .event_name
        .clone()
        .ok_or_else(|| missing("eventName"))?;
    Ok(ObjectEvent {
        version: ObjectVersion {
            bucket: bucket.clone(),
            key: key.clone(),
            marker,
        },
        bucket,
        key,
        size: record.s3.object.size,
        etag: record.s3.object.e_tag.clone(),
        event_name,
        // UTC with `Z`, as S3 writes it (chrono's default is `+00:00`), so
        // messages match the console and CloudTrail.
        event_time: record
            .event_time
            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        principal: record.principal_id.principal_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(key: &str, version_id: Option<&str>) -> serde_json::Value {
        let mut object = json!({
            "key": key, "size": 42, "eTag": "abc", "sequencer": "0062E99A88DC407460"
        });
        if let Some(id) = version_id {
            object["versionId"] = json!(id);
        }
        json!({
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "eu-west-1",
            "eventTime": "2026-11-22T21:13:03.123Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.9"},
            "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "I"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "c",
                "bucket": {"name": "uploads-bucket", "ownerIdentity": {"principalId": "O"},
                           "arn": "arn:aws:s3:::uploads-bucket"},
                "object": object
            }
        })
    }

    #[test]
    fn records_parse_with_decoded_keys_and_version_identity() {
        let payload = json!({"Records": [record("data/my+file%2B1+%C3%BC.csv", Some("v1"))]});
        let records = parse_s3_event(&payload).unwrap();
        let event = records[0].as_ref().unwrap();
        assert_eq!(event.key, "data/my file+1 ü.csv");
        assert_eq!(event.version.marker, VersionMarker::VersionId("v1".into()));
        assert_eq!(event.principal.as_deref(), Some("AWS:AIDAEXAMPLE"));
        assert_eq!(event.event_time, "2026-11-22T21:13:03.123Z");
        assert!(event.is_object_created());
        assert_eq!(
            event.version.canonical(),
            "uploads-bucket/data/my file+1 ü.csv?versionId=v1"
        );
    }

    #[test]
    fn event_times_are_utc_with_z_and_the_fraction_s3_sent() {
        for (sent, kept) in [
            ("2026-11-22T21:13:03.123Z", "2026-11-22T21:13:03.123Z"),
            ("2026-11-22T21:13:03Z", "2026-11-22T21:13:03Z"),
            ("2026-11-22T21:13:03.000Z", "2026-11-22T21:13:03Z"),
            ("2026-11-22T21:13:03.123456Z", "2026-11-22T21:13:03.123456Z"),
            ("2026-11-22T23:13:03.5+02:00", "2026-11-22T21:13:03.500Z"),
        ] {
            let mut value = record("k", Some("v"));
            value["eventTime"] = json!(sent);
            let payload = json!({ "Records": [value] });
            let event = parse_s3_event(&payload).unwrap().remove(0).unwrap();
            assert_eq!(event.event_time, kept, "{sent}");
        }
    }

    #[test]
    fn events_outside_the_prefix_or_not_creations_are_ignored_with_a_reason() {
        let payload = json!({"Records": [record("data/a.csv", Some("v1"))]});
        let mut event = parse_s3_event(&payload).unwrap().remove(0).unwrap();
        assert_eq!(event.ignore_reason("data/"), None);
        assert_eq!(
            event.ignore_reason("photos/").as_deref(),
            Some("key is not under photos/")
        );
        event.event_name = "ObjectRemoved:Delete".into();
        assert_eq!(
            event.ignore_reason("data/").as_deref(),
            Some("event ObjectRemoved:Delete is not an object creation")
        );
    }

    #[test]
    fn unversioned_and_null_versions_fall_back_to_the_sequencer() {
        for version in [None, Some("null")] {
            let payload = json!({"Records": [record("k", version)]});
            let records = parse_s3_event(&payload).unwrap();
            assert_eq!(
                records[0].as_ref().unwrap().version.marker,
                VersionMarker::Sequencer("0062E99A88DC407460".into())
            );
        }
    }

    #[test]
    fn one_bad_record_does_not_hide_the_others() {
        let mut broken = record("k", None);
        broken["s3"]["object"]["size"] = json!("not a number");
        let mut keyless = record("k", None);
        keyless["s3"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("key");
        let payload = json!({"Records": [broken, record("ok", Some("v")), keyless]});
        let records = parse_s3_event(&payload).unwrap();
        let error = records[0].as_ref().unwrap_err().to_string();
        assert!(error.contains("Records[0].s3.object.size"), "{error}");
        assert_eq!(records[1].as_ref().unwrap().key, "ok");
        assert_eq!(
            records[2].as_ref().unwrap_err(),
            &EventError::MissingField {
                path: "Records[2].s3.object.key".into()
            }
        );
    }

    #[test]
    fn a_payload_without_records_names_the_field() {
        let error = parse_s3_event(&json!({"detail": {}}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("Records"), "{error}");
        let error = parse_s3_event(&json!({"Records": {}}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("Records"), "{error}");
    }
}
