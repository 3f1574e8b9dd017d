//! Drift against moto: the dev stack deployed, then read. moto's
//! CloudFormation applies a fraction of a template (scripts/moto/ fixes what
//! blocks a read), so the tests measure from what it did: a fresh deploy
//! with what it skipped applied through each service's API shows no drift
//! but moto's remaining gaps (listed, each with its reason); and changes made
//! with each service's own API after a deploy are found, exactly those, each
//! with whether it weakens security.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use upstack_cfn::intrinsic::PseudoValues;
use upstack_deploy::deploy::{self, DeployClients};
use upstack_deploy::drift::{self, DriftClients};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_diff::drift::{DriftStatus, ResourceDrift};
use upstack_test_support::{ACCOUNT_ID as ACCOUNT, MotoServer, REGION};

use crate::deploy_moto::{bootstrapped, deploy_ok, dev_request, fake_assets, options};

const STACK: &str = "upstack-dev";

/// moto with the dev stack deployed.
async fn deployed(moto: &MotoServer, work: &std::path::Path) -> aws_config::SdkConfig {
    let config = moto.sdk_config().await;
    let clients = bootstrapped(&config).await;
    let request = dev_request(work, 256, fake_assets(work));
    deploy_ok(&clients, &request, &options("drift")).await;
    config
}

async fn read(config: &aws_config::SdkConfig) -> Vec<ResourceDrift> {
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let body = cfn
        .get_template()
        .stack_name(STACK)
        .send()
        .await
        .unwrap()
        .template_body
        .unwrap();
    drift::of_stack(
        &cfn,
        &DriftClients::new(config),
        STACK,
        serde_json::from_str(&body).unwrap(),
        PseudoValues::for_region(REGION)
            .with_account_id(ACCOUNT)
            .with_stack_name(STACK),
    )
    .await
    .unwrap()
}

/// What differs between two reads: `(logical ID, property path or
/// DELETED, broadening)` for every drifted value that is new or changed.
fn new_drift(before: &[ResourceDrift], after: &[ResourceDrift]) -> Vec<(String, String, bool)> {
    let mut found = Vec::new();
    for resource in after {
        let earlier = before
            .iter()
            .find(|earlier| earlier.logical_id == resource.logical_id);
        match resource.status {
            DriftStatus::Deleted | DriftStatus::Unknown => {
                if earlier.is_none_or(|earlier| earlier.status != resource.status) {
                    let what = if resource.status == DriftStatus::Deleted {
                        "DELETED".to_owned()
                    } else {
                        format!(
                            "UNKNOWN: {}",
                            resource.reason.as_deref().unwrap_or_default()
                        )
                    };
                    found.push((resource.logical_id.clone(), what, false));
                }
            }
            DriftStatus::Modified => {
                for property in &resource.properties {
                    let same = earlier.is_some_and(|earlier| {
                        earlier
                            .properties
                            .iter()
                            .any(|old| old.path == property.path && old.actual == property.actual)
                    });
                    if !same {
                        found.push((
                            resource.logical_id.clone(),
                            property.path.clone(),
                            property.broadening,
                        ));
                    }
                }
            }
        }
    }
    found.sort();
    found
}

fn entry(logical_id: &str, what: &str, broadening: bool) -> (String, String, bool) {
    (logical_id.to_owned(), what.to_owned(), broadening)
}

/// Each change below is made with the service's own API, as a person in
/// the console would; the read after them finds exactly those changes.
/// moto's CloudFormation leaves many template properties unapplied (see
/// the module doc of tests/deploy_moto.rs and scripts/moto/): the read
/// before the changes is the baseline the changes are measured against.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_outside_cloudformation_are_found_and_nothing_else() {
    let moto = MotoServer::start();
    let work = tempfile::tempdir().unwrap();
    let config = deployed(&moto, work.path()).await;
    let baseline = read(&config).await;
    // Reading twice finds the same: nothing is read as changed by accident.
    assert_eq!(new_drift(&baseline, &read(&config).await), []);

    let lambda = aws_sdk_lambda::Client::new(&config);
    lambda
        .update_function_configuration()
        .function_name("upstack-dev-notify")
        .memory_size(1024)
        .send()
        .await
        .unwrap();
    lambda
        .delete_function_concurrency()
        .function_name("upstack-dev-notify")
        .send()
        .await
        .unwrap();
    lambda
        .add_permission()
        .function_name("upstack-dev-ingest")
        .statement_id("anyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url =
        |name: &str| format!("{}/{ACCOUNT}/{name}", moto.endpoint.trim_end_matches('/'));
    let events = sqs
        .get_queue_url()
        .queue_name("upstack-dev-events.fifo")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap_or(&queue_url("upstack-dev-events.fifo"))
        .to_owned();
    sqs.set_queue_attributes()
        .queue_url(&events)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "45",
        )
        .send()
        .await
        .unwrap();
    let failures = sqs
        .get_queue_url()
        .queue_name("upstack-dev-failures")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    sqs.delete_queue()
        .queue_url(&failures)
        .send()
        .await
        .unwrap();
    let sns = aws_sdk_sns::Client::new(&config);
    sns.set_topic_attributes()
        .topic_arn(format!("arn:aws:sns:{REGION}:{ACCOUNT}:upstack-dev-alerts"))
        .attribute_name("KmsMasterKeyId")
        .attribute_value("")
        .send()
        .await
        .unwrap();
    // A CORS rule on the uploads bucket, and a bucket key turned on for the
    // access logs' (which the template does not mention).
    let s3 = upstack_deploy::aws::s3_client(&config);
    s3.put_bucket_cors()
        .bucket(format!("upstack-dev-uploads-{ACCOUNT}-{REGION}"))
        .cors_configuration(
            aws_sdk_s3::types::CorsConfiguration::builder()
                .cors_rules(
                    aws_sdk_s3::types::CorsRule::builder()
                        .allowed_methods("PUT")
                        .allowed_origins("https://example.com")
                        .allowed_headers("*")
                        .expose_headers("ETag")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // The uploads' lifecycle rule as declared, plus a move to Glacier.
    {
        use aws_sdk_s3::types::{
            AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
            LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, Transition,
            TransitionStorageClass,
        };
        s3.put_bucket_lifecycle_configuration()
            .bucket(format!("upstack-dev-uploads-{ACCOUNT}-{REGION}"))
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(
                        LifecycleRule::builder()
                            .id("abort-multipart-expire-old-versions")
                            .status(ExpirationStatus::Enabled)
                            .filter(LifecycleRuleFilter::builder().prefix("").build())
                            .abort_incomplete_multipart_upload(
                                AbortIncompleteMultipartUpload::builder()
                                    .days_after_initiation(7)
                                    .build(),
                            )
                            .noncurrent_version_expiration(
                                NoncurrentVersionExpiration::builder()
                                    .noncurrent_days(30)
                                    .build(),
                            )
                            .transitions(
                                Transition::builder()
                                    .days(90)
                                    .storage_class(TransitionStorageClass::Glacier)
                                    .build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    s3.put_bucket_encryption()
        .bucket(format!("upstack-dev-access-logs-{ACCOUNT}-{REGION}"))
        .server_side_encryption_configuration(
            aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
                .rules(
                    aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::Aes256)
                                .build()
                                .unwrap(),
                        )
                        .bucket_key_enabled(true)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&config)
        .put_retention_policy()
        .log_group_name("/aws/lambda/upstack-dev-notify")
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    let iam = aws_sdk_iam::Client::new(&config);
    let resources =
        upstack_deploy::stack::resources(&aws_sdk_cloudformation::Client::new(&config), STACK)
            .await
            .unwrap();
    let role = |logical_id: &str| {
        resources
            .iter()
            .find(|resource| resource.logical_id == logical_id)
            .and_then(|resource| resource.physical_id.clone())
            .unwrap()
    };
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}
    ]});
    iam.update_assume_role_policy()
        .role_name(role("NotifyRole"))
        .policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    // moto does not load AWS's managed policies: one of the account's own.
    let everything = iam
        .create_policy()
        .policy_name("everything")
        .policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name(role("IngestRole"))
        .policy_arn(everything.policy().and_then(|policy| policy.arn()).unwrap())
        .send()
        .await
        .unwrap();
    aws_sdk_dynamodb::Client::new(&config)
        .update_table()
        .table_name("upstack-dev")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::Provisioned)
        .provisioned_throughput(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(1)
                .write_capacity_units(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let after = read(&config).await;
    assert_eq!(
        new_drift(&baseline, &after),
        [
            entry("AccessLogsBucket", "Properties.BucketEncryption", false),
            entry("AlertsTopic", "Properties.KmsMasterKeyId", true),
            entry("EventsQueue", "Properties.VisibilityTimeout", false),
            entry("FailuresQueue", "DELETED", false),
            entry("IngestFunction", "Properties.ResourcePolicy", true),
            entry("IngestRole", "Properties.ManagedPolicyArns", true),
            entry("NotifyFunction", "Properties.MemorySize", false),
            entry(
                "NotifyFunction",
                "Properties.ReservedConcurrentExecutions",
                false
            ),
            entry("NotifyLogGroup", "Properties.RetentionInDays", false),
            entry("NotifyRole", "Properties.AssumeRolePolicyDocument", true),
            entry("Table", "Properties.BillingMode", false),
            entry("UploadBucket", "Properties.CorsConfiguration", false),
            entry("UploadBucket", "Properties.LifecycleConfiguration", false),
        ]
    );
    let property = |logical_id: &str, path: &str| {
        after
            .iter()
            .find(|resource| resource.logical_id == logical_id)
            .and_then(|resource| resource.properties.iter().find(|p| p.path == path))
            .cloned()
            .unwrap()
    };
    let memory = property("NotifyFunction", "Properties.MemorySize");
    assert_eq!(
        (memory.expected, memory.actual),
        (Some(serde_json::json!(256)), Some(serde_json::json!(1024)))
    );
    assert!(memory.declared);
    let timeout = property("EventsQueue", "Properties.VisibilityTimeout");
    assert!(!timeout.declared);
    assert_eq!(
        (timeout.expected, timeout.actual),
        (Some(serde_json::json!(30)), Some(serde_json::json!(45)))
    );
    let trust = property("NotifyRole", "Properties.AssumeRolePolicyDocument");
    assert!(
        trust
            .details
            .iter()
            .any(|line| line == "+ principal AWS:arn:aws:iam::999999999999:root"),
        "{trust:#?}"
    );
    let cors = property("UploadBucket", "Properties.CorsConfiguration");
    assert_eq!(
        cors.actual,
        Some(serde_json::json!({"CorsRules": [{
            "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://example.com"],
            "AllowedHeaders": ["*"], "ExposedHeaders": ["ETag"]
        }]}))
    );
    let lifecycle = property("UploadBucket", "Properties.LifecycleConfiguration");
    assert_eq!(
        lifecycle
            .actual
            .as_ref()
            .map(|actual| &actual["Rules"][0]["Transitions"]),
        Some(&serde_json::json!([{"StorageClass": "GLACIER", "TransitionInDays": 90}])),
        "{lifecycle:#?}"
    );
    let bucket_key = property("AccessLogsBucket", "Properties.BucketEncryption");
    assert_eq!(
        bucket_key
            .actual
            .as_ref()
            .map(|actual| &actual["ServerSideEncryptionConfiguration"][0]["BucketKeyEnabled"]),
        Some(&serde_json::json!(true)),
        "{bucket_key:#?}"
    );
    let encryption = property("AlertsTopic", "Properties.KmsMasterKeyId");
    assert_eq!(encryption.details, ["encryption removed"]);
}

/// What stays different from the template on moto after
/// [`apply_what_moto_skipped`]: the types its CloudFormation skips (no
/// physical ID: unknown, never "no drift"), the log groups' key, the
/// table's encryption and the functions' architecture, key and logging:
/// each read as AWS would show it unset (a key removed is broadening).
fn motos_gaps() -> Vec<(String, String, bool)> {
    let unsupported = [
        "AccessLogsBucketPolicy",
        "AlertsEmailDevAlertsExampleCom",
        "AlertsTopicPolicy",
        "DeployGuardAlarm",
        "EventsDeadLetterQueueMessagesAlarm",
        "EventsQueueOldestMessageAgeAlarm",
        "EventsQueuePolicy",
        "EventsToEventsQueueSubscription",
        "EventsTopicPolicy",
        "FailuresQueueMessagesAlarm",
        "IngestAsyncEventsDroppedAlarm",
        "IngestErrorsAlarm",
        "IngestRejectedRowsAlarm",
        "IngestThrottlesAlarm",
        "NotifyAsyncEventsDroppedAlarm",
        "NotifyErrorsAlarm",
        "NotifyThrottlesAlarm",
        "PhotoCheckAsyncEventsDroppedAlarm",
        "PhotoCheckErrorsAlarm",
        "PhotoCheckThrottlesAlarm",
        "UploadBucketPolicy",
    ];
    let mut skipped: Vec<(String, String, bool)> = unsupported
        .into_iter()
        .map(|logical_id| {
            entry(
                logical_id,
                "UNKNOWN: CloudFormation lists no physical ID for it (not in DescribeStackResources)",
                false,
            )
        })
        .collect();
    // Not set by moto's CloudFormation, and no API to set it (see below):
    // read as the encryption removed, which is how AWS would show it.
    for log_group in ["IngestLogGroup", "NotifyLogGroup", "PhotoCheckLogGroup"] {
        skipped.push(entry(log_group, "Properties.KmsKeyId", true));
    }
    skipped.push(entry("Table", "Properties.SSESpecification", true));
    for function in ["IngestFunction", "NotifyFunction", "PhotoCheckFunction"] {
        for property in ["Architectures", "KmsKeyArn", "LoggingConfig"] {
            skipped.push(entry(function, &format!("Properties.{property}"), false));
        }
    }
    skipped.sort();
    skipped
}

/// Sets what moto's CloudFormation skipped on the types it does make, with
/// each service's API and the deployed template's values (intrinsics
/// resolved), as CloudFormation would have: S3 buckets (encryption's bucket
/// key, public access block, versioning, lifecycle, logging, notifications,
/// ownership) and the table (point-in-time recovery). A log group's key
/// cannot be (moto has no AssociateKmsKey: HTTP 500), nor the table's
/// encryption (moto's UpdateTable ignores SSESpecification), nor a
/// function's architecture, key or logging (moto's UpdateFunctionCode and
/// UpdateFunctionConfiguration ignore them): recorded AWS answers cover
/// those (drift_recorded.rs).
async fn apply_what_moto_skipped(config: &aws_config::SdkConfig) {
    use aws_sdk_s3::types as s3t;
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let body = cfn
        .get_template()
        .stack_name(STACK)
        .send()
        .await
        .unwrap()
        .template_body
        .unwrap();
    let stack = drift::DeployedStack {
        template: serde_json::from_str(&body).unwrap(),
        resources: upstack_deploy::stack::resources(&cfn, STACK).await.unwrap(),
        pseudo: PseudoValues::for_region(REGION)
            .with_account_id(ACCOUNT)
            .with_stack_name(STACK),
    };
    let s3 = upstack_deploy::aws::s3_client(config);
    // moto lets a bucket log into one whose ACL grants the log delivery
    // group (the template's bucket policy, which it skipped, is AWS's way).
    s3.put_bucket_acl()
        .bucket(stack.physical_id("AccessLogsBucket").unwrap())
        .grant_write("uri=http://acs.amazonaws.com/groups/s3/LogDelivery")
        .grant_read_acp("uri=http://acs.amazonaws.com/groups/s3/LogDelivery")
        .send()
        .await
        .unwrap();
    for logical_id in stack.of_type("AWS::S3::Bucket").collect::<Vec<_>>() {
        let bucket = stack.physical_id(logical_id).unwrap().to_owned();
        let expected = serde_json::Value::Object(stack.expected(logical_id));
        let text = |value: &serde_json::Value| value.as_str().unwrap().to_owned();
        let rule = &expected["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
        let default = &rule["ServerSideEncryptionByDefault"];
        s3.put_bucket_encryption()
            .bucket(&bucket)
            .server_side_encryption_configuration(
                s3t::ServerSideEncryptionConfiguration::builder()
                    .rules(
                        s3t::ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(
                                s3t::ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(s3t::ServerSideEncryption::from(
                                        default["SSEAlgorithm"].as_str().unwrap(),
                                    ))
                                    .set_kms_master_key_id(
                                        default["KMSMasterKeyID"].as_str().map(str::to_owned),
                                    )
                                    .build()
                                    .unwrap(),
                            )
                            .set_bucket_key_enabled(rule["BucketKeyEnabled"].as_bool())
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        s3.put_public_access_block()
            .bucket(&bucket)
            .public_access_block_configuration(
                s3t::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .block_public_policy(true)
                    .ignore_public_acls(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                s3t::VersioningConfiguration::builder()
                    .status(s3t::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let rules: Vec<s3t::LifecycleRule> = expected["LifecycleConfiguration"]["Rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rule| {
                let mut built = s3t::LifecycleRule::builder()
                    .id(text(&rule["Id"]))
                    .status(s3t::ExpirationStatus::Enabled)
                    .filter(s3t::LifecycleRuleFilter::builder().prefix("").build())
                    .abort_incomplete_multipart_upload(
                        s3t::AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(7)
                            .build(),
                    )
                    .noncurrent_version_expiration(
                        s3t::NoncurrentVersionExpiration::builder()
                            .noncurrent_days(30)
                            .build(),
                    );
                if let Some(days) = rule["ExpirationInDays"].as_i64() {
                    built = built.expiration(
                        s3t::LifecycleExpiration::builder()
                            .days(i32::try_from(days).unwrap())
                            .build(),
                    );
                }
                built.build().unwrap()
            })
            .collect();
        s3.put_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .lifecycle_configuration(
                s3t::BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        s3.put_bucket_ownership_controls()
            .bucket(&bucket)
            .ownership_controls(
                s3t::OwnershipControls::builder()
                    .rules(
                        s3t::OwnershipControlsRule::builder()
                            .object_ownership(s3t::ObjectOwnership::BucketOwnerEnforced)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        if let Some(logging) = expected.get("LoggingConfiguration") {
            s3.put_bucket_logging()
                .bucket(&bucket)
                .bucket_logging_status(
                    s3t::BucketLoggingStatus::builder()
                        .logging_enabled(
                            s3t::LoggingEnabled::builder()
                                .target_bucket(text(&logging["DestinationBucketName"]))
                                .target_prefix(text(&logging["LogFilePrefix"]))
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        if let Some(notification) = expected.get("NotificationConfiguration") {
            let configurations: Vec<s3t::LambdaFunctionConfiguration> =
                notification["LambdaConfigurations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|config| {
                        let rules = config["Filter"]["S3Key"]["Rules"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|rule| {
                                s3t::FilterRule::builder()
                                    .name(s3t::FilterRuleName::from(rule["Name"].as_str().unwrap()))
                                    .value(text(&rule["Value"]))
                                    .build()
                            })
                            .collect();
                        s3t::LambdaFunctionConfiguration::builder()
                            .lambda_function_arn(text(&config["Function"]))
                            .events(s3t::Event::from(config["Event"].as_str().unwrap()))
                            .filter(
                                s3t::NotificationConfigurationFilter::builder()
                                    .key(
                                        s3t::S3KeyFilter::builder()
                                            .set_filter_rules(Some(rules))
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build()
                            .unwrap()
                    })
                    .collect();
            s3.put_bucket_notification_configuration()
                .bucket(&bucket)
                .notification_configuration(
                    s3t::NotificationConfiguration::builder()
                        .set_lambda_function_configurations(Some(configurations))
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    }

    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    dynamodb
        .update_continuous_backups()
        .table_name(stack.physical_id("Table").unwrap())
        .point_in_time_recovery_specification(
            aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// With what moto's CloudFormation skipped applied as CloudFormation would
/// have, nothing drifts but the types moto does not make: every reader maps
/// the service's real answers (S3's XML, IAM's URL-encoded documents, SQS's
/// attribute strings, Lambda's and DynamoDB's JSON) back to exactly the
/// template's values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_deploy_has_no_drift() {
    let moto = MotoServer::start();
    let work = tempfile::tempdir().unwrap();
    let config = deployed(&moto, work.path()).await;
    apply_what_moto_skipped(&config).await;
    let found = read(&config).await;
    let report: Vec<String> = found
        .iter()
        .filter(|resource| resource.status != DriftStatus::Unknown)
        .map(|resource| serde_json::to_string_pretty(resource).unwrap())
        .collect();
    assert_eq!(
        new_drift(&[], &found),
        motos_gaps(),
        "{}",
        report.join("\n")
    );
}

/// `deploy --prepare` with drift: the saved plan says what the deploy
/// overwrites (the new template raises the memory someone changed by hand)
/// and what it leaves (a queue's timeout), the review printed says it, and
/// `diff --plan` shows it again from the file, with no AWS call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reviewed_plan_carries_drift_and_its_fate() {
    use upstack_deploy::deploy::{DriftHandling, PrepareOutcome};
    use upstack_deploy::plan::ReviewedPlan;
    use upstack_diff::drift::DriftFate;

    let moto = MotoServer::start();
    let work = tempfile::tempdir().unwrap();
    let config = deployed(&moto, work.path()).await;
    aws_sdk_lambda::Client::new(&config)
        .update_function_configuration()
        .function_name("upstack-dev-notify")
        .memory_size(1024)
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let events = sqs
        .get_queue_url()
        .queue_name("upstack-dev-events.fifo")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    sqs.set_queue_attributes()
        .queue_url(&events)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "45",
        )
        .send()
        .await
        .unwrap();

    let clients = DeployClients::new(&config);
    let mut options = options("drift-plan");
    options.drift = DriftHandling::Report;
    let mut reporter = RecordingReporter::default();
    // The functions' memory goes from 256 to 512 in the new template.
    let outcome = deploy::prepare(
        &clients,
        &dev_request(work.path(), 512, fake_assets(work.path())),
        &options,
        &mut reporter,
        &mut FixedAnswer(Answer::NoTerminal),
        std::future::pending(),
    )
    .await
    .unwrap();
    let PrepareOutcome::Ready(plan) = outcome else {
        panic!("{outcome:?}")
    };
    let path = work.path().join("plan.json");
    plan.save(&path).unwrap();
    let plan = ReviewedPlan::load(&path).unwrap();
    let fate = |logical_id: &str, path: &str| {
        plan.diff
            .drift
            .iter()
            .find(|resource| resource.logical_id == logical_id)
            .and_then(|resource| resource.properties.iter().find(|p| p.path == path))
            .and_then(|property| property.fate.clone())
            .unwrap_or_else(|| panic!("{logical_id} {path}: {:#?}", plan.diff.drift))
    };
    assert_eq!(
        fate("NotifyFunction", "Properties.MemorySize"),
        DriftFate::Overwritten {
            value: Some(serde_json::json!(512))
        }
    );
    assert_eq!(
        fate("EventsQueue", "Properties.VisibilityTimeout"),
        DriftFate::Left
    );

    let review = reporter.lines.join("\n");
    assert!(
        review.contains(
            "MemorySize: the template says 256, the account has 1024; this deploy sets it to 512"
        ),
        "{review}"
    );
    assert!(
        review.contains("VisibilityTimeout: not in the template (AWS's default 30), the account has 45; this deploy leaves it as it is"),
        "{review}"
    );
    let (diff, sources) = plan.reviewed_diff();
    let shown = upstack_diff::render::text(&diff, &sources, false);
    assert!(shown.contains("this deploy sets it to 512"), "{shown}");
}
