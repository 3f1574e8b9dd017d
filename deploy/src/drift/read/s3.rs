//! `AWS::S3::Bucket` (one Get call per configuration) and
//! `AWS::S3::BucketPolicy` (GetBucketPolicy).

use serde_json::{Map, Value as Json, json};

use super::{Outcome, Reader, Reading, boxed, json_text, key_as_declared};
use crate::aws::{CallError, call};
use crate::drift::{DriftClients, Target};

pub(super) const READERS: &[Reader] = &[
    Reader {
        resource_type: "AWS::S3::Bucket",
        always: &[
            "BucketEncryption",
            "PublicAccessBlockConfiguration",
            "VersioningConfiguration",
            "CorsConfiguration",
            "LifecycleConfiguration",
            "LoggingConfiguration",
            "NotificationConfiguration",
            "OwnershipControls",
            "WebsiteConfiguration",
            "ReplicationConfiguration",
        ],
        when_declared: &[],
        unordered: &["NotificationConfiguration", "CorsConfiguration"],
        // What a bucket made since April 2023 has when nobody set anything.
        defaults: &[
            (
                "BucketEncryption",
                r#"{"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}"#,
            ),
            (
                "PublicAccessBlockConfiguration",
                r#"{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}"#,
            ),
            (
                "OwnershipControls",
                r#"{"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}"#,
            ),
        ],
        actions: &[
            "s3:GetBucketVersioning",
            "s3:GetEncryptionConfiguration",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetBucketCORS",
            "s3:GetLifecycleConfiguration",
            "s3:GetBucketLogging",
            "s3:GetBucketNotification",
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketWebsite",
            "s3:GetReplicationConfiguration",
        ],
        read: boxed!(read_bucket),
    },
    Reader {
        resource_type: "AWS::S3::BucketPolicy",
        always: &["PolicyDocument"],
        when_declared: &[],
        unordered: &[],
        defaults: &[],
        actions: &["s3:GetBucketPolicy"],
        read: boxed!(read_bucket_policy),
    },
];

/// A configuration the bucket does not have: S3 answers with an error code
/// of its own per configuration.
fn not_configured(error: &CallError) -> bool {
    matches!(
        error.code.as_deref(),
        Some(
            "ServerSideEncryptionConfigurationNotFoundError"
                | "NoSuchPublicAccessBlockConfiguration"
                | "NoSuchCORSConfiguration"
                | "NoSuchLifecycleConfiguration"
                | "OwnershipControlsNotFoundError"
                | "NoSuchWebsiteConfiguration"
                | "ReplicationConfigurationNotFoundError"
                | "NoSuchBucketPolicy"
        )
    )
}

/// The configuration, `None` when the bucket has none of it.
async fn optional<T, E>(
    operation: &str,
    request: impl std::future::Future<
        Output = Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
    >,
) -> Result<Option<T>, CallError>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match call(operation, request).await {
        Ok(output) => Ok(Some(output)),
        Err(error) if not_configured(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn read_bucket(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let s3 = &clients.s3;
    let bucket = target.physical_id;
    let declared = |name: &str| target.expected.get(name);
    let mut properties = Map::new();

    let versioning = match call(
        "s3:GetBucketVersioning",
        s3.get_bucket_versioning().bucket(bucket).send(),
    )
    .await
    {
        Ok(output) => output,
        Err(error) if error.code.as_deref() == Some("NoSuchBucket") => return Ok(Outcome::Gone),
        Err(error) => return Err(error),
    };
    if let Some(status) = versioning.status() {
        properties.insert(
            "VersioningConfiguration".into(),
            json!({"Status": status.as_str()}),
        );
    }

    if let Some(encryption) = optional(
        "s3:GetEncryptionConfiguration",
        s3.get_bucket_encryption().bucket(bucket).send(),
    )
    .await?
    {
        let declared_rules = declared("BucketEncryption")
            .and_then(|value| value["ServerSideEncryptionConfiguration"].as_array());
        let rules: Vec<Json> = encryption
            .server_side_encryption_configuration()
            .map(|configuration| configuration.rules())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let declared = declared_rules.and_then(|rules| rules.get(index));
                let mut entry = Map::new();
                if let Some(default) = rule.apply_server_side_encryption_by_default() {
                    let mut by_default = Map::new();
                    by_default.insert(
                        "SSEAlgorithm".into(),
                        json!(default.sse_algorithm().as_str()),
                    );
                    if let Some(key) = default.kms_master_key_id() {
                        let declared_key = declared.and_then(|rule| {
                            rule["ServerSideEncryptionByDefault"].get("KMSMasterKeyID")
                        });
                        by_default
                            .insert("KMSMasterKeyID".into(), key_as_declared(declared_key, key));
                    }
                    entry.insert(
                        "ServerSideEncryptionByDefault".into(),
                        Json::Object(by_default),
                    );
                }
                // S3 reports `false` for a bucket key nobody turned on.
                let bucket_key = rule.bucket_key_enabled().unwrap_or(false);
                if bucket_key || declared.is_some_and(|rule| rule.get("BucketKeyEnabled").is_some())
                {
                    entry.insert("BucketKeyEnabled".into(), json!(bucket_key));
                }
                Json::Object(entry)
            })
            .collect();
        properties.insert(
            "BucketEncryption".into(),
            json!({"ServerSideEncryptionConfiguration": rules}),
        );
    }

    if let Some(block) = optional(
        "s3:GetBucketPublicAccessBlock",
        s3.get_public_access_block().bucket(bucket).send(),
    )
    .await?
        && let Some(block) = block.public_access_block_configuration()
    {
        properties.insert(
            "PublicAccessBlockConfiguration".into(),
            json!({
                "BlockPublicAcls": block.block_public_acls().unwrap_or(false),
                "BlockPublicPolicy": block.block_public_policy().unwrap_or(false),
                "IgnorePublicAcls": block.ignore_public_acls().unwrap_or(false),
                "RestrictPublicBuckets": block.restrict_public_buckets().unwrap_or(false),
            }),
        );
    }

    if let Some(cors) = optional(
        "s3:GetBucketCORS",
        s3.get_bucket_cors().bucket(bucket).send(),
    )
    .await?
    {
        let rules: Vec<Json> = cors
            .cors_rules()
            .iter()
            .map(|rule| {
                let mut entry = Map::new();
                entry.insert("AllowedMethods".into(), json!(rule.allowed_methods()));
                entry.insert("AllowedOrigins".into(), json!(rule.allowed_origins()));
                if !rule.allowed_headers().is_empty() {
                    entry.insert("AllowedHeaders".into(), json!(rule.allowed_headers()));
                }
                if !rule.expose_headers().is_empty() {
                    entry.insert("ExposedHeaders".into(), json!(rule.expose_headers()));
                }
                if let Some(age) = rule.max_age_seconds() {
                    entry.insert("MaxAge".into(), json!(age));
                }
                if let Some(id) = rule.id() {
                    entry.insert("Id".into(), json!(id));
                }
                Json::Object(entry)
            })
            .collect();
        if !rules.is_empty() {
            properties.insert("CorsConfiguration".into(), json!({"CorsRules": rules}));
        }
    }

    if let Some(lifecycle) = optional(
        "s3:GetLifecycleConfiguration",
        s3.get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send(),
    )
    .await?
    {
        let rules: Vec<Json> = lifecycle.rules().iter().map(lifecycle_rule).collect();
        if !rules.is_empty() {
            properties.insert("LifecycleConfiguration".into(), json!({"Rules": rules}));
        }
    }

    let logging = call(
        "s3:GetBucketLogging",
        s3.get_bucket_logging().bucket(bucket).send(),
    )
    .await?;
    if let Some(enabled) = logging.logging_enabled() {
        properties.insert(
            "LoggingConfiguration".into(),
            json!({
                "DestinationBucketName": enabled.target_bucket(),
                "LogFilePrefix": enabled.target_prefix(),
            }),
        );
    }

    let notifications = call(
        "s3:GetBucketNotification",
        s3.get_bucket_notification_configuration()
            .bucket(bucket)
            .send(),
    )
    .await?;
    let mut notification = Map::new();
    let filter = |filter: Option<&aws_sdk_s3::types::NotificationConfigurationFilter>| {
        filter.and_then(|filter| filter.key()).map(|key| {
            let rules: Vec<Json> = key
                .filter_rules()
                .iter()
                .map(|rule| {
                    json!({
                        "Name": rule.name().map(|name| name.as_str().to_ascii_lowercase()),
                        "Value": rule.value(),
                    })
                })
                .collect();
            json!({"S3Key": {"Rules": rules}})
        })
    };
    // S3 keeps one configuration with a list of events; CloudFormation
    // declares one per event.
    let entry =
        |event: &aws_sdk_s3::types::Event, target_key: &str, arn: &str, filter: Option<Json>| {
            let mut entry = Map::new();
            entry.insert("Event".into(), json!(event.as_str()));
            entry.insert(target_key.into(), json!(arn));
            if let Some(filter) = filter {
                entry.insert("Filter".into(), filter);
            }
            Json::Object(entry)
        };
    let lambdas: Vec<Json> = notifications
        .lambda_function_configurations()
        .iter()
        .flat_map(|config| {
            config.events().iter().map(|event| {
                entry(
                    event,
                    "Function",
                    config.lambda_function_arn(),
                    filter(config.filter()),
                )
            })
        })
        .collect();
    let queues: Vec<Json> = notifications
        .queue_configurations()
        .iter()
        .flat_map(|config| {
            config
                .events()
                .iter()
                .map(|event| entry(event, "Queue", config.queue_arn(), filter(config.filter())))
        })
        .collect();
    let topics: Vec<Json> = notifications
        .topic_configurations()
        .iter()
        .flat_map(|config| {
            config
                .events()
                .iter()
                .map(|event| entry(event, "Topic", config.topic_arn(), filter(config.filter())))
        })
        .collect();
    for (name, entries) in [
        ("LambdaConfigurations", lambdas),
        ("QueueConfigurations", queues),
        ("TopicConfigurations", topics),
    ] {
        if !entries.is_empty() {
            notification.insert(name.into(), Json::Array(entries));
        }
    }
    if notifications.event_bridge_configuration().is_some() {
        notification.insert(
            "EventBridgeConfiguration".into(),
            json!({"EventBridgeEnabled": true}),
        );
    }
    if !notification.is_empty() {
        properties.insert(
            "NotificationConfiguration".into(),
            Json::Object(notification),
        );
    }

    if let Some(ownership) = optional(
        "s3:GetBucketOwnershipControls",
        s3.get_bucket_ownership_controls().bucket(bucket).send(),
    )
    .await?
        && let Some(controls) = ownership.ownership_controls()
    {
        let rules: Vec<Json> = controls
            .rules()
            .iter()
            .map(|rule| json!({"ObjectOwnership": rule.object_ownership().as_str()}))
            .collect();
        properties.insert("OwnershipControls".into(), json!({"Rules": rules}));
    }

    if let Some(website) = optional(
        "s3:GetBucketWebsite",
        s3.get_bucket_website().bucket(bucket).send(),
    )
    .await?
    {
        let mut config = Map::new();
        if let Some(index) = website.index_document() {
            config.insert("IndexDocument".into(), json!(index.suffix()));
        }
        if let Some(error) = website.error_document() {
            config.insert("ErrorDocument".into(), json!(error.key()));
        }
        if let Some(redirect) = website.redirect_all_requests_to() {
            config.insert(
                "RedirectAllRequestsTo".into(),
                json!({"HostName": redirect.host_name()}),
            );
        }
        properties.insert("WebsiteConfiguration".into(), Json::Object(config));
    }

    if let Some(replication) = optional(
        "s3:GetReplicationConfiguration",
        s3.get_bucket_replication().bucket(bucket).send(),
    )
    .await?
        && let Some(configuration) = replication.replication_configuration()
    {
        let rules: Vec<Json> = configuration
            .rules()
            .iter()
            .map(|rule| {
                json!({
                    "Id": rule.id(),
                    "Status": rule.status().as_str(),
                    "Destination": {
                        "Bucket": rule.destination().map(|destination| destination.bucket()),
                        "Account": rule.destination().and_then(|destination| destination.account()),
                    },
                })
            })
            .collect();
        properties.insert(
            "ReplicationConfiguration".into(),
            json!({"Role": configuration.role(), "Rules": rules}),
        );
    }

    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

/// One lifecycle rule in CloudFormation's shape (`ExpirationInDays` for
/// `Expiration.Days`, `Prefix` for an empty filter's prefix, ...).
fn lifecycle_rule(rule: &aws_sdk_s3::types::LifecycleRule) -> Json {
    let mut entry = Map::new();
    if let Some(id) = rule.id() {
        entry.insert("Id".into(), json!(id));
    }
    entry.insert("Status".into(), json!(rule.status().as_str()));
    let prefix = rule
        .filter()
        .and_then(|filter| filter.prefix())
        .filter(|prefix| !prefix.is_empty());
    if let Some(prefix) = prefix {
        entry.insert("Prefix".into(), json!(prefix));
    }
    if let Some(expiration) = rule.expiration() {
        if let Some(days) = expiration.days() {
            entry.insert("ExpirationInDays".into(), json!(days));
        }
        if expiration.expired_object_delete_marker() == Some(true) {
            entry.insert("ExpiredObjectDeleteMarker".into(), json!(true));
        }
    }
    if let Some(noncurrent) = rule.noncurrent_version_expiration() {
        let mut value = Map::new();
        if let Some(days) = noncurrent.noncurrent_days() {
            value.insert("NoncurrentDays".into(), json!(days));
        }
        if let Some(versions) = noncurrent.newer_noncurrent_versions() {
            value.insert("NewerNoncurrentVersions".into(), json!(versions));
        }
        entry.insert("NoncurrentVersionExpiration".into(), Json::Object(value));
    }
    if let Some(abort) = rule.abort_incomplete_multipart_upload()
        && let Some(days) = abort.days_after_initiation()
    {
        entry.insert(
            "AbortIncompleteMultipartUpload".into(),
            json!({"DaysAfterInitiation": days}),
        );
    }
    let transitions: Vec<Json> = rule
        .transitions()
        .iter()
        .map(|transition| {
            json!({
                "StorageClass": transition.storage_class().map(|class| class.as_str()),
                "TransitionInDays": transition.days(),
            })
        })
        .collect();
    if !transitions.is_empty() {
        entry.insert("Transitions".into(), Json::Array(transitions));
    }
    Json::Object(entry)
}

async fn read_bucket_policy(
    clients: &DriftClients,
    target: &Target<'_>,
) -> Result<Outcome, CallError> {
    let Some(bucket) = target.expected.get("Bucket").and_then(Json::as_str) else {
        return Err(CallError::new(
            "s3:GetBucketPolicy",
            None,
            "the template's Bucket did not resolve to a name",
        ));
    };
    let policy = match call(
        "s3:GetBucketPolicy",
        clients.s3.get_bucket_policy().bucket(bucket).send(),
    )
    .await
    {
        Ok(output) => output,
        Err(error)
            if matches!(
                error.code.as_deref(),
                Some("NoSuchBucketPolicy" | "NoSuchBucket")
            ) =>
        {
            return Ok(Outcome::Gone);
        }
        Err(error) => return Err(error),
    };
    let mut properties = Map::new();
    if let Some(policy) = policy.policy() {
        properties.insert("PolicyDocument".into(), json_text(policy));
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}
