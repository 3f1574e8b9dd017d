//! Moto-backed fixtures for the handlers' integration tests (feature
//! `test-util`, enabled only from the handlers' dev-dependencies).
//!
//! Each test starts its own `moto_server` ([`MotoServer`], from the dev-only
//! `upstack-test-support` crate) on a free 127.0.0.1 port and kills it on
//! drop, so tests run in parallel without sharing state. A missing moto is a
//! test failure that says how to install it, never a skip.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;

/// The moto launcher and its constants live in the dev-only
/// `upstack-test-support` crate, shared with the toolkit's and CLI's tests.
pub use upstack_test_support::{ACCOUNT_ID, MotoServer, REGION};

/// The pipeline's resources (bucket, table, topics, queues subscribed to the
/// topics), created in a fresh moto.
#[derive(Debug)]
pub struct MotoPipeline {
    pub moto: MotoServer,
    pub sdk_config: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub bucket: String,
    pub table: String,
    pub topic_arn: String,
    pub fifo_topic_arn: String,
    /// Standard queue subscribed (SNS envelope kept) to the standard topic.
    pub topic_queue_url: String,
    /// FIFO queue subscribed with raw delivery to the FIFO topic.
    pub fifo_queue_url: String,
}

impl MotoPipeline {
    pub async fn start() -> MotoPipeline {
        let moto = MotoServer::start();
        let sdk_config = moto.sdk_config().await;
        let s3 = aws_sdk_s3::Client::from_conf(crate::sdk::s3_config(&sdk_config).build());
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config);
        let sns = aws_sdk_sns::Client::new(&sdk_config);
        let sqs = aws_sdk_sqs::Client::new(&sdk_config);
        let bucket = "upload-bucket".to_owned();
        let table = "pipeline-table".to_owned();

        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|error| panic!("CreateBucket: {error:?}"));
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|error| panic!("PutBucketVersioning: {error:?}"));

        let key_attribute = |name: &str, key_type: KeyType| {
            (
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap_or_else(|error| panic!("{error}")),
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(key_type)
                    .build()
                    .unwrap_or_else(|error| panic!("{error}")),
            )
        };
        let (pk_definition, pk_schema) =
            key_attribute(upstack_contract::table::PARTITION_KEY, KeyType::Hash);
        let (sk_definition, sk_schema) =
            key_attribute(upstack_contract::table::SORT_KEY, KeyType::Range);
        dynamodb
            .create_table()
            .table_name(&table)
            .attribute_definitions(pk_definition)
            .attribute_definitions(sk_definition)
            .key_schema(pk_schema)
            .key_schema(sk_schema)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap_or_else(|error| panic!("CreateTable: {error:?}"));

        let topic_arn = sns
            .create_topic()
            .name("uploads")
            .send()
            .await
            .unwrap_or_else(|error| panic!("CreateTopic: {error:?}"))
            .topic_arn
            .unwrap_or_default();
        let fifo_topic_arn = sns
            .create_topic()
            .name("upload-events.fifo")
            .attributes("FifoTopic", "true")
            .attributes("ContentBasedDeduplication", "false")
            .send()
            .await
            .unwrap_or_else(|error| panic!("CreateTopic (FIFO): {error:?}"))
            .topic_arn
            .unwrap_or_default();

        let topic_queue_url = create_queue(&sqs, "uploads-copy", false).await;
        let fifo_queue_url = create_queue(&sqs, "upload-events.fifo", true).await;
        for (topic, queue_url, raw) in [
            (&topic_arn, &topic_queue_url, false),
            (&fifo_topic_arn, &fifo_queue_url, true),
        ] {
            let queue_arn = sqs
                .get_queue_attributes()
                .queue_url(queue_url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .unwrap_or_else(|error| panic!("GetQueueAttributes: {error:?}"))
                .attributes
                .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
                .unwrap_or_default();
            let mut subscribe = sns
                .subscribe()
                .topic_arn(topic)
                .protocol("sqs")
                .endpoint(queue_arn);
            if raw {
                subscribe = subscribe.attributes("RawMessageDelivery", "true");
            }
            subscribe
                .send()
                .await
                .unwrap_or_else(|error| panic!("Subscribe: {error:?}"));
        }

        MotoPipeline {
            moto,
            sdk_config,
            s3,
            dynamodb,
            sns,
            sqs,
            bucket,
            table,
            topic_arn,
            fifo_topic_arn,
            topic_queue_url,
            fifo_queue_url,
        }
    }

    /// Uploads `body` to `key` and returns the new version ID.
    pub async fn put_object(&self, key: &str, body: impl Into<ByteStream>) -> String {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|error| panic!("PutObject {key}: {error:?}"))
            .version_id
            .unwrap_or_else(|| panic!("PutObject {key}: no version ID (versioning is on)"))
    }

    /// The S3 event S3 would send for one created object.
    pub fn created_event(&self, key: &str, version_id: &str, size: i64) -> serde_json::Value {
        s3_event(&[EventRecord::created(
            &self.bucket,
            key,
            Some(version_id),
            size,
        )])
    }

    /// Every item in the table, sorted by (pk, sk).
    pub async fn items(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap_or_else(|error| panic!("Scan: {error:?}"));
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let key = |item: &HashMap<String, AttributeValue>| {
            let text = |name: &str| {
                item.get(name)
                    .and_then(|value| value.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            (text("pk"), text("sk"))
        };
        items.sort_by_key(key);
        items
    }

    /// Drains a queue: every message currently available.
    pub async fn drain(&self, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let mut messages = Vec::new();
        let mut empty_polls = 0;
        while empty_polls < 2 {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap_or_else(|error| panic!("ReceiveMessage: {error:?}"))
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                empty_polls += 1;
                continue;
            }
            for message in &batch {
                if let Some(handle) = message.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .unwrap_or_else(|error| panic!("DeleteMessage: {error:?}"));
                }
            }
            messages.extend(batch);
        }
        messages
    }
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    if fifo {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    request
        .send()
        .await
        .unwrap_or_else(|error| panic!("CreateQueue {name}: {error:?}"))
        .queue_url
        .unwrap_or_default()
}

/// One record of a hand-built S3 event.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub bucket: String,
    /// The real (decoded) key; [`s3_event`] encodes it as S3 does.
    pub key: String,
    pub version_id: Option<String>,
    pub sequencer: String,
    pub size: i64,
    pub event_name: String,
}

impl EventRecord {
    pub fn created(bucket: &str, key: &str, version_id: Option<&str>, size: i64) -> EventRecord {
        EventRecord {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id: version_id.map(str::to_owned),
            sequencer: format!("{:016X}", fastrand::u64(..)),
            size,
            event_name: "ObjectCreated:Put".to_owned(),
        }
    }
}

/// An S3 event in the shape S3 delivers to Lambda (event version 2.1).
pub fn s3_event(records: &[EventRecord]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|record| {
            let mut object = serde_json::json!({
                "key": upstack_contract::s3_key::encode_event_key(&record.key),
                "size": record.size,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": record.sequencer,
            });
            if let Some(version_id) = &record.version_id {
                object["versionId"] = serde_json::json!(version_id);
            }
            serde_json::json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-11-22T21:13:03.123Z",
                "eventName": record.event_name,
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUPLOADER"},
                "requestParameters": {"sourceIPAddress": "203.0.113.9"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "upstack",
                    "bucket": {
                        "name": record.bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": format!("arn:aws:s3:::{}", record.bucket)
                    },
                    "object": object
                }
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// Text of a string attribute, or "" when absent.
pub fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default()
}
