//! `AWS::DynamoDB::Table`: DescribeTable, DescribeContinuousBackups,
//! DescribeTimeToLive.

use serde_json::{Map, Value as Json, json};

use super::{Outcome, Reader, Reading, boxed, key_as_declared};
use crate::aws::{CallError, call};
use crate::drift::{DriftClients, Target};

pub(super) const READERS: &[Reader] = &[Reader {
    resource_type: "AWS::DynamoDB::Table",
    always: &[
        "BillingMode",
        "KeySchema",
        "AttributeDefinitions",
        "SSESpecification",
        "StreamSpecification",
        "DeletionProtectionEnabled",
        "PointInTimeRecoverySpecification",
        "TimeToLiveSpecification",
    ],
    when_declared: &[
        "TableClass",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexes",
    ],
    unordered: &["AttributeDefinitions", "GlobalSecondaryIndexes"],
    defaults: &[
        ("BillingMode", r#""PROVISIONED""#),
        ("SSESpecification", r#"{"SSEEnabled": false}"#),
        ("DeletionProtectionEnabled", "false"),
        (
            "PointInTimeRecoverySpecification",
            r#"{"PointInTimeRecoveryEnabled": false}"#,
        ),
    ],
    actions: &[
        "dynamodb:DescribeTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeTimeToLive",
    ],
    read: boxed!(read_table),
}];

fn key_schema(elements: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> Json {
    Json::Array(
        elements
            .iter()
            .map(|element| {
                json!({
                    "AttributeName": element.attribute_name(),
                    "KeyType": element.key_type().as_str(),
                })
            })
            .collect(),
    )
}

async fn read_table(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let dynamodb = &clients.dynamodb;
    let name = target.physical_id;
    let described = match call(
        "dynamodb:DescribeTable",
        dynamodb.describe_table().table_name(name).send(),
    )
    .await
    {
        Ok(output) => output,
        Err(error) if error.is_not_found() => {
            return Ok(Outcome::Gone);
        }
        Err(error) => return Err(error),
    };
    let Some(table) = described.table() else {
        return Ok(Outcome::Gone);
    };
    let mut properties = Map::new();
    let billing = table
        .billing_mode_summary()
        .and_then(|summary| summary.billing_mode())
        .map(|mode| mode.as_str().to_owned())
        .unwrap_or_else(|| "PROVISIONED".to_owned());
    properties.insert("BillingMode".into(), json!(billing));
    properties.insert("KeySchema".into(), key_schema(table.key_schema()));
    properties.insert(
        "AttributeDefinitions".into(),
        Json::Array(
            table
                .attribute_definitions()
                .iter()
                .map(|attribute| {
                    json!({
                        "AttributeName": attribute.attribute_name(),
                        "AttributeType": attribute.attribute_type().as_str(),
                    })
                })
                .collect(),
        ),
    );
    let encryption = table.sse_description().filter(|sse| {
        sse.status()
            .is_some_and(|status| matches!(status.as_str(), "ENABLED" | "ENABLING" | "UPDATING"))
    });
    properties.insert(
        "SSESpecification".into(),
        match encryption {
            Some(sse) => {
                let mut specification = Map::new();
                specification.insert("SSEEnabled".into(), json!(true));
                if let Some(kind) = sse.sse_type() {
                    specification.insert("SSEType".into(), json!(kind.as_str()));
                }
                if let Some(key) = sse.kms_master_key_arn() {
                    let declared = target
                        .expected
                        .get("SSESpecification")
                        .and_then(|declared| declared.get("KMSMasterKeyId"));
                    specification.insert("KMSMasterKeyId".into(), key_as_declared(declared, key));
                }
                Json::Object(specification)
            }
            None => json!({"SSEEnabled": false}),
        },
    );
    if let Some(stream) = table
        .stream_specification()
        .filter(|stream| stream.stream_enabled())
    {
        let mut specification = Map::new();
        if let Some(view) = stream.stream_view_type() {
            specification.insert("StreamViewType".into(), json!(view.as_str()));
        }
        properties.insert("StreamSpecification".into(), Json::Object(specification));
    }
    if let Some(protected) = table.deletion_protection_enabled() {
        properties.insert("DeletionProtectionEnabled".into(), json!(protected));
    }
    if let Some(class) = table
        .table_class_summary()
        .and_then(|summary| summary.table_class())
    {
        properties.insert("TableClass".into(), json!(class.as_str()));
    }
    if billing == "PROVISIONED"
        && let Some(throughput) = table.provisioned_throughput()
    {
        properties.insert(
            "ProvisionedThroughput".into(),
            json!({
                "ReadCapacityUnits": throughput.read_capacity_units(),
                "WriteCapacityUnits": throughput.write_capacity_units(),
            }),
        );
    }
    let indexes: Vec<Json> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            let mut projection = Map::new();
            if let Some(projection_of) = index.projection() {
                if let Some(kind) = projection_of.projection_type() {
                    projection.insert("ProjectionType".into(), json!(kind.as_str()));
                }
                if !projection_of.non_key_attributes().is_empty() {
                    projection.insert(
                        "NonKeyAttributes".into(),
                        json!(projection_of.non_key_attributes()),
                    );
                }
            }
            json!({
                "IndexName": index.index_name(),
                "KeySchema": key_schema(index.key_schema()),
                "Projection": projection,
            })
        })
        .collect();
    if !indexes.is_empty() {
        properties.insert("GlobalSecondaryIndexes".into(), Json::Array(indexes));
    }

    let backups = call(
        "dynamodb:DescribeContinuousBackups",
        dynamodb
            .describe_continuous_backups()
            .table_name(name)
            .send(),
    )
    .await?;
    let recovery = backups
        .continuous_backups_description()
        .and_then(|description| description.point_in_time_recovery_description())
        .and_then(|recovery| recovery.point_in_time_recovery_status())
        .is_some_and(|status| status.as_str() == "ENABLED");
    properties.insert(
        "PointInTimeRecoverySpecification".into(),
        json!({"PointInTimeRecoveryEnabled": recovery}),
    );

    let ttl = call(
        "dynamodb:DescribeTimeToLive",
        dynamodb.describe_time_to_live().table_name(name).send(),
    )
    .await?;
    if let Some(ttl) = ttl.time_to_live_description().filter(|ttl| {
        ttl.time_to_live_status()
            .is_some_and(|status| matches!(status.as_str(), "ENABLED" | "ENABLING"))
    }) {
        properties.insert(
            "TimeToLiveSpecification".into(),
            json!({"AttributeName": ttl.attribute_name(), "Enabled": true}),
        );
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}
