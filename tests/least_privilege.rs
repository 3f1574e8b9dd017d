//! Least privilege, proven from both sides. Each handler's moto tests record
//! every AWS call it makes (handler_common's SDK interceptor), and one test
//! per handler (`iam_actions_are_exactly_what_the_scenarios_call`) asserts
//! that its scenarios together call exactly its exported `IAM_ACTIONS`, no
//! more and no fewer; this test checks `IAM_ACTIONS`
//! against the role the committed, synthesized template gives that function:
//! every action allowed on that handler's resources, and nothing else granted.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Granted on the function's behalf, not called by handler code: log writes to
/// its own group (the Lambda service), the on-failure destination (Lambda
/// sends with the function's role), KMS use by S3/SNS/DynamoDB encrypting and
/// decrypting for it, and X-Ray segments when tracing is on.
const PLATFORM_ACTIONS: &[&str] = &[
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
];

/// Actions with no resource-level permissions, the only ones allowed on `*`.
const NO_RESOURCE_LEVEL: &[&str] = &[
    "rekognition:DetectFaces",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
];

struct Handler {
    handler: &'static str,
    iam_actions: &'static [&'static str],
    /// The only prefix whose objects it may read.
    prefix: &'static str,
}

const HANDLERS: [Handler; 3] = [
    Handler {
        handler: "notify",
        iam_actions: upstack_notify::IAM_ACTIONS,
        prefix: "uploads/",
    },
    Handler {
        handler: "ingest",
        iam_actions: upstack_ingest::IAM_ACTIONS,
        prefix: "data/",
    },
    Handler {
        handler: "photo-check",
        iam_actions: upstack_photo_check::IAM_ACTIONS,
        prefix: "photos/",
    },
];

fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn strings(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// (action, resources) for every Allow statement of the function's role.
fn role_statements(template: &Value, function_id: &str) -> Vec<(String, Vec<Value>)> {
    let role_id = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{function_id}: Role is not a GetAtt of a role in this stack"));
    let role = &template["Resources"][role_id];
    assert!(
        role["Properties"]["ManagedPolicyArns"].is_null(),
        "{role_id}: managed policies would grant what this test cannot see"
    );
    let mut statements = Vec::new();
    for policy in role["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for statement in policy["PolicyDocument"]["Statement"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(
                statement["Effect"], "Allow",
                "{role_id}: unexpected statement {statement}"
            );
            let resources = strings(&statement["Resource"]);
            for action in strings(&statement["Action"]) {
                let action = action.as_str().unwrap_or_default().to_owned();
                statements.push((action, resources.clone()));
            }
        }
    }
    statements
}

#[test]
fn every_role_grants_exactly_what_its_handler_calls() {
    for env in ["dev", "prod"] {
        let template = read_json(&format!("synth-out/{env}/template.json"));
        let manifest =
            upstack_project::manifest::load(Path::new(env!("CARGO_MANIFEST_DIR")), env).unwrap();
        for handler in &HANDLERS {
            let function_id = manifest
                .function(handler.handler)
                .map(|function| function.logical_id.as_str())
                .unwrap_or_else(|| {
                    panic!("{env}: no function for {} in the manifest", handler.handler)
                });
            let statements = role_statements(&template, function_id);
            let where_ = format!("{env} {function_id}");

            let granted: BTreeSet<&str> = statements
                .iter()
                .map(|(action, _)| action.as_str())
                .filter(|action| !PLATFORM_ACTIONS.contains(action))
                .collect();
            let called: BTreeSet<&str> = handler.iam_actions.iter().copied().collect();
            assert_eq!(
                granted, called,
                "{where_}: role actions (left) vs handler calls (right)"
            );

            for (action, resources) in &statements {
                assert!(
                    action != "*" && !action.ends_with(":*"),
                    "{where_}: wildcard action {action}"
                );
                for resource in resources {
                    if resource == "*" {
                        assert!(
                            NO_RESOURCE_LEVEL.contains(&action.as_str()),
                            "{where_}: {action} on resource * although it supports resource-level permissions"
                        );
                    }
                    if action.starts_with("s3:") {
                        let arn = resource["Fn::Sub"].as_str().unwrap_or_default();
                        assert!(
                            arn.ends_with(&format!("/{}*", handler.prefix)),
                            "{where_}: {action} on {resource}, not only objects under {}",
                            handler.prefix
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_grant_the_handler_never_uses_is_caught() {
    // The comparison above must see an extra action: add one to a copy of the
    // dev template and check the sets differ.
    let mut template = read_json("synth-out/dev/template.json");
    let policies = &mut template["Resources"]["NotifyRole"]["Properties"]["Policies"];
    let statement =
        serde_json::json!({"Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": ["*"]});
    policies[0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .expect("NotifyRole has an inline policy")
        .push(statement);
    let granted: BTreeSet<String> = role_statements(&template, "NotifyFunction")
        .into_iter()
        .map(|(action, _)| action)
        .filter(|action| !PLATFORM_ACTIONS.contains(&action.as_str()))
        .collect();
    assert!(granted.contains("s3:DeleteObject"));
    assert!(!upstack_notify::IAM_ACTIONS.contains(&"s3:DeleteObject"));
}

/// Every handler records its uploads in the idempotency store, which may
/// put, get, update and (releasing a failed claim) delete an item; a
/// handler whose `IAM_ACTIONS` missed one would get AccessDenied only on
/// the path that needs it, which its moto tests may never take.
#[test]
fn every_handler_may_use_the_idempotency_store() {
    for handler in &HANDLERS {
        for action in handler_common::sdk::IDEMPOTENCY_IAM_ACTIONS {
            assert!(
                handler.iam_actions.contains(&action),
                "{}: IAM_ACTIONS lacks {action}",
                handler.handler
            );
        }
    }
}
