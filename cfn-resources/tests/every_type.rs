//! Builds, with the typed API only, a realistic template using every
//! generated type wired the way a real stack wires them, and checks that it
//! serializes deterministically, passes our own validation and passes
//! cfn-lint with no findings at all (errors, warnings and informational).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::json;
use upstack_cfn::value::sub;
use upstack_cfn::{
    DeletionPolicy, Output, PolicyDocument, Principal, ResourceOptions, Statement, Template, Value,
};
use upstack_cfn_resources::{cloudwatch, dynamodb, iam, kms, lambda, logs, registry, s3, sns, sqs};

/// The bucket name is known before the bucket exists, so the Lambda
/// permission's SourceArn can name it without a Ref, which would make a
/// cycle (bucket notification -> permission -> bucket). This is the pattern
/// the S3 notification docs prescribe:
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-notificationconfiguration.html
const BUCKET_NAME: &str = "upstack-uploads-${AWS::AccountId}-${AWS::Region}";

fn service(name: &str) -> Principal {
    Principal::Service(vec![name.to_owned()])
}

pub(crate) fn build() -> Template {
    let mut t = Template::new().description("Every generated resource type, wired as a real stack");
    let retain = || ResourceOptions::default().retain_as(DeletionPolicy::Retain);

    // KMS: the account administers the key; services use it through grants
    // scoped by their own resource policies and IAM.
    let key_policy = PolicyDocument::new([
        Statement::allow()
            .sid("AccountAdministersKey")
            .principal(Principal::Aws(vec![sub(
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
            )]))
            .action("kms:*")
            .resource("*"),
        Statement::allow()
            .sid("ServicesEncryptWithKey")
            .principal(Principal::Service(vec![
                "sns.amazonaws.com".to_owned(),
                "s3.amazonaws.com".to_owned(),
            ]))
            .actions(["kms:Decrypt", "kms:GenerateDataKey*"])
            .resource("*")
            .condition(
                "StringEquals",
                "aws:SourceAccount",
                [sub("${AWS::AccountId}")],
            ),
    ]);
    let key = t.add_with(
        "DataKey",
        kms::Key {
            description: Some("Encrypts uploads, messages and the table".into()),
            enable_key_rotation: Some(true.into()),
            key_policy: Some(key_policy.into()),
            key_spec: Some(kms::key::KeySpec::SymmetricDefault.into()),
            tags: Some(Value::Lit(vec![
                kms::key::Tag::new("project", "upstack").into(),
            ])),
            ..kms::Key::new()
        },
        retain(),
    );
    t.add(
        "DataKeyAlias",
        kms::Alias::new("alias/upstack-data", key.key_id()),
    );

    // Storage: the table the ingest function writes to.
    let table = t.add_with(
        "PhotosTable",
        dynamodb::Table {
            attribute_definitions: Some(Value::Lit(vec![
                dynamodb::table::AttributeDefinition::new("pk", dynamodb::table::AttributeType::S)
                    .into(),
                dynamodb::table::AttributeDefinition::new("sk", dynamodb::table::AttributeType::S)
                    .into(),
            ])),
            billing_mode: Some(dynamodb::table::BillingMode::PayPerRequest.into()),
            deletion_protection_enabled: Some(true.into()),
            point_in_time_recovery_specification: Some(
                dynamodb::table::PointInTimeRecoverySpecification {
                    point_in_time_recovery_enabled: Some(true.into()),
                    ..dynamodb::table::PointInTimeRecoverySpecification::new()
                }
                .into(),
            ),
            sse_specification: Some(
                dynamodb::table::SseSpecification {
                    kms_master_key_id: Some(key.arn()),
                    sse_type: Some(dynamodb::table::SseType::Kms.into()),
                    ..dynamodb::table::SseSpecification::new(true)
                }
                .into(),
            ),
            ..dynamodb::Table::new(Value::Lit(vec![
                dynamodb::table::KeySchema::new("pk", dynamodb::table::KeyType::Hash).into(),
                dynamodb::table::KeySchema::new("sk", dynamodb::table::KeyType::Range).into(),
            ]))
        },
        retain(),
    );

    // Messaging: SNS FIFO topic fanning out to an SQS FIFO queue with a DLQ.
    let topic = t.add(
        "EventsTopic",
        sns::Topic {
            topic_name: Some("upstack-events.fifo".into()),
            fifo_topic: Some(true.into()),
            content_based_deduplication: Some(true.into()),
            kms_master_key_id: Some(key.arn()),
            ..sns::Topic::new()
        },
    );
    let dead_letters = t.add_with(
        "EventsDeadLetterQueue",
        sqs::Queue {
            queue_name: Some("upstack-events-dlq.fifo".into()),
            fifo_queue: Some(true.into()),
            kms_master_key_id: Some(key.arn()),
            message_retention_period: Some(1_209_600.into()),
            ..sqs::Queue::new()
        },
        retain(),
    );
    let queue = t.add_with(
        "EventsQueue",
        sqs::Queue {
            queue_name: Some("upstack-events.fifo".into()),
            fifo_queue: Some(true.into()),
            content_based_deduplication: Some(true.into()),
            kms_master_key_id: Some(key.arn()),
            message_retention_period: Some(345_600.into()),
            visibility_timeout: Some(180.into()),
            redrive_policy: Some(
                sqs::queue::RedrivePolicy {
                    dead_letter_target_arn: Some(dead_letters.arn()),
                    max_receive_count: Some(5.into()),
                }
                .into(),
            ),
            ..sqs::Queue::new()
        },
        retain(),
    );
    t.add(
        "EventsQueuePolicy",
        sqs::QueuePolicy::new(
            PolicyDocument::new([Statement::allow()
                .sid("TopicDelivers")
                .principal(service("sns.amazonaws.com"))
                .action("sqs:SendMessage")
                .resource(queue.arn())
                .condition("ArnEquals", "aws:SourceArn", [topic.topic_arn()])]),
            Value::Lit(vec![queue.queue_url()]),
        ),
    );
    t.add(
        "EventsSubscription",
        sns::Subscription {
            endpoint: Some(queue.arn()),
            raw_message_delivery: Some(true.into()),
            ..sns::Subscription::new("sqs", topic.topic_arn())
        },
    );
    t.add(
        "EventsTopicPolicy",
        sns::TopicPolicy::new(
            PolicyDocument::new([Statement::deny()
                .sid("TlsOnly")
                .principal(Principal::Any)
                .action("sns:Publish")
                .resource(topic.topic_arn())
                .condition("Bool", "aws:SecureTransport", [Value::from("false")])]),
            Value::Lit(vec![topic.topic_arn()]),
        ),
    );

    // Compute: the ingest function, its role, policies and log group.
    let log_group = t.add_with(
        "IngestLogGroup",
        logs::LogGroup {
            log_group_name: Some("/aws/lambda/upstack-ingest".into()),
            retention_in_days: Some(30.into()),
            ..logs::LogGroup::new()
        },
        retain(),
    );
    let role = t.add(
        "IngestRole",
        iam::Role {
            managed_policy_arns: Some(Value::Lit(vec![sub(
                "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            )])),
            tags: Some(Value::Lit(vec![
                iam::role::Tag::new("project", "upstack").into(),
            ])),
            ..iam::Role::new(PolicyDocument::new([Statement::allow()
                .principal(service("lambda.amazonaws.com"))
                .action("sts:AssumeRole")]))
        },
    );
    let policy = t.add(
        "IngestPolicy",
        iam::Policy {
            roles: Some(Value::Lit(vec![role.reference()])),
            ..iam::Policy::new(
                PolicyDocument::new([
                    Statement::allow()
                        .actions(["s3:GetObject", "s3:GetObjectTagging"])
                        .resource(sub(format!("arn:${{AWS::Partition}}:s3:::{BUCKET_NAME}/*"))),
                    Statement::allow()
                        .action("dynamodb:PutItem")
                        .resource(table.arn()),
                    Statement::allow()
                        .action("sns:Publish")
                        .resource(topic.topic_arn()),
                    Statement::allow()
                        .action("sqs:SendMessage")
                        .resource(dead_letters.arn()),
                    Statement::allow()
                        .actions(["kms:Decrypt", "kms:GenerateDataKey"])
                        .resource(key.arn()),
                ]),
                "ingest",
            )
        },
    );
    t.add(
        "ReadOnlyTablePolicy",
        iam::ManagedPolicy {
            description: Some("Read the photos table".into()),
            roles: Some(Value::Lit(vec![role.reference()])),
            ..iam::ManagedPolicy::new(PolicyDocument::new([Statement::allow()
                .actions(["dynamodb:GetItem", "dynamodb:Query"])
                .resource(table.arn())]))
        },
    );
    let environment = [
        ("TABLE_NAME".to_owned(), table.reference()),
        ("TOPIC_ARN".to_owned(), topic.topic_arn()),
    ];
    let function = t.add_with(
        "IngestFunction",
        lambda::Function {
            function_name: Some("upstack-ingest".into()),
            architectures: Some(Value::Lit(vec![
                lambda::function::Architectures::Arm64.into(),
            ])),
            runtime: Some(lambda::function::Runtime::ProvidedAl2023.into()),
            handler: Some("bootstrap".into()),
            memory_size: Some(256.into()),
            timeout: Some(30.into()),
            environment: Some(
                lambda::function::Environment {
                    variables: Some(Value::Lit(environment.into_iter().collect())),
                }
                .into(),
            ),
            logging_config: Some(
                lambda::function::LoggingConfig {
                    log_format: Some(lambda::function::LogFormat::Json.into()),
                    log_group: Some(log_group.reference()),
                    ..lambda::function::LoggingConfig::new()
                }
                .into(),
            ),
            tracing_config: Some(
                lambda::function::TracingConfig {
                    mode: Some(lambda::function::Mode::Active.into()),
                }
                .into(),
            ),
            ..lambda::Function::new(
                lambda::function::Code {
                    s3_bucket: Some(sub("upstack-assets-${AWS::AccountId}-${AWS::Region}")),
                    s3_key: Some("ingest/0123456789abcdef.zip".into()),
                    ..lambda::function::Code::new()
                },
                role.arn(),
            )
        },
        ResourceOptions::default().depends_on(&policy),
    );
    t.add(
        "IngestInvokeConfig",
        lambda::EventInvokeConfig {
            maximum_retry_attempts: Some(2.into()),
            destination_config: Some(
                lambda::event_invoke_config::DestinationConfig {
                    on_failure: Some(
                        lambda::event_invoke_config::OnFailure::new(dead_letters.arn()).into(),
                    ),
                    ..lambda::event_invoke_config::DestinationConfig::new()
                }
                .into(),
            ),
            ..lambda::EventInvokeConfig::new(function.reference(), "$LATEST")
        },
    );
    let permission = t.add(
        "UploadsInvokeIngest",
        lambda::Permission {
            source_account: Some(sub("${AWS::AccountId}")),
            source_arn: Some(sub(format!("arn:${{AWS::Partition}}:s3:::{BUCKET_NAME}"))),
            ..lambda::Permission::new("lambda:InvokeFunction", function.arn(), "s3.amazonaws.com")
        },
    );

    // The upload bucket: KMS-encrypted, private, versioned, notifies ingest.
    let bucket = t.add_with(
        "UploadsBucket",
        s3::Bucket {
            bucket_name: Some(sub(BUCKET_NAME)),
            bucket_encryption: Some(
                s3::bucket::BucketEncryption::new(Value::Lit(vec![
                    s3::bucket::ServerSideEncryptionRule {
                        bucket_key_enabled: Some(true.into()),
                        server_side_encryption_by_default: Some(
                            s3::bucket::ServerSideEncryptionByDefault {
                                kms_master_key_id: Some(key.arn()),
                                ..s3::bucket::ServerSideEncryptionByDefault::new(
                                    s3::bucket::SseAlgorithm::AwsKms,
                                )
                            }
                            .into(),
                        ),
                        ..s3::bucket::ServerSideEncryptionRule::new()
                    }
                    .into(),
                ]))
                .into(),
            ),
            public_access_block_configuration: Some(
                s3::bucket::PublicAccessBlockConfiguration {
                    block_public_acls: Some(true.into()),
                    block_public_policy: Some(true.into()),
                    ignore_public_acls: Some(true.into()),
                    restrict_public_buckets: Some(true.into()),
                }
                .into(),
            ),
            versioning_configuration: Some(
                s3::bucket::VersioningConfiguration::new(
                    s3::bucket::VersioningConfigurationStatus::Enabled,
                )
                .into(),
            ),
            notification_configuration: Some(
                s3::bucket::NotificationConfiguration {
                    lambda_configurations: Some(Value::Lit(vec![
                        s3::bucket::LambdaConfiguration::new("s3:ObjectCreated:*", function.arn())
                            .into(),
                    ])),
                    ..s3::bucket::NotificationConfiguration::new()
                }
                .into(),
            ),
            ..s3::Bucket::new()
        },
        retain().depends_on(&permission),
    );
    t.add(
        "UploadsBucketPolicy",
        s3::BucketPolicy::new(
            bucket.reference(),
            PolicyDocument::new([Statement::deny()
                .sid("TlsOnly")
                .principal(Principal::Any)
                .action("s3:*")
                .resources([bucket.arn(), sub("${UploadsBucket.Arn}/*")])
                .condition("Bool", "aws:SecureTransport", [Value::from("false")])]),
        ),
    );

    // Monitoring: an alarm on the dead-letter queue (names are literal: an SQS
    // queue's Ref is its URL, and CloudWatch's QueueName dimension wants the name)
    // and a dashboard whose body names the function through Fn::Sub.
    t.add(
        "DeadLettersAlarm",
        cloudwatch::Alarm {
            alarm_name: Some("upstack-events-dlq-visible".into()),
            alarm_description: Some("Messages are waiting in the dead-letter queue".into()),
            namespace: Some("AWS/SQS".into()),
            metric_name: Some("ApproximateNumberOfMessagesVisible".into()),
            dimensions: Some(Value::Lit(vec![
                cloudwatch::alarm::Dimension::new("QueueName", "upstack-events-dlq.fifo").into(),
            ])),
            statistic: Some(cloudwatch::alarm::Statistic::Maximum.into()),
            period: Some(300.into()),
            evaluation_periods: Some(1.into()),
            threshold: Some(0.0.into()),
            comparison_operator: Some(
                cloudwatch::alarm::ComparisonOperator::GreaterThanThreshold.into(),
            ),
            treat_missing_data: Some(cloudwatch::alarm::TreatMissingData::NotBreaching.into()),
            ..cloudwatch::Alarm::new()
        },
    );
    // A composite alarm over it; Ref of an alarm is its name, so the rule
    // names it through Fn::Sub (and depends on it).
    t.add(
        "GuardAlarm",
        cloudwatch::CompositeAlarm {
            alarm_name: Some("upstack-guard".into()),
            ..cloudwatch::CompositeAlarm::new(sub(r#"ALARM("${DeadLettersAlarm}")"#))
        },
    );
    t.add(
        "Dashboard",
        cloudwatch::Dashboard {
            dashboard_name: Some("upstack".into()),
            ..cloudwatch::Dashboard::new(sub(
                r#"{"widgets":[{"type":"metric","x":0,"y":0,"width":12,"height":6,"properties":{"region":"${AWS::Region}","metrics":[["AWS/Lambda","Errors","FunctionName","${IngestFunction}"]]}}]}"#,
            ))
        },
    );

    t.add_output("UploadsBucketName", Output::new(bucket.reference()));
    t.add_output("EventsQueueUrl", Output::new(queue.queue_url()));
    t
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_template_uses_every_generated_type() {
    let json = build().to_json();
    let used: BTreeSet<&str> = json["Resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|resource| resource["Type"].as_str().unwrap())
        .collect();
    let generated: BTreeSet<&str> = registry::ALL.iter().map(|info| info.type_name).collect();
    assert_eq!(used, generated);
    assert_eq!(generated.len(), 20);
}

#[test]
fn serialization_is_byte_identical_across_builds() {
    let first = build().to_pretty_string();
    let second = build().to_pretty_string();
    assert!(
        first == second,
        "two builds of the same template serialized differently"
    );
}

#[test]
fn typed_values_serialize_as_cloudformation_expects() {
    let json = build().to_json();
    let resources = &json["Resources"];
    let table = &resources["PhotosTable"]["Properties"];
    assert_eq!(table["BillingMode"], json!("PAY_PER_REQUEST"));
    assert_eq!(
        table["KeySchema"],
        json!([
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ])
    );
    assert_eq!(
        table["SSESpecification"]["KMSMasterKeyId"],
        json!({"Fn::GetAtt": ["DataKey", "Arn"]})
    );
    let encryption = &resources["UploadsBucket"]["Properties"]["BucketEncryption"];
    assert_eq!(
        encryption["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        json!("aws:kms")
    );
    let function = &resources["IngestFunction"]["Properties"];
    assert_eq!(function["Architectures"], json!(["arm64"]));
    assert_eq!(function["Runtime"], json!("provided.al2023"));
    assert_eq!(
        function["Environment"]["Variables"]["TABLE_NAME"],
        json!({"Ref": "PhotosTable"})
    );
    assert_eq!(
        resources["EventsQueue"]["Properties"]["RedrivePolicy"],
        json!({"deadLetterTargetArn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}, "maxReceiveCount": 5})
    );
    // Optional properties left as `None` are absent, not `null`.
    assert!(
        resources["DataKeyAlias"]["Properties"]
            .as_object()
            .unwrap()
            .len()
            == 2
    );
}

#[test]
fn the_template_passes_our_validation() {
    let template = build();
    if let Err(errors) = template.validate(registry::lookup) {
        panic!("validation failed: {errors:?}");
    }
}

#[test]
fn cfn_lint_reports_nothing() {
    let cfn_lint = repo_root().join(".venv").join("bin").join("cfn-lint");
    assert!(
        cfn_lint.exists(),
        "{} is missing: run scripts/setup-test-tools.sh to install the test tools",
        cfn_lint.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("every-type.json");
    std::fs::write(&path, build().to_pretty_string()).unwrap();
    // `--include-checks I` adds the informational rules to errors and warnings.
    let output = Command::new(&cfn_lint)
        .args([
            "--format",
            "parseable",
            "--include-checks",
            "I",
            "--regions",
            "eu-west-1",
            "--",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let findings = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && findings.trim().is_empty(),
        "cfn-lint exited with {} and reported:\n{findings}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
