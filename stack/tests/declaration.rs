//! Everything the stack synthesizes comes from the one declaration
//! (`upstack_stack::pipeline::PIPELINE`): a function declared there gets its
//! role, route, permission, alarms, dashboard lines and manifest entry, and
//! the table's key schema is the declared one.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::Value as Json;
use upstack_stack::pipeline::{self, Declaration, Function, PIPELINE, Table, ends};
use upstack_stack::{Pipeline, StackPlan, config};

const DEV: &str = include_str!("../../envs/dev.toml");

fn synth(declaration: &Declaration) -> StackPlan {
    let config = config::parse("envs/dev.toml", DEV).unwrap();
    let assets: BTreeMap<String, String> = declaration
        .handlers()
        .iter()
        .map(|h| ((*h).to_owned(), format!("assets/{h}-arm64-00.zip")))
        .collect();
    let model = Pipeline::declared(declaration, "dev", &config);
    upstack_stack::synthesize_pipeline(&model, &config, &assets).unwrap()
}

fn template(plan: &StackPlan) -> Json {
    serde_json::from_str(&plan.template_json).unwrap()
}

/// The declaration with one more function, as the fourth-handler recipe
/// (docs/customizing.md) adds it: one line, no grants.
fn with_thumbnail() -> Declaration {
    const THUMBNAIL: Function = Function::new("thumbnail").on(&[ends("photos/", ".webp")]);
    let functions: Vec<Function> = PIPELINE
        .functions
        .iter()
        .copied()
        .chain([THUMBNAIL])
        .collect();
    Declaration {
        functions: functions.leak(),
        ..PIPELINE
    }
}

#[test]
fn the_declared_handlers_are_the_stacks_functions() {
    let plan = synth(&PIPELINE);
    let handlers: Vec<&str> = plan
        .manifest
        .functions
        .iter()
        .map(|function| function.handler.as_str())
        .collect();
    assert_eq!(handlers, pipeline::handlers());
}

#[test]
fn a_declared_function_gets_everything_a_function_has() {
    let plan = synth(&with_thumbnail());
    let template = template(&plan);
    let resources = &template["Resources"];
    for logical_id in [
        "ThumbnailFunction",
        "ThumbnailRole",
        "ThumbnailLogGroup",
        "ThumbnailInvokeConfig",
        "ThumbnailUploadBucketPermission",
        "ThumbnailErrorsAlarm",
        "ThumbnailThrottlesAlarm",
        "ThumbnailAsyncEventsDroppedAlarm",
    ] {
        assert!(resources.get(logical_id).is_some(), "no {logical_id}");
    }
    let routes = resources["UploadBucket"]["Properties"]["NotificationConfiguration"]
        ["LambdaConfigurations"]
        .as_array()
        .unwrap();
    let thumbnail = routes
        .iter()
        .find(|route| route["Function"]["Fn::GetAtt"][0] == "ThumbnailFunction")
        .expect("a route to the thumbnail function");
    assert_eq!(
        thumbnail["Filter"]["S3Key"]["Rules"],
        serde_json::json!([{"Name": "prefix", "Value": "photos/"}, {"Name": "suffix", "Value": ".webp"}])
    );
    // No grants declared: logs, the failure queue and the key only.
    let statements =
        resources["ThumbnailRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
    let actions: Vec<&Json> = statements.iter().map(|s| &s["Action"]).collect();
    assert_eq!(
        actions,
        [
            &serde_json::json!(["logs:CreateLogStream", "logs:PutLogEvents"]),
            &serde_json::json!(["sqs:SendMessage"]),
            &serde_json::json!(["kms:Decrypt", "kms:GenerateDataKey"]),
        ]
    );
    assert!(
        plan.manifest
            .functions
            .iter()
            .any(|function| function.handler == "thumbnail"
                && function.function_name == "upstack-dev-thumbnail")
    );
    let dashboard = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .unwrap();
    assert!(dashboard.contains("upstack-dev-thumbnail"), "{dashboard}");
}

#[test]
fn the_table_has_the_declared_key_schema() {
    let declaration = Declaration {
        table: Table {
            partition_key: "tenant",
            sort_key: "id",
        },
        ..PIPELINE
    };
    let template = template(&synth(&declaration));
    let table = &template["Resources"]["Table"]["Properties"];
    assert_eq!(
        table["KeySchema"],
        serde_json::json!([
            {"AttributeName": "tenant", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"}
        ])
    );
    assert_eq!(table["AttributeDefinitions"][0]["AttributeName"], "tenant");
    assert_eq!(table["AttributeDefinitions"][1]["AttributeName"], "id");
}
