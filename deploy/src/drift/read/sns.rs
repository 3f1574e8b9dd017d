//! `AWS::SNS::Topic` and `AWS::SNS::TopicPolicy` (GetTopicAttributes),
//! `AWS::SNS::Subscription` (GetSubscriptionAttributes). SNS returns every
//! attribute as text.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::{Outcome, Reader, Reading, boxed, json_text, key_as_declared};
use crate::aws::{CallError, call};
use crate::drift::{DriftClients, Target};

pub(super) const READERS: &[Reader] = &[
    Reader {
        resource_type: "AWS::SNS::Topic",
        always: &["KmsMasterKeyId"],
        when_declared: &[
            "DisplayName",
            "FifoTopic",
            "ContentBasedDeduplication",
            "TracingConfig",
            "SignatureVersion",
            "ArchivePolicy",
        ],
        unordered: &[],
        defaults: &[],
        actions: &["sns:GetTopicAttributes"],
        read: boxed!(read_topic),
    },
    Reader {
        resource_type: "AWS::SNS::TopicPolicy",
        always: &["PolicyDocument"],
        when_declared: &[],
        unordered: &[],
        defaults: &[],
        actions: &["sns:GetTopicAttributes"],
        read: boxed!(read_topic_policy),
    },
    Reader {
        resource_type: "AWS::SNS::Subscription",
        always: &[
            "Protocol",
            "Endpoint",
            "TopicArn",
            "RawMessageDelivery",
            "FilterPolicy",
            "RedrivePolicy",
        ],
        when_declared: &["FilterPolicyScope", "DeliveryPolicy", "SubscriptionRoleArn"],
        unordered: &[],
        defaults: &[("RawMessageDelivery", "false")],
        actions: &["sns:GetSubscriptionAttributes"],
        read: boxed!(read_subscription),
    },
];

fn gone(error: &CallError) -> bool {
    matches!(
        error.code.as_deref(),
        Some("NotFound" | "NotFoundException")
    )
}

async fn topic_attributes(
    clients: &DriftClients,
    arn: &str,
) -> Result<Option<HashMap<String, String>>, CallError> {
    match call(
        "sns:GetTopicAttributes",
        clients.sns.get_topic_attributes().topic_arn(arn).send(),
    )
    .await
    {
        Ok(output) => Ok(Some(output.attributes().cloned().unwrap_or_default())),
        Err(error) if gone(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn read_topic(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let Some(attributes) = topic_attributes(clients, target.physical_id).await? else {
        return Ok(Outcome::Gone);
    };
    let mut properties = Map::new();
    for (name, text) in &attributes {
        let value = match name.as_str() {
            "KmsMasterKeyId" if !text.is_empty() => {
                key_as_declared(target.expected.get("KmsMasterKeyId"), text)
            }
            "DisplayName" | "SignatureVersion" | "TracingConfig" => Json::from(text.as_str()),
            "FifoTopic" | "ContentBasedDeduplication" => Json::Bool(text == "true"),
            "ArchivePolicy" => json_text(text),
            _ => continue,
        };
        properties.insert(name.clone(), value);
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

/// Every topic the policy is set on must hold it: the first that does not
/// is what is shown.
async fn read_topic_policy(
    clients: &DriftClients,
    target: &Target<'_>,
) -> Result<Outcome, CallError> {
    let topics: Vec<&str> = target
        .expected
        .get("Topics")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    let mut shown = None;
    for arn in topics {
        let Some(attributes) = topic_attributes(clients, arn).await? else {
            return Ok(Outcome::Gone);
        };
        let policy = attributes.get("Policy").map(|text| json_text(text));
        let differs = policy.as_ref() != target.expected.get("PolicyDocument");
        if shown.is_none() || differs {
            shown = policy;
            if differs {
                break;
            }
        }
    }
    let mut properties = Map::new();
    if let Some(policy) = shown {
        properties.insert("PolicyDocument".into(), policy);
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

async fn read_subscription(
    clients: &DriftClients,
    target: &Target<'_>,
) -> Result<Outcome, CallError> {
    let result = call(
        "sns:GetSubscriptionAttributes",
        clients
            .sns
            .get_subscription_attributes()
            .subscription_arn(target.physical_id)
            .send(),
    )
    .await;
    let attributes = match result {
        Ok(output) => output.attributes().cloned().unwrap_or_default(),
        Err(error) if gone(&error) => return Ok(Outcome::Gone),
        Err(error) => return Err(error),
    };
    let mut properties = Map::new();
    for (name, text) in &attributes {
        let value = match name.as_str() {
            "Protocol" | "Endpoint" | "TopicArn" | "FilterPolicyScope" | "SubscriptionRoleArn" => {
                Json::from(text.as_str())
            }
            "RawMessageDelivery" => Json::Bool(text == "true"),
            "FilterPolicy" | "RedrivePolicy" | "DeliveryPolicy" if !text.is_empty() => {
                json_text(text)
            }
            _ => continue,
        };
        properties.insert(name.clone(), value);
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}
