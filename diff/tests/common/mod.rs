//! A small stand-in for `upstack_resources::registry::lookup`, with the
//! create-only properties the vendored schemas list for the types the
//! fixtures use (AWS::*::* registry schemas, `createOnlyProperties`).

#![allow(dead_code)]

use std::path::PathBuf;

use upstack_cfn::ResourceInfo;

const fn info(type_name: &'static str, create_only: &'static [&'static str]) -> ResourceInfo {
    ResourceInfo {
        type_name,
        required: &[],
        create_only,
        primary_identifier: &[],
        attributes: &[],
        taggable: true,
    }
}

static TYPES: &[ResourceInfo] = &[
    info("AWS::S3::Bucket", &["BucketName", "ObjectLockEnabled"]),
    info("AWS::S3::BucketPolicy", &["Bucket"]),
    info(
        "AWS::DynamoDB::Table",
        &["TableName", "ImportSourceSpecification"],
    ),
    info("AWS::SNS::Topic", &["TopicName", "FifoTopic"]),
    info(
        "AWS::SNS::Subscription",
        &["Endpoint", "Protocol", "TopicArn"],
    ),
    info("AWS::SNS::TopicPolicy", &[]),
    info("AWS::SQS::Queue", &["FifoQueue", "QueueName"]),
    info("AWS::KMS::Key", &[]),
    info("AWS::Logs::LogGroup", &["LogGroupName"]),
    info("AWS::IAM::Role", &["Path", "RoleName"]),
    info("AWS::Lambda::Function", &["FunctionName"]),
    info(
        "AWS::Lambda::Permission",
        &[
            "SourceAccount",
            "FunctionUrlAuthType",
            "SourceArn",
            "Principal",
            "Action",
            "FunctionName",
            "EventSourceToken",
            "PrincipalOrgID",
        ],
    ),
];

pub fn lookup(type_name: &str) -> Option<&'static ResourceInfo> {
    TYPES.iter().find(|info| info.type_name == type_name)
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

pub fn load(case: &str, side: &str) -> serde_json::Value {
    let path = fixture_dir().join(case).join(format!("{side}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("parse {}: {error}", path.display()))
}

pub const CASES: [&str; 9] = [
    "no_change",
    "property_change",
    "replacement",
    "stateful_removed",
    "iam_added",
    "iam_widened",
    "iam_narrowed",
    "key_policy",
    "resource_added",
];
