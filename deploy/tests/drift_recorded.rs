//! Drift with recorded AWS answers, for what moto cannot show: the types
//! its CloudFormation skips (alarms, the composite alarm, bucket, topic and
//! queue policies, subscriptions) and the properties it drops (a function's
//! architecture, key and logging, a log group's key, a table's encryption),
//! read as AWS answers them; a read AWS refuses (`AccessDenied`); and the
//! coverage facts: every type of both envs' stacks has a reader, and the CI
//! plan role is granted every read.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};
use upstack_stack::ci_identity::{self, Repository, RoleKind};
use upstack_stack::config;

const DEV: &str = include_str!("../../envs/dev.toml");
const PROD: &str = include_str!("../../envs/prod.toml");
const ACCOUNT: &str = "123456789012";

fn assets() -> BTreeMap<String, String> {
    upstack_stack::pipeline::handlers()
        .iter()
        .map(|h| {
            (
                (*h).to_owned(),
                format!("assets/{h}-arm64-0000000000000000.zip"),
            )
        })
        .collect()
}

/// Both envs' templates and their CI identities (account pinned, as
/// `bootstrap --github` requires).
fn envs() -> Vec<(
    &'static str,
    upstack_cfn::Template,
    ci_identity::CiIdentities,
)> {
    [("dev", DEV), ("prod", PROD)]
        .into_iter()
        .map(|(env, text)| {
            let text = text.replace(
                "# account_id = \"123456789012\"",
                &format!("account_id = \"{ACCOUNT}\""),
            );
            let config = config::parse(&format!("envs/{env}.toml"), &text).unwrap();
            let template = upstack_stack::synthesize(env, &config, &assets())
                .unwrap()
                .template;
            let repository = Repository::parse("octo-org/octo-repo").unwrap();
            let identities =
                ci_identity::ci_identities(env, &config, &repository, &template).unwrap();
            (env, template, identities)
        })
        .collect()
}

fn strings(value: &Json) -> Vec<String> {
    match value {
        Json::String(text) => vec![text.clone()],
        Json::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The actions `kind`'s role is allowed.
fn granted(identities: &ci_identity::CiIdentities, kind: RoleKind) -> Vec<String> {
    identities
        .role(kind)
        .policies
        .iter()
        .flat_map(|policy| {
            serde_json::to_value(&policy.document).unwrap()["Statement"]
                .as_array()
                .cloned()
                .unwrap()
        })
        .filter(|statement| statement["Effect"] == "Allow")
        .flat_map(|statement| strings(&statement["Action"]))
        .collect()
}

/// `diff --env` (the plan role) and every deploy (the deploy role) read the
/// hotswap records; a deploy of an env that can be hotswapped clears them.
#[test]
fn the_ci_roles_may_read_the_hotswap_records_and_the_deploy_role_clear_them() {
    use upstack_deploy::deploy::hotswap::{RECORD_CLEAR_ACTIONS, RECORD_READ_ACTIONS};
    for (env, _, identities) in envs() {
        let plan = granted(&identities, RoleKind::Plan);
        let deploy = granted(&identities, RoleKind::Deploy);
        for action in RECORD_READ_ACTIONS {
            assert!(
                plan.iter().any(|grant| grant == action),
                "{env} plan: {action}"
            );
            assert!(
                deploy.iter().any(|grant| grant == action),
                "{env} deploy: {action}"
            );
        }
        for action in RECORD_CLEAR_ACTIONS {
            assert_eq!(
                deploy.iter().any(|grant| grant == action),
                env == "dev",
                "{env} deploy: {action} (only where a hotswap can happen)"
            );
        }
    }
}

#[test]
fn every_type_of_both_stacks_has_a_reader_and_the_plan_role_may_call_it() {
    for (env, template, identities) in envs() {
        let granted = granted(&identities, RoleKind::Plan);
        // deploy --prepare's account pre-flight runs with the plan role too.
        for action in upstack_deploy::account::ACTIONS {
            assert!(
                granted.iter().any(|grant| grant == action),
                "{env}: the plan role may not call {action}, which the account pre-flight needs"
            );
        }
        for resource_type in ci_identity::resource_types(&template) {
            let reader = upstack_deploy::drift::reader_for(&resource_type)
                .unwrap_or_else(|| panic!("{env}: no drift reader for {resource_type}"));
            for action in reader.actions {
                assert!(
                    granted.iter().any(|grant| grant == action),
                    "{env}: the plan role may not call {action}, which reading {resource_type} needs"
                );
            }
        }
    }
}

use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use upstack_cfn::intrinsic::PseudoValues;
use upstack_deploy::drift::{DeployedStack, DriftClients, read_one};
use upstack_deploy::stack::StackResource;
use upstack_diff::drift::{DriftStatus, ResourceDrift};

const REGION: &str = "eu-west-1";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const PERMISSION_SID: &str = "upstack-prod-IngestUploadBucketPermission-1A2B3C";

/// The physical ID CloudFormation gives each resource of the prod stack.
fn physical_ids(template: &Json) -> Vec<StackResource> {
    let pseudo = PseudoValues::for_region(REGION).with_account_id(ACCOUNT);
    let resolved = |value: &Json| upstack_cfn::intrinsic::resolve(value, &pseudo);
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(logical_id, resource)| {
            let properties = &resource["Properties"];
            let named = |property: &str| resolved(&properties[property]).as_str().map(str::to_owned);
            let resource_type = resource["Type"].as_str().unwrap();
            let physical_id = match resource_type {
                "AWS::S3::Bucket" => named("BucketName"),
                "AWS::SNS::Topic" => named("TopicName")
                    .map(|name| format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}")),
                "AWS::SQS::Queue" => named("QueueName")
                    .map(|name| format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}")),
                "AWS::DynamoDB::Table" => named("TableName"),
                "AWS::Lambda::Function" => named("FunctionName"),
                "AWS::Logs::LogGroup" => named("LogGroupName"),
                "AWS::CloudWatch::Alarm" | "AWS::CloudWatch::CompositeAlarm" => named("AlarmName"),
                "AWS::KMS::Key" => Some(KEY_ID.to_owned()),
                "AWS::Lambda::Permission" => Some(format!(
                    "arn:aws:lambda:{REGION}:{ACCOUNT}:function:upstack-prod-ingest|{PERMISSION_SID}"
                )),
                "AWS::SNS::Subscription" => Some(format!(
                    "arn:aws:sns:{REGION}:{ACCOUNT}:upstack-prod-alerts:{logical_id}"
                )),
                _ => Some(format!("upstack-prod-{logical_id}-1A2B3C")),
            };
            StackResource {
                logical_id: logical_id.clone(),
                physical_id,
                resource_type: resource_type.to_owned(),
                status: "CREATE_COMPLETE".into(),
                stack_id: None,
            }
        })
        .collect()
}

fn prod_stack() -> DeployedStack {
    let (_, template, _) = envs().remove(1);
    let template = serde_json::to_value(&template).unwrap();
    DeployedStack {
        resources: physical_ids(&template),
        template,
        pseudo: PseudoValues::for_region(REGION)
            .with_account_id(ACCOUNT)
            .with_stack_name("upstack-prod"),
    }
}

/// A policy as S3 and SNS hand it back: compact, a one-element list as its
/// element (`["s3:*"]` comes back `"s3:*"`).
fn as_aws_returns_it(value: &Json) -> Json {
    match value {
        Json::Array(items) if items.len() == 1 => as_aws_returns_it(&items[0]),
        Json::Array(items) => Json::Array(items.iter().map(as_aws_returns_it).collect()),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), as_aws_returns_it(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn expected(stack: &DeployedStack, logical_id: &str) -> Json {
    Json::Object(stack.expected(logical_id))
}

/// AWS's answers, per service.
#[derive(Default)]
struct Answers {
    cloudwatch: Vec<Rule>,
    lambda: Vec<Rule>,
    s3: Vec<Rule>,
    sns: Vec<Rule>,
    sqs: Vec<Rule>,
    logs: Vec<Rule>,
    dynamodb: Vec<Rule>,
    iam: Vec<Rule>,
    kms: Vec<Rule>,
}

fn rules(rules: &[Rule]) -> Vec<&Rule> {
    rules.iter().collect()
}

/// Clients whose every call is answered from `answers` (no call reaches AWS).
fn clients(answers: &Answers) -> DriftClients {
    DriftClients {
        lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &rules(&answers.lambda)),
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, &rules(&answers.iam)),
        kms: mock_client!(aws_sdk_kms, RuleMode::MatchAny, &rules(&answers.kms)),
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules(&answers.s3)),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, &rules(&answers.sns)),
        sqs: mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &rules(&answers.sqs)),
        dynamodb: mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            &rules(&answers.dynamodb)
        ),
        logs: mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::MatchAny,
            &rules(&answers.logs)
        ),
        cloudwatch: mock_client!(
            aws_sdk_cloudwatch,
            RuleMode::MatchAny,
            &rules(&answers.cloudwatch)
        ),
    }
}

/// What AWS answers for each resource of the prod stack that moto cannot
/// show, as deployed: each answer in the service's own shape.
struct InSync {
    stack: DeployedStack,
    zip_sha256: [u8; 32],
}

impl InSync {
    fn new() -> InSync {
        InSync {
            stack: prod_stack(),
            zip_sha256: [7; 32],
        }
    }

    fn metric_alarm(&self) -> aws_sdk_cloudwatch::types::MetricAlarm {
        self.metric_alarm_builder().build()
    }

    fn metric_alarm_builder(&self) -> aws_sdk_cloudwatch::types::builders::MetricAlarmBuilder {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic};
        let alarm = expected(&self.stack, "IngestErrorsAlarm");
        MetricAlarm::builder()
            .alarm_name("upstack-prod-ingest-errors")
            .alarm_description(alarm["AlarmDescription"].as_str().unwrap())
            .actions_enabled(true)
            .set_alarm_actions(Some(strings(&alarm["AlarmActions"])))
            .set_ok_actions(Some(strings(&alarm["OKActions"])))
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .evaluation_periods(1)
            .metric_name("Errors")
            .namespace("AWS/Lambda")
            .statistic(Statistic::Sum)
            .period(300)
            .threshold(1.0)
            .treat_missing_data("notBreaching")
            .dimensions(
                Dimension::builder()
                    .name("FunctionName")
                    .value("upstack-prod-ingest")
                    .build(),
            )
    }

    fn composite_alarm(&self) -> aws_sdk_cloudwatch::types::CompositeAlarm {
        let guard = expected(&self.stack, "DeployGuardAlarm");
        aws_sdk_cloudwatch::types::CompositeAlarm::builder()
            .alarm_name("upstack-prod-deploy-guard")
            .alarm_description(guard["AlarmDescription"].as_str().unwrap())
            .alarm_rule(guard["AlarmRule"].as_str().unwrap())
            .actions_enabled(true)
            .build()
    }

    fn cloudwatch(&self, metric: aws_sdk_cloudwatch::types::MetricAlarm) -> Vec<Rule> {
        use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
        let composite = self.composite_alarm();
        vec![
            mock!(aws_sdk_cloudwatch::Client::describe_alarms)
                .match_requests(|request| request.alarm_names() == ["upstack-prod-ingest-errors"])
                .then_output(move || {
                    DescribeAlarmsOutput::builder()
                        .metric_alarms(metric.clone())
                        .build()
                }),
            mock!(aws_sdk_cloudwatch::Client::describe_alarms)
                .match_requests(|request| request.alarm_names() == ["upstack-prod-deploy-guard"])
                .then_output(move || {
                    DescribeAlarmsOutput::builder()
                        .composite_alarms(composite.clone())
                        .build()
                }),
        ]
    }

    fn lambda(&self) -> Vec<Rule> {
        self.lambda_with(|configuration| configuration)
    }

    /// [`InSync::lambda`], the function's configuration changed by `edit`.
    fn lambda_with(
        &self,
        edit: impl Fn(
            aws_sdk_lambda::types::builders::FunctionConfigurationBuilder,
        ) -> aws_sdk_lambda::types::builders::FunctionConfigurationBuilder,
    ) -> Vec<Rule> {
        use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
        use aws_sdk_lambda::operation::get_function_event_invoke_config::GetFunctionEventInvokeConfigOutput;
        use aws_sdk_lambda::operation::get_policy::GetPolicyOutput;
        use aws_sdk_lambda::types::*;
        let function = expected(&self.stack, "IngestFunction");
        let logging = &function["LoggingConfig"];
        let variables: std::collections::HashMap<String, String> =
            function["Environment"]["Variables"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
                .collect();
        let configuration = FunctionConfiguration::builder()
            .function_name("upstack-prod-ingest")
            .memory_size(i32::try_from(function["MemorySize"].as_i64().unwrap()).unwrap())
            .timeout(i32::try_from(function["Timeout"].as_i64().unwrap()).unwrap())
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(function["Role"].as_str().unwrap())
            .description(function["Description"].as_str().unwrap())
            .architectures(Architecture::Arm64)
            .environment(
                EnvironmentResponse::builder()
                    .set_variables(Some(variables))
                    .build(),
            )
            .ephemeral_storage(EphemeralStorage::builder().size(512).build().unwrap())
            .tracing_config(
                TracingConfigResponse::builder()
                    .mode(TracingMode::Active)
                    .build(),
            )
            .kms_key_arn(function["KmsKeyArn"].as_str().unwrap())
            .logging_config(
                LoggingConfig::builder()
                    .log_format(LogFormat::Json)
                    .application_log_level(ApplicationLogLevel::Info)
                    .system_log_level(SystemLogLevel::Warn)
                    .log_group(logging["LogGroup"].as_str().unwrap())
                    .build(),
            )
            .code_sha256(aws_smithy_types::base64::encode(self.zip_sha256))
            // What AWS returns for a function outside any VPC.
            .vpc_config(
                VpcConfigResponse::builder()
                    .set_subnet_ids(Some(Vec::new()))
                    .set_security_group_ids(Some(Vec::new()))
                    .vpc_id("")
                    .build(),
            );
        let configuration = edit(configuration).build();
        let policy = json!({"Version": "2012-10-17", "Id": "default", "Statement": [{
            "Sid": PERMISSION_SID, "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"}, "Action": "lambda:InvokeFunction",
            "Resource": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:upstack-prod-ingest"),
            "Condition": {
                "StringEquals": {"AWS:SourceAccount": ACCOUNT},
                "ArnLike": {"AWS:SourceArn": format!("arn:aws:s3:::upstack-prod-uploads-{ACCOUNT}-{REGION}")}
            }
        }]})
        .to_string();
        let failures = expected(&self.stack, "IngestInvokeConfig")["DestinationConfig"]["OnFailure"]
            ["Destination"]
            .as_str()
            .unwrap()
            .to_owned();
        vec![
            mock!(aws_sdk_lambda::Client::get_function).then_output(move || {
                GetFunctionOutput::builder()
                    .configuration(configuration.clone())
                    .concurrency(
                        Concurrency::builder()
                            .reserved_concurrent_executions(20)
                            .build(),
                    )
                    .build()
            }),
            mock!(aws_sdk_lambda::Client::get_policy)
                .then_output(move || GetPolicyOutput::builder().policy(policy.clone()).build()),
            mock!(aws_sdk_lambda::Client::get_function_event_invoke_config).then_output(
                move || {
                    GetFunctionEventInvokeConfigOutput::builder()
                        .maximum_retry_attempts(2)
                        .destination_config(
                            DestinationConfig::builder()
                                .on_failure(
                                    OnFailure::builder().destination(failures.clone()).build(),
                                )
                                .build(),
                        )
                        .build()
                },
            ),
        ]
    }

    fn s3(&self) -> Vec<Rule> {
        use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
        use aws_sdk_s3::operation::head_object::HeadObjectOutput;
        let policy =
            as_aws_returns_it(&expected(&self.stack, "UploadBucketPolicy")["PolicyDocument"])
                .to_string();
        let checksum = aws_smithy_types::base64::encode(self.zip_sha256);
        vec![
            mock!(aws_sdk_s3::Client::get_bucket_policy).then_output(move || {
                GetBucketPolicyOutput::builder()
                    .policy(policy.clone())
                    .build()
            }),
            mock!(aws_sdk_s3::Client::head_object).then_output(move || {
                HeadObjectOutput::builder()
                    .checksum_sha256(checksum.clone())
                    .checksum_type(aws_sdk_s3::types::ChecksumType::FullObject)
                    .content_length(1)
                    .build()
            }),
        ]
    }

    fn sns(&self) -> Vec<Rule> {
        use aws_sdk_sns::operation::get_subscription_attributes::GetSubscriptionAttributesOutput;
        use aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesOutput;
        let policy =
            as_aws_returns_it(&expected(&self.stack, "AlertsTopicPolicy")["PolicyDocument"])
                .to_string();
        let subscription = expected(&self.stack, "AlertsEmailOncallExampleCom");
        let topic = subscription["TopicArn"].as_str().unwrap().to_owned();
        vec![
            mock!(aws_sdk_sns::Client::get_topic_attributes).then_output(move || {
                GetTopicAttributesOutput::builder()
                    .attributes("Policy", policy.clone())
                    .attributes("TopicArn", topic.clone())
                    .attributes("DisplayName", "")
                    .build()
            }),
            mock!(aws_sdk_sns::Client::get_subscription_attributes).then_output(move || {
                GetSubscriptionAttributesOutput::builder()
                    .attributes("Protocol", "email")
                    .attributes("Endpoint", "oncall@example.com")
                    .attributes("TopicArn", subscription["TopicArn"].as_str().unwrap())
                    .attributes("RawMessageDelivery", "false")
                    .attributes("PendingConfirmation", "true")
                    .attributes("Owner", ACCOUNT)
                    .build()
            }),
        ]
    }

    fn sqs(&self) -> Vec<Rule> {
        use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
        use aws_sdk_sqs::types::QueueAttributeName;
        let policy = expected(&self.stack, "EventsQueuePolicy")["PolicyDocument"].to_string();
        vec![
            mock!(aws_sdk_sqs::Client::get_queue_attributes).then_output(move || {
                GetQueueAttributesOutput::builder()
                    .attributes(QueueAttributeName::Policy, policy.clone())
                    .attributes(QueueAttributeName::VisibilityTimeout, "30")
                    .build()
            }),
        ]
    }

    fn logs(&self) -> Vec<Rule> {
        use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
        use aws_sdk_cloudwatchlogs::types::{LogGroup, LogGroupClass};
        let group = expected(&self.stack, "IngestLogGroup");
        let group = LogGroup::builder()
            .log_group_name("/aws/lambda/upstack-prod-ingest")
            .retention_in_days(i32::try_from(group["RetentionInDays"].as_i64().unwrap()).unwrap())
            .kms_key_id(group["KmsKeyId"].as_str().unwrap())
            .log_group_class(LogGroupClass::Standard)
            .build();
        vec![
            mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups).then_output(move || {
                DescribeLogGroupsOutput::builder()
                    .log_groups(group.clone())
                    .build()
            }),
        ]
    }

    fn dynamodb(&self) -> Vec<Rule> {
        use aws_sdk_dynamodb::operation::describe_continuous_backups::DescribeContinuousBackupsOutput;
        use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
        use aws_sdk_dynamodb::operation::describe_time_to_live::DescribeTimeToLiveOutput;
        use aws_sdk_dynamodb::types::*;
        let table = expected(&self.stack, "Table");
        let key = table["SSESpecification"]["KMSMasterKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        let description = TableDescription::builder()
            .table_name("upstack-prod")
            // DynamoDB lists the attributes in an order of its own.
            .attribute_definitions(attribute("sk"))
            .attribute_definitions(attribute("pk"))
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("sk")
                    .key_type(KeyType::Range)
                    .build()
                    .unwrap(),
            )
            .billing_mode_summary(
                BillingModeSummary::builder()
                    .billing_mode(BillingMode::PayPerRequest)
                    .build(),
            )
            .sse_description(
                SseDescription::builder()
                    .status(SseStatus::Enabled)
                    .sse_type(SseType::Kms)
                    .kms_master_key_arn(key)
                    .build(),
            )
            .deletion_protection_enabled(true)
            .build();
        vec![
            mock!(aws_sdk_dynamodb::Client::describe_table).then_output(move || {
                DescribeTableOutput::builder()
                    .table(description.clone())
                    .build()
            }),
            mock!(aws_sdk_dynamodb::Client::describe_continuous_backups).then_output(|| {
                DescribeContinuousBackupsOutput::builder()
                    .continuous_backups_description(
                        ContinuousBackupsDescription::builder()
                            .continuous_backups_status(ContinuousBackupsStatus::Enabled)
                            .point_in_time_recovery_description(
                                PointInTimeRecoveryDescription::builder()
                                    .point_in_time_recovery_status(
                                        PointInTimeRecoveryStatus::Enabled,
                                    )
                                    .build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
            }),
            mock!(aws_sdk_dynamodb::Client::describe_time_to_live).then_output(|| {
                DescribeTimeToLiveOutput::builder()
                    .time_to_live_description(
                        TimeToLiveDescription::builder()
                            .time_to_live_status(TimeToLiveStatus::Disabled)
                            .build(),
                    )
                    .build()
            }),
        ]
    }
}

/// The resources of the prod stack moto cannot show, each read from AWS's
/// answers as deployed.
const READ_HERE: [&str; 11] = [
    "AlertsEmailOncallExampleCom",
    "AlertsTopicPolicy",
    "DeployGuardAlarm",
    "EventsQueuePolicy",
    "IngestErrorsAlarm",
    "IngestFunction",
    "IngestInvokeConfig",
    "IngestLogGroup",
    "IngestUploadBucketPermission",
    "Table",
    "UploadBucketPolicy",
];

async fn read_all(clients: &DriftClients, stack: &DeployedStack) -> Vec<ResourceDrift> {
    let mut found = Vec::new();
    for logical_id in READ_HERE {
        found.extend(read_one(clients, stack, logical_id).await);
    }
    found
}

#[tokio::test]
async fn what_moto_cannot_show_reads_in_sync_from_awss_own_answers() {
    let in_sync = InSync::new();
    let clients = clients(&Answers {
        cloudwatch: in_sync.cloudwatch(in_sync.metric_alarm()),
        lambda: in_sync.lambda(),
        s3: in_sync.s3(),
        sns: in_sync.sns(),
        sqs: in_sync.sqs(),
        logs: in_sync.logs(),
        dynamodb: in_sync.dynamodb(),
        iam: Vec::new(),
        kms: Vec::new(),
    });
    let found = read_all(&clients, &in_sync.stack).await;
    assert!(
        found.is_empty(),
        "{}",
        serde_json::to_string_pretty(&found).unwrap()
    );
}

#[tokio::test]
async fn a_read_aws_refuses_is_unknown_with_its_reason_and_changes_are_drift() {
    use aws_sdk_cloudwatch::types::ComparisonOperator;
    let in_sync = InSync::new();
    // The alarm's threshold raised and its actions cleared by hand.
    let changed = in_sync
        .metric_alarm_builder()
        .threshold(50.0)
        .set_alarm_actions(None)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .build();
    let cloudwatch = in_sync.cloudwatch(changed);
    let denied = mock!(aws_sdk_dynamodb::Client::describe_table).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/upstack-prod-ci-plan/ci is not authorized to perform: dynamodb:DescribeTable"}"#,
            ),
        )
    });
    let clients = clients(&Answers {
        cloudwatch,
        dynamodb: vec![denied],
        ..Answers::default()
    });
    let stack = &in_sync.stack;
    let alarm = read_one(&clients, stack, "IngestErrorsAlarm")
        .await
        .unwrap();
    let paths: Vec<&str> = alarm.properties.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Properties.AlarmActions",
            "Properties.ComparisonOperator",
            "Properties.Threshold"
        ]
    );
    let table = read_one(&clients, stack, "Table").await.unwrap();
    assert_eq!(table.status, DriftStatus::Unknown);
    let reason = table.reason.unwrap();
    assert!(
        reason.starts_with("dynamodb:DescribeTable: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/upstack-prod-ci-plan/ci is not authorized"),
        "{reason}"
    );
}

/// An error as the query protocol (IAM, SNS) returns it (XML).
fn query_error(status: u16, code: &str, message: &str) -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
        aws_smithy_types::body::SdkBody::from(format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>"
        )),
    )
}

/// The attachments a stack's own managed policy makes (it names the role in
/// its `Roles`) are not the role's drift; one made by hand is, and so is
/// the policy attached to a user by hand. No policy of our stacks attaches
/// itself to a role, so moto's deploy cannot show this.
#[tokio::test]
async fn a_roles_attachments_by_its_stacks_policies_are_not_drift_and_hand_made_ones_are() {
    use aws_sdk_iam::operation::{
        get_policy::GetPolicyOutput, get_policy_version::GetPolicyVersionOutput,
        get_role::GetRoleOutput, list_attached_role_policies::ListAttachedRolePoliciesOutput,
        list_entities_for_policy::ListEntitiesForPolicyOutput,
        list_role_policies::ListRolePoliciesOutput,
    };
    use aws_sdk_iam::types::{AttachedPolicy, Policy, PolicyRole, PolicyUser, PolicyVersion, Role};
    let encoded = |document: &Json| {
        percent_encoding::utf8_percent_encode(
            &document.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string()
    };
    let trust = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let grants = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]});
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/app-policy");
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    let template = json!({"Resources": {
        "AppRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}},
        "AppPolicy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "PolicyDocument": grants, "Roles": [{"Ref": "AppRole"}]}},
    }});
    let physical = [
        ("AppRole", "AWS::IAM::Role", "app-role".to_owned()),
        ("AppPolicy", "AWS::IAM::ManagedPolicy", policy_arn.clone()),
    ];
    let stack = DeployedStack {
        resources: physical
            .iter()
            .map(|(logical_id, resource_type, physical_id)| StackResource {
                logical_id: (*logical_id).to_owned(),
                physical_id: Some(physical_id.clone()),
                resource_type: (*resource_type).to_owned(),
                status: "CREATE_COMPLETE".into(),
                stack_id: None,
            })
            .collect(),
        template,
        pseudo: PseudoValues::for_region(REGION).with_account_id(ACCOUNT),
    };

    let role = Role::builder()
        .role_name("app-role")
        .path("/")
        .role_id("AROAEXAMPLE")
        .arn(format!("arn:aws:iam::{ACCOUNT}:role/app-role"))
        .create_date(aws_smithy_types::DateTime::from_secs(0))
        .assume_role_policy_document(encoded(&trust))
        .max_session_duration(3600)
        .build()
        .unwrap();
    let (attached_arn, asked_arn, answered_arn, entities_arn) = (
        policy_arn.clone(),
        policy_arn.clone(),
        policy_arn.clone(),
        policy_arn.clone(),
    );
    let iam = vec![
        mock!(aws_sdk_iam::Client::get_role)
            .match_requests(|request| request.role_name() == Some("app-role"))
            .then_output(move || GetRoleOutput::builder().role(role.clone()).build()),
        mock!(aws_sdk_iam::Client::list_role_policies).then_output(|| {
            ListRolePoliciesOutput::builder()
                .set_policy_names(Some(Vec::new()))
                .build()
                .unwrap()
        }),
        // The stack's own policy (it names the role in its `Roles`) and one
        // attached by hand.
        mock!(aws_sdk_iam::Client::list_attached_role_policies).then_output(move || {
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(AttachedPolicy::builder().policy_arn(&attached_arn).build())
                .attached_policies(AttachedPolicy::builder().policy_arn(admin).build())
                .build()
        }),
        mock!(aws_sdk_iam::Client::get_policy)
            .match_requests(move |request| request.policy_arn() == Some(asked_arn.as_str()))
            .then_output(move || {
                GetPolicyOutput::builder()
                    .policy(
                        Policy::builder()
                            .arn(&answered_arn)
                            .default_version_id("v1")
                            .build(),
                    )
                    .build()
            }),
        mock!(aws_sdk_iam::Client::get_policy_version).then_output(move || {
            GetPolicyVersionOutput::builder()
                .policy_version(
                    PolicyVersion::builder()
                        .document(encoded(&grants))
                        .version_id("v1")
                        .build(),
                )
                .build()
        }),
        // Attached to a user by hand, besides the stack's role.
        mock!(aws_sdk_iam::Client::list_entities_for_policy)
            .match_requests(move |request| request.policy_arn() == Some(entities_arn.as_str()))
            .then_output(|| {
                ListEntitiesForPolicyOutput::builder()
                    .policy_roles(PolicyRole::builder().role_name("app-role").build())
                    .policy_users(PolicyUser::builder().user_name("intruder").build())
                    .build()
            }),
    ];
    let clients = clients(&Answers {
        iam,
        ..Answers::default()
    });

    let app_role = read_one(&clients, &stack, "AppRole").await.unwrap();
    let arns: Vec<(&str, Option<&Json>)> = app_role
        .properties
        .iter()
        .map(|property| (property.path.as_str(), property.actual.as_ref()))
        .collect();
    assert_eq!(
        arns,
        [("Properties.ManagedPolicyArns", Some(&json!([admin])))],
        "{app_role:#?}"
    );
    let app_policy = read_one(&clients, &stack, "AppPolicy").await.unwrap();
    let users: Vec<(&str, Option<&Json>)> = app_policy
        .properties
        .iter()
        .map(|property| (property.path.as_str(), property.actual.as_ref()))
        .collect();
    assert_eq!(
        users,
        [("Properties.Users", Some(&json!(["intruder"])))],
        "{app_policy:#?}"
    );
}

/// An error as a REST service answers it: Lambda's JSON (`json`) or S3's
/// XML.
fn rest_error(status: u16, code: &str, json: bool) -> aws_smithy_runtime_api::http::Response {
    let body = if json {
        format!(r#"{{"__type":"{code}","message":"{code} (recorded)"}}"#)
    } else {
        format!("<Error><Code>{code}</Code><Message>{code} (recorded)</Message></Error>")
    };
    let mut response = aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
        aws_smithy_types::body::SdkBody::from(body),
    );
    if json {
        response
            .headers_mut()
            .insert("x-amzn-errortype", code.to_owned());
    }
    response
}

/// A configuration S3 refuses to show makes the bucket unknown, never "not
/// configured" (which would report its encryption removed): moto never
/// refuses a read.
#[tokio::test]
async fn a_configuration_s3_refuses_to_show_is_unknown_never_absent() {
    use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
    let in_sync = InSync::new();
    let encryption_refused = clients(&Answers {
        s3: vec![
            mock!(aws_sdk_s3::Client::get_bucket_versioning)
                .then_output(|| GetBucketVersioningOutput::builder().build()),
            mock!(aws_sdk_s3::Client::get_bucket_encryption)
                .then_http_response(|| rest_error(403, "AccessDenied", false)),
        ],
        ..Answers::default()
    });
    let drift = read_one(&encryption_refused, &in_sync.stack, "UploadBucket")
        .await
        .unwrap();
    assert_eq!(drift.status, DriftStatus::Unknown, "{drift:#?}");
    assert!(
        drift
            .reason
            .as_deref()
            .is_some_and(|reason| reason.starts_with("s3:GetEncryptionConfiguration: AccessDenied")),
        "{drift:#?}"
    );
}

/// Layers and a VPC given to a function by hand are drift (the function's
/// empty `VpcConfig`, as AWS returns it outside a VPC, is not: see
/// [`InSync::lambda`]).
#[tokio::test]
async fn layers_and_a_vpc_added_to_a_function_by_hand_are_drift() {
    use aws_sdk_lambda::types::{Layer, VpcConfigResponse};
    let in_sync = InSync::new();
    let clients = clients(&Answers {
        lambda: in_sync.lambda_with(|configuration| {
            configuration
                .layers(
                    Layer::builder()
                        .arn("arn:aws:lambda:eu-west-1:999999999999:layer:x:1")
                        .build(),
                )
                .vpc_config(
                    VpcConfigResponse::builder()
                        .subnet_ids("subnet-1")
                        .security_group_ids("sg-1")
                        .vpc_id("vpc-1")
                        .build(),
                )
        }),
        // The code's asset, which the read compares with the running code.
        s3: in_sync.s3(),
        ..Answers::default()
    });
    let drift = read_one(&clients, &in_sync.stack, "IngestFunction")
        .await
        .unwrap();
    let paths: Vec<&str> = drift.properties.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["Properties.Layers", "Properties.VpcConfig"],
        "{drift:#?}"
    );
}

/// moto answers a missing resource but never refuses a read: each reader's
/// first call answered "not found" is a deleted resource, and answered with
/// a refusal is unknown, naming the call and the code. Each answer is in
/// its service's protocol: IAM's and SNS's XML (query), S3's XML, Lambda's,
/// SQS's, KMS's and DynamoDB's JSON.
#[tokio::test]
async fn every_reader_tells_a_missing_resource_from_a_refused_read() {
    type Answer = fn(u16, &'static str) -> Rule;
    let in_sync = InSync::new();
    let stack = &in_sync.stack;
    let iam_role: Answer = |status, code| {
        mock!(aws_sdk_iam::Client::get_role)
            .then_http_response(move || query_error(status, code, "recorded"))
    };
    let iam_policy: Answer = |status, code| {
        mock!(aws_sdk_iam::Client::get_policy)
            .then_http_response(move || query_error(status, code, "recorded"))
    };
    let function: Answer = |status, code| {
        mock!(aws_sdk_lambda::Client::get_function)
            .then_http_response(move || rest_error(status, code, true))
    };
    let function_policy: Answer = |status, code| {
        mock!(aws_sdk_lambda::Client::get_policy)
            .then_http_response(move || rest_error(status, code, true))
    };
    let invoke_config: Answer = |status, code| {
        mock!(aws_sdk_lambda::Client::get_function_event_invoke_config)
            .then_http_response(move || rest_error(status, code, true))
    };
    let bucket: Answer = |status, code| {
        mock!(aws_sdk_s3::Client::get_bucket_versioning)
            .then_http_response(move || rest_error(status, code, false))
    };
    let bucket_policy: Answer = |status, code| {
        mock!(aws_sdk_s3::Client::get_bucket_policy)
            .then_http_response(move || rest_error(status, code, false))
    };
    let sns_topic: Answer = |status, code| {
        mock!(aws_sdk_sns::Client::get_topic_attributes)
            .then_http_response(move || query_error(status, code, "recorded"))
    };
    let sns_subscription: Answer = |status, code| {
        mock!(aws_sdk_sns::Client::get_subscription_attributes)
            .then_http_response(move || query_error(status, code, "recorded"))
    };
    let sqs_queue: Answer = |status, code| {
        mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .then_http_response(move || rest_error(status, code, true))
    };
    let kms_key: Answer = |status, code| {
        mock!(aws_sdk_kms::Client::describe_key)
            .then_http_response(move || rest_error(status, code, true))
    };
    let table: Answer = |status, code| {
        mock!(aws_sdk_dynamodb::Client::describe_table)
            .then_http_response(move || rest_error(status, code, true))
    };
    // (logical ID, the call, its answer, its "not found" code, its refusal)
    let cases: [(&str, &str, Answer, &'static str, &'static str); 13] = [
        (
            "IngestRole",
            "iam:GetRole",
            iam_role,
            "NoSuchEntity",
            "AccessDenied",
        ),
        (
            "UploaderPolicy",
            "iam:GetPolicy",
            iam_policy,
            "NoSuchEntity",
            "AccessDenied",
        ),
        (
            "IngestFunction",
            "lambda:GetFunction",
            function,
            "ResourceNotFoundException",
            "AccessDeniedException",
        ),
        (
            "IngestUploadBucketPermission",
            "lambda:GetPolicy",
            function_policy,
            "ResourceNotFoundException",
            "AccessDeniedException",
        ),
        (
            "IngestInvokeConfig",
            "lambda:GetFunctionEventInvokeConfig",
            invoke_config,
            "ResourceNotFoundException",
            "AccessDeniedException",
        ),
        (
            "UploadBucket",
            "s3:GetBucketVersioning",
            bucket,
            "NoSuchBucket",
            "AccessDenied",
        ),
        (
            "UploadBucketPolicy",
            "s3:GetBucketPolicy",
            bucket_policy,
            "NoSuchBucketPolicy",
            "AccessDenied",
        ),
        (
            "AlertsTopic",
            "sns:GetTopicAttributes",
            sns_topic,
            "NotFound",
            "AuthorizationError",
        ),
        (
            "AlertsTopicPolicy",
            "sns:GetTopicAttributes",
            sns_topic,
            "NotFound",
            "AuthorizationError",
        ),
        (
            "AlertsEmailOncallExampleCom",
            "sns:GetSubscriptionAttributes",
            sns_subscription,
            "NotFound",
            "AuthorizationError",
        ),
        (
            "EventsQueue",
            "sqs:GetQueueAttributes",
            sqs_queue,
            "QueueDoesNotExist",
            "AccessDeniedException",
        ),
        (
            "Key",
            "kms:DescribeKey",
            kms_key,
            "NotFoundException",
            "AccessDeniedException",
        ),
        (
            "Table",
            "dynamodb:DescribeTable",
            table,
            "ResourceNotFoundException",
            "AccessDeniedException",
        ),
    ];
    for (logical_id, call, answer, missing, refused) in cases {
        let answered = |status: u16, code: &'static str| {
            let rules = vec![answer(status, code)];
            match call.split_once(':').map(|(service, _)| service) {
                Some("iam") => Answers {
                    iam: rules,
                    ..Answers::default()
                },
                Some("lambda") => Answers {
                    lambda: rules,
                    ..Answers::default()
                },
                Some("s3") => Answers {
                    s3: rules,
                    ..Answers::default()
                },
                Some("sns") => Answers {
                    sns: rules,
                    ..Answers::default()
                },
                Some("sqs") => Answers {
                    sqs: rules,
                    ..Answers::default()
                },
                Some("kms") => Answers {
                    kms: rules,
                    ..Answers::default()
                },
                _ => Answers {
                    dynamodb: rules,
                    ..Answers::default()
                },
            }
        };
        let drift = read_one(&clients(&answered(404, missing)), stack, logical_id)
            .await
            .unwrap();
        assert_eq!(drift.status, DriftStatus::Deleted, "{drift:#?}");
        assert_eq!(drift.reason, None, "{drift:#?}");
        let drift = read_one(&clients(&answered(403, refused)), stack, logical_id)
            .await
            .unwrap();
        assert_eq!(drift.status, DriftStatus::Unknown, "{drift:#?}");
        let named = format!("{call}: {refused}: ");
        assert!(
            drift
                .reason
                .as_deref()
                .is_some_and(|reason| reason.starts_with(&named)),
            "{drift:#?}"
        );
    }
}

/// A topic or queue policy that covers several topics or queues is read on
/// each: one changed by hand is drift even when another still holds the
/// declared policy, and none changed is no drift. (Every policy of both
/// stacks covers one topic or queue; this is the general case.)
#[tokio::test]
async fn a_policy_over_several_topics_or_queues_drifts_when_any_of_them_changed() {
    use aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesOutput;
    use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
    use aws_sdk_sqs::types::QueueAttributeName;
    let declared = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sns:Publish", "Resource": "*"}]});
    let mut opened = declared.clone();
    opened["Statement"][0]["Principal"] = json!("*");
    let topic = |n: u8| format!("arn:aws:sns:{REGION}:{ACCOUNT}:t{n}");
    let queue = |n: u8| format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q{n}");
    let stack = DeployedStack {
        resources: [
            ("T1", "AWS::SNS::Topic", topic(1)),
            ("T2", "AWS::SNS::Topic", topic(2)),
            ("Q1", "AWS::SQS::Queue", queue(1)),
            ("Q2", "AWS::SQS::Queue", queue(2)),
            (
                "TopicsPolicy",
                "AWS::SNS::TopicPolicy",
                "topics-policy".to_owned(),
            ),
            (
                "QueuesPolicy",
                "AWS::SQS::QueuePolicy",
                "queues-policy".to_owned(),
            ),
        ]
        .into_iter()
        .map(|(logical_id, resource_type, physical_id)| StackResource {
            logical_id: logical_id.to_owned(),
            physical_id: Some(physical_id),
            resource_type: resource_type.to_owned(),
            status: "CREATE_COMPLETE".into(),
            stack_id: None,
        })
        .collect(),
        template: json!({"Resources": {
            "T1": {"Type": "AWS::SNS::Topic"},
            "T2": {"Type": "AWS::SNS::Topic"},
            "Q1": {"Type": "AWS::SQS::Queue"},
            "Q2": {"Type": "AWS::SQS::Queue"},
            "TopicsPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
                "Topics": [{"Ref": "T1"}, {"Ref": "T2"}], "PolicyDocument": declared}},
            "QueuesPolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
                "Queues": [{"Ref": "Q1"}, {"Ref": "Q2"}], "PolicyDocument": declared}},
        }}),
        pseudo: PseudoValues::for_region(REGION).with_account_id(ACCOUNT),
    };
    // The second topic's and queue's policy `second`, the first's as declared.
    let answers = |second: &Json| {
        let policies = [declared.to_string(), second.to_string()];
        let sns = (1..=2u8)
            .map(|n| {
                let (arn, policy) = (topic(n), policies[usize::from(n - 1)].clone());
                mock!(aws_sdk_sns::Client::get_topic_attributes)
                    .match_requests(move |request| request.topic_arn() == Some(arn.as_str()))
                    .then_output(move || {
                        GetTopicAttributesOutput::builder()
                            .attributes("Policy", policy.clone())
                            .build()
                    })
            })
            .collect();
        let sqs = (1..=2u8)
            .map(|n| {
                let (url, policy) = (queue(n), policies[usize::from(n - 1)].clone());
                mock!(aws_sdk_sqs::Client::get_queue_attributes)
                    .match_requests(move |request| request.queue_url() == Some(url.as_str()))
                    .then_output(move || {
                        GetQueueAttributesOutput::builder()
                            .attributes(QueueAttributeName::Policy, policy.clone())
                            .build()
                    })
            })
            .collect();
        clients(&Answers {
            sns,
            sqs,
            ..Answers::default()
        })
    };
    for policy in ["TopicsPolicy", "QueuesPolicy"] {
        let unchanged = read_one(&answers(&declared), &stack, policy).await;
        assert_eq!(unchanged, None, "{policy}");
        let changed = read_one(&answers(&opened), &stack, policy).await.unwrap();
        assert_eq!(
            changed
                .properties
                .iter()
                .map(|p| p.actual.clone())
                .collect::<Vec<_>>(),
            [Some(opened.clone())],
            "{policy}: {changed:#?}"
        );
        assert!(changed.broadening(), "{policy}: {changed:#?}");
    }
}
