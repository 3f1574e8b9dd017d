//! Turns a checked [`Pipeline`] into the CloudFormation template.
//!
//! Physical names are deterministic (`<app>-<env>-...`) so policies can name
//! a resource by a constructed ARN instead of referencing it: the upload
//! bucket's notifications need the Lambda permissions first, and the
//! permissions need the bucket ARN; with `Ref` that is a cycle.

use std::collections::BTreeMap;

use serde_json::json;
use upstack_cfn::value::{Pseudo, sub};
use upstack_cfn::{
    DeletionPolicy, Json, Output, PolicyDocument, Principal, ResourceOptions, ResourceRef,
    Statement, Template, Value,
};
use upstack_cfn_resources::{dynamodb, iam, kms, lambda, logs, s3, sns, sqs};
use upstack_contract::{env as env_var, handler, prefix, table as table_keys};

use crate::config::EnvConfig;
use crate::grants;
use crate::model::{Endpoint, Grant, Pipeline, Target, ids};

/// S3 keeps an incomplete multipart upload's parts (and bills them) until
/// aborted; a week is long enough for any resumable upload.
const ABORT_MULTIPART_DAYS: i64 = 7;
/// Overwritten or deleted upload versions stay recoverable this long.
const NONCURRENT_VERSION_DAYS: i64 = 30;
/// Access logs are kept this long.
const ACCESS_LOG_DAYS: i64 = 365;
/// SQS's maximum retention, so a failed message is not lost before someone looks.
const QUEUE_RETENTION_SECONDS: i64 = 1_209_600;
/// Receives before a FIFO message moves to the dead-letter queue.
const MAX_RECEIVE_COUNT: i64 = 5;
/// Async retries after the first attempt (Lambda allows 0-2).
const ASYNC_RETRY_ATTEMPTS: i64 = 2;
/// Where S3 writes the upload bucket's access logs in the log bucket.
const ACCESS_LOG_PREFIX: &str = "uploads-bucket/";

/// What CloudWatch Logs may do with the key (see `add_key`).
pub const CLOUDWATCH_LOGS_KEY_ACTIONS: [&str; 7] = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

/// What CloudWatch alarms need to publish into an SSE-KMS topic.
pub const CLOUDWATCH_ALARMS_KEY_ACTIONS: [&str; 2] = ["kms:Decrypt", "kms:GenerateDataKey"];

/// The handler's asset (S3 key in the asset bucket) per handler crate name.
pub type AssetKeys = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BuildError {
    #[error(
        "no asset key for handler `{0}`; synth computes one per handler in upstack_contract::handler::ALL"
    )]
    MissingAsset(String),
    #[error("the dashboard body could not be serialized: {0}")]
    Dashboard(String),
}

/// `photo-check` -> `PhotoCheck`.
pub fn pascal(name: &str) -> String {
    name.split(['-', '_', '.', '@'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<String>()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

fn lit<T>(value: T) -> Option<Value<T>> {
    Some(Value::Lit(value))
}

fn list<T>(items: impl IntoIterator<Item = T>) -> Value<Vec<Value<T>>> {
    Value::Lit(items.into_iter().map(Value::Lit).collect())
}

/// `checkov: {skip: [{id, comment}]}` for checks that do not apply, each with its reason.
fn checkov_skips(options: ResourceOptions, skips: &[(&str, String)]) -> ResourceOptions {
    if skips.is_empty() {
        return options;
    }
    let skip: Vec<Json> = skips
        .iter()
        .map(|(id, comment)| json!({"id": id, "comment": comment}))
        .collect();
    options.metadata("checkov", json!({ "skip": skip }))
}

/// Deletion and replacement policy for stateful resources per the env config.
fn stateful(config: &EnvConfig) -> ResourceOptions {
    if config.retain_stateful_resources {
        ResourceOptions::default().retain_as(DeletionPolicy::Retain)
    } else {
        ResourceOptions::default().retain_as(DeletionPolicy::Delete)
    }
}

/// The env's tags as a typed tag list (`None` when the env sets none), for
/// types whose tag `new` takes just key and value.
pub(crate) fn tag_list<T>(
    config: &EnvConfig,
    make: impl Fn(&str, &str) -> T,
) -> Option<Value<Vec<Value<T>>>> {
    (!config.tags.is_empty()).then(|| {
        Value::Lit(
            config
                .tags
                .iter()
                .map(|(key, value)| Value::Lit(make(key.as_str(), value.as_str())))
                .collect(),
        )
    })
}

macro_rules! tags {
    ($config:expr, $tag:ty) => {
        lit($config
            .tags
            .iter()
            .map(|(key, value)| Value::Lit(<$tag>::new(key.as_str(), value.as_str())))
            .collect::<Vec<_>>())
        .filter(|tags| tags.as_lit().is_some_and(|tags| !tags.is_empty()))
    };
}

/// The stack's references that later resources need.
struct Core {
    key_arn: Value<String>,
    table_arn: Value<String>,
    table_name: Value<String>,
    topic_arns: BTreeMap<String, Value<String>>,
    queue_arns: BTreeMap<String, Value<String>>,
}

/// Builds the template for `pipeline` (already checked) with `config`'s settings.
pub fn build(
    pipeline: &Pipeline,
    config: &EnvConfig,
    assets: &AssetKeys,
) -> Result<Template, BuildError> {
    let mut template = Template::new().description(format!(
        "{} {}: S3 uploads -> Rust Lambdas -> SNS/SQS FIFO/DynamoDB (generated by upstack synth; do not edit)",
        pipeline.app, pipeline.env
    ));
    let key = add_key(&mut template, pipeline, config);
    let key_arn = key.arn();
    let log_bucket = add_log_bucket(&mut template, pipeline, config);
    let table = add_table(&mut template, pipeline, config, &key_arn);
    let (topic_arns, queue_arns) = add_messaging(&mut template, pipeline, config, &key_arn);
    let core = Core {
        key_arn,
        table_arn: table.arn(),
        table_name: table.reference(),
        topic_arns,
        queue_arns,
    };

    let mut functions = BTreeMap::new();
    let mut permissions = Vec::new();
    for function in &pipeline.functions {
        let asset = assets
            .get(&function.handler)
            .ok_or_else(|| BuildError::MissingAsset(function.handler.clone()))?;
        let (function_ref, function_permissions) =
            add_function(&mut template, pipeline, config, &core, function, asset);
        permissions.extend(function_permissions);
        functions.insert(function.handler.clone(), function_ref);
    }
    add_upload_bucket(
        &mut template,
        pipeline,
        config,
        &core,
        &functions,
        &permissions,
        &log_bucket,
    );
    add_uploader_policy(&mut template, pipeline, &core);
    let alarms = crate::monitoring::add_alarms(&mut template, pipeline, config, |topic| {
        core.topic_arns.get(topic).cloned()
    });
    crate::monitoring::add_deploy_guard(&mut template, pipeline, config, &alarms);
    crate::monitoring::add_dashboard(&mut template, pipeline, config)
        .map_err(|error| BuildError::Dashboard(error.to_string()))?;

    template.add_output(
        "KeyArn",
        Output::new(core.key_arn.clone()).description("KMS key encrypting the pipeline's data"),
    );
    template.add_output(
        "TableName",
        Output::new(core.table_name.clone()).description("DynamoDB table"),
    );
    for (id, arn) in &core.topic_arns {
        template.add_output(
            format!("{}TopicArn", pascal(id)),
            Output::new(arn.clone()).description(format!("SNS topic {id}")),
        );
    }
    template.add_output(
        "EventsQueueUrl",
        Output::new(upstack_cfn::value::reference::<String>(&queue_logical_id(
            ids::EVENTS_QUEUE,
        )))
        .description("SQS FIFO queue receiving the events topic"),
    );
    for (handler_name, function) in &functions {
        template.add_output(
            format!("{}FunctionName", pascal(handler_name)),
            Output::new(function.reference()).description(format!(
                "Lambda function running the {handler_name} handler"
            )),
        );
    }
    Ok(template)
}

fn topic_logical_id(id: &str) -> String {
    format!("{}Topic", pascal(id))
}

fn queue_logical_id(id: &str) -> String {
    format!("{}Queue", pascal(id))
}

fn topic_arn_sub(name: &str) -> Value<String> {
    sub(format!(
        "arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{name}"
    ))
}

fn add_key(template: &mut Template, pipeline: &Pipeline, config: &EnvConfig) -> kms::KeyRef {
    let mut policy = PolicyDocument::new([Statement::allow()
        .sid("AccountAdministration")
        .principal(grants::account_root())
        .action("kms:*")
        .resource("*")]);
    // One statement per service, each narrowed to the resources that need it.
    let mut sns_sources = Vec::new();
    let mut log_groups = Vec::new();
    let mut alarm_topics = false;
    for key_use in &pipeline.key_policy {
        match key_use {
            crate::model::KeyUse::AlarmsToTopic { .. } => alarm_topics = true,
            crate::model::KeyUse::SnsToQueue { topic, .. } => {
                if let Some(topic) = pipeline.topic(topic) {
                    sns_sources.push(topic_arn_sub(&topic.name));
                }
            }
            crate::model::KeyUse::Logs { log_group } => log_groups.push(sub(format!(
                "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{log_group}"
            ))),
        }
    }
    if !sns_sources.is_empty() {
        // SNS encrypts what it delivers into an SSE-KMS queue with the queue's key
        // (https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html).
        policy.push(grants::same_account(
            Statement::allow()
                .sid("SnsDeliversIntoEncryptedQueues")
                .principal(Principal::Service(vec!["sns.amazonaws.com".to_owned()]))
                .actions(["kms:Decrypt", "kms:GenerateDataKey"])
                .resource("*")
                .condition("ArnEquals", "aws:SourceArn", sns_sources),
        ));
    }
    if !log_groups.is_empty() {
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
        // documents `kms:Encrypt*`, `kms:Decrypt*`, `kms:ReEncrypt*`,
        // `kms:GenerateDataKey*` and `kms:Describe*`; these are the exact
        // actions those patterns match on a symmetric key, without the
        // `GenerateDataKeyPair*` ones (data key pairs are for client-side
        // asymmetric cryptography; CloudWatch Logs supports only symmetric keys).
        policy.push(
            Statement::allow()
                .sid("CloudWatchLogsEncryptsFunctionLogs")
                .principal(Principal::Service(vec![format!(
                    "logs.{}.amazonaws.com",
                    pipeline.region
                )]))
                .actions(CLOUDWATCH_LOGS_KEY_ACTIONS)
                .resource("*")
                .condition(
                    "ArnEquals",
                    "kms:EncryptionContext:aws:logs:arn",
                    log_groups,
                ),
        );
    }
    if alarm_topics {
        // CloudWatch publishes alarm notifications itself, so it must be able
        // to encrypt into the SSE-KMS alerts topic
        // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services);
        // only this account's alarms may.
        policy.push(grants::same_account(
            Statement::allow()
                .sid("CloudWatchAlarmsPublishToEncryptedTopics")
                .principal(Principal::Service(vec![
                    crate::model::CLOUDWATCH_SERVICE.to_owned(),
                ]))
                .actions(CLOUDWATCH_ALARMS_KEY_ACTIONS)
                .resource("*"),
        ));
    }
    let key = template.add_with(
        "Key",
        kms::Key {
            description: lit(format!(
                "{}-{}: encrypts uploads, messages, items and logs",
                pipeline.app, pipeline.env
            )),
            enable_key_rotation: lit(true),
            key_policy: lit(policy),
            tags: tags!(config, kms::key::Tag),
            ..kms::Key::new()
        },
        stateful(config),
    );
    template.add(
        "KeyAlias",
        kms::Alias::new(
            format!("alias/{}-{}", pipeline.app, pipeline.env),
            key.reference(),
        ),
    );
    key
}

fn bucket_basics(name_sub: &str, config: &EnvConfig) -> s3::Bucket {
    s3::Bucket {
        bucket_name: Some(sub(name_sub)),
        public_access_block_configuration: lit(s3::bucket::PublicAccessBlockConfiguration {
            block_public_acls: lit(true),
            block_public_policy: lit(true),
            ignore_public_acls: lit(true),
            restrict_public_buckets: lit(true),
        }),
        ownership_controls: lit(s3::bucket::OwnershipControls::new(list([
            s3::bucket::OwnershipControlsRule {
                object_ownership: lit(s3::bucket::ObjectOwnership::BucketOwnerEnforced),
            },
        ]))),
        versioning_configuration: lit(s3::bucket::VersioningConfiguration::new(
            s3::bucket::VersioningConfigurationStatus::Enabled,
        )),
        tags: tags!(config, s3::bucket::Tag),
        ..s3::Bucket::new()
    }
}

fn lifecycle(expire_current_days: Option<i64>) -> s3::bucket::LifecycleConfiguration {
    s3::bucket::LifecycleConfiguration::new(list([s3::bucket::Rule {
        id: lit("abort-multipart-expire-old-versions".to_owned()),
        abort_incomplete_multipart_upload: lit(s3::bucket::AbortIncompleteMultipartUpload::new(
            ABORT_MULTIPART_DAYS,
        )),
        noncurrent_version_expiration: lit(s3::bucket::NoncurrentVersionExpiration::new(
            NONCURRENT_VERSION_DAYS,
        )),
        expiration_in_days: expire_current_days.map(Value::Lit),
        ..s3::bucket::Rule::new(s3::bucket::Status::Enabled)
    }]))
}

fn add_log_bucket(
    template: &mut Template,
    pipeline: &Pipeline,
    config: &EnvConfig,
) -> s3::BucketRef {
    let name = pipeline.log_bucket_name_sub();
    let bucket = template.add_with(
        "AccessLogsBucket",
        s3::Bucket {
            // S3 server access logging delivers only into SSE-S3 buckets
            // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
            bucket_encryption: lit(s3::bucket::BucketEncryption::new(list([
                s3::bucket::ServerSideEncryptionRule {
                    server_side_encryption_by_default: lit(
                        s3::bucket::ServerSideEncryptionByDefault::new(
                            s3::bucket::SseAlgorithm::Aes256,
                        ),
                    ),
                    ..s3::bucket::ServerSideEncryptionRule::new()
                },
            ]))),
            lifecycle_configuration: lit(lifecycle(Some(ACCESS_LOG_DAYS))),
            ..bucket_basics(&name, config)
        },
        checkov_skips(
            stateful(config),
            &[(
                "CKV_AWS_18",
                "this is the access-log target bucket; logging it into itself would loop"
                    .to_owned(),
            )],
        ),
    );
    let upload_bucket_arn = grants::bucket_arn(&pipeline.upload_bucket_name_sub());
    let policy = PolicyDocument::new([
        grants::same_account(
            Statement::allow()
                .sid("S3ServerAccessLogsDelivery")
                .principal(Principal::Service(vec![
                    "logging.s3.amazonaws.com".to_owned(),
                ]))
                .action("s3:PutObject")
                .resource(grants::objects_arn(&name, ACCESS_LOG_PREFIX))
                .condition("ArnLike", "aws:SourceArn", [upload_bucket_arn]),
        ),
        grants::deny_insecure_transport(
            &["s3:*"],
            vec![
                bucket.arn(),
                sub(format!("${{{}.Arn}}/*", bucket.logical_id())),
            ],
        ),
    ]);
    template.add(
        "AccessLogsBucketPolicy",
        s3::BucketPolicy::new(bucket.reference(), policy),
    );
    bucket
}

fn add_table(
    template: &mut Template,
    pipeline: &Pipeline,
    config: &EnvConfig,
    key_arn: &Value<String>,
) -> dynamodb::TableRef {
    use dynamodb::table::{AttributeDefinition, AttributeType, BillingMode, KeySchema, KeyType};
    template.add_with(
        "Table",
        dynamodb::Table {
            table_name: lit(format!("{}-{}", pipeline.app, pipeline.env)),
            attribute_definitions: lit(vec![
                Value::Lit(AttributeDefinition::new(
                    table_keys::PARTITION_KEY,
                    AttributeType::S,
                )),
                Value::Lit(AttributeDefinition::new(
                    table_keys::SORT_KEY,
                    AttributeType::S,
                )),
            ]),
            billing_mode: lit(BillingMode::PayPerRequest),
            point_in_time_recovery_specification: lit(
                dynamodb::table::PointInTimeRecoverySpecification {
                    point_in_time_recovery_enabled: lit(true),
                    ..dynamodb::table::PointInTimeRecoverySpecification::new()
                },
            ),
            sse_specification: lit(dynamodb::table::SseSpecification {
                kms_master_key_id: Some(key_arn.clone()),
                sse_type: lit(dynamodb::table::SseType::Kms),
                ..dynamodb::table::SseSpecification::new(true)
            }),
            deletion_protection_enabled: config
                .retain_stateful_resources
                .then_some(Value::Lit(true)),
            tags: tags!(config, dynamodb::table::Tag),
            ..dynamodb::Table::new(vec![
                Value::Lit(KeySchema::new(table_keys::PARTITION_KEY, KeyType::Hash)),
                Value::Lit(KeySchema::new(table_keys::SORT_KEY, KeyType::Range)),
            ])
        },
        stateful(config),
    )
}

fn add_messaging(
    template: &mut Template,
    pipeline: &Pipeline,
    config: &EnvConfig,
    key_arn: &Value<String>,
) -> (
    BTreeMap<String, Value<String>>,
    BTreeMap<String, Value<String>>,
) {
    let mut queue_arns = BTreeMap::new();
    let mut queue_refs = BTreeMap::new();
    // Dead-letter queues first: the queues redriving into them reference their ARNs.
    let mut queues: Vec<_> = pipeline.queues.iter().collect();
    queues.sort_by_key(|queue| queue.dead_letter.is_some());
    for queue in queues {
        let redrive = queue
            .dead_letter
            .as_ref()
            .and_then(|dlq| queue_arns.get(dlq).cloned())
            .map(|dlq_arn| {
                Value::Lit(sqs::queue::RedrivePolicy {
                    dead_letter_target_arn: Some(dlq_arn),
                    max_receive_count: lit(MAX_RECEIVE_COUNT),
                })
            });
        let queue_ref = template.add(
            queue_logical_id(&queue.id),
            sqs::Queue {
                queue_name: lit(queue.name.clone()),
                fifo_queue: queue.fifo.then_some(Value::Lit(true)),
                kms_master_key_id: Some(key_arn.clone()),
                message_retention_period: lit(QUEUE_RETENTION_SECONDS),
                redrive_policy: redrive,
                tags: tags!(config, sqs::queue::Tag),
                ..sqs::Queue::new()
            },
        );
        queue_arns.insert(queue.id.clone(), queue_ref.arn());
        queue_refs.insert(queue.id.clone(), queue_ref);
    }

    let mut topic_arns = BTreeMap::new();
    for topic in &pipeline.topics {
        let topic_ref = template.add(
            topic_logical_id(&topic.id),
            sns::Topic {
                topic_name: lit(topic.name.clone()),
                fifo_topic: topic.fifo.then_some(Value::Lit(true)),
                // Publishers set MessageDeduplicationId themselves.
                content_based_deduplication: topic.fifo.then_some(Value::Lit(false)),
                kms_master_key_id: Some(key_arn.clone()),
                tags: tags!(config, sns::topic::Tag),
                ..sns::Topic::new()
            },
        );
        let policy = PolicyDocument::new([grants::deny_insecure_transport(
            &["sns:Publish"],
            vec![topic_ref.topic_arn()],
        )]);
        template.add(
            format!("{}Policy", topic_logical_id(&topic.id)),
            sns::TopicPolicy::new(policy, Value::Lit(vec![topic_ref.topic_arn()])),
        );
        topic_arns.insert(topic.id.clone(), topic_ref.topic_arn());
    }

    for subscription in &pipeline.subscriptions {
        let Some(topic_arn) = topic_arns.get(&subscription.topic).cloned() else {
            continue;
        };
        let topic_id = pascal(&subscription.topic);
        match &subscription.endpoint {
            Endpoint::Email(email) => {
                template.add(
                    format!("{topic_id}Email{}", pascal(email)),
                    sns::Subscription {
                        endpoint: lit(email.clone()),
                        ..sns::Subscription::new("email", topic_arn)
                    },
                );
            }
            Endpoint::Queue(queue_id) => {
                let (Some(queue_arn), Some(queue_ref)) =
                    (queue_arns.get(queue_id).cloned(), queue_refs.get(queue_id))
                else {
                    continue;
                };
                let policy = PolicyDocument::new([grants::same_account(
                    Statement::allow()
                        .sid("OnlyTheTopicSends")
                        .principal(Principal::Service(vec!["sns.amazonaws.com".to_owned()]))
                        .action("sqs:SendMessage")
                        .resource(queue_arn.clone())
                        .condition("ArnEquals", "aws:SourceArn", [topic_arn.clone()]),
                )]);
                let queue_policy = template.add(
                    format!("{}Policy", queue_logical_id(queue_id)),
                    sqs::QueuePolicy::new(policy, Value::Lit(vec![queue_ref.reference()])),
                );
                // Subscribe only once the queue accepts the topic's messages.
                template.add_with(
                    format!("{topic_id}To{}Subscription", queue_logical_id(queue_id)),
                    sns::Subscription {
                        endpoint: Some(queue_arn),
                        raw_message_delivery: lit(true),
                        ..sns::Subscription::new("sqs", topic_arn)
                    },
                    ResourceOptions::default().depends_on(&queue_policy),
                );
            }
        }
    }
    (topic_arns, queue_arns)
}

fn function_environment(
    pipeline: &Pipeline,
    config: &EnvConfig,
    core: &Core,
    function: &crate::model::Function,
) -> BTreeMap<String, Value<String>> {
    let as_json = |value: &Value<String>| value.clone();
    let text = Value::Lit;
    let mut vars = BTreeMap::new();
    vars.insert(env_var::APP_ENV.to_owned(), text(pipeline.env.clone()));
    vars.insert(
        env_var::METRICS_NAMESPACE.to_owned(),
        text(pipeline.metrics_namespace.clone()),
    );
    for grant in &function.grants {
        match grant {
            Grant::Publish { topic } if topic == ids::ALERTS_TOPIC => {
                if let Some(arn) = core.topic_arns.get(topic) {
                    vars.insert(env_var::TOPIC_ARN.to_owned(), as_json(arn));
                }
            }
            Grant::Publish { topic } if topic == ids::EVENTS_TOPIC => {
                if let Some(arn) = core.topic_arns.get(topic) {
                    vars.insert(env_var::FIFO_TOPIC_ARN.to_owned(), as_json(arn));
                }
            }
            Grant::TableItems { .. } => {
                vars.insert(env_var::TABLE_NAME.to_owned(), as_json(&core.table_name));
            }
            _ => {}
        }
    }
    if function.handler == handler::INGEST {
        vars.insert(
            env_var::INGEST_PK_COLUMNS.to_owned(),
            text(config.ingest.pk_columns.joined()),
        );
        vars.insert(
            env_var::INGEST_SK_COLUMNS.to_owned(),
            text(config.ingest.sk_columns.joined()),
        );
    }
    if function.handler == handler::PHOTO_CHECK {
        let photo = &config.photo;
        for (name, value) in [
            (env_var::PHOTO_MIN_CONFIDENCE, *photo.min_confidence.get()),
            (
                env_var::PHOTO_MIN_EYES_OPEN_CONFIDENCE,
                *photo.min_eyes_open_confidence.get(),
            ),
            (env_var::PHOTO_MAX_YAW, *photo.max_yaw.get()),
            (env_var::PHOTO_MAX_PITCH, *photo.max_pitch.get()),
            (env_var::PHOTO_MAX_ROLL, *photo.max_roll.get()),
            (env_var::PHOTO_MIN_FACE_AREA, *photo.min_face_area.get()),
            (env_var::PHOTO_MIN_BRIGHTNESS, *photo.min_brightness.get()),
            (env_var::PHOTO_MIN_SHARPNESS, *photo.min_sharpness.get()),
        ] {
            vars.insert(name.to_owned(), text(value.to_string()));
        }
    }
    vars
}

fn role_policy(
    pipeline: &Pipeline,
    config: &EnvConfig,
    core: &Core,
    function: &crate::model::Function,
) -> PolicyDocument {
    let bucket = pipeline.upload_bucket_name_sub();
    let mut statements = Vec::new();
    let mut publish_to = Vec::new();
    for grant in &function.grants {
        match grant {
            Grant::ReadObjects { prefix } => statements.push(grants::grant_read(&bucket, prefix)),
            Grant::WriteObjects { prefix } => {
                statements.push(grants::grant_put(&bucket, &[prefix.as_str()]))
            }
            Grant::Publish { topic } => publish_to.extend(core.topic_arns.get(topic).cloned()),
            Grant::TableItems { actions } => {
                statements.push(grants::grant_table(actions, core.table_arn.clone()))
            }
            // DetectFaces has no resource-level permissions, so `*` is the only
            // resource IAM accepts (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrekognition.html).
            Grant::DetectFaces => statements.push(
                Statement::allow()
                    .action("rekognition:DetectFaces")
                    .resource("*"),
            ),
        }
    }
    if !publish_to.is_empty() {
        statements.push(grants::grant_publish(publish_to));
    }
    statements.push(grants::grant_log_writes(&function.log_group_name()));
    if let Some(queue_arn) = core.queue_arns.get(&function.on_failure_queue) {
        statements.push(grants::grant_send(queue_arn.clone()));
    }
    statements.push(grants::grant_key_use(core.key_arn.clone()));
    if config.tracing {
        // X-Ray's write actions have no resource-level permissions, so `*` is
        // the only resource IAM accepts (https://docs.aws.amazon.com/xray/latest/devguide/security_iam_service-with-iam.html).
        statements.push(
            Statement::allow()
                .actions(["xray:PutTelemetryRecords", "xray:PutTraceSegments"])
                .resource("*"),
        );
    }
    PolicyDocument::new(statements)
}

fn add_function(
    template: &mut Template,
    pipeline: &Pipeline,
    config: &EnvConfig,
    core: &Core,
    function: &crate::model::Function,
    asset_key: &str,
) -> (lambda::FunctionRef, Vec<lambda::PermissionRef>) {
    let id = pascal(&function.handler);
    let settings = config.functions.settings(&function.handler);

    let log_group = template.add(
        format!("{id}LogGroup"),
        logs::LogGroup {
            log_group_name: lit(function.log_group_name()),
            retention_in_days: lit(config.log_retention_days.days()),
            kms_key_id: Some(core.key_arn.clone()),
            tags: tags!(config, logs::log_group::Tag),
            ..logs::LogGroup::new()
        },
    );
    let trust = PolicyDocument::new([Statement::allow()
        .principal(Principal::Service(vec!["lambda.amazonaws.com".to_owned()]))
        .action("sts:AssumeRole")]);
    let role = template.add(
        format!("{id}Role"),
        iam::Role {
            description: lit(format!(
                "Execution role of {} (least privilege)",
                function.name
            )),
            policies: lit(vec![Value::Lit(iam::role::Policy::new(
                role_policy(pipeline, config, core, function),
                format!("{}-least-privilege", function.handler),
            ))]),
            tags: tags!(config, iam::role::Tag),
            ..iam::Role::new(trust)
        },
    );

    let code = lambda::function::Code {
        s3_bucket: Some(sub(upstack_contract::assets::BUCKET_NAME_SUB)),
        s3_key: lit(asset_key.to_owned()),
        ..lambda::function::Code::new()
    };
    let architecture = match config.architecture.0 {
        upstack_contract::Architecture::X86_64 => lambda::function::Architectures::X8664,
        upstack_contract::Architecture::Arm64 => lambda::function::Architectures::Arm64,
    };
    let mut skips = vec![
        (
            "CKV_AWS_116",
            "failed async invocations go to an EventInvokeConfig OnFailure destination (SQS), which records the request, response and error; a DLQ would duplicate it".to_owned(),
        ),
        (
            "CKV_AWS_117",
            "the function reaches only AWS APIs (S3, SNS, DynamoDB, Rekognition, KMS); a VPC would add NAT or endpoints and no isolation".to_owned(),
        ),
    ];
    if settings.reserved_concurrency.is_none() {
        skips.push((
            "CKV_AWS_115",
            format!(
                "env config sets no reserved_concurrency for {}",
                function.handler
            ),
        ));
    }
    let function_ref = template.add_with(
        function.logical_id(),
        lambda::Function {
            function_name: lit(function.name.clone()),
            description: lit(format!(
                "upstack {} handler ({})",
                function.handler, pipeline.env
            )),
            runtime: lit(lambda::function::Runtime::ProvidedAl2023),
            handler: lit("bootstrap".to_owned()),
            architectures: Some(list([architecture])),
            memory_size: lit(settings.memory_mb.mb()),
            timeout: lit(settings.timeout_seconds.seconds()),
            reserved_concurrent_executions: settings
                .reserved_concurrency
                .as_ref()
                .map(|c| Value::Lit(c.count())),
            kms_key_arn: Some(core.key_arn.clone()),
            tracing_config: config.tracing.then(|| {
                Value::Lit(lambda::function::TracingConfig {
                    mode: lit(lambda::function::Mode::Active),
                })
            }),
            environment: lit(lambda::function::Environment {
                variables: lit(function_environment(pipeline, config, core, function)),
            }),
            logging_config: lit(lambda::function::LoggingConfig {
                log_group: Some(log_group.reference()),
                log_format: lit(lambda::function::LogFormat::Json),
                // Lambda passes this to the handler as AWS_LAMBDA_LOG_LEVEL,
                // which handler-common's logger reads.
                application_log_level: lit(lambda::function::ApplicationLogLevel::Info),
                system_log_level: lit(lambda::function::SystemLogLevel::Warn),
            }),
            tags: lit(config
                .tags
                .iter()
                .map(|(key, value)| {
                    Value::Lit(lambda::function::Tag {
                        value: lit(value.as_str().to_owned()),
                        ..lambda::function::Tag::new(key.as_str())
                    })
                })
                .collect::<Vec<_>>())
            .filter(|tags| tags.as_lit().is_some_and(|tags| !tags.is_empty())),
            ..lambda::Function::new(code, role.arn())
        },
        checkov_skips(ResourceOptions::default(), &skips),
    );

    if let Some(queue_arn) = core.queue_arns.get(&function.on_failure_queue) {
        template.add(
            format!("{id}InvokeConfig"),
            lambda::EventInvokeConfig {
                maximum_retry_attempts: lit(ASYNC_RETRY_ATTEMPTS),
                destination_config: lit(lambda::event_invoke_config::DestinationConfig {
                    on_failure: lit(lambda::event_invoke_config::OnFailure::new(
                        queue_arn.clone(),
                    )),
                    ..lambda::event_invoke_config::DestinationConfig::new()
                }),
                ..lambda::EventInvokeConfig::new(function_ref.reference(), "$LATEST")
            },
        );
    }

    let source_arn = grants::bucket_arn(&pipeline.upload_bucket_name_sub());
    let has_routes = pipeline
        .routes
        .iter()
        .any(|route| route.target == Target::Function(function.handler.clone()));
    let mut permissions = Vec::new();
    if has_routes {
        permissions.push(template.add(
            format!("{id}UploadBucketPermission"),
            lambda::Permission {
                source_arn: Some(source_arn),
                source_account: Some(Pseudo::AccountId.value()),
                ..lambda::Permission::new(
                    "lambda:InvokeFunction",
                    function_ref.arn(),
                    "s3.amazonaws.com",
                )
            },
        ));
    }
    (function_ref, permissions)
}

fn add_upload_bucket(
    template: &mut Template,
    pipeline: &Pipeline,
    config: &EnvConfig,
    core: &Core,
    functions: &BTreeMap<String, lambda::FunctionRef>,
    permissions: &[lambda::PermissionRef],
    log_bucket: &s3::BucketRef,
) {
    let name = pipeline.upload_bucket_name_sub();
    let lambda_configurations: Vec<Value<s3::bucket::LambdaConfiguration>> = pipeline
        .routes
        .iter()
        .filter_map(|route| {
            let Target::Function(handler_name) = &route.target else {
                return None;
            };
            let function = functions.get(handler_name)?;
            let mut rules = vec![Value::Lit(s3::bucket::FilterRule::new(
                "prefix",
                route.prefix.as_str(),
            ))];
            if !route.suffix.is_empty() {
                rules.push(Value::Lit(s3::bucket::FilterRule::new(
                    "suffix",
                    route.suffix.as_str(),
                )));
            }
            Some(Value::Lit(s3::bucket::LambdaConfiguration {
                filter: lit(s3::bucket::NotificationFilter::new(
                    s3::bucket::S3KeyFilter::new(rules),
                )),
                ..s3::bucket::LambdaConfiguration::new(route.event.as_str(), function.arn())
            }))
        })
        .collect();

    // S3 test-invokes each function when the configuration is saved, so the
    // permissions must exist first; log delivery needs the log bucket policy.
    let mut options = stateful(config);
    for permission in permissions {
        options = options.depends_on(permission);
    }
    options
        .depends_on
        .insert("AccessLogsBucketPolicy".to_owned());
    let bucket = template.add_with(
        "UploadBucket",
        s3::Bucket {
            bucket_encryption: lit(s3::bucket::BucketEncryption::new(list([
                s3::bucket::ServerSideEncryptionRule {
                    server_side_encryption_by_default: lit(
                        s3::bucket::ServerSideEncryptionByDefault {
                            kms_master_key_id: Some(core.key_arn.clone()),
                            ..s3::bucket::ServerSideEncryptionByDefault::new(
                                s3::bucket::SseAlgorithm::AwsKms,
                            )
                        },
                    ),
                    bucket_key_enabled: lit(true),
                    ..s3::bucket::ServerSideEncryptionRule::new()
                },
            ]))),
            lifecycle_configuration: lit(lifecycle(None)),
            logging_configuration: lit(s3::bucket::LoggingConfiguration {
                destination_bucket_name: Some(log_bucket.reference()),
                log_file_prefix: lit(ACCESS_LOG_PREFIX.to_owned()),
                ..s3::bucket::LoggingConfiguration::new()
            }),
            notification_configuration: lit(s3::bucket::NotificationConfiguration {
                lambda_configurations: lit(lambda_configurations),
                ..s3::bucket::NotificationConfiguration::new()
            }),
            ..bucket_basics(&name, config)
        },
        options,
    );
    let policy = PolicyDocument::new([grants::deny_insecure_transport(
        &["s3:*"],
        vec![
            bucket.arn(),
            sub(format!("${{{}.Arn}}/*", bucket.logical_id())),
        ],
    )]);
    template.add(
        "UploadBucketPolicy",
        s3::BucketPolicy::new(bucket.reference(), policy),
    );
    template.add_output(
        "UploadBucketName",
        Output::new(bucket.reference()).description("Bucket users upload into"),
    );
    template.add_output(
        "UploadBucketArn",
        Output::new(bucket.arn()).description("ARN of the upload bucket"),
    );
}

fn add_uploader_policy(template: &mut Template, pipeline: &Pipeline, core: &Core) {
    let bucket = pipeline.upload_bucket_name_sub();
    let policy = PolicyDocument::new([
        grants::grant_put(&bucket, &[prefix::UPLOADS, prefix::DATA, prefix::PHOTOS])
            .sid("PutIntoRoutedPrefixes"),
        // An SSE-KMS upload needs GenerateDataKey; a multipart one also
        // Decrypt (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#aws-managed-customer-managed-keys).
        Statement::allow()
            .sid("EncryptUploadsWithTheStackKey")
            .actions(["kms:Decrypt", "kms:GenerateDataKey"])
            .resource(core.key_arn.clone())
            .condition(
                "StringEquals",
                "kms:ViaService",
                [Value::from(format!("s3.{}.amazonaws.com", pipeline.region))],
            ),
    ]);
    let uploader = template.add(
        "UploaderPolicy",
        iam::ManagedPolicy {
            description: lit(format!(
                "Attach to people or systems that upload into the {}-{} bucket: PutObject on uploads/, data/ and photos/ only",
                pipeline.app, pipeline.env
            )),
            ..iam::ManagedPolicy::new(policy)
        },
    );
    template.add_output(
        "UploaderPolicyArn",
        Output::new(uploader.reference()).description("Managed policy for uploaders"),
    );
}
