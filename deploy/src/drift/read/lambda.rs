//! `AWS::Lambda::Function` (GetFunction, GetPolicy, and the asset's
//! SHA-256 in the asset bucket), `AWS::Lambda::Permission` (GetPolicy) and
//! `AWS::Lambda::EventInvokeConfig` (GetFunctionEventInvokeConfig).

use serde_json::{Map, Value as Json, json};

use super::{Outcome, Reader, Reading, boxed, json_text, key_as_declared, set_some};
use crate::assets::hex_of_checksum;
use crate::aws::{CallError, call};
use crate::drift::{DriftClients, Target};

pub(super) const READERS: &[Reader] = &[
    Reader {
        resource_type: "AWS::Lambda::Function",
        always: &[
            "Code",
            "MemorySize",
            "Timeout",
            "Runtime",
            "Handler",
            "Role",
            "Architectures",
            "Environment",
            "EphemeralStorage",
            "TracingConfig",
            "ReservedConcurrentExecutions",
            "Layers",
            "VpcConfig",
            "DeadLetterConfig",
            "KmsKeyArn",
            RESOURCE_POLICY,
        ],
        // Lambda fills these in (a description of "", a log group named
        // after the function) when the template leaves them out.
        when_declared: &["Description", "LoggingConfig"],
        unordered: &["Layers"],
        defaults: &[
            ("MemorySize", "128"),
            ("Timeout", "3"),
            ("Architectures", r#"["x86_64"]"#),
            ("EphemeralStorage", r#"{"Size": 512}"#),
            ("TracingConfig", r#"{"Mode": "PassThrough"}"#),
        ],
        actions: &["lambda:GetFunction", "lambda:GetPolicy", "s3:GetObject"],
        read: boxed!(read_function),
    },
    Reader {
        resource_type: "AWS::Lambda::Permission",
        always: &[
            "Action",
            "Principal",
            "SourceArn",
            "SourceAccount",
            "PrincipalOrgID",
        ],
        when_declared: &["FunctionUrlAuthType", "EventSourceToken"],
        unordered: &[],
        defaults: &[],
        actions: &["lambda:GetPolicy"],
        read: boxed!(read_permission),
    },
    Reader {
        resource_type: "AWS::Lambda::EventInvokeConfig",
        always: &["DestinationConfig"],
        when_declared: &["MaximumRetryAttempts", "MaximumEventAgeInSeconds"],
        unordered: &[],
        defaults: &[],
        actions: &["lambda:GetFunctionEventInvokeConfig"],
        read: boxed!(read_event_invoke_config),
    },
];

/// Not a CloudFormation property: the statements of the function's resource
/// policy that none of the stack's `AWS::Lambda::Permission` resources
/// added (`aws lambda add-permission` by hand). Read as a policy, so one
/// that lets more principals invoke the function is broadening.
pub const RESOURCE_POLICY: &str = "ResourcePolicy";

async fn read_function(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let result = call(
        "lambda:GetFunction",
        clients
            .lambda
            .get_function()
            .function_name(target.physical_id)
            .send(),
    )
    .await;
    let output = match result {
        Ok(output) => output,
        Err(error) if error.is_not_found() => return Ok(Outcome::Gone),
        Err(error) => return Err(error),
    };
    let mut properties = Map::new();
    let mut implied = Map::new();
    if let Some(configuration) = output.configuration() {
        set_some(
            &mut properties,
            "MemorySize",
            configuration.memory_size().map(Json::from),
        );
        set_some(
            &mut properties,
            "Timeout",
            configuration.timeout().map(Json::from),
        );
        set_some(
            &mut properties,
            "Runtime",
            configuration
                .runtime()
                .map(|runtime| json!(runtime.as_str())),
        );
        set_some(
            &mut properties,
            "Handler",
            configuration.handler().map(Json::from),
        );
        set_some(
            &mut properties,
            "Role",
            configuration.role().map(Json::from),
        );
        set_some(
            &mut properties,
            "Description",
            configuration.description().map(Json::from),
        );
        set_some(
            &mut properties,
            "Architectures",
            Some(Json::Array(
                configuration
                    .architectures()
                    .iter()
                    .map(|architecture| json!(architecture.as_str()))
                    .collect(),
            )),
        );
        set_some(
            &mut properties,
            "Environment",
            configuration
                .environment()
                .and_then(|environment| environment.variables())
                .filter(|variables| !variables.is_empty())
                .map(|variables| {
                    let variables: Map<String, Json> = variables
                        .iter()
                        .map(|(name, value)| (name.clone(), Json::from(value.as_str())))
                        .collect();
                    json!({"Variables": variables})
                }),
        );
        set_some(
            &mut properties,
            "EphemeralStorage",
            configuration
                .ephemeral_storage()
                .map(|storage| json!({"Size": storage.size()})),
        );
        set_some(
            &mut properties,
            "TracingConfig",
            configuration
                .tracing_config()
                .and_then(|tracing| tracing.mode())
                .map(|mode| json!({"Mode": mode.as_str()})),
        );
        let layers: Vec<Json> = configuration
            .layers()
            .iter()
            .filter_map(|layer| layer.arn())
            .map(Json::from)
            .collect();
        set_some(
            &mut properties,
            "Layers",
            (!layers.is_empty()).then_some(Json::Array(layers)),
        );
        set_some(
            &mut properties,
            "VpcConfig",
            configuration
                .vpc_config()
                .filter(|vpc| !vpc.subnet_ids().is_empty())
                .map(|vpc| {
                    json!({
                        "SubnetIds": vpc.subnet_ids(),
                        "SecurityGroupIds": vpc.security_group_ids(),
                    })
                }),
        );
        set_some(
            &mut properties,
            "DeadLetterConfig",
            configuration
                .dead_letter_config()
                .and_then(|config| config.target_arn())
                .map(|arn| json!({"TargetArn": arn})),
        );
        set_some(
            &mut properties,
            "KmsKeyArn",
            configuration
                .kms_key_arn()
                .map(|arn| key_as_declared(target.expected.get("KmsKeyArn"), arn)),
        );
        set_some(
            &mut properties,
            "LoggingConfig",
            configuration.logging_config().map(|logging| {
                let mut config = Map::new();
                if let Some(format) = logging.log_format() {
                    config.insert("LogFormat".into(), json!(format.as_str()));
                }
                if let Some(level) = logging.application_log_level() {
                    config.insert("ApplicationLogLevel".into(), json!(level.as_str()));
                }
                if let Some(level) = logging.system_log_level() {
                    config.insert("SystemLogLevel".into(), json!(level.as_str()));
                }
                if let Some(group) = logging.log_group() {
                    config.insert("LogGroup".into(), json!(group));
                }
                Json::Object(config)
            }),
        );
        // The code: the template names an S3 object; the function runs a
        // zip with a SHA-256. The object's SHA-256 is what it should be.
        let running = configuration.code_sha256().and_then(hex_of_checksum);
        let declared = target.expected.get("Code");
        let bucket = declared.and_then(|code| code["S3Bucket"].as_str());
        let key = declared.and_then(|code| code["S3Key"].as_str());
        if let (Some(declared), Some(bucket), Some(key)) = (declared, bucket, key) {
            let asset = crate::assets::stored(&clients.s3, bucket, key).await?;
            let should = match asset {
                Some(asset) => Json::from(asset.sha256),
                None => Json::from(format!(
                    "unknown: s3://{bucket}/{key} is not in the asset bucket"
                )),
            };
            implied.insert("Code".into(), json!({"SHA256": should}));
            let mut code = declared.as_object().cloned().unwrap_or_default();
            code.insert(
                "SHA256".into(),
                running.map(Json::from).unwrap_or(Json::Null),
            );
            properties.insert("Code".into(), Json::Object(code));
        } else if let Some(declared) = declared {
            // Inline code or an image: not compared.
            properties.insert("Code".into(), declared.clone());
        }
    }
    if let Some(concurrency) = output
        .concurrency()
        .and_then(|concurrency| concurrency.reserved_concurrent_executions())
    {
        properties.insert(
            "ReservedConcurrentExecutions".into(),
            Json::from(concurrency),
        );
    }
    // Statements no Permission resource of the stack added.
    let stack_statements: Vec<String> = target
        .stack
        .of_type("AWS::Lambda::Permission")
        .filter_map(|logical_id| target.stack.physical_id(logical_id))
        .map(|physical_id| statement_id(physical_id).to_owned())
        .collect();
    if let Some(policy) = function_policy(clients, target.physical_id).await? {
        let extra: Vec<Json> = policy["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|statement| {
                !statement["Sid"]
                    .as_str()
                    .is_some_and(|sid| stack_statements.iter().any(|own| own == sid))
            })
            .cloned()
            .collect();
        if !extra.is_empty() {
            properties.insert(
                RESOURCE_POLICY.into(),
                json!({"Version": "2012-10-17", "Statement": extra}),
            );
        }
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied,
    }))
}

/// The function's resource policy; `None` when it has none (or is gone).
async fn function_policy(
    clients: &DriftClients,
    function: &str,
) -> Result<Option<Json>, CallError> {
    let result = call(
        "lambda:GetPolicy",
        clients.lambda.get_policy().function_name(function).send(),
    )
    .await;
    match result {
        Ok(output) => Ok(output.policy().map(json_text)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// A permission's physical ID is its statement ID, or (since the type moved
/// to the resource registry) `<function ARN>|<statement ID>`.
fn statement_id(physical_id: &str) -> &str {
    physical_id.rsplit('|').next().unwrap_or(physical_id)
}

async fn read_permission(
    clients: &DriftClients,
    target: &Target<'_>,
) -> Result<Outcome, CallError> {
    let function = match target.physical_id.rsplit_once('|') {
        Some((function, _)) => function.to_owned(),
        None => match target.expected.get("FunctionName").and_then(Json::as_str) {
            Some(function) => function.to_owned(),
            None => {
                return Err(CallError::new(
                    "lambda:GetPolicy",
                    None,
                    "the template's FunctionName did not resolve to a name",
                ));
            }
        },
    };
    let sid = statement_id(target.physical_id);
    let Some(policy) = function_policy(clients, &function).await? else {
        return Ok(Outcome::Gone);
    };
    let Some(statement) = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|statement| statement["Sid"] == sid)
    else {
        return Ok(Outcome::Gone);
    };
    Ok(Outcome::Found(Reading {
        properties: permission_properties(statement, target.expected),
        implied: Map::new(),
    }))
}

/// A resource-policy statement in `AWS::Lambda::Permission`'s terms.
fn permission_properties(statement: &Json, expected: &Map<String, Json>) -> Map<String, Json> {
    let mut properties = Map::new();
    let one = |value: &Json| match value {
        Json::Array(items) if items.len() == 1 => items[0].clone(),
        other => other.clone(),
    };
    if let Some(action) = statement.get("Action") {
        properties.insert("Action".into(), one(action));
    }
    let principal = match &statement["Principal"] {
        Json::Object(map) => map.values().next().map(one),
        Json::Null => None,
        other => Some(other.clone()),
    };
    if let Some(principal) = principal {
        // An account given by ID is stored as its root ARN.
        let declared = expected.get("Principal").and_then(Json::as_str);
        let principal = match (declared, principal.as_str()) {
            (Some(id), Some(arn)) if arn == format!("arn:aws:iam::{id}:root") => json!(id),
            _ => principal,
        };
        properties.insert("Principal".into(), principal);
    }
    let condition = &statement["Condition"];
    let find = |key: &str| -> Option<Json> {
        condition.as_object()?.values().find_map(|operator| {
            operator
                .as_object()?
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
                .map(|(_, value)| one(value))
        })
    };
    for (property, key) in [
        ("SourceArn", "AWS:SourceArn"),
        ("SourceAccount", "AWS:SourceAccount"),
        ("PrincipalOrgID", "aws:PrincipalOrgID"),
        ("FunctionUrlAuthType", "lambda:FunctionUrlAuthType"),
        ("EventSourceToken", "lambda:EventSourceToken"),
    ] {
        if let Some(value) = find(key) {
            properties.insert(property.into(), value);
        }
    }
    properties
}

async fn read_event_invoke_config(
    clients: &DriftClients,
    target: &Target<'_>,
) -> Result<Outcome, CallError> {
    let function = target
        .expected
        .get("FunctionName")
        .and_then(Json::as_str)
        .unwrap_or(target.physical_id);
    let qualifier = target
        .expected
        .get("Qualifier")
        .and_then(Json::as_str)
        .unwrap_or("$LATEST");
    let result = call(
        "lambda:GetFunctionEventInvokeConfig",
        clients
            .lambda
            .get_function_event_invoke_config()
            .function_name(function)
            .qualifier(qualifier)
            .send(),
    )
    .await;
    let output = match result {
        Ok(output) => output,
        Err(error) if error.is_not_found() => return Ok(Outcome::Gone),
        Err(error) => return Err(error),
    };
    let mut properties = Map::new();
    if let Some(attempts) = output.maximum_retry_attempts() {
        properties.insert("MaximumRetryAttempts".into(), Json::from(attempts));
    }
    if let Some(age) = output.maximum_event_age_in_seconds() {
        properties.insert("MaximumEventAgeInSeconds".into(), Json::from(age));
    }
    if let Some(destinations) = output.destination_config() {
        let mut config = Map::new();
        if let Some(arn) = destinations.on_success().and_then(|on| on.destination()) {
            config.insert("OnSuccess".into(), json!({"Destination": arn}));
        }
        if let Some(arn) = destinations.on_failure().and_then(|on| on.destination()) {
            config.insert("OnFailure".into(), json!({"Destination": arn}));
        }
        if !config.is_empty() {
            properties.insert("DestinationConfig".into(), Json::Object(config));
        }
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_reads_as_the_permission_that_added_it() {
        let statement = json!({
            "Sid": "s", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:eu-west-1:1:function:f",
            "Condition": {
                "StringEquals": {"AWS:SourceAccount": "123456789012"},
                "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}
            }
        });
        assert_eq!(
            Json::Object(permission_properties(&statement, &Map::new())),
            json!({
                "Action": "lambda:InvokeFunction",
                "Principal": "s3.amazonaws.com",
                "SourceArn": "arn:aws:s3:::uploads",
                "SourceAccount": "123456789012"
            })
        );
        assert_eq!(
            statement_id("arn:aws:lambda:eu-west-1:1:function:f|sid-1"),
            "sid-1"
        );
        assert_eq!(statement_id("sid-1"), "sid-1");
    }

    #[test]
    fn one_element_lists_and_an_accounts_root_arn_read_as_the_template_wrote_them() {
        let statement = json!({
            "Sid": "s", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": ["lambda:InvokeFunction"],
            "Condition": {"ArnLike": {"AWS:SourceArn": ["arn:aws:s3:::a", "arn:aws:s3:::b"]}}
        });
        let declared = |principal: &str| {
            let mut expected = Map::new();
            expected.insert("Principal".into(), json!(principal));
            expected
        };
        assert_eq!(
            Json::Object(permission_properties(&statement, &declared("111111111111"))),
            json!({
                "Action": "lambda:InvokeFunction",
                "Principal": "111111111111",
                "SourceArn": ["arn:aws:s3:::a", "arn:aws:s3:::b"]
            })
        );
        // Another account's root, or a template that gave the ARN, stays an ARN.
        for template_said in ["222222222222", "arn:aws:iam::111111111111:root"] {
            assert_eq!(
                permission_properties(&statement, &declared(template_said))["Principal"],
                json!("arn:aws:iam::111111111111:root"),
                "{template_said}"
            );
        }
    }
}
