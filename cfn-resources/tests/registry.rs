//! The registry facts the diff engine and validation rely on.

use upstack_cfn::Resource;
use upstack_cfn_resources::{dynamodb, lambda, registry, s3, sqs};

#[test]
fn all_is_sorted_and_lookup_finds_every_type() {
    let names: Vec<&str> = registry::ALL.iter().map(|info| info.type_name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        names, sorted,
        "registry::ALL must be sorted and unique for binary search"
    );
    for info in registry::ALL {
        assert_eq!(registry::lookup(info.type_name), Some(*info));
    }
    assert_eq!(registry::lookup("AWS::S3::Nope"), None);
    assert_eq!(
        registry::lookup("aws::s3::bucket"),
        None,
        "type names are case-sensitive"
    );
}

#[test]
fn each_type_reports_the_registry_entry_for_its_name() {
    assert_eq!(
        registry::lookup(s3::Bucket::TYPE_NAME),
        Some(s3::Bucket::info())
    );
    assert_eq!(
        registry::lookup(lambda::Function::TYPE_NAME),
        Some(lambda::Function::info())
    );
}

#[test]
fn facts_come_from_the_schema() {
    let bucket = s3::Bucket::info();
    assert!(bucket.is_create_only("BucketName"));
    assert!(!bucket.is_create_only("VersioningConfiguration"));
    assert_eq!(bucket.primary_identifier, ["BucketName"]);
    assert!(bucket.has_attribute("Arn") && bucket.has_attribute("DomainName"));
    assert!(bucket.has_attribute("MetadataTableConfiguration.S3TablesDestination.TableArn"));
    assert!(bucket.taggable);
    assert!(bucket.required.is_empty());

    let function = lambda::Function::info();
    assert_eq!(function.required, ["Code", "Role"]);
    assert!(function.is_create_only("PackageType"));

    let permission = lambda::Permission::info();
    assert!(!permission.taggable);
    assert_eq!(permission.primary_identifier, ["FunctionName", "Id"]);

    let table = dynamodb::Table::info();
    assert_eq!(table.required, ["KeySchema"]);
    assert!(table.has_attribute("StreamArn"));

    let queue = sqs::Queue::info();
    assert!(queue.is_create_only("FifoQueue"));
    assert!(queue.has_attribute("QueueUrl"));
}

#[test]
fn merged_replacement_facts_stateful_types_and_name_properties() {
    let table = registry::lookup("AWS::DynamoDB::Table").unwrap();
    // Conditional in the schema, "Replacement" in the documentation: the stricter wins.
    assert!(table.is_create_only("KeySchema"));
    assert!(table.stateful);
    assert_eq!(table.name_property, Some("TableName"));
    let function = registry::lookup("AWS::Lambda::Function").unwrap();
    assert!(function.is_conditionally_create_only("DurableConfig"));
    assert!(!function.is_create_only("DurableConfig"));
    assert!(!function.stateful);
    let stateful: Vec<&str> = registry::ALL
        .iter()
        .filter(|info| info.stateful)
        .map(|info| info.type_name)
        .collect();
    assert_eq!(
        stateful,
        [
            "AWS::DynamoDB::Table",
            "AWS::KMS::Key",
            "AWS::Logs::LogGroup",
            "AWS::S3::Bucket",
            "AWS::SQS::Queue"
        ]
    );
}
