//! Every check in `upstack_cfn::validate` fails when its subject breaks, and a
//! template using every kind of reference correctly passes.

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use upstack_cfn::validate::{
    MAX_INLINE_BODY_BYTES, MAX_S3_BODY_BYTES, Problem, ValidationErrors, upload_body, validate,
    validate_body, validate_json,
};
use upstack_cfn::{Resource, ResourceInfo, ResourceRef, Template, Value};

// A fake registry: cfn cannot depend on the generated crate. Its types
// other than the log group take any properties.
fn accept_any(_: &Json) -> Result<(), upstack_cfn::ReadError> {
    Ok(())
}

static KEY: ResourceInfo = ResourceInfo {
    type_name: "AWS::KMS::Key",
    required: &[],
    create_only: &[],
    conditional_create_only: &[],
    primary_identifier: &["KeyId"],
    attributes: &["Arn", "KeyId"],
    taggable: true,
    stateful: false,
    name_property: None,
    check_properties: accept_any,
};
static TOPIC: ResourceInfo = ResourceInfo {
    type_name: "AWS::SNS::Topic",
    required: &[],
    create_only: &["FifoTopic"],
    conditional_create_only: &[],
    primary_identifier: &["TopicArn"],
    attributes: &["TopicArn", "TopicName"],
    taggable: true,
    stateful: false,
    name_property: None,
    check_properties: accept_any,
};
static QUEUE: ResourceInfo = ResourceInfo {
    type_name: "AWS::SQS::Queue",
    required: &[],
    create_only: &["FifoQueue"],
    conditional_create_only: &[],
    primary_identifier: &["QueueUrl"],
    attributes: &["Arn", "QueueName", "QueueUrl"],
    taggable: true,
    stateful: false,
    name_property: None,
    check_properties: accept_any,
};
static FUNCTION: ResourceInfo = ResourceInfo {
    type_name: "AWS::Lambda::Function",
    required: &["Code", "Role"],
    create_only: &["FunctionName"],
    conditional_create_only: &[],
    primary_identifier: &["FunctionName"],
    attributes: &["Arn", "SnapStartResponse.ApplyOn"],
    taggable: true,
    stateful: false,
    name_property: None,
    check_properties: accept_any,
};
static STACK: ResourceInfo = ResourceInfo {
    type_name: "AWS::CloudFormation::Stack",
    required: &[],
    create_only: &[],
    conditional_create_only: &[],
    primary_identifier: &["StackId"],
    attributes: &["StackId"],
    taggable: true,
    stateful: false,
    name_property: None,
    check_properties: accept_any,
};

static LOG_GROUP: ResourceInfo = ResourceInfo {
    type_name: "AWS::Logs::LogGroup",
    required: &[],
    create_only: &[],
    conditional_create_only: &[],
    primary_identifier: &["LogGroupName"],
    attributes: &["Arn"],
    taggable: true,
    stateful: false,
    name_property: None,
    // Read typed, as every generated type is.
    check_properties: upstack_cfn::resource::check_properties::<FakeLogGroup>,
};

/// Two properties of `AWS::Logs::LogGroup`, as the generated code declares them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FakeLogGroup {
    #[serde(rename = "RetentionInDays")]
    retention_in_days: Option<Value<i64>>,
    #[serde(rename = "Tags")]
    tags: Option<Value<Vec<Value<FakeTag>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FakeTag {
    #[serde(rename = "Key")]
    key: Value<String>,
    #[serde(rename = "Value")]
    value: Value<String>,
}

fn lookup(type_name: &str) -> Option<&'static ResourceInfo> {
    [&KEY, &TOPIC, &QUEUE, &FUNCTION, &STACK, &LOG_GROUP]
        .into_iter()
        .find(|info| info.type_name == type_name)
}

fn errors_of(template: Json) -> ValidationErrors {
    match validate_json(&template, lookup) {
        Ok(report) => panic!("expected validation errors, got {report:?}"),
        Err(errors) => errors,
    }
}

/// Each error as `path: message`, the form users read.
fn lines(errors: &ValidationErrors) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

fn with_resources(resources: Json) -> Json {
    json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})
}

fn valid_template() -> Json {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Stage": {"Type": "String"}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "IsNotProd": {"Fn::Not": [{"Condition": "IsProd"}]}
        },
        "Mappings": {"Sizes": {"prod": {"Memory": 512}}},
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key"},
            "EventsTopic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {
                    "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
                    "TopicName": {"Fn::Sub": "${AWS::StackName}-${Stage}-events.fifo"}
                }
            },
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Condition": "IsProd",
                "DependsOn": ["EventsTopic"],
                "Properties": {
                    "KmsMasterKeyId": {"Fn::GetAtt": "Key.Arn"},
                    "QueueName": {"Fn::Sub": ["${Prefix}-${!Literal}-${EventsTopic.TopicName}", {"Prefix": {"Ref": "Stage"}}]},
                    "VisibilityTimeout": {"Fn::If": ["IsProd", 60, {"Ref": "AWS::NoValue"}]}
                }
            },
            "Handler": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"ZipFile": "x"},
                    "Role": "arn:aws:iam::123456789012:role/r",
                    "MemorySize": {"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]},
                    "Policy": {"Statement": [{"Effect": "Allow", "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]}
                }
            },
            "Nested": {"Type": "AWS::CloudFormation::Stack"},
            "Seeder": {"Type": "Custom::Seeder", "Properties": {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}}}
        },
        "Outputs": {
            "QueueUrl": {"Condition": "IsProd", "Value": {"Ref": "Queue"}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-queue"}}},
            "ChildOutput": {"Value": {"Fn::GetAtt": ["Nested", "Outputs.BucketName"]}},
            "Apply": {"Value": {"Fn::GetAtt": ["Handler", "SnapStartResponse.ApplyOn"]}}
        }
    })
}

#[test]
fn a_valid_template_passes_and_reports_its_body_size() {
    let template = valid_template();
    let report = validate_json(&template, lookup).unwrap();
    assert_eq!(report.body_bytes, upload_body(&template).len());
    assert!(!report.needs_s3_upload);
}

#[test]
fn dangling_ref_names_the_resource_and_the_path() {
    let errors = errors_of(with_resources(json!({
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Ref": "DeadLetters"}}}}
    })));
    assert_eq!(errors.len(), 1);
    let error = &errors.0[0];
    assert_eq!(error.logical_id.as_deref(), Some("Queue"));
    assert_eq!(
        error.path,
        "Resources.Queue.Properties.RedrivePolicy.deadLetterTargetArn.Ref"
    );
    assert_eq!(
        error.problem,
        Problem::DanglingRef {
            via: "Ref",
            name: "DeadLetters".into()
        }
    );
}

#[test]
fn ref_in_outputs_and_unknown_pseudo_parameters_are_checked() {
    let mut template = with_resources(json!({"Key": {"Type": "AWS::KMS::Key"}}));
    template["Outputs"] = json!({
        "Region": {"Value": {"Ref": "AWS::Regoin"}},
        "Missing": {"Value": {"Fn::Join": [":", [{"Ref": "Gone"}]]}}
    });
    let errors = errors_of(template);
    assert_eq!(
        lines(&errors),
        vec![
            "Outputs.Missing.Value.Fn::Join[1][0].Ref: `Ref` refers to `Gone`, which is not a resource, a parameter or a pseudo parameter",
            "Outputs.Region.Value.Ref: `Ref` refers to `AWS::Regoin`, which is not a resource, a parameter or a pseudo parameter",
        ]
    );
}

#[test]
fn get_att_to_a_missing_resource_or_a_parameter_fails() {
    let mut template = with_resources(json!({
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {
            "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
            "QueueName": {"Fn::GetAtt": "Stage.Value"}
        }}
    }));
    template["Parameters"] = json!({"Stage": {"Type": "String"}});
    let errors = errors_of(template);
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Queue.Properties.KmsMasterKeyId.Fn::GetAtt: `Fn::GetAtt` reads `Arn` of `Key`, which is not a resource in this template",
            "Resources.Queue.Properties.QueueName.Fn::GetAtt: `Fn::GetAtt` reads `Value` of `Stage`, which is a parameter; only resources have attributes",
        ]
    );
}

#[test]
fn get_att_to_an_attribute_the_type_lacks_lists_the_known_ones() {
    let errors = errors_of(with_resources(json!({
        "Key": {"Type": "AWS::KMS::Key"},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "KeyArn"]}}}
    })));
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Topic.Properties.KmsMasterKeyId.Fn::GetAtt: `Fn::GetAtt` reads `KeyArn` of `Key` (AWS::KMS::Key), which has no such attribute; known attributes: Arn, KeyId",
        ]
    );
}

#[test]
fn get_att_on_custom_resources_accepts_any_attribute() {
    let template = with_resources(json!({
        "Seeder": {"Type": "Custom::Seeder", "Properties": {"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:f"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["Seeder", "AnythingAtAll"]}}}
    }));
    validate_json(&template, lookup).unwrap();
}

#[test]
fn sub_placeholders_are_checked_like_ref_and_get_att() {
    let errors = errors_of(with_resources(json!({
        "Key": {"Type": "AWS::KMS::Key"},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": {"Fn::Sub": "${Missing}-${!Escaped}-${AWS::Region}"},
            "KmsMasterKeyId": {"Fn::Sub": ["${Local}/${Key.Arnn}", {"Local": {"Ref": "AlsoMissing"}}]},
            "RedrivePolicy": {"Fn::Sub": ["${Local.Arn}", {"Local.Arn": "defined in the map"}]}
        }}
    })));
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Queue.Properties.KmsMasterKeyId.Fn::Sub[1].Local.Ref: `Ref` refers to `AlsoMissing`, which is not a resource, a parameter or a pseudo parameter",
            "Resources.Queue.Properties.KmsMasterKeyId.Fn::Sub[0]: `Fn::Sub` reads `Arnn` of `Key` (AWS::KMS::Key), which has no such attribute; known attributes: Arn, KeyId",
            "Resources.Queue.Properties.QueueName.Fn::Sub: `Fn::Sub` refers to `Missing`, which is not a resource, a parameter or a pseudo parameter",
        ]
    );
}

#[test]
fn depends_on_a_missing_resource_fails_in_both_forms() {
    let errors = errors_of(with_resources(json!({
        "Key": {"Type": "AWS::KMS::Key", "DependsOn": "Ghost"},
        "Topic": {"Type": "AWS::SNS::Topic", "DependsOn": ["Key", "Phantom"]}
    })));
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Key.DependsOn: `DependsOn` names `Ghost`, which is not a resource in this template",
            "Resources.Topic.DependsOn[1]: `DependsOn` names `Phantom`, which is not a resource in this template",
        ]
    );
}

#[test]
fn conditions_must_exist_and_may_not_refer_to_resources() {
    let template = json!({
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Key"}, "x"]},
            "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsStaging"}]}
        },
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Condition": "IsDev"},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::If": ["IsTest", "a", "b"]}}}
        },
        "Outputs": {"Out": {"Condition": "IsQa", "Value": "v"}}
    });
    let errors = errors_of(template);
    assert_eq!(
        lines(&errors),
        vec![
            "Conditions.Either.Fn::Or[1].Condition: `Condition` names condition `IsStaging`, which is not declared under `Conditions`",
            "Conditions.IsProd.Fn::Equals[0].Ref: `Conditions` may only `Ref` parameters and pseudo parameters, but this refers to resource `Key`",
            "Resources.Key.Condition: `Condition` names condition `IsDev`, which is not declared under `Conditions`",
            "Resources.Topic.Properties.TopicName.Fn::If[0]: `Fn::If` names condition `IsTest`, which is not declared under `Conditions`",
            "Outputs.Out.Condition: `Condition` names condition `IsQa`, which is not declared under `Conditions`",
        ]
    );
}

#[test]
fn a_condition_key_inside_properties_is_data_not_a_reference() {
    let template = with_resources(json!({
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"Filter": {"Condition": "NotACondition"}}}
    }));
    validate_json(&template, lookup).unwrap();
}

#[test]
fn find_in_map_names_a_declared_mapping() {
    let errors = errors_of(with_resources(json!({
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::FindInMap": ["Names", "a", "b"]}}}
    })));
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Topic.Properties.TopicName.Fn::FindInMap[0]: `Fn::FindInMap` names mapping `Names`, which is not declared under `Mappings`",
        ]
    );
}

#[test]
fn unknown_types_fail_but_custom_resources_pass() {
    let errors = errors_of(with_resources(json!({
        "Bucket": {"Type": "AWS::S3::Buckett"},
        "Seeder": {"Type": "Custom::Seeder", "Properties": {"ServiceToken": "arn"}}
    })));
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Bucket.Type: resource type `AWS::S3::Buckett` is unknown (not in the vendored registry schemas and not `Custom::`)",
        ]
    );
}

#[test]
fn serverless_types_pass_only_with_a_transform() {
    let function = json!({"Fn": {"Type": "AWS::Serverless::Function"}});
    let errors = errors_of(with_resources(function.clone()));
    assert!(matches!(
        errors.0[0].problem,
        Problem::UnknownResourceType { .. }
    ));
    let mut transformed = with_resources(function);
    transformed["Transform"] = json!("AWS::Serverless-2016-10-31");
    validate_json(&transformed, lookup).unwrap();
}

#[test]
fn missing_required_properties_are_named() {
    let errors = errors_of(with_resources(json!({
        "Handler": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}}},
        "Bare": {"Type": "AWS::Lambda::Function"},
        "Chosen": {"Type": "AWS::Lambda::Function", "Properties": {"Fn::If": ["C", {}, {}]}}
    })));
    // `Chosen` is left alone: its properties are decided at deploy time (the
    // dangling condition is reported, nothing else).
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Bare.Properties: required property `Code` of AWS::Lambda::Function is missing",
            "Resources.Bare.Properties: required property `Role` of AWS::Lambda::Function is missing",
            "Resources.Chosen.Properties.Fn::If[0]: `Fn::If` names condition `C`, which is not declared under `Conditions`",
            "Resources.Handler.Properties: required property `Role` of AWS::Lambda::Function is missing",
        ]
    );
}

/// A generated type's properties are read as that type: an unknown
/// property, a value of the wrong shape, a nested required property are
/// each named by their path. Intrinsics stand in for any value.
#[test]
fn properties_of_a_known_type_must_read_as_that_type() {
    let errors = errors_of(with_resources(json!({
        "Typo": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionDays": 7}},
        "Shape": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": "a week"}},
        "Nested": {"Type": "AWS::Logs::LogGroup", "Properties": {"Tags": [{"Key": "a", "Value": "b"}, {"Key": "c"}]}},
        "Deep": {"Type": "AWS::Logs::LogGroup", "Properties": {"Tags": [{"Key": "a", "Value": ["b"]}]}},
        "Computed": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "RetentionInDays": {"Fn::If": ["C", 7, {"Ref": "AWS::NoValue"}]},
            "Tags": [{"Key": {"Ref": "AWS::StackName"}, "Value": "b"}]
        }},
        "Empty": {"Type": "AWS::Logs::LogGroup"}
    })));
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Computed.Properties.RetentionInDays.Fn::If[0]: `Fn::If` names condition `C`, which is not declared under `Conditions`",
            "Resources.Deep.Properties.Tags[0].Value: does not match AWS::Logs::LogGroup's schema: invalid type: sequence, expected a string",
            "Resources.Nested.Properties.Tags[1]: does not match AWS::Logs::LogGroup's schema: missing field `Value`",
            "Resources.Shape.Properties.RetentionInDays: does not match AWS::Logs::LogGroup's schema: invalid type: string \"a week\", expected i64",
            "Resources.Typo.Properties.RetentionDays: does not match AWS::Logs::LogGroup's schema: unknown field `RetentionDays`, expected `RetentionInDays` or `Tags`",
        ]
    );
}

#[test]
fn a_two_resource_cycle_prints_in_order_from_the_smallest_id() {
    let errors = errors_of(with_resources(json!({
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": {"Fn::Sub": "for ${EventsTopic}"}}},
        "EventsTopic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}}
    })));
    assert_eq!(
        lines(&errors),
        vec!["Resources.EventsTopic: dependency cycle: EventsTopic -> Key -> EventsTopic",]
    );
    assert_eq!(errors.0[0].logical_id.as_deref(), Some("EventsTopic"));
}

#[test]
fn cycles_through_depends_on_and_self_references_are_found() {
    let errors = errors_of(with_resources(json!({
        "Queue": {"Type": "AWS::SQS::Queue", "DependsOn": "Topic"},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::GetAtt": ["Zeta", "QueueName"]}}},
        "Zeta": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Queue"}}},
        "Selfish": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["Selfish", "Arn"]}}},
        "Bystander": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Queue"}}}
    })));
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Queue: dependency cycle: Queue -> Topic -> Zeta -> Queue",
            "Resources.Selfish: dependency cycle: Selfish -> Selfish",
        ]
    );
}

#[test]
fn references_from_outputs_do_not_make_cycles() {
    let mut template = with_resources(json!({
        "Key": {"Type": "AWS::KMS::Key"},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Ref": "Key"}}}
    }));
    template["Outputs"] =
        json!({"Key": {"Value": {"Ref": "Key"}}, "Topic": {"Value": {"Ref": "Topic"}}});
    validate_json(&template, lookup).unwrap();
}

#[test]
fn logical_ids_must_be_alphanumeric_and_at_most_255_chars() {
    let longest = "A".repeat(255);
    let too_long = "B".repeat(256);
    let mut resources = serde_json::Map::new();
    for id in [
        "Events-Topic",
        "Ünicode",
        longest.as_str(),
        too_long.as_str(),
    ] {
        resources.insert(id.to_owned(), json!({"Type": "AWS::SNS::Topic"}));
    }
    let mut template = with_resources(Json::Object(resources));
    template["Outputs"] = json!({"queue_url": {"Value": "x"}});
    let errors = errors_of(template);
    assert_eq!(lines(&errors), vec![
        format!("Resources.{too_long}: logical ID `{too_long}` is 256 characters long; at most 255 are allowed"),
        "Resources[\"Events-Topic\"]: logical ID `Events-Topic` contains `-`; only A-Z, a-z and 0-9 are allowed".to_owned(),
        "Resources[\"Ünicode\"]: logical ID `Ünicode` contains `Ü`; only A-Z, a-z and 0-9 are allowed".to_owned(),
        "Outputs.queue_url: logical ID `queue_url` contains `_`; only A-Z, a-z and 0-9 are allowed".to_owned(),
    ]);
}

/// A minimal typed resource, to exercise `Template::add`.
#[derive(Serialize, Deserialize, Default)]
struct FakeTopic {}

struct FakeTopicRef(String);

impl ResourceRef for FakeTopicRef {
    fn new(logical_id: String) -> Self {
        FakeTopicRef(logical_id)
    }
    fn logical_id(&self) -> &str {
        &self.0
    }
}

impl Resource for FakeTopic {
    const TYPE_NAME: &'static str = "AWS::SNS::Topic";
    type Ref = FakeTopicRef;
    fn info() -> &'static ResourceInfo {
        &TOPIC
    }
}

#[test]
fn duplicates_recorded_by_template_add_are_reported() {
    let mut template = Template::new();
    template.add("Topic", FakeTopic::default());
    template.add("Topic", FakeTopic::default());
    template.add("Other", FakeTopic::default());
    let errors = validate(&template, lookup).unwrap_err();
    assert_eq!(
        lines(&errors),
        vec!["Resources.Topic: `Topic` is declared more than once"]
    );
    assert_eq!(template.validate(lookup).unwrap_err(), errors);
}

#[test]
fn a_template_built_in_code_passes() {
    let mut template = Template::new().description("events");
    let topic = template.add("Topic", FakeTopic::default());
    template.add_output(
        "TopicArn",
        upstack_cfn::Output::new(upstack_cfn::value::reference::<String>(topic.logical_id())),
    );
    let report = validate(&template, lookup).unwrap();
    assert_eq!(report.body_bytes, upload_body(&template.to_json()).len());
}

#[test]
fn a_parameter_and_a_resource_may_not_share_a_name() {
    let mut template = with_resources(json!({"Stage": {"Type": "AWS::SNS::Topic"}}));
    template["Parameters"] = json!({"Stage": {"Type": "String"}});
    let errors = errors_of(template);
    assert_eq!(
        lines(&errors),
        vec![
            "Resources.Stage: `Stage` is both a parameter and a resource; `Ref` to it would be ambiguous",
        ]
    );
}

fn section_of(count: usize, entry: impl Fn(usize) -> Json) -> Json {
    Json::Object(
        (0..count)
            .map(|index| (format!("E{index}"), entry(index)))
            .collect(),
    )
}

#[test]
fn resource_count_is_limited_to_500() {
    let topic = |_| json!({"Type": "AWS::SNS::Topic"});
    validate_json(&with_resources(section_of(500, topic)), lookup).unwrap();
    let errors = errors_of(with_resources(section_of(501, topic)));
    assert_eq!(
        lines(&errors),
        vec!["Resources: 501 resources declared; CloudFormation allows at most 500"]
    );
}

#[test]
fn output_parameter_and_mapping_counts_are_limited_to_200() {
    let mut at_limit = with_resources(json!({"Topic": {"Type": "AWS::SNS::Topic"}}));
    at_limit["Outputs"] = section_of(200, |_| json!({"Value": "v"}));
    at_limit["Parameters"] = section_of(200, |_| json!({"Type": "String"}));
    at_limit["Mappings"] = section_of(200, |_| json!({"k": {"v": 1}}));
    validate_json(&at_limit, lookup).unwrap();

    let mut over = at_limit;
    over["Outputs"] = section_of(201, |_| json!({"Value": "v"}));
    over["Parameters"] = section_of(201, |_| json!({"Type": "String"}));
    over["Mappings"] = section_of(201, |_| json!({"k": {"v": 1}}));
    let errors = errors_of(over);
    assert_eq!(
        lines(&errors),
        vec![
            "Outputs: 201 outputs declared; CloudFormation allows at most 200",
            "Parameters: 201 parameters declared; CloudFormation allows at most 200",
            "Mappings: 201 mappings declared; CloudFormation allows at most 200",
        ]
    );
}

#[test]
fn description_is_limited_to_1024_bytes() {
    let mut template = with_resources(json!({"Topic": {"Type": "AWS::SNS::Topic"}}));
    template["Description"] = json!("d".repeat(1024));
    validate_json(&template, lookup).unwrap();
    template["Description"] = json!("é".repeat(513));
    let errors = errors_of(template);
    assert_eq!(
        lines(&errors),
        vec!["Description: `Description` is 1026 bytes; CloudFormation allows at most 1024"]
    );
}

/// A template whose compact body is exactly `bytes` long, padded through a
/// resource's `Metadata` (which CloudFormation stores but does not interpret).
fn template_of_size(bytes: usize) -> Json {
    let mut template =
        with_resources(json!({"Topic": {"Type": "AWS::SNS::Topic", "Metadata": {"Pad": ""}}}));
    let base = upload_body(&template).len();
    assert!(
        bytes >= base,
        "cannot build a template smaller than {base} bytes"
    );
    template["Resources"]["Topic"]["Metadata"]["Pad"] = json!("x".repeat(bytes - base));
    assert_eq!(upload_body(&template).len(), bytes);
    template
}

#[test]
fn bodies_over_51200_bytes_need_an_s3_upload() {
    let inline = validate_json(&template_of_size(MAX_INLINE_BODY_BYTES), lookup).unwrap();
    assert_eq!(inline.body_bytes, 51_200);
    assert!(!inline.needs_s3_upload);
    let uploaded = validate_json(&template_of_size(MAX_INLINE_BODY_BYTES + 1), lookup).unwrap();
    assert_eq!(uploaded.body_bytes, 51_201);
    assert!(uploaded.needs_s3_upload);
}

#[test]
fn bodies_over_1_mb_are_refused() {
    let largest = validate_json(&template_of_size(MAX_S3_BODY_BYTES), lookup).unwrap();
    assert!(largest.needs_s3_upload);
    let errors = errors_of(template_of_size(MAX_S3_BODY_BYTES + 1));
    assert_eq!(
        lines(&errors),
        vec![
            "$: the template body is 1000001 bytes; CloudFormation accepts at most 1000000 even through S3: split it into nested stacks",
        ]
    );
}

#[test]
fn validate_body_measures_the_text_as_given() {
    let template = template_of_size(MAX_INLINE_BODY_BYTES);
    let pretty = serde_json::to_string_pretty(&template).unwrap();
    let report = validate_body(&pretty, lookup).unwrap();
    assert_eq!(report.body_bytes, pretty.len());
    assert!(
        report.needs_s3_upload,
        "pretty printing pushed the body over the inline limit"
    );

    let errors = validate_body("{\"Resources\": ", lookup).unwrap_err();
    assert!(
        matches!(errors.0[0].problem, Problem::NotJson(_)),
        "{errors}"
    );
}

#[test]
fn a_template_without_resources_fails() {
    let errors = errors_of(json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}));
    assert_eq!(
        lines(&errors),
        vec!["Resources: the template declares no resources; CloudFormation requires at least one"]
    );
    let errors = errors_of(json!(["not", "a", "template"]));
    assert_eq!(
        lines(&errors),
        vec!["$: expected a JSON object, found a list"]
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let mut template = with_resources(json!({
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": {"Fn::Sub": "${EventsTopic.TopicName}"}}},
        "EventsTopic": {"Type": "AWS::SNS::Topic", "DependsOn": "Gone", "Properties": {"KmsMasterKeyId": {"Ref": "Key"}}},
        "Bad-Id": {"Type": "AWS::Nope::Thing"},
        "Handler": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["Key", "Role"]}}}
    }));
    template["Outputs"] = json!({"Out": {"Value": {"Ref": "Missing"}}});
    let errors = errors_of(template);
    insta::assert_snapshot!(errors.to_string());
}
