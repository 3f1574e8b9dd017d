//! `upstack invoke`: runs one handler locally, like `sam local invoke`, with
//! the environment the deployed function has and the event S3 would send.
//!
//! - The function's configuration (environment, memory, timeout) comes from the
//!   synthesized template `synth-out/<env>/template.json`; `Ref`, `Fn::GetAtt`,
//!   `Fn::Sub` and `Fn::Join` in it are evaluated by the cfn crate's one
//!   evaluator against the deployed stack, as the one stack reader
//!   (`upstack_deploy::stack`) lists its resources, and the account the
//!   session checked; which function is the handler's comes from the manifest.
//! - `--key` builds the `ObjectCreated:Put` record S3 sends for an object that
//!   exists in the env's upload bucket (HeadObject gives size, eTag, versionId);
//!   `--event` reads any event from a file.
//! - The handler is built for the host (`cargo build -p <handler>`) and run
//!   behind [`upstack_runtime_api`].
//!
//! AWS calls go wherever the SDK configuration points (`AWS_ENDPOINT_URL` for
//! moto); the handler inherits the same credentials and endpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, SecondsFormat};
use serde_json::{Value, json};
use upstack_cfn::Value as CfnValue;
use upstack_cfn::intrinsic::{
    self, PseudoValues, ResourceNames, SubPart, Unresolved, Why, sub_parts,
};
use upstack_cfn::value::NO_VALUE;
use upstack_cfn::{Expr, ReadError, Template};
use upstack_cfn_resources::{lambda, s3};
use upstack_contract::s3_key::encode_event_key;
use upstack_deploy::aws::{CallError, call};
use upstack_deploy::stack::DeployedStack;

use upstack_project::manifest::{ManifestFunction, TEMPLATE_FILE, output_file};
use upstack_runtime_api::{
    Invocation, InvocationOutcome, InvocationReport, LogStream, RuntimeApiError, invoke_once,
};

/// Lambda's defaults when the template leaves them out.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html>
const DEFAULT_MEMORY_MB: u32 = 128;
const DEFAULT_TIMEOUT_SECONDS: u64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{template}: no AWS::Lambda::Function `{logical_id}` (handler `{handler}` in the manifest; functions found: {found}); run `upstack synth`"
    )]
    FunctionNotFound {
        template: String,
        logical_id: String,
        handler: String,
        found: String,
    },
    #[error("{template}: {message}")]
    Bucket { template: String, message: String },
    #[error("{template}: {source}; run `upstack synth`")]
    Template {
        template: String,
        #[source]
        source: ReadError,
    },
    #[error("cannot resolve {what} locally: {reason}")]
    Unresolvable { what: String, reason: String },
    #[error(transparent)]
    Aws(#[from] CallError),
    #[error("`cargo build -p {package} --bin {handler}` failed with {status}")]
    BuildFailed {
        package: String,
        handler: String,
        status: std::process::ExitStatus,
    },
    #[error("handler `{handler}`: {source}")]
    Package {
        handler: String,
        #[source]
        source: upstack_project::fingerprint::FingerprintError,
    },
    #[error("cannot run cargo: {0}")]
    Cargo(#[source] std::io::Error),
    #[error(transparent)]
    RuntimeApi(#[from] RuntimeApiError),
}

// ---------------------------------------------------------------------------
// The S3 event
// ---------------------------------------------------------------------------

/// Facts about the uploaded object, as HeadObject reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFacts {
    pub bucket: String,
    pub key: String,
    pub size: i64,
    /// Without the quotes HeadObject puts around it (events carry it bare).
    pub etag: String,
    pub version_id: Option<String>,
}

/// The `ObjectCreated:Put` event S3 delivers to Lambda for `object`.
pub fn s3_put_event(object: &ObjectFacts, region: &str, account_id: &str, at: SystemTime) -> Value {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    // S3's sequencer is an opaque hex string that grows with time for a key.
    let sequencer = format!("{:016X}", since_epoch.as_nanos() as u64);
    let mut object_json = json!({
        "key": encode_event_key(&object.key),
        "size": object.size,
        "eTag": object.etag,
        "sequencer": sequencer,
    });
    if let (Some(version_id), Some(map)) = (&object.version_id, object_json.as_object_mut()) {
        map.insert("versionId".into(), Value::String(version_id.clone()));
    }
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": region,
            "eventTime": iso8601_millis(since_epoch),
            "eventName": "ObjectCreated:Put",
            "userIdentity": { "principalId": format!("AWS:{account_id}") },
            "requestParameters": { "sourceIPAddress": "127.0.0.1" },
            "responseElements": {
                "x-amz-request-id": "UPSTACKLOCAL0000",
                "x-amz-id-2": "upstack/local/invoke"
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "upstack-local-invoke",
                "bucket": {
                    "name": object.bucket,
                    "ownerIdentity": { "principalId": account_id },
                    "arn": format!("arn:aws:s3:::{}", object.bucket)
                },
                "object": object_json
            }
        }]
    })
}

/// `2026-11-22T21:13:03.123Z`: S3's `eventTime`, which always has three
/// digits of milliseconds, where the SDK's `DateTime` drops trailing zeros
/// (`.120` as `.12`, `.000` as nothing).
fn iso8601_millis(since_epoch: Duration) -> String {
    let at = i64::try_from(since_epoch.as_secs())
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, since_epoch.subsec_nanos()))
        // RFC 3339 has four-digit years: a clock past 9999 is broken, shown as the epoch.
        .filter(|at| at.year() <= 9999)
        .unwrap_or(DateTime::UNIX_EPOCH);
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

// ---------------------------------------------------------------------------
// The function, from the synthesized template
// ---------------------------------------------------------------------------

/// A function's configuration as the template declares it (unresolved).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateFunction {
    pub logical_id: String,
    pub function_name: Option<Value>,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub environment: BTreeMap<String, Value>,
}

/// The `AWS::Lambda::Function` synth recorded for the handler (its logical ID
/// comes from `synth-out/<env>/manifest.json`, never guessed from names),
/// read as the generated type.
pub fn find_function(
    template: &Template,
    template_name: &str,
    function: &ManifestFunction,
) -> Result<TemplateFunction, InvokeError> {
    let Some(read) = template.read::<lambda::Function>(&function.logical_id) else {
        let found: Vec<&str> = template.logical_ids_of::<lambda::Function>().collect();
        return Err(InvokeError::FunctionNotFound {
            template: template_name.to_string(),
            logical_id: function.logical_id.clone(),
            handler: function.handler.clone(),
            found: if found.is_empty() {
                "none".to_string()
            } else {
                found.join(", ")
            },
        });
    };
    let properties = read.map_err(|source| InvokeError::Template {
        template: template_name.to_string(),
        source,
    })?;
    let logical_id = &function.logical_id;
    // Lambda runs with numbers, not expressions: an intrinsic here could only
    // be guessed at, so it is refused.
    let number = |value: &Option<CfnValue<i64>>, name: &str| -> Result<Option<u64>, InvokeError> {
        match value {
            None => Ok(None),
            Some(CfnValue::Lit(number)) => u64::try_from(*number)
                .map(Some)
                .map_err(|_| unresolvable(&json!(number), &format!("{name} must not be negative"))),
            Some(computed) => Err(InvokeError::Unresolvable {
                what: format!("{logical_id}.{name} = {}", to_json(computed)),
                reason: format!("invoke needs a literal {name}"),
            }),
        }
    };
    let memory_mb = match number(&properties.memory_size, "MemorySize")? {
        None => DEFAULT_MEMORY_MB,
        Some(mb) => u32::try_from(mb)
            .map_err(|_| unresolvable(&json!(mb), "MemorySize is larger than Lambda allows"))?,
    };
    let timeout = number(&properties.timeout, "Timeout")?.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let variables = match &properties.environment {
        None => None,
        Some(CfnValue::Lit(environment)) => environment.variables.as_ref(),
        Some(computed) => {
            return Err(InvokeError::Unresolvable {
                what: format!("{logical_id}.Environment = {}", to_json(computed)),
                reason: "invoke needs the variables written out".to_owned(),
            });
        }
    };
    let environment = match variables {
        None => BTreeMap::new(),
        Some(CfnValue::Lit(variables)) => variables
            .iter()
            .map(|(name, value)| (name.clone(), to_json(value)))
            .collect(),
        Some(computed) => {
            return Err(InvokeError::Unresolvable {
                what: format!("{logical_id}.Environment.Variables = {}", to_json(computed)),
                reason: "invoke needs the variables written out".to_owned(),
            });
        }
    };
    Ok(TemplateFunction {
        logical_id: logical_id.clone(),
        function_name: properties.function_name.as_ref().map(to_json),
        memory_mb,
        timeout: Duration::from_secs(timeout),
        environment,
    })
}

/// A template value as the JSON the resolver evaluates.
fn to_json<T: serde::Serialize>(value: &CfnValue<T>) -> Value {
    upstack_cfn::json::to_canonical(value)
}

/// The logical id of the stack's upload bucket: the only `AWS::S3::Bucket`,
/// or the one whose notification configuration targets `function_logical_id`.
pub fn upload_bucket(
    template: &Template,
    template_name: &str,
    function_logical_id: &str,
) -> Result<String, InvokeError> {
    let buckets: Vec<&str> = template.logical_ids_of::<s3::Bucket>().collect();
    match buckets.as_slice() {
        [] => Err(InvokeError::Bucket {
            template: template_name.to_string(),
            message: "the template has no AWS::S3::Bucket; pass --bucket".to_string(),
        }),
        [id] => Ok(id.to_string()),
        many => {
            let mut notifying = Vec::new();
            for id in many {
                let Some(read) = template.read::<s3::Bucket>(id) else {
                    continue;
                };
                let bucket = read.map_err(|source| InvokeError::Template {
                    template: template_name.to_string(),
                    source,
                })?;
                if notifies(&bucket, function_logical_id) {
                    notifying.push(*id);
                }
            }
            match notifying.as_slice() {
                [id] => Ok(id.to_string()),
                _ => Err(InvokeError::Bucket {
                    template: template_name.to_string(),
                    message: format!(
                        "several buckets ({}) and none is the only one notifying {function_logical_id}; pass --bucket",
                        many.join(", ")
                    ),
                }),
            }
        }
    }
}

/// Whether `bucket` sends its events to the function `function_logical_id`:
/// one of its `LambdaConfigurations` names it (`Fn::GetAtt`, `Ref`, or
/// `${Function.Arn}` in `Fn::Sub`, possibly inside `Fn::If`).
fn notifies(bucket: &s3::Bucket, function_logical_id: &str) -> bool {
    let Some(CfnValue::Lit(configuration)) = &bucket.notification_configuration else {
        return false;
    };
    let Some(CfnValue::Lit(targets)) = &configuration.lambda_configurations else {
        return false;
    };
    targets.iter().any(|target| match target {
        CfnValue::Lit(target) => target
            .function
            .as_expr()
            .is_some_and(|expr| names_resource(expr, function_logical_id)),
        CfnValue::Expr(..) => false,
    })
}

/// Whether `expr` evaluates to something of resource `logical_id`.
fn names_resource(expr: &Expr, logical_id: &str) -> bool {
    match expr {
        Expr::Ref(name) | Expr::GetAtt(name, _) => name == logical_id,
        Expr::Sub(text, variables) => sub_parts(text).iter().any(|part| match part {
            SubPart::Var(name) if !variables.contains_key(*name) => {
                name.split('.').next() == Some(logical_id)
            }
            _ => false,
        }),
        Expr::If(_, then, otherwise) => {
            names_resource(then, logical_id) || names_resource(otherwise, logical_id)
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// The function's values, evaluated against the deployed stack
// ---------------------------------------------------------------------------

/// The deployed stack's names as the handler's environment sees them.
struct HandlerNames<'a>(&'a DeployedStack);

impl ResourceNames for HandlerNames<'_> {
    fn reference(&self, name: &str) -> Option<String> {
        // Not among the cfn crate's pseudo values: CloudFormation removes a
        // property set to it instead of giving it a value. Here it stands
        // for the empty string.
        if name == NO_VALUE {
            return Some(String::new());
        }
        self.0.reference(name)
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        self.0.attribute(logical_id, attribute)
    }
}

/// The string the deployed function sees for `value` (a literal, `Ref`,
/// `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`), by the cfn crate's evaluator.
fn evaluate(value: &Value, stack: &DeployedStack) -> Result<String, InvokeError> {
    intrinsic::evaluate(value, &stack.pseudo, &HandlerNames(stack))
        .map_err(|unresolved| unevaluated(value, &unresolved, stack))
}

/// Why `value` could not be evaluated, in terms of the stack invoke runs against.
fn unevaluated(value: &Value, unresolved: &Unresolved, stack: &DeployedStack) -> InvokeError {
    let stack_name = stack.pseudo.stack_name.as_deref().unwrap_or_default();
    let not_deployed =
        |name: &str| format!("stack {stack_name} has no resource {name} (deploy the env first?)");
    let reason = match &unresolved.reason {
        Why::UnknownName(name) if name.starts_with("AWS::") => {
            format!("{name} is not a pseudo parameter invoke knows")
        }
        Why::UnknownName(name) => not_deployed(name),
        Why::UnknownAttribute {
            logical_id,
            attribute,
        } => match stack.template["Resources"][logical_id]["Type"].as_str() {
            None => format!("the template has no resource {logical_id}"),
            Some(_) if stack.physical_id(logical_id).is_none() => not_deployed(logical_id),
            Some(resource_type) => {
                format!("{resource_type}.{attribute} is not an attribute invoke can derive")
            }
        },
        Why::Unsupported(function) => format!("{function} is not supported by invoke"),
        other => other.to_string(),
    };
    let inside = if unresolved.path.is_empty() {
        String::new()
    } else {
        format!(" (at {}: {})", unresolved.path, unresolved.left)
    };
    InvokeError::Unresolvable {
        what: format!("{value}{inside}"),
        reason,
    }
}

/// The function's environment with every value evaluated.
fn environment(
    function: &TemplateFunction,
    stack: &DeployedStack,
) -> Result<BTreeMap<String, String>, InvokeError> {
    function
        .environment
        .iter()
        .map(|(name, value)| {
            evaluate(value, stack)
                .map(|evaluated| (name.clone(), evaluated))
                .map_err(|error| match error {
                    InvokeError::Unresolvable { what, reason } => InvokeError::Unresolvable {
                        what: format!("{}: {name} = {what}", function.logical_id),
                        reason,
                    },
                    other => other,
                })
        })
        .collect()
}

fn unresolvable(value: &Value, reason: &str) -> InvokeError {
    InvokeError::Unresolvable {
        what: value.to_string(),
        reason: reason.to_string(),
    }
}

// ---------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum EventSource {
    /// Build the S3 `ObjectCreated:Put` event for this key in the upload bucket.
    S3Key(String),
    /// Read the event from this JSON file.
    File(PathBuf),
}

/// Where the handler runs as: the caller's session, already checked against
/// the env (its region and account), so invoke makes no identity call and
/// builds no client of its own.
#[derive(Debug, Clone)]
pub struct InvokeTarget {
    pub cloudformation: aws_sdk_cloudformation::Client,
    /// Path-style when an endpoint override is set, as the session builds it.
    pub s3: aws_sdk_s3::Client,
    pub region: String,
    pub account_id: String,
}

#[derive(Debug, Clone)]
pub struct InvokeRequest {
    pub workspace_root: PathBuf,
    pub env: String,
    /// The function as synth recorded it in `synth-out/<env>/manifest.json`.
    pub function: ManifestFunction,
    /// `synth-out/<env>/template.json`, already checked against the manifest
    /// (`upstack_project::manifest::read_template`).
    pub template_json: String,
    /// The deployed stack to resolve `Ref`/`Fn::GetAtt` against.
    pub stack_name: String,
    pub event: EventSource,
    /// Physical upload bucket name; default: the template's bucket, resolved.
    pub bucket: Option<String>,
    /// Run this binary instead of building the handler.
    pub binary: Option<PathBuf>,
    pub target: InvokeTarget,
    /// The caller's clock (`Ctx::now` in the CLI): when the S3 event says the
    /// object was put, so a test can fix it.
    pub now: SystemTime,
}

#[derive(Debug)]
pub struct InvokeOutput {
    pub function_name: String,
    pub event: Value,
    pub environment: BTreeMap<String, String>,
    pub report: InvocationReport,
}

fn millis(duration: Option<Duration>) -> String {
    duration.map_or_else(
        || "-".to_string(),
        |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0),
    )
}

/// What `invoke` prints: a header, the logs, then the response or the error.
pub fn render(handler: &str, output: &InvokeOutput) -> String {
    let report = &output.report;
    let mut out = format!(
        "invoke {handler} as {} (request {})\n  init {}, duration {}\n",
        output.function_name,
        report.request_id,
        millis(report.init_duration),
        millis(report.duration)
    );
    out.push_str("--- logs ---\n");
    for line in &report.logs {
        let stream = match line.stream {
            LogStream::Stdout => "out",
            LogStream::Stderr => "err",
        };
        out.push_str(&format!("{stream} | {}\n", line.text));
    }
    match &report.outcome {
        InvocationOutcome::Response(body) => {
            out.push_str("--- response ---\n");
            let pretty = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|value| serde_json::to_string_pretty(&value).ok())
                .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
            out.push_str(&pretty);
            out.push('\n');
        }
        InvocationOutcome::Error {
            phase,
            error_type,
            error_message,
            ..
        } => {
            out.push_str(&format!(
                "--- error ({phase}) ---\n{error_type}: {error_message}\n"
            ));
        }
        InvocationOutcome::TimedOut { phase, after } => {
            out.push_str(&format!(
                "--- timed out ({phase}) ---\nno answer after {} s\n",
                after.as_secs()
            ));
        }
        InvocationOutcome::Exited { phase, status } => {
            out.push_str(&format!(
                "--- exited ({phase}) ---\nthe process ended without answering: {status}\n"
            ));
        }
    }
    out
}

fn read_json(path: &Path) -> Result<Value, InvokeError> {
    let text = std::fs::read_to_string(path).map_err(|source| InvokeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| InvokeError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Builds the handler for the host with the workspace's cargo and returns the binary.
pub fn build_host_binary(workspace_root: &Path, handler: &str) -> Result<PathBuf, InvokeError> {
    let package = upstack_project::fingerprint::handler_package(workspace_root, handler).map_err(
        |source| InvokeError::Package {
            handler: handler.to_owned(),
            source,
        },
    )?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "-p", &package, "--bin", handler])
        .current_dir(workspace_root)
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(InvokeError::Cargo)?;
    if !status.success() {
        return Err(InvokeError::BuildFailed {
            package,
            handler: handler.to_string(),
            status,
        });
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root.join("target"), PathBuf::from);
    Ok(target_dir.join("debug").join(handler))
}

/// Resolves the function against the deployed stack, builds the event, runs
/// the handler once.
pub async fn invoke(request: InvokeRequest) -> Result<InvokeOutput, InvokeError> {
    run(request, BTreeMap::new()).await
}

/// [`invoke`], with `handler_environment` over the function's variables: a
/// test's emulator is in its SDK configuration, not in the environment the
/// handler inherits (`AWS_ENDPOINT_URL`).
#[cfg(feature = "test-util")]
pub async fn invoke_with_handler_environment(
    request: InvokeRequest,
    handler_environment: BTreeMap<String, String>,
) -> Result<InvokeOutput, InvokeError> {
    run(request, handler_environment).await
}

async fn run(
    request: InvokeRequest,
    handler_environment: BTreeMap<String, String>,
) -> Result<InvokeOutput, InvokeError> {
    let template_name = output_file(&request.env, TEMPLATE_FILE);
    let template = Template::from_json_str(&request.template_json).map_err(|source| {
        InvokeError::Template {
            template: template_name.clone(),
            source,
        }
    })?;
    let function = find_function(&template, &template_name, &request.function)?;

    let InvokeTarget {
        cloudformation,
        s3,
        region,
        account_id,
    } = request.target.clone();
    // The template's resource types, for the attributes derived from them,
    // as the JSON the evaluator walks.
    let template_json =
        serde_json::from_str(&request.template_json).map_err(|source| InvokeError::Json {
            path: PathBuf::from(&template_name),
            source,
        })?;
    let pseudo = PseudoValues::for_region(&region)
        .with_account_id(&account_id)
        .with_stack_name(&request.stack_name);
    let mut stack =
        DeployedStack::read(&cloudformation, &request.stack_name, template_json, pseudo).await?;
    stack.pseudo.stack_id = stack.stack_id().map(str::to_owned);

    let environment = environment(&function, &stack)?;
    let function_name = match &function.function_name {
        Some(name) => evaluate(name, &stack)?,
        None => stack
            .physical_id(&function.logical_id)
            .unwrap_or(&function.logical_id)
            .to_owned(),
    };

    let event = match &request.event {
        EventSource::File(path) => read_json(path)?,
        EventSource::S3Key(key) => {
            let bucket = match &request.bucket {
                Some(bucket) => bucket.clone(),
                None => {
                    let logical = upload_bucket(&template, &template_name, &function.logical_id)?;
                    stack
                        .physical_id(&logical)
                        .map(str::to_owned)
                        .ok_or_else(|| InvokeError::Unresolvable {
                            what: format!("Ref {logical}"),
                            reason: format!(
                                "stack {} has no resource {logical} (deploy the env first?)",
                                request.stack_name
                            ),
                        })?
                }
            };
            let head = call(
                &format!("s3:HeadObject s3://{bucket}/{key}"),
                s3.head_object().bucket(&bucket).key(key).send(),
            )
            .await?;
            let facts = ObjectFacts {
                bucket,
                key: key.clone(),
                size: head.content_length().unwrap_or_default(),
                etag: head
                    .e_tag()
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_string(),
                version_id: head
                    .version_id()
                    .filter(|v| *v != "null")
                    .map(str::to_string),
            };
            s3_put_event(&facts, &region, &account_id, request.now)
        }
    };

    let binary = match &request.binary {
        Some(binary) => binary.clone(),
        None => build_host_binary(&request.workspace_root, &request.function.handler)?,
    };
    let mut process_environment = environment.clone();
    process_environment.extend(handler_environment);
    let report = invoke_once(Invocation {
        binary,
        function_name: function_name.clone(),
        environment: process_environment,
        memory_mb: function.memory_mb,
        timeout: function.timeout,
        region,
        account_id,
        event: serde_json::to_vec(&event).unwrap_or_default(),
        extra_passthrough: Vec::new(),
    })
    .await?;
    Ok(InvokeOutput {
        function_name,
        event,
        environment,
        report,
    })
}

#[cfg(test)]
mod tests {
    use upstack_deploy::stack::StackResource;
    use upstack_runtime_api::{LogLine, Phase};

    use super::*;

    #[test]
    fn timestamps_are_iso8601_utc_with_milliseconds() {
        assert_eq!(iso8601_millis(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        // 2024-02-29 (leap day) 12:34:56.789
        assert_eq!(
            iso8601_millis(Duration::from_millis(1_709_210_096_789)),
            "2024-02-29T12:34:56.789Z"
        );
        assert_eq!(
            iso8601_millis(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn milliseconds_are_cut_not_rounded_and_a_broken_clock_shows_the_epoch() {
        assert_eq!(
            iso8601_millis(Duration::new(1_709_210_096, 999_999_999)),
            "2024-02-29T12:34:56.999Z"
        );
        assert_eq!(
            iso8601_millis(Duration::from_millis(1_709_210_096_120)),
            "2024-02-29T12:34:56.120Z"
        );
        // 9999-12-31T23:59:59 is the last second RFC 3339 can write.
        assert_eq!(
            iso8601_millis(Duration::from_secs(253_402_300_799)),
            "9999-12-31T23:59:59.000Z"
        );
        assert_eq!(
            iso8601_millis(Duration::from_secs(253_402_300_800)),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(iso8601_millis(Duration::MAX), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn put_event_has_the_fields_handlers_read() {
        let facts = ObjectFacts {
            bucket: "uploads-bucket".into(),
            key: "photos/a b.jpg".into(),
            size: 42,
            etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
            version_id: Some("v1".into()),
        };
        let event = s3_put_event(
            &facts,
            "eu-west-1",
            "123456789012",
            UNIX_EPOCH + Duration::from_secs(1),
        );
        let record = &event["Records"][0];
        assert_eq!(record["eventSource"], "aws:s3");
        assert_eq!(record["eventName"], "ObjectCreated:Put");
        assert_eq!(record["awsRegion"], "eu-west-1");
        assert_eq!(record["eventTime"], "1970-01-01T00:00:01.000Z");
        assert_eq!(record["s3"]["bucket"]["name"], "uploads-bucket");
        assert_eq!(record["s3"]["bucket"]["arn"], "arn:aws:s3:::uploads-bucket");
        assert_eq!(record["s3"]["object"]["key"], "photos/a+b.jpg");
        assert_eq!(record["s3"]["object"]["size"], 42);
        assert_eq!(record["s3"]["object"]["versionId"], "v1");
        assert_eq!(record["s3"]["object"]["sequencer"], "000000003B9ACA00");
        // It parses as the event type the handlers deserialize.
        let typed: aws_lambda_events_shape::S3Event = serde_json::from_value(event).unwrap();
        assert_eq!(typed.records.len(), 1);
    }

    /// The shape of aws_lambda_events' S3Event that handlers rely on, kept
    /// here so the toolkit does not depend on the handler crates.
    mod aws_lambda_events_shape {
        #[derive(serde::Deserialize)]
        pub struct S3Event {
            #[serde(rename = "Records")]
            pub records: Vec<serde_json::Value>,
        }
    }

    fn template() -> Template {
        typed(&template_json())
    }

    fn typed(json: &Value) -> Template {
        Template::from_json(json).unwrap()
    }

    fn template_json() -> Value {
        json!({
            "Resources": {
                "Uploads": { "Type": "AWS::S3::Bucket", "Properties": {
                    "NotificationConfiguration": { "LambdaConfigurations": [
                        { "Event": "s3:ObjectCreated:*",
                          "Function": { "Fn::GetAtt": ["NotifyFunction", "Arn"] } } ] } } },
                "Table": { "Type": "AWS::DynamoDB::Table" },
                "Alerts": { "Type": "AWS::SNS::Topic" },
                "Events": { "Type": "AWS::SQS::Queue" },
                "NotifyFunction": { "Type": "AWS::Lambda::Function", "Properties": {
                    "Code": { "S3Bucket": { "Fn::Sub": "upstack-assets-${AWS::AccountId}-${AWS::Region}" },
                              "S3Key": "assets/notify-arm64-abc.zip" },
                    "MemorySize": 256,
                    "Role": { "Fn::GetAtt": ["NotifyRole", "Arn"] },
                    "Timeout": 30,
                    "FunctionName": { "Fn::Sub": "${AWS::StackName}-notify" },
                    "Environment": { "Variables": {
                        "TABLE_NAME": { "Ref": "Table" },
                        "TOPIC_ARN": { "Ref": "Alerts" },
                        "TABLE_ARN": { "Fn::GetAtt": ["Table", "Arn"] },
                        "QUEUE_ARN": { "Fn::GetAtt": "Events.Arn" },
                        "APP_ENV": "dev",
                        "THRESHOLD": "0.5",
                        "LABEL": { "Fn::Sub": ["${Name}-${Table}-${!Literal}", { "Name": { "Ref": "AWS::Region" } }] },
                        "JOINED": { "Fn::Join": [":", [{ "Ref": "AWS::Partition" }, "x"]] }
                    } }
                } },
                "PhotoCheckFunction": { "Type": "AWS::Lambda::Function", "Properties": {
                    "Code": { "ZipFile": "x" }, "Role": { "Fn::GetAtt": ["NotifyRole", "Arn"] } } }
            }
        })
    }

    /// The stack as `upstack_deploy::stack` reads it: `physical_ids` listed
    /// by DescribeStackResources for the resources of `template`.
    fn stack_of(template: &Value, physical_ids: &[(&str, &str)]) -> DeployedStack {
        let arn = "arn:aws:cloudformation:eu-west-1:123456789012:stack/upstack-dev/1";
        let resources = physical_ids
            .iter()
            .map(|(logical_id, physical_id)| StackResource {
                logical_id: (*logical_id).to_owned(),
                physical_id: Some((*physical_id).to_owned()),
                resource_type: template["Resources"][logical_id]["Type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                status: "CREATE_COMPLETE".to_owned(),
                stack_id: Some(arn.to_owned()),
            })
            .collect();
        DeployedStack {
            template: template.clone(),
            resources,
            pseudo: PseudoValues {
                stack_id: Some(arn.to_owned()),
                ..PseudoValues::for_region("eu-west-1")
                    .with_account_id("123456789012")
                    .with_stack_name("upstack-dev")
            },
        }
    }

    fn deployed(template: &Value) -> DeployedStack {
        stack_of(
            template,
            &[
                ("Uploads", "upstack-dev-uploads-1a2b"),
                ("Table", "upstack-dev-table"),
                (
                    "Alerts",
                    "arn:aws:sns:eu-west-1:123456789012:upstack-dev-alerts",
                ),
                (
                    "Events",
                    "https://sqs.eu-west-1.amazonaws.com/123456789012/upstack-dev-events.fifo",
                ),
            ],
        )
    }

    /// The manifest entry synth writes for `handler` (logical ID by the stack's rule).
    fn manifest_function(handler: &str, logical_id: &str) -> ManifestFunction {
        ManifestFunction {
            logical_id: logical_id.to_owned(),
            handler: handler.to_owned(),
            function_name: format!("upstack-dev-{handler}"),
            architecture: upstack_contract::Architecture::Arm64,
            build_profile: upstack_contract::BuildProfile::Fast,
            asset_key: format!("assets/{handler}-arm64-00.zip"),
            log_group: format!("/aws/lambda/upstack-dev-{handler}"),
            reserved_concurrency: None,
        }
    }

    #[test]
    fn finds_the_manifest_function_by_logical_id() {
        let template = template();
        let notify = find_function(
            &template,
            "t.json",
            &manifest_function("notify", "NotifyFunction"),
        )
        .unwrap();
        assert_eq!(notify.logical_id, "NotifyFunction");
        assert_eq!(
            (notify.memory_mb, notify.timeout),
            (256, Duration::from_secs(30))
        );
        let photo = find_function(
            &template,
            "t.json",
            &manifest_function("photo-check", "PhotoCheckFunction"),
        )
        .unwrap();
        assert_eq!(photo.logical_id, "PhotoCheckFunction");
        // Lambda's defaults when the template leaves them out.
        assert_eq!(
            (photo.memory_mb, photo.timeout),
            (128, Duration::from_secs(3))
        );
        let error = find_function(
            &template,
            "t.json",
            &manifest_function("ingest", "IngestFunction"),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "t.json: no AWS::Lambda::Function `IngestFunction` (handler `ingest` in the manifest; functions found: NotifyFunction, PhotoCheckFunction); run `upstack synth`"
        );
    }

    /// Each kind of value the stack's environments hold, evaluated by the
    /// cfn crate against the stack's resources: `Fn::GetAtt` derived from the
    /// template's resource type and the physical ID (either form), `Fn::Sub`
    /// with a variables map and an escape, `Fn::Join`, `AWS::NoValue`.
    #[test]
    fn evaluates_refs_attributes_subs_and_joins() {
        let mut json = template_json();
        json["Resources"]["NotifyFunction"]["Properties"]["Environment"]["Variables"]["NONE"] =
            json!({ "Fn::Join": ["", ["x", { "Ref": "AWS::NoValue" }]] });
        let notify = find_function(
            &typed(&json),
            "t.json",
            &manifest_function("notify", "NotifyFunction"),
        )
        .unwrap();
        let stack = deployed(&json);
        let environment = environment(&notify, &stack).unwrap();
        assert_eq!(environment["TABLE_NAME"], "upstack-dev-table");
        assert_eq!(
            environment["TOPIC_ARN"],
            "arn:aws:sns:eu-west-1:123456789012:upstack-dev-alerts"
        );
        assert_eq!(
            environment["TABLE_ARN"],
            "arn:aws:dynamodb:eu-west-1:123456789012:table/upstack-dev-table"
        );
        assert_eq!(
            environment["QUEUE_ARN"],
            "arn:aws:sqs:eu-west-1:123456789012:upstack-dev-events.fifo"
        );
        assert_eq!(environment["APP_ENV"], "dev");
        assert_eq!(environment["THRESHOLD"], "0.5");
        assert_eq!(
            environment["LABEL"],
            "eu-west-1-upstack-dev-table-${Literal}"
        );
        assert_eq!(environment["JOINED"], "aws:x");
        assert_eq!(environment["NONE"], "x");
        let name = evaluate(notify.function_name.as_ref().unwrap(), &stack).unwrap();
        assert_eq!(name, "upstack-dev-notify");
    }

    /// What the evaluator leaves is reported in invoke's terms: the
    /// variable, the call and where it is, and why (not deployed yet, not
    /// derivable, not supported).
    #[test]
    fn unevaluated_values_name_the_variable_and_the_reason() {
        let mut json = template_json();
        json["Resources"]["NotifyFunction"]["Properties"]["Environment"]["Variables"]["X"] =
            json!({ "Fn::Join": ["/", ["a", { "Fn::ImportValue": "shared-table" }]] });
        let template = typed(&json);
        let notify = find_function(
            &template,
            "t.json",
            &manifest_function("notify", "NotifyFunction"),
        )
        .unwrap();
        let error = environment(&notify, &deployed(&json))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            r#"cannot resolve NotifyFunction: X = {"Fn::Join":["/",["a",{"Fn::ImportValue":"shared-table"}]]} (at Fn::Join[1][1]: {"Fn::ImportValue":"shared-table"}) locally: Fn::ImportValue is not supported by invoke"#
        );

        let mut not_deployed = deployed(&json);
        not_deployed
            .resources
            .retain(|resource| resource.logical_id != "Table");
        let error = evaluate(&json!({ "Ref": "Table" }), &not_deployed)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            r#"cannot resolve {"Ref":"Table"} locally: stack upstack-dev has no resource Table (deploy the env first?)"#
        );
        let error = evaluate(&json!({ "Fn::Sub": "${Table.Arn}" }), &not_deployed)
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with("stack upstack-dev has no resource Table (deploy the env first?)"),
            "{error}"
        );
        let error = evaluate(
            &json!({ "Fn::GetAtt": ["Alerts", "Owner"] }),
            &deployed(&json),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.ends_with("AWS::SNS::Topic.Owner is not an attribute invoke can derive"),
            "{error}"
        );
        let error = evaluate(&json!({ "Name": "x" }), &deployed(&json))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            r#"cannot resolve {"Name":"x"} locally: not a string or a supported intrinsic function"#
        );
    }

    #[test]
    fn upload_bucket_is_the_only_bucket_or_the_one_notifying_the_function() {
        let mut json = template_json();
        assert_eq!(
            upload_bucket(&typed(&json), "t.json", "NotifyFunction").unwrap(),
            "Uploads"
        );
        json["Resources"]["Logs"] = json!({ "Type": "AWS::S3::Bucket" });
        let template = typed(&json);
        assert_eq!(
            upload_bucket(&template, "t.json", "NotifyFunction").unwrap(),
            "Uploads"
        );
        let error = upload_bucket(&template, "t.json", "PhotoCheckFunction")
            .unwrap_err()
            .to_string();
        assert!(error.contains("pass --bucket"), "{error}");
    }

    /// Buckets are told apart by the function their notification names,
    /// read typed: a longer name that merely contains it is another function.
    #[test]
    fn upload_bucket_matches_the_function_exactly() {
        let mut json = template_json();
        json["Resources"]["Other"] = json!({ "Type": "AWS::S3::Bucket", "Properties": {
            "NotificationConfiguration": { "LambdaConfigurations": [
                { "Event": "s3:ObjectCreated:*",
                  "Function": { "Fn::Sub": "${NotifyFunctionV2.Arn}" } } ] } } });
        assert_eq!(
            upload_bucket(&typed(&json), "t.json", "NotifyFunction").unwrap(),
            "Uploads"
        );
        assert_eq!(
            upload_bucket(&typed(&json), "t.json", "NotifyFunctionV2").unwrap(),
            "Other"
        );
        json["Resources"]["Other"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
            [0]["Function"] = json!(["not", "a", "string"]);
        let error = upload_bucket(&typed(&json), "t.json", "NotifyFunction")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "t.json: Resources.Other.Properties.NotificationConfiguration.LambdaConfigurations[0].Function: invalid type: sequence, expected a string (reading AWS::S3::Bucket); run `upstack synth`"
        );
    }

    /// Lambda runs with numbers: a computed memory size is refused, not
    /// replaced by the default.
    #[test]
    fn a_function_read_typed_refuses_what_it_cannot_run_as_written() {
        let notify = manifest_function("notify", "NotifyFunction");
        let mut json = template_json();
        json["Resources"]["NotifyFunction"]["Properties"]["MemorySize"] =
            json!({ "Fn::If": ["Big", 1024, 128] });
        let error = find_function(&typed(&json), "t.json", &notify)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            r#"cannot resolve NotifyFunction.MemorySize = {"Fn::If":["Big",1024,128]} locally: invoke needs a literal MemorySize"#
        );
        json["Resources"]["NotifyFunction"]["Properties"]["Timeout"] = json!("30");
        let error = find_function(&typed(&json), "t.json", &notify)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            r#"t.json: Resources.NotifyFunction.Properties.Timeout: invalid type: string "30", expected i64 (reading AWS::Lambda::Function); run `upstack synth`"#
        );
    }

    /// The template `synth` actually writes: every handler is found, the
    /// upload bucket is told apart from the access-log bucket, and every
    /// environment value uses only intrinsics `invoke` resolves.
    #[test]
    fn committed_dev_template_is_fully_resolvable() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let text = std::fs::read_to_string(root.join("synth-out/dev/template.json")).unwrap();
        let template = Template::from_json_str(&text).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        let physical_ids: Vec<(String, String)> = template
            .resources
            .keys()
            .map(|id| (id.clone(), format!("physical-{id}")))
            .collect();
        let physical_ids: Vec<(&str, &str)> = physical_ids
            .iter()
            .map(|(id, physical)| (id.as_str(), physical.as_str()))
            .collect();
        let deployed = stack_of(&json, &physical_ids);
        let manifest = upstack_project::manifest::load(root, "dev").unwrap();
        for entry in &manifest.functions {
            let handler = &entry.handler;
            let function = find_function(&template, "synth-out/dev/template.json", entry).unwrap();
            let bucket = upload_bucket(
                &template,
                "synth-out/dev/template.json",
                &function.logical_id,
            )
            .unwrap();
            assert_eq!(bucket, "UploadBucket", "{handler}");
            let environment = environment(&function, &deployed).unwrap();
            assert_eq!(
                environment.get("APP_ENV").map(String::as_str),
                Some("dev"),
                "{handler}"
            );
        }
    }

    fn output(outcome: InvocationOutcome) -> InvokeOutput {
        InvokeOutput {
            function_name: "upstack-dev-notify".into(),
            event: serde_json::json!({}),
            environment: BTreeMap::new(),
            report: InvocationReport {
                request_id: "8f5e2a4c-0000-4000-8000-000000000001".into(),
                outcome,
                init_duration: Some(Duration::from_micros(12_345)),
                duration: Some(Duration::from_micros(45_600)),
                logs: vec![
                    LogLine {
                        stream: LogStream::Stdout,
                        text: r#"{"level":"INFO","message":"notified"}"#.into(),
                    },
                    LogLine {
                        stream: LogStream::Stderr,
                        text: "warning: slow SNS".into(),
                    },
                ],
            },
        }
    }

    #[test]
    fn response_snapshot() {
        // Keys already sorted: the rendering is the same whether or not
        // serde_json's `preserve_order` is unified into the build.
        let body = br#"{"key":"uploads/a+b.txt","published":2}"#.to_vec();
        insta::assert_snapshot!(render("notify", &output(InvocationOutcome::Response(body))));
    }

    #[test]
    fn error_and_timeout_snapshots() {
        let error = InvocationOutcome::Error {
            phase: Phase::Invoke,
            error_type: "Permanent".into(),
            error_message: "object uploads/x was deleted".into(),
            body: Vec::new(),
        };
        insta::assert_snapshot!("error", render("notify", &output(error)));
        let timeout = InvocationOutcome::TimedOut {
            phase: Phase::Invoke,
            after: Duration::from_secs(30),
        };
        insta::assert_snapshot!("timeout", render("notify", &output(timeout)));
    }
}
