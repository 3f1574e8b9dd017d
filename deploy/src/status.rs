//! The stack's health: its alarms and their states, queue depths, the
//! stack's status and last deploy, and each function's errors in the last
//! hour. `upstack status` renders it; `deploy` reads the alarm half for its
//! pre-flight check and its rollback triggers.
//!
//! Three layers: the env's [`Manifest`] says what to look at (computed once
//! by synth from `upstack_stack`'s model: the alarm names are never
//! re-derived here); [`gather`] asks AWS (the only IO);
//! [`render_text`] and [`render_json`] print a [`StatusReport`] (pure, so
//! both renderings are snapshot-tested).
//!
//! The JSON document is versioned ([`SCHEMA_VERSION`]); its fields are
//! documented on [`StatusReport`] and the types it holds.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, StateValue,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;
use upstack_cfn::{ReadError, Template};
use upstack_cfn_resources::lambda;
use upstack_stack::Manifest;
pub use upstack_stack::{ManifestFunction, QueueName, StackAlarm, StackAlarms};

use crate::aws::{CallError, call};
use crate::stack::{self, StackStatus, rfc3339};

/// Version of the `status --format json` document. Bump it when a field
/// changes meaning or goes away; adding a field is not a bump.
pub const SCHEMA_VERSION: u32 = 1;

/// `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`, the form a
/// rollback trigger takes.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackTrigger.html>
pub fn alarm_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:cloudwatch:{region}:{account}:alarm:{name}",
        upstack_cfn::intrinsic::partition_for_region(region)
    )
}

upstack_cfn::aws_enum! {
    /// An alarm's state, as CloudWatch spells it. CloudWatch may add states;
    /// an unknown one is carried verbatim and never counts as healthy or as
    /// ALARM.
    AlarmState {
        Ok = "OK",
        Alarm = "ALARM",
        InsufficientData = "INSUFFICIENT_DATA",
    }
}

impl AlarmState {
    /// The SDK's value; none at all is an unknown (empty) state.
    fn from_sdk(state: Option<&StateValue>) -> AlarmState {
        AlarmState::from(state.map_or("", StateValue::as_str))
    }
}

/// What `status` found for one of the template's alarms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmReportState {
    /// CloudWatch has it, in this state.
    Found(AlarmState),
    /// In the template, not in CloudWatch.
    Missing,
}

impl AlarmReportState {
    /// As the report spells it: CloudWatch's state, or `MISSING`.
    pub fn as_str(&self) -> &str {
        match self {
            AlarmReportState::Found(state) => state.as_str(),
            AlarmReportState::Missing => "MISSING",
        }
    }

    pub fn is_alarm(&self) -> bool {
        *self == AlarmReportState::Found(AlarmState::Alarm)
    }

    pub fn is_ok(&self) -> bool {
        *self == AlarmReportState::Found(AlarmState::Ok)
    }
}

/// The report's spelling back: `MISSING`, else CloudWatch's. For tests only:
/// a real CloudWatch state is never read from text, and one named `MISSING`
/// would be misread.
#[cfg(any(test, feature = "test-util"))]
impl From<&str> for AlarmReportState {
    fn from(state: &str) -> AlarmReportState {
        match state {
            "MISSING" => AlarmReportState::Missing,
            cloudwatch => AlarmReportState::Found(cloudwatch.into()),
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
impl PartialEq<&str> for AlarmReportState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for AlarmReportState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`: the text report aligns states in a column.
        f.pad(self.as_str())
    }
}

impl Serialize for AlarmReportState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One alarm as CloudWatch reports it (DescribeAlarms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmStatus {
    pub name: String,
    pub state: AlarmState,
    /// CloudWatch's `StateReason` ("Threshold Crossed: 1 datapoint ...").
    pub reason: Option<String>,
    /// RFC 3339: when the state last changed.
    pub updated: Option<String>,
}

/// DescribeAlarms for exactly these names, metric and composite alarms
/// (100 per call, the API's limit, every page). Alarms that do not exist are
/// simply not in the answer.
pub async fn describe_alarms(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    names: &[String],
) -> Result<Vec<AlarmStatus>, CallError> {
    let mut found = Vec::new();
    for chunk in names.chunks(100) {
        let mut next_token: Option<String> = None;
        loop {
            let token = next_token.clone();
            let page = call(
                "cloudwatch:DescribeAlarms",
                cloudwatch
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    // Without AlarmTypes only metric alarms are returned.
                    .alarm_types(AlarmType::MetricAlarm)
                    .alarm_types(AlarmType::CompositeAlarm)
                    .set_next_token(token.clone())
                    .send(),
            )
            .await?;
            found.extend(page.metric_alarms().iter().map(|alarm| AlarmStatus {
                name: alarm.alarm_name().unwrap_or_default().to_owned(),
                state: AlarmState::from_sdk(alarm.state_value()),
                reason: alarm.state_reason().map(str::to_owned),
                updated: alarm.state_updated_timestamp().and_then(rfc3339),
            }));
            found.extend(page.composite_alarms().iter().map(|alarm| AlarmStatus {
                name: alarm.alarm_name().unwrap_or_default().to_owned(),
                state: AlarmState::from_sdk(alarm.state_value()),
                reason: alarm.state_reason().map(str::to_owned),
                updated: alarm.state_updated_timestamp().and_then(rfc3339),
            }));
            next_token = page
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
    }
    Ok(found)
}

/// A CloudWatch client for `sdk_config` (deploy's and status's).
pub fn cloudwatch_client(sdk_config: &aws_config::SdkConfig) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(sdk_config)
}

/// `status --format json`: everything `status` found. Field by field:
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub env: String,
    pub stack: StackReport,
    /// `healthy` (exit 0) or `alarm` (exit 2): whether any alarm is in ALARM.
    pub health: Health,
    /// Every alarm the template defines, in the model's order, then the
    /// composite deploy guard over them (in ALARM whenever a member is; it
    /// counts for `health` like any alarm).
    pub alarms: Vec<AlarmReport>,
    /// The stack's queues, in the model's order.
    pub queues: Vec<QueueReport>,
    /// Each function's `AWS/Lambda Errors` (Sum) over the last hour.
    pub functions: Vec<FunctionReport>,
    /// Resources changed outside CloudFormation (or unreadable), in the
    /// shape of `diff --format json`'s `drift` (diff/SCHEMA.md), without
    /// fates; empty with `--no-drift`.
    pub drift: Vec<upstack_diff::drift::ResourceDrift>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    Alarm,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackReport {
    pub name: String,
    /// CloudFormation's status, verbatim (an unknown one is carried as is).
    pub status: StackStatus,
    pub status_reason: Option<String>,
    /// RFC 3339: the last update, else the creation (the last deploy).
    pub last_deployed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmReport {
    pub name: String,
    /// `OK`, `ALARM`, `INSUFFICIENT_DATA`, any newer CloudWatch state
    /// verbatim, or `MISSING` (in the template, not in CloudWatch).
    pub state: AlarmReportState,
    /// CloudWatch's `StateReason`.
    pub reason: Option<String>,
    /// RFC 3339: when the state last changed.
    pub updated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueReport {
    /// The model's id: `failures`, `events`, `events-dead-letter`.
    pub id: String,
    pub name: String,
    /// `null` when the stack has no such queue.
    pub url: Option<String>,
    /// `ApproximateNumberOfMessages`.
    pub visible: Option<u64>,
    /// `ApproximateNumberOfMessagesNotVisible` (received, not yet deleted).
    pub in_flight: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionReport {
    pub handler: String,
    pub name: String,
    /// Sum of `Errors` over the last hour; 0 when Lambda reported no datapoint.
    pub errors_last_hour: f64,
    /// Whether the function runs the code of the last deploy.
    pub code: CodeReport,
    /// The asset key a hotswap set (`deploy --hotswap`, `watch`), from the
    /// function's `upstack:hotswapped` record; the next deploy reconciles it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hotswapped: Option<String>,
}

/// A function's running code (its `CodeSha256`) against the asset the
/// deployed template names for it (the object's SHA-256 in the asset bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CodeReport {
    /// It runs exactly the zip of the last deploy.
    AsDeployed { sha256: String },
    /// It runs other code than the last deploy uploaded for it: changed in
    /// the console, by another tool, or a hotswap.
    Differs { running: String, deployed: String },
    /// Could not be compared; the reason says why (no such function, the
    /// asset is not in the bucket, the template names no asset).
    Unknown { reason: String },
}

impl CodeReport {
    pub fn differs(&self) -> bool {
        matches!(self, CodeReport::Differs { .. })
    }
}

impl StatusReport {
    /// The alarms in ALARM.
    pub fn firing(&self) -> impl Iterator<Item = &AlarmReport> {
        self.alarms.iter().filter(|alarm| alarm.state.is_alarm())
    }

    /// The functions that do not run the code of the last deploy.
    pub fn code_differs(&self) -> impl Iterator<Item = &FunctionReport> {
        self.functions
            .iter()
            .filter(|function| function.code.differs())
    }

    /// Resources whose drift weakens security.
    pub fn broadening_drift(&self) -> impl Iterator<Item = &upstack_diff::drift::ResourceDrift> {
        self.drift.iter().filter(|resource| resource.broadening())
    }

    /// Whether anything needs a look: an alarm in ALARM, a function not
    /// running the code of the last deploy, or a change made outside
    /// CloudFormation that weakens security (`status` exits 2 for any).
    pub fn needs_attention(&self) -> bool {
        self.health == Health::Alarm
            || self.code_differs().next().is_some()
            || self.broadening_drift().next().is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("stack {stack} does not exist: deploy it first (`upstack deploy --env {env}`)")]
    NoStack { stack: String, env: String },
    #[error(transparent)]
    Template(#[from] crate::stack::TemplateError),
}

/// The clients `status` uses.
#[derive(Debug, Clone)]
pub struct StatusClients {
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// The assets' stored SHA-256 (the code of the last deploy).
    pub s3: aws_sdk_s3::Client,
    /// Each function's running code.
    pub lambda: aws_sdk_lambda::Client,
    /// Every resource read for drift; `None` reads none (`--no-drift`).
    pub drift: Option<crate::drift::DriftClients>,
}

impl StatusClients {
    pub fn new(sdk_config: &aws_config::SdkConfig) -> StatusClients {
        StatusClients {
            cloudformation: aws_sdk_cloudformation::Client::new(sdk_config),
            cloudwatch: cloudwatch_client(sdk_config),
            sqs: aws_sdk_sqs::Client::new(sdk_config),
            s3: crate::aws::s3_client(sdk_config),
            lambda: aws_sdk_lambda::Client::new(sdk_config),
            drift: Some(crate::drift::DriftClients::new(sdk_config)),
        }
    }
}

/// How far back `status` sums each function's errors.
pub const ERRORS_WINDOW: Duration = Duration::from_secs(3600);

/// Asks AWS: DescribeStacks, DescribeAlarms, DescribeStackResources (the
/// queues' URLs), GetQueueAttributes per queue, one GetMetricData for every
/// function's errors over the hour before `now`, and for each function its
/// running code (GetFunctionConfiguration) and the code of the last deploy
/// (GetTemplate: the asset key; HeadObject in `asset_bucket`: its SHA-256);
/// with `clients.drift`, every resource's drift (`account` resolves the
/// template's ARNs). Only reads.
pub async fn gather(
    clients: &StatusClients,
    manifest: &Manifest,
    asset_bucket: &str,
    account: &str,
    now: SystemTime,
) -> Result<StatusReport, StatusError> {
    let cfn = &clients.cloudformation;
    let Some(stack) = stack::describe(cfn, &manifest.stack_name).await? else {
        return Err(StatusError::NoStack {
            stack: manifest.stack_name.clone(),
            env: manifest.env.clone(),
        });
    };

    let names = manifest.alarms.names();
    let observed = describe_alarms(&clients.cloudwatch, &names).await?;
    let alarms = names
        .iter()
        .map(
            |name| match observed.iter().find(|seen| &seen.name == name) {
                Some(seen) => AlarmReport {
                    name: name.clone(),
                    state: AlarmReportState::Found(seen.state.clone()),
                    reason: seen.reason.clone(),
                    updated: seen.updated.clone(),
                },
                None => AlarmReport {
                    name: name.clone(),
                    state: AlarmReportState::Missing,
                    reason: None,
                    updated: None,
                },
            },
        )
        .collect();

    let resources = stack::resources(cfn, &stack.stack_id).await?;
    let queue_urls: Vec<String> = resources
        .iter()
        .filter(|resource| resource.resource_type == "AWS::SQS::Queue")
        .filter_map(|resource| resource.physical_id.clone())
        .collect();
    let mut queues = Vec::new();
    for queue in &manifest.queues {
        // An SQS queue's physical id is its URL, ending in its name.
        let url = queue_urls
            .iter()
            .find(|url| url.rsplit('/').next() == Some(queue.name.as_str()))
            .cloned();
        let (visible, in_flight) = match &url {
            Some(url) => queue_depth(&clients.sqs, url).await?,
            None => (None, None),
        };
        queues.push(QueueReport {
            id: queue.id.clone(),
            name: queue.name.clone(),
            url,
            visible,
            in_flight,
        });
    }

    let mut functions = function_errors(&clients.cloudwatch, &manifest.functions, now).await?;
    let deployed_json = stack::template(cfn, &stack, &manifest.stack_name)
        .await?
        .template;
    let deployed = Template::from_json(&deployed_json);
    for (report, function) in functions.iter_mut().zip(&manifest.functions) {
        report.code = code_report(clients, &deployed, function, asset_bucket).await?;
    }
    for record in crate::deploy::hotswap::records(&clients.lambda, manifest).await? {
        if let Some(report) = functions
            .iter_mut()
            .find(|report| report.name == record.function_name)
        {
            report.hotswapped = Some(record.asset_key);
        }
    }
    let drift = match &clients.drift {
        Some(drift_clients) => {
            let deployed_stack = crate::drift::DeployedStack {
                template: deployed_json,
                resources,
                pseudo: upstack_cfn::intrinsic::PseudoValues::for_region(&manifest.region)
                    .with_account_id(account)
                    .with_stack_name(&manifest.stack_name),
            };
            crate::drift::read_drift(drift_clients, &deployed_stack).await
        }
        None => Vec::new(),
    };

    let mut report = report(
        manifest,
        StackReport {
            name: manifest.stack_name.clone(),
            last_deployed: stack.last_updated_time.clone().or(stack.creation_time),
            status: stack.status,
            status_reason: stack.status_reason,
        },
        alarms,
        queues,
        functions,
    );
    report.drift = drift;
    Ok(report)
}

/// Assembles the report and decides its health (pure).
pub fn report(
    manifest: &Manifest,
    stack: StackReport,
    alarms: Vec<AlarmReport>,
    queues: Vec<QueueReport>,
    functions: Vec<FunctionReport>,
) -> StatusReport {
    let health = if alarms.iter().any(|alarm| alarm.state.is_alarm()) {
        Health::Alarm
    } else {
        Health::Healthy
    };
    StatusReport {
        schema_version: SCHEMA_VERSION,
        env: manifest.env.clone(),
        stack,
        health,
        alarms,
        queues,
        functions,
        drift: Vec::new(),
    }
}

async fn queue_depth(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> Result<(Option<u64>, Option<u64>), CallError> {
    let output = call(
        "sqs:GetQueueAttributes",
        sqs.get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send(),
    )
    .await?;
    let count = |name: QueueAttributeName| {
        output
            .attributes()
            .and_then(|attributes| attributes.get(&name))
            .and_then(|value| value.parse().ok())
    };
    Ok((
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}

/// One GetMetricData for all functions: `Errors`, Sum, one period covering
/// the hour before `now`.
async fn function_errors(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    functions: &[ManifestFunction],
    now: SystemTime,
) -> Result<Vec<FunctionReport>, CallError> {
    let end = aws_smithy_types::DateTime::from(now);
    let start = aws_smithy_types::DateTime::from(now - ERRORS_WINDOW);
    // Query ids must start with a lower-case letter and be unique.
    let query_id = |index: usize| format!("errors{index}");
    let queries: Vec<MetricDataQuery> = functions
        .iter()
        .enumerate()
        .map(|(index, function)| {
            MetricDataQuery::builder()
                .id(query_id(index))
                .label(&function.function_name)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/Lambda")
                                .metric_name("Errors")
                                .dimensions(
                                    Dimension::builder()
                                        .name("FunctionName")
                                        .value(&function.function_name)
                                        .build(),
                                )
                                .build(),
                        )
                        .period(ERRORS_WINDOW.as_secs() as i32)
                        .stat("Sum")
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    let mut sums = vec![0.0_f64; functions.len()];
    if !queries.is_empty() {
        let mut next_token: Option<String> = None;
        loop {
            let token = next_token.clone();
            let page = call(
                "cloudwatch:GetMetricData",
                cloudwatch
                    .get_metric_data()
                    .set_metric_data_queries(Some(queries.clone()))
                    .start_time(start)
                    .end_time(end)
                    .set_next_token(token.clone())
                    .send(),
            )
            .await?;
            for result in page.metric_data_results() {
                if let Some(index) = (0..functions.len())
                    .find(|index| result.id() == Some(query_id(*index).as_str()))
                {
                    sums[index] += result.values().iter().sum::<f64>();
                }
            }
            next_token = page
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
    }
    Ok(functions
        .iter()
        .zip(sums)
        .map(|(function, errors)| FunctionReport {
            handler: function.handler.clone(),
            name: function.function_name.clone(),
            errors_last_hour: errors,
            code: CodeReport::Unknown {
                reason: "not read".to_owned(),
            },
            hotswapped: None,
        })
        .collect())
}

/// One function's running code against the asset `deployed` names for it.
async fn code_report(
    clients: &StatusClients,
    deployed: &Result<Template, ReadError>,
    function: &ManifestFunction,
    asset_bucket: &str,
) -> Result<CodeReport, CallError> {
    let properties = match deployed {
        Ok(template) => template.read::<lambda::Function>(&function.logical_id),
        Err(error) => {
            return Ok(CodeReport::Unknown {
                reason: format!("the deployed template does not read: {error}"),
            });
        }
    };
    let key = match properties {
        Some(Ok(properties)) => properties
            .code
            .as_lit()
            .and_then(|code| code.s3_key.as_ref())
            .and_then(|key| key.as_lit().cloned()),
        Some(Err(error)) => {
            return Ok(CodeReport::Unknown {
                reason: format!("the deployed template does not read: {error}"),
            });
        }
        None => None,
    };
    let Some(key) = key else {
        return Ok(CodeReport::Unknown {
            reason: format!(
                "the deployed template names no S3 asset for {}",
                function.logical_id
            ),
        });
    };
    let key = key.as_str();
    let Some(running) =
        crate::deploy::running_code(&clients.lambda, &function.function_name).await?
    else {
        return Ok(CodeReport::Unknown {
            reason: format!("function {} does not exist", function.function_name),
        });
    };
    let Some(asset) = crate::assets::stored(&clients.s3, asset_bucket, key).await? else {
        return Ok(CodeReport::Unknown {
            reason: format!("its asset s3://{asset_bucket}/{key} is not in the bucket"),
        });
    };
    Ok(if asset.sha256 == running {
        CodeReport::AsDeployed { sha256: running }
    } else {
        CodeReport::Differs {
            running,
            deployed: asset.sha256,
        }
    })
}

/// The report as JSON (pretty, with a final newline).
pub fn render_json(report: &StatusReport) -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(report)?;
    json.push('\n');
    Ok(json)
}

/// The report for a person: stack, alarms (those in ALARM first, with their
/// reason), queues, function errors, then one verdict line.
pub fn render_text(report: &StatusReport) -> String {
    let mut out = String::new();
    let stack = &report.stack;
    out.push_str(&format!(
        "stack {} ({}): {}{}, last deployed {}\n",
        stack.name,
        report.env,
        stack.status,
        stack
            .status_reason
            .as_deref()
            .filter(|reason| !reason.is_empty())
            .map(|reason| format!(" ({reason})"))
            .unwrap_or_default(),
        stack.last_deployed.as_deref().unwrap_or("never")
    ));

    let firing = report.firing().count();
    out.push_str(&format!(
        "\nalarms: {firing} of {} in ALARM\n",
        report.alarms.len()
    ));
    let width = report
        .alarms
        .iter()
        .map(|alarm| alarm.name.len())
        .max()
        .unwrap_or(0);
    let mut alarms: Vec<&AlarmReport> = report.alarms.iter().collect();
    // ALARM first, then anything not OK; the model's order otherwise.
    alarms.sort_by_key(|alarm| {
        if alarm.state.is_alarm() {
            0
        } else if alarm.state.is_ok() {
            2
        } else {
            1
        }
    });
    for alarm in alarms {
        let mut line = format!("  {:<17} {:<width$}", alarm.state, alarm.name);
        if !alarm.state.is_ok()
            && let Some(reason) = &alarm.reason
        {
            line.push_str("  ");
            line.push_str(reason);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }

    out.push_str("\nqueues (messages visible / in flight):\n");
    let name_width = report
        .queues
        .iter()
        .map(|queue| queue.name.len())
        .max()
        .unwrap_or(0);
    for queue in &report.queues {
        let depth = match (queue.url.as_ref(), queue.visible, queue.in_flight) {
            (None, _, _) => "not in the stack".to_owned(),
            (Some(_), visible, in_flight) => format!(
                "{} / {}",
                visible.map_or("?".to_owned(), |n| n.to_string()),
                in_flight.map_or("?".to_owned(), |n| n.to_string())
            ),
        };
        out.push_str(&format!(
            "  {:<18} {:<name_width$}  {depth}\n",
            queue.id, queue.name
        ));
    }

    out.push_str("\nfunction errors, last hour:\n");
    let name_width = report
        .functions
        .iter()
        .map(|function| function.name.len())
        .max()
        .unwrap_or(0);
    for function in &report.functions {
        out.push_str(&format!(
            "  {:<12} {:<name_width$}  {}\n",
            function.handler, function.name, function.errors_last_hour
        ));
    }

    out.push_str("\nfunction code (running vs the last deploy's zip):\n");
    for function in &report.functions {
        let state = match &function.code {
            CodeReport::AsDeployed { sha256 } => format!("as deployed (sha256 {sha256})"),
            CodeReport::Differs { running, deployed } => {
                format!("DIFFERS: runs sha256 {running}, the last deploy uploaded {deployed}")
            }
            CodeReport::Unknown { reason } => format!("unknown: {reason}"),
        };
        out.push_str(&format!(
            "  {:<12} {:<name_width$}  {state}\n",
            function.handler, function.name
        ));
        if let Some(key) = &function.hotswapped {
            out.push_str(&format!(
                "  {:<12} {:<name_width$}  hotswapped to {key} (upstack:hotswapped): the next deploy reconciles it\n",
                "", ""
            ));
        }
    }

    if !report.drift.is_empty() {
        out.push_str("\nchanged outside CloudFormation:\n");
        out.push_str(&upstack_diff::render::drift(&report.drift));
    }

    out.push('\n');
    out.push_str(&match report.health {
        Health::Healthy => "healthy: no alarm in ALARM\n".to_owned(),
        Health::Alarm => format!("ALARM: {firing} alarm(s) in ALARM\n"),
    });
    let differing: Vec<&str> = report
        .code_differs()
        .map(|function| function.name.as_str())
        .collect();
    if !differing.is_empty() {
        out.push_str(&format!(
            "CODE: {} function(s) do not run the code of the last deploy: {}\n",
            differing.len(),
            differing.join(", ")
        ));
    }
    let broadening: Vec<&str> = report
        .broadening_drift()
        .map(|resource| resource.logical_id.as_str())
        .collect();
    if !broadening.is_empty() {
        out.push_str(&format!(
            "DRIFT: {} resource(s) changed outside CloudFormation in a way that weakens security: {}\n",
            broadening.len(),
            broadening.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_cloudwatch_state_is_neither_alarm_nor_ok() {
        let newer = AlarmReportState::from("PENDING_REVIEW");
        assert_eq!(
            newer,
            AlarmReportState::Found(AlarmState::Unknown("PENDING_REVIEW".into()))
        );
        assert!(!newer.is_alarm() && !newer.is_ok());
        assert!(AlarmReportState::from("ALARM").is_alarm());
        assert_eq!(AlarmReportState::from("MISSING"), AlarmReportState::Missing);
        assert!(!AlarmReportState::Missing.is_ok());
        // Padded like the strings it replaced: the text report's column.
        assert_eq!(format!("{:<8}|", AlarmReportState::from("OK")), "OK      |");
    }
}
