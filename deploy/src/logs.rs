//! `upstack logs`: the stack's function log groups, merged in time order,
//! each line tagged with its function and Lambda request id.
//!
//! Which groups to read comes from the manifest (`ManifestFunction::log_group`,
//! named once by the stack); [`fetch`] and [`follow`] are the only IO
//! (CloudWatch Logs `FilterLogEvents`); [`parse`], [`render_text`] and
//! [`render_json`] are pure, so every rendering is snapshot-tested.
//!
//! A line is read in the shapes our functions write: Lambda's platform
//! records (JSON, since the stack sets `LogFormat: JSON`, or the text form of
//! a function without it), the handlers' tracing JSON (level, message, the
//! `requestId` of lambda_runtime's span, other fields) and embedded metric
//! format lines (metric names and values). Anything else is shown as it was
//! written.

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use upstack_stack::Manifest;

use crate::aws::{CallError, call};

/// What went wrong reading logs, or the arguments that said what to read.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("no function `{name}` in env {env}; the stack's functions are: {known}")]
    UnknownFunction {
        name: String,
        env: String,
        known: String,
    },
    #[error(
        "--since `{value}`: expected a duration back from now (30s, 10m, 2h, 1d) or an RFC 3339 time (2026-12-07T09:00:00Z)"
    )]
    BadSince { value: String },
    #[error(transparent)]
    Aws(#[from] CallError),
}

/// The CloudWatch Logs client `fetch` and `follow` take.
pub fn client(sdk_config: &aws_config::SdkConfig) -> Client {
    Client::new(sdk_config)
}

/// One log group to read, under the name `logs` shows for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    /// The function as `invoke` names it: its handler.
    pub function: String,
    pub log_group: String,
}

/// The log groups of `functions` (every function of the stack when empty),
/// in the manifest's order.
pub fn sources(manifest: &Manifest, functions: &[String]) -> Result<Vec<LogSource>, LogsError> {
    for name in functions {
        if manifest.function(name).is_none() {
            return Err(LogsError::UnknownFunction {
                name: name.clone(),
                env: manifest.env.clone(),
                known: manifest
                    .functions
                    .iter()
                    .map(|function| function.handler.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(manifest
        .functions
        .iter()
        .filter(|function| functions.is_empty() || functions.contains(&function.handler))
        .map(|function| LogSource {
            function: function.handler.clone(),
            log_group: function.log_group.clone(),
        })
        .collect())
}

/// `--since`: `30s`, `10m`, `2h`, `1d` back from `now`, or an RFC 3339 time.
pub fn parse_since(value: &str, now: SystemTime) -> Result<SystemTime, LogsError> {
    let bad = || LogsError::BadSince {
        value: value.to_owned(),
    };
    let trimmed = value.trim();
    if let Some(unit) = trimmed.chars().last().filter(char::is_ascii_alphabetic) {
        let digits = &trimmed[..trimmed.len() - unit.len_utf8()];
        if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) {
            let count: u64 = digits.parse().map_err(|_| bad())?;
            let seconds = match unit {
                's' => Some(count),
                'm' => count.checked_mul(60),
                'h' => count.checked_mul(3_600),
                'd' => count.checked_mul(86_400),
                _ => None,
            }
            .ok_or_else(bad)?;
            return now
                .checked_sub(Duration::from_secs(seconds))
                .ok_or_else(bad);
        }
    }
    let time = aws_smithy_types::DateTime::from_str(
        trimmed,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .map_err(|_| bad())?;
    SystemTime::try_from(time).map_err(|_| bad())
}

/// One event as CloudWatch Logs returned it, with the function it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Milliseconds since the Unix epoch, as the function's runtime stamped it.
    pub timestamp_ms: i64,
    pub function: String,
    /// CloudWatch's id of the event: unique within the log group.
    pub event_id: String,
    pub message: String,
}

/// What kind of line an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Lambda's own record of an invocation (start, report, init, ...).
    Platform,
    /// A line the handler logged.
    Log,
    /// Embedded metric format: metrics, not a message.
    Metrics,
    /// Not in a shape we know: shown as written.
    Raw,
}

/// One event, read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub function: String,
    pub request_id: Option<String>,
    pub kind: LineKind,
    /// The handler's level (`INFO`, `ERROR`, ...), or the platform record's
    /// name (`START`, `REPORT`, ...).
    pub level: Option<String>,
    /// The message, with the other fields as `key=value` after it.
    pub text: String,
    /// The event as written, for `--format json`.
    pub message: String,
}

/// Reads one event (pure).
pub fn parse(event: &LogEvent) -> LogLine {
    let message = event.message.trim_end_matches(['\n', '\r']).to_owned();
    let mut line = LogLine {
        time: rfc3339_millis(event.timestamp_ms),
        function: event.function.clone(),
        request_id: None,
        kind: LineKind::Raw,
        level: None,
        text: message.clone(),
        message,
    };
    match serde_json::from_str::<Json>(&line.message) {
        Ok(Json::Object(object)) => read_json(&object, &mut line),
        _ => read_platform_text(&mut line),
    }
    line
}

fn read_json(object: &Map<String, Json>, line: &mut LogLine) {
    if let Some(aws) = object.get("_aws") {
        line.kind = LineKind::Metrics;
        line.level = Some("METRICS".into());
        line.request_id = text_field(object, "requestId");
        let names: BTreeSet<&str> = aws
            .get("CloudWatchMetrics")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|directive| directive.get("Metrics").and_then(Json::as_array))
            .flatten()
            .filter_map(|metric| metric.get("Name").and_then(Json::as_str))
            .collect();
        line.text = names
            .iter()
            .map(|name| {
                format!(
                    "{name}={}",
                    scalar(object.get(*name).unwrap_or(&Json::Null))
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        return;
    }
    if let (Some(kind), Some(record)) = (
        object.get("type").and_then(Json::as_str),
        object.get("record"),
    ) && kind.starts_with("platform.")
    {
        line.kind = LineKind::Platform;
        line.request_id = record
            .get("requestId")
            .and_then(Json::as_str)
            .map(str::to_owned);
        let (name, text) = platform_record(kind, record);
        line.level = Some(name);
        line.text = text;
        return;
    }
    let Some(level) = object.get("level").and_then(Json::as_str) else {
        line.request_id = text_field(object, "requestId");
        return;
    };
    line.kind = LineKind::Log;
    line.level = Some(level.to_ascii_uppercase());
    line.request_id = object
        .get("span")
        .and_then(|span| span.get("requestId"))
        .and_then(Json::as_str)
        .map(str::to_owned)
        .or_else(|| text_field(object, "requestId"));
    let mut parts: Vec<String> = object
        .get("message")
        .or_else(|| {
            object
                .get("fields")
                .and_then(|fields| fields.get("message"))
        })
        .map(scalar)
        .into_iter()
        .collect();
    // What every line carries, or what is already shown, is left out.
    const SHOWN: [&str; 9] = [
        "level",
        "message",
        "span",
        "spans",
        "target",
        "timestamp",
        "time",
        "requestId",
        "threadName",
    ];
    let mut fields: Vec<(&String, &Json)> = object
        .iter()
        .filter(|(key, _)| !SHOWN.contains(&key.as_str()))
        .collect();
    fields.sort_by_key(|(key, _)| *key);
    parts.extend(
        fields
            .into_iter()
            .map(|(key, value)| format!("{key}={}", scalar(value))),
    );
    line.text = parts.join(" ");
}

/// A platform record's short name and its figures in one line.
fn platform_record(kind: &str, record: &Json) -> (String, String) {
    let name = kind
        .trim_start_matches("platform.")
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let number = |path: &[&str]| -> Option<f64> {
        path.iter()
            .try_fold(record, |value, key| value.get(key))
            .and_then(Json::as_f64)
    };
    match kind {
        "platform.start" => (
            "START".into(),
            record
                .get("version")
                .and_then(Json::as_str)
                .map(|version| format!("version {version}"))
                .unwrap_or_default(),
        ),
        "platform.report" => {
            let mut parts = Vec::new();
            if let Some(duration) = number(&["metrics", "durationMs"]) {
                parts.push(format!("duration {duration} ms"));
            }
            if let Some(billed) = number(&["metrics", "billedDurationMs"]) {
                parts.push(format!("billed {billed} ms"));
            }
            if let (Some(used), Some(size)) = (
                number(&["metrics", "maxMemoryUsedMB"]),
                number(&["metrics", "memorySizeMB"]),
            ) {
                parts.push(format!("memory {used}/{size} MB"));
            }
            if let Some(init) = number(&["metrics", "initDurationMs"]) {
                parts.push(format!("init {init} ms"));
            }
            if let Some(status) = record.get("status").and_then(Json::as_str)
                && status != "success"
            {
                parts.push(format!("status {status}"));
            }
            ("REPORT".into(), parts.join(", "))
        }
        _ => (
            name.to_ascii_uppercase(),
            record
                .as_object()
                .map(|fields| {
                    let mut fields: Vec<_> = fields
                        .iter()
                        .filter(|(key, _)| key.as_str() != "requestId")
                        .collect();
                    fields.sort_by_key(|(key, _)| *key);
                    fields
                        .into_iter()
                        .map(|(key, value)| format!("{key}={}", scalar(value)))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
        ),
    }
}

/// Lambda's text records: `START RequestId: <id> Version: $LATEST`,
/// `END RequestId: <id>`, `REPORT RequestId: <id>\tDuration: ...`.
fn read_platform_text(line: &mut LogLine) {
    for name in ["START", "END", "REPORT"] {
        let Some(rest) = line
            .message
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(" RequestId: "))
        else {
            continue;
        };
        let (request_id, rest) = rest
            .split_once(|c: char| c.is_whitespace())
            .unwrap_or((rest, ""));
        line.kind = LineKind::Platform;
        line.level = Some(name.into());
        line.request_id = Some(request_id.to_owned());
        line.text = rest
            .split('\t')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        return;
    }
}

fn text_field(object: &Map<String, Json>, key: &str) -> Option<String> {
    object.get(key).and_then(Json::as_str).map(str::to_owned)
}

/// A value as `key=value` shows it: strings bare, the rest as JSON.
fn scalar(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Always with three digits of milliseconds, so lines align.
fn rfc3339_millis(timestamp_ms: i64) -> String {
    let seconds = aws_smithy_types::DateTime::from_secs(timestamp_ms.div_euclid(1000))
        .fmt(aws_smithy_types::date_time::Format::DateTime);
    match seconds {
        Ok(text) => match text.strip_suffix('Z') {
            Some(whole) => format!("{whole}.{:03}Z", timestamp_ms.rem_euclid(1000)),
            None => text,
        },
        Err(_) => timestamp_ms.to_string(),
    }
}

/// One line for a person: time, function, the request id's first 8
/// characters (the JSON form has all of it), level, text.
pub fn render_text(line: &LogLine, function_width: usize) -> String {
    let request = line
        .request_id
        .as_deref()
        .map_or_else(|| "-".to_owned(), |id| id.chars().take(8).collect());
    let level = line.level.as_deref().unwrap_or("");
    format!(
        "{} {:function_width$} {request:<8} {level:<7} {}",
        line.time, line.function, line.text
    )
    .trim_end()
    .to_owned()
}

/// One line of JSON (a stream a script reads line by line).
pub fn render_json(line: &LogLine) -> String {
    // Strings, options and a unit enum: serialization cannot fail.
    serde_json::to_string(line).unwrap_or_default()
}

/// Whether `--filter TEXT` keeps the event: TEXT anywhere in it, as written.
pub fn matches(event: &LogEvent, filter: Option<&str>) -> bool {
    filter.is_none_or(|text| event.message.contains(text))
}

/// What one read found.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Every event of every source, in time order.
    pub events: Vec<LogEvent>,
    /// Sources whose log group does not exist (yet): the function has not
    /// run since its stack created the group, or the group was deleted.
    pub missing: Vec<LogSource>,
}

/// Every event of `sources` from `start_ms` on (to `end_ms`, when given),
/// merged in time order.
pub async fn fetch(
    client: &Client,
    sources: &[LogSource],
    start_ms: i64,
    end_ms: Option<i64>,
    filter: Option<&str>,
) -> Result<Fetched, CallError> {
    let mut fetched = Fetched::default();
    for source in sources {
        match read_group(client, source, start_ms, end_ms).await {
            Ok(events) => fetched
                .events
                .extend(events.into_iter().filter(|event| matches(event, filter))),
            Err(error) if error.is_not_found() => {
                fetched.missing.push(source.clone());
            }
            Err(error) => return Err(error),
        }
    }
    sort(&mut fetched.events);
    Ok(fetched)
}

/// Time order; ties (the same millisecond) by function, then CloudWatch's id,
/// so a merge is the same however the groups answered.
fn sort(events: &mut [LogEvent]) {
    events.sort_by(|a, b| {
        (a.timestamp_ms, &a.function, &a.event_id).cmp(&(b.timestamp_ms, &b.function, &b.event_id))
    });
}

async fn read_group(
    client: &Client,
    source: &LogSource,
    start_ms: i64,
    end_ms: Option<i64>,
) -> Result<Vec<LogEvent>, CallError> {
    let operation = format!("logs:FilterLogEvents {}", source.log_group);
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = call(
            &operation,
            client
                .filter_log_events()
                .log_group_name(&source.log_group)
                .start_time(start_ms)
                .set_end_time(end_ms)
                .set_next_token(token.clone())
                .send(),
        )
        .await?;
        events.extend(page.events().iter().map(|event| LogEvent {
            timestamp_ms: event.timestamp().unwrap_or_default(),
            function: source.function.clone(),
            event_id: event.event_id().unwrap_or_default().to_owned(),
            message: event.message().unwrap_or_default().to_owned(),
        }));
        // A token that repeats would loop forever: CloudWatch ends with none.
        match page.next_token() {
            Some(next) if token.as_deref() != Some(next) => token = Some(next.to_owned()),
            _ => return Ok(events),
        }
    }
}

/// How far back each poll of `follow` reads again: CloudWatch Logs makes an
/// event visible a few seconds after its timestamp, so reading only after
/// the newest event seen would skip one that arrives late.
pub const FOLLOW_OVERLAP: Duration = Duration::from_secs(60);

/// Events of `sources` from `start_ms` on, then every `poll` the new ones,
/// each passed to `emit` once, until `stop` resolves. A source's missing
/// log group is reported once through `on_missing` and read again on every
/// poll, so its first lines appear when the function first runs.
#[allow(clippy::too_many_arguments)]
pub async fn follow(
    client: &Client,
    sources: &[LogSource],
    start_ms: i64,
    filter: Option<&str>,
    poll: Duration,
    now_ms: impl Fn() -> i64,
    mut emit: impl FnMut(&LogEvent),
    mut on_missing: impl FnMut(&LogSource),
    stop: impl Future<Output = ()>,
) -> Result<(), CallError> {
    tokio::pin!(stop);
    let overlap = i64::try_from(FOLLOW_OVERLAP.as_millis()).unwrap_or(i64::MAX);
    let mut cursor = start_ms;
    // Ids of the events already shown whose time is inside the overlap.
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut seen_by_time: Vec<(i64, (String, String))> = Vec::new();
    let mut reported_missing: HashSet<String> = HashSet::new();
    loop {
        let read_from = cursor.saturating_sub(overlap).max(start_ms);
        let fetched = tokio::select! {
            fetched = fetch(client, sources, read_from, None, filter) => fetched?,
            () = &mut stop => return Ok(()),
        };
        for source in &fetched.missing {
            if reported_missing.insert(source.log_group.clone()) {
                on_missing(source);
            }
        }
        for event in fetched.events {
            let key = (event.function.clone(), event.event_id.clone());
            if seen.insert(key.clone()) {
                emit(&event);
                seen_by_time.push((event.timestamp_ms, key));
                cursor = cursor.max(event.timestamp_ms);
            }
        }
        // Nothing older than the next read's start can come back.
        let horizon = cursor.saturating_sub(overlap);
        seen_by_time.retain(|(time, key)| {
            let keep = *time >= horizon;
            if !keep {
                seen.remove(key);
            }
            keep
        });
        // With nothing new, the read window still moves on with the clock.
        cursor = cursor.max(now_ms().saturating_sub(overlap));
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            () = &mut stop => return Ok(()),
        }
    }
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn epoch_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
