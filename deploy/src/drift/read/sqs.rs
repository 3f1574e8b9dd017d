//! `AWS::SQS::Queue` and `AWS::SQS::QueuePolicy`: GetQueueAttributes.

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Map, Value as Json};

use super::{Outcome, Reader, Reading, boxed, json_text, key_as_declared, number_text};
use crate::aws::{CallError, call};
use crate::drift::{DriftClients, Target};

pub(super) const READERS: &[Reader] = &[
    Reader {
        resource_type: "AWS::SQS::Queue",
        always: &[
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
            "RedrivePolicy",
            "RedriveAllowPolicy",
            "KmsMasterKeyId",
        ],
        // The maximum message size went from 256 KiB to 1 MiB in 2025 and
        // SSE-SQS is on by default only for queues made since 2022: an
        // undeclared one has no single default to compare with.
        when_declared: &[
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
            "MaximumMessageSize",
            "SqsManagedSseEnabled",
            "KmsDataKeyReusePeriodSeconds",
        ],
        unordered: &[],
        defaults: &[
            ("VisibilityTimeout", "30"),
            ("MessageRetentionPeriod", "345600"),
            ("DelaySeconds", "0"),
            ("ReceiveMessageWaitTimeSeconds", "0"),
        ],
        actions: &["sqs:GetQueueAttributes"],
        read: boxed!(read_queue),
    },
    Reader {
        resource_type: "AWS::SQS::QueuePolicy",
        always: &["PolicyDocument"],
        when_declared: &[],
        unordered: &[],
        defaults: &[],
        actions: &["sqs:GetQueueAttributes"],
        read: boxed!(read_queue_policy),
    },
];

/// The queue's attributes, or `None` when the queue is gone.
async fn attributes(
    clients: &DriftClients,
    url: &str,
) -> Result<Option<Map<String, Json>>, CallError> {
    let result = call(
        "sqs:GetQueueAttributes",
        clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send(),
    )
    .await;
    let output = match result {
        Ok(output) => output,
        Err(error) if is_gone(&error) => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(Some(
        output
            .attributes()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.as_str().to_owned(), Json::String(value.clone())))
            .collect(),
    ))
}

/// The queue does not exist: the JSON protocol's code, or the query
/// protocol's older one.
fn is_gone(error: &CallError) -> bool {
    matches!(
        error.code.as_deref(),
        Some("QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue")
    )
}

async fn read_queue(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let Some(attributes) = attributes(clients, target.physical_id).await? else {
        return Ok(Outcome::Gone);
    };
    let mut properties = Map::new();
    for (name, value) in &attributes {
        let Some(text) = value.as_str() else { continue };
        let property = match name.as_str() {
            "VisibilityTimeout"
            | "MessageRetentionPeriod"
            | "DelaySeconds"
            | "ReceiveMessageWaitTimeSeconds"
            | "MaximumMessageSize"
            | "KmsDataKeyReusePeriodSeconds" => number_text(text),
            "FifoQueue" | "ContentBasedDeduplication" | "SqsManagedSseEnabled" => {
                Json::Bool(text == "true")
            }
            "RedrivePolicy" | "RedriveAllowPolicy" => json_text(text),
            "KmsMasterKeyId" => key_as_declared(target.expected.get("KmsMasterKeyId"), text),
            "DeduplicationScope" | "FifoThroughputLimit" => Json::String(text.to_owned()),
            _ => continue,
        };
        properties.insert(name.clone(), property);
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

/// Every queue the policy is set on must hold it: the first that does not
/// is what is shown (a queue without a policy: the policy is gone).
async fn read_queue_policy(
    clients: &DriftClients,
    target: &Target<'_>,
) -> Result<Outcome, CallError> {
    let queues: Vec<&str> = target
        .expected
        .get("Queues")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    let mut first = None;
    for url in queues {
        let Some(attributes) = attributes(clients, url).await? else {
            return Ok(Outcome::Gone);
        };
        let Some(policy) = attributes.get("Policy").and_then(Json::as_str) else {
            return Ok(Outcome::Gone);
        };
        let policy = json_text(policy);
        let differs = target.expected.get("PolicyDocument") != Some(&policy);
        if first.is_none() || differs {
            first = Some(policy);
            if differs {
                break;
            }
        }
    }
    let mut properties = Map::new();
    if let Some(policy) = first {
        properties.insert("PolicyDocument".to_owned(), policy);
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}
