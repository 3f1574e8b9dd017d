//! AWS's offline validator (cloudformation-validate) run in-process: a
//! template shaped like ours passes, and each kind of mistake it exists to
//! catch is reported with its rule, severity and path.

use serde_json::json;
use upstack_deploy::validate::{AwsValidator, FindingSeverity, aws_validate};

/// The shape of the pipeline stack: KMS key, upload bucket, FIFO topic and
/// queue, table, a Lambda function and its role.
const PIPELINE: &str = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": "upload pipeline",
  "Resources": {
    "Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {"EnableKeyRotation": true, "KeyPolicy": {"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}, "Action": "kms:*", "Resource": "*"}]}}},
    "UploadBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}}}]}, "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}}},
    "EventsTopic": {"Type": "AWS::SNS::Topic", "Properties": {"FifoTopic": true, "ContentBasedDeduplication": true, "KmsMasterKeyId": {"Ref": "Key"}, "TopicName": {"Fn::Sub": "${AWS::StackName}-events.fifo"}}},
    "Queue": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete", "Properties": {"FifoQueue": true, "KmsMasterKeyId": {"Ref": "Key"}, "MessageRetentionPeriod": 345600, "VisibilityTimeout": 60}},
    "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {"BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}, "SSESpecification": {"SSEEnabled": true}}},
    "IngestRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}, "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}], "Policies": [{"PolicyName": "ingest", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}, {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": {"Ref": "EventsTopic"}}]}}]}},
    "IngestFunction": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "provided.al2023", "Handler": "bootstrap", "Architectures": ["arm64"], "MemorySize": 256, "Timeout": 30, "Code": {"S3Bucket": "assets-123456789012-eu-west-1", "S3Key": "ingest/abc.zip"}, "Role": {"Fn::GetAtt": ["IngestRole", "Arn"]}, "Environment": {"Variables": {"TABLE_NAME": {"Ref": "Table"}, "TOPIC_ARN": {"Ref": "EventsTopic"}}}}}
  },
  "Outputs": {"BucketName": {"Value": {"Ref": "UploadBucket"}}}
}"#;

fn pipeline_with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut template: serde_json::Value = serde_json::from_str(PIPELINE).expect("PIPELINE is JSON");
    edit(&mut template);
    serde_json::to_string_pretty(&template).expect("a JSON value serializes")
}

#[test]
fn a_pipeline_shaped_template_has_no_warnings_or_errors() {
    let findings = aws_validate(PIPELINE).unwrap();
    assert_eq!(findings, vec![], "unexpected findings: {findings:#?}");
}

#[test]
fn a_property_of_the_wrong_type_is_an_error() {
    let template = pipeline_with(|t| {
        t["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = json!("one minute");
        t["Resources"]["Queue"]["Properties"]["FifoQueue"] = json!("maybe");
    });
    let findings = aws_validate(&template).unwrap();
    let paths: Vec<(&str, &str, FindingSeverity)> = findings
        .iter()
        .map(|f| (f.path.as_str(), f.rule.as_str(), f.severity))
        .collect();
    assert!(
        paths.contains(&(
            "Resources.Queue.Properties.VisibilityTimeout",
            "F3012",
            FindingSeverity::Error
        )),
        "{findings:#?}"
    );
    assert!(
        paths.contains(&(
            "Resources.Queue.Properties.FifoQueue",
            "F3012",
            FindingSeverity::Error
        )),
        "{findings:#?}"
    );
}

#[test]
fn a_missing_required_property_is_an_error() {
    let template = pipeline_with(|t| {
        let properties = t["Resources"]["IngestFunction"]["Properties"]
            .as_object_mut()
            .unwrap();
        properties.remove("Role");
        properties.remove("Code");
    });
    let findings = aws_validate(&template).unwrap();
    let missing: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule == "F3003" && f.path.starts_with("Resources.IngestFunction"))
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(missing.len(), 2, "{findings:#?}");
    assert!(missing.iter().any(|m| m.contains("'Code'")), "{missing:?}");
    assert!(missing.iter().any(|m| m.contains("'Role'")), "{missing:?}");
}

#[test]
fn findings_print_as_the_cli_shows_them() {
    let template = pipeline_with(|t| {
        t["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = json!("one minute");
        t["Resources"]["Queue"]["Properties"]["Nope"] = json!(1);
        t["Resources"]["Table"]["Properties"]["BillingMode"] = json!("ON_DEMAND");
        t["Outputs"]["QueueName"] = json!({"Value": {"Fn::GetAtt": ["Queue", "Name"]}});
    });
    let findings = aws_validate(&template).unwrap();
    let printed: Vec<String> = findings.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(printed.join("\n"));
}

#[test]
fn advice_is_available_below_the_default_threshold() {
    let validator = AwsValidator::shared().unwrap();
    let all = validator.validate(PIPELINE, FindingSeverity::Info).unwrap();
    assert!(
        all.iter().any(|f| f.severity == FindingSeverity::Info),
        "expected advice-level findings (e.g. missing Tags): {all:#?}"
    );
    let errors_only = validator
        .validate(PIPELINE, FindingSeverity::Error)
        .unwrap();
    assert_eq!(errors_only, vec![]);
}

#[test]
fn text_that_is_not_a_template_is_reported_not_passed() {
    for text in ["{\"Resources\": ", "[1, 2]"] {
        let findings = aws_validate(text).unwrap();
        let rules: Vec<(&str, &str, FindingSeverity)> = findings
            .iter()
            .map(|f| (f.rule.as_str(), f.path.as_str(), f.severity))
            .collect();
        assert_eq!(
            rules,
            vec![("F1101", "$", FindingSeverity::Error)],
            "{text}: {findings:#?}"
        );
    }
}

#[test]
fn an_unknown_resource_type_is_an_error() {
    let template = pipeline_with(|t| {
        t["Resources"]["Extra"] = json!({"Type": "AWS::SNS::Topicc"});
    });
    let findings = aws_validate(&template).unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f.rule == "F3006" && f.path == "Resources.Extra"),
        "{findings:#?}"
    );
}
