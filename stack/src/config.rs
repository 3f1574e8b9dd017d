//! Environment configs (`envs/<env>.toml`): what a user edits without touching Rust.
//!
//! Every value is validated while it is deserialized (validating newtypes), so
//! an error points at the file, line and key that is wrong, e.g.
//! `envs/prod.toml:7: key \`notification_emails[1]\`: \`ops@\` is not an email address`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};
use upstack_contract::{Architecture, BuildProfile};

/// A config that could not be read, with where it went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {}{message}", line.map(|line| format!(":{line}")).unwrap_or_default(), key.as_ref().map(|key| format!("key `{key}`: ")).unwrap_or_default())]
pub struct ConfigError {
    /// The file as the user would type it (`envs/dev.toml`).
    pub file: String,
    /// 1-based line, when the parser knows it.
    pub line: Option<usize>,
    /// Dotted key path (`functions.notify.memory_mb`), when the error is about one key.
    pub key: Option<String>,
    pub message: String,
}

/// One environment, as written in `envs/<env>.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    /// Prefix of every physical name (`<app>-<env>-...`).
    pub app: toml::Spanned<Name>,
    /// The CloudFormation stack name.
    pub stack_name: StackName,
    pub region: Region,
    /// When set, deploy refuses to run against any other account.
    #[serde(default)]
    pub account_id: Option<AccountId>,
    /// The IAM role CloudFormation deploys the stack with (the change set's
    /// `RoleARN`): the execution role `bootstrap --github` creates. Must be
    /// a role of `account_id`'s account, which it then requires.
    #[serde(default)]
    pub execution_role_arn: Option<toml::Spanned<RoleArn>>,
    /// Email addresses subscribed to the standard topic (each must confirm).
    #[serde(default)]
    pub notification_emails: Vec<Email>,
    /// Days CloudWatch keeps function logs.
    pub log_retention_days: LogRetentionDays,
    /// Instruction set of every function.
    pub architecture: ArchitectureName,
    /// How the handlers are compiled: `lambda` (optimised; the default) or
    /// `fast` (quick rebuilds for a dev loop). Part of every asset key.
    #[serde(default)]
    pub build_profile: BuildProfileName,
    /// Keep the bucket, table and key when the stack is deleted or they are replaced.
    #[serde(default)]
    pub retain_stateful_resources: bool,
    /// X-Ray active tracing on every function (billed per trace beyond the free tier).
    #[serde(default)]
    pub tracing: bool,
    /// Stack termination protection (applied by deploy).
    #[serde(default)]
    pub termination_protection: bool,
    /// A production env: deploy applies the protective stack policy (no
    /// replacement or deletion of stateful resources), approval is asked for
    /// destructive changes, and diff predicts what that policy refuses.
    #[serde(default)]
    pub production: bool,
    /// Tags applied to every resource that takes tags.
    #[serde(default)]
    pub tags: BTreeMap<TagKey, TagValue>,
    #[serde(default)]
    pub functions: FunctionsConfig,
    pub ingest: IngestConfig,
    pub photo: PhotoConfig,
    /// Thresholds, periods and switches of the stack's alarms.
    #[serde(default)]
    pub alarms: AlarmsConfig,
}

impl EnvConfig {
    pub fn app(&self) -> &str {
        self.app.get_ref().as_str()
    }

    /// The rollback monitoring time deploy gives CloudFormation (0..=180
    /// minutes): `[alarms] rollback_monitoring_minutes`.
    pub fn rollback_monitoring_minutes(&self) -> i64 {
        self.alarms.rollback_monitoring_minutes.0
    }
}

/// The kinds of alarm the stack creates; each is one `[alarms.<key>]` table.
/// Serialized as that key (the stack plan in `manifest.json`, saved deploy plans).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// `AWS/Lambda Errors`, per function.
    FunctionErrors,
    /// `AWS/Lambda Throttles`, per function.
    FunctionThrottles,
    /// `AWS/Lambda AsyncEventsDropped`, per function.
    AsyncEventsDropped,
    /// `AWS/SQS ApproximateNumberOfMessagesVisible` on the on-failure queue.
    FailuresQueueMessages,
    /// `AWS/SQS ApproximateNumberOfMessagesVisible` on the FIFO dead-letter queue.
    DeadLetterQueueMessages,
    /// `AWS/SQS ApproximateAgeOfOldestMessage` on the events FIFO queue.
    EventsQueueOldestMessageAge,
    /// ingest's `RowsRejected` (embedded metric format).
    RejectedRows,
}

impl AlarmKind {
    pub const ALL: [AlarmKind; 7] = [
        AlarmKind::FunctionErrors,
        AlarmKind::FunctionThrottles,
        AlarmKind::AsyncEventsDropped,
        AlarmKind::FailuresQueueMessages,
        AlarmKind::DeadLetterQueueMessages,
        AlarmKind::EventsQueueOldestMessageAge,
        AlarmKind::RejectedRows,
    ];

    /// The table name under `[alarms]`.
    pub const fn key(self) -> &'static str {
        match self {
            AlarmKind::FunctionErrors => "function_errors",
            AlarmKind::FunctionThrottles => "function_throttles",
            AlarmKind::AsyncEventsDropped => "async_events_dropped",
            AlarmKind::FailuresQueueMessages => "failures_queue_messages",
            AlarmKind::DeadLetterQueueMessages => "dead_letter_queue_messages",
            AlarmKind::EventsQueueOldestMessageAge => "events_queue_oldest_message_age",
            AlarmKind::RejectedRows => "rejected_rows",
        }
    }

    /// What a careful operator starts with; docs/configuration.md ("Alarm defaults") says why.
    /// `(threshold, period_seconds, evaluation_periods)`.
    pub const fn defaults(self) -> (f64, i64, i64) {
        match self {
            // Any failed invocation means an object was not processed on the
            // first try: worth a look, so one error in 5 minutes alarms.
            AlarmKind::FunctionErrors => (1.0, 300, 1),
            // Async invocations that are throttled are retried by Lambda for
            // up to 6 hours, so a short burst is not loss; sustained
            // throttling (10 per 5 minutes, twice in a row) means the
            // reserved concurrency is too small.
            AlarmKind::FunctionThrottles => (10.0, 300, 2),
            // A dropped event is an upload never processed: always alarm.
            AlarmKind::AsyncEventsDropped => (1.0, 300, 1),
            // Every message there is an invocation that failed all retries.
            AlarmKind::FailuresQueueMessages => (1.0, 300, 1),
            // Every message there is an event its consumer gave up on.
            AlarmKind::DeadLetterQueueMessages => (1.0, 300, 1),
            // A consumer an hour behind is stalled; the queue keeps messages
            // 14 days, so an hour leaves ample time to act before loss.
            AlarmKind::EventsQueueOldestMessageAge => (3600.0, 300, 1),
            // A rejected row is data that did not reach the table.
            AlarmKind::RejectedRows => (1.0, 300, 1),
        }
    }
}

/// `[alarms]`: one table per [`AlarmKind`], each key optional (the kind's
/// default applies).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmsConfig {
    /// Whether alarms notify the alerts topic (`ActionsEnabled`). The alarms
    /// exist either way, so deploy's rollback triggers and `status` still see them.
    #[serde(default)]
    pub notify: Option<bool>,
    /// Minutes CloudFormation keeps watching these alarms after a deploy's
    /// last resource update, rolling the deploy back if one goes to ALARM
    /// (the change set's rollback configuration; read by deploy).
    #[serde(default)]
    pub rollback_monitoring_minutes: MonitoringMinutes,
    #[serde(default)]
    pub function_errors: AlarmOverrides,
    #[serde(default)]
    pub function_throttles: AlarmOverrides,
    #[serde(default)]
    pub async_events_dropped: AlarmOverrides,
    #[serde(default)]
    pub failures_queue_messages: AlarmOverrides,
    #[serde(default)]
    pub dead_letter_queue_messages: AlarmOverrides,
    #[serde(default)]
    pub events_queue_oldest_message_age: AlarmOverrides,
    #[serde(default)]
    pub rejected_rows: AlarmOverrides,
}

impl AlarmsConfig {
    /// Whether the alarms notify the alerts topic (default: yes).
    pub fn notify(&self) -> bool {
        self.notify.unwrap_or(true)
    }

    fn overrides(&self, kind: AlarmKind) -> &AlarmOverrides {
        match kind {
            AlarmKind::FunctionErrors => &self.function_errors,
            AlarmKind::FunctionThrottles => &self.function_throttles,
            AlarmKind::AsyncEventsDropped => &self.async_events_dropped,
            AlarmKind::FailuresQueueMessages => &self.failures_queue_messages,
            AlarmKind::DeadLetterQueueMessages => &self.dead_letter_queue_messages,
            AlarmKind::EventsQueueOldestMessageAge => &self.events_queue_oldest_message_age,
            AlarmKind::RejectedRows => &self.rejected_rows,
        }
    }

    /// The effective settings of `kind`: the env's values over the kind's defaults.
    pub fn settings(&self, kind: AlarmKind) -> AlarmSettings {
        let overrides = self.overrides(kind);
        let (threshold, period, evaluation_periods) = kind.defaults();
        AlarmSettings {
            enabled: overrides.enabled.unwrap_or(true),
            threshold: overrides
                .threshold
                .as_ref()
                .map_or(threshold, |value| value.0),
            period_seconds: overrides
                .period_seconds
                .as_ref()
                .map_or(period, |value| value.0),
            evaluation_periods: overrides
                .evaluation_periods
                .as_ref()
                .map_or(evaluation_periods, |value| value.get_ref().0),
        }
    }
}

/// One `[alarms.<kind>]` table as written.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmOverrides {
    /// `false`: the alarm is not created.
    pub enabled: Option<bool>,
    pub threshold: Option<Threshold>,
    pub period_seconds: Option<PeriodSeconds>,
    /// Spanned: the period × evaluation periods limit is checked after parsing.
    pub evaluation_periods: Option<toml::Spanned<EvaluationPeriods>>,
}

/// The settings one alarm is created with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlarmSettings {
    pub enabled: bool,
    /// The alarm fires at or above this value (`GreaterThanOrEqualToThreshold`).
    pub threshold: f64,
    pub period_seconds: i64,
    pub evaluation_periods: i64,
}

/// CloudWatch evaluates at most 7 days of periods
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>:
/// `EvaluationPeriods` × `Period` ≤ 604,800 seconds).
pub const MAX_EVALUATION_SECONDS: i64 = 604_800;

/// Per-function sizing: `[functions.defaults]`, and `[functions.<handler>]`
/// for any handler the pipeline declares ([`crate::pipeline::PIPELINE`]),
/// each falling back to `defaults` key by key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunctionsConfig {
    pub defaults: FunctionSettings,
    /// By handler name; only declared handlers.
    pub overrides: BTreeMap<String, FunctionOverrides>,
}

impl FunctionsConfig {
    /// The effective settings of `handler`.
    pub fn settings(&self, handler: &str) -> FunctionSettings {
        let Some(overrides) = self.overrides.get(handler) else {
            return self.defaults.clone();
        };
        FunctionSettings {
            memory_mb: overrides
                .memory_mb
                .clone()
                .unwrap_or_else(|| self.defaults.memory_mb.clone()),
            timeout_seconds: overrides
                .timeout_seconds
                .clone()
                .unwrap_or_else(|| self.defaults.timeout_seconds.clone()),
            reserved_concurrency: overrides
                .reserved_concurrency
                .clone()
                .or_else(|| self.defaults.reserved_concurrency.clone()),
        }
    }
}

/// The `[functions]` table's own key for the shared settings.
const DEFAULTS_KEY: &str = "defaults";

/// A key of `[functions]`: `defaults` or a declared handler. Refused while
/// the key itself is read, so the error carries the key's path and line.
struct FunctionKey(String);

impl<'de> Deserialize<'de> for FunctionKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        let handlers = crate::pipeline::handlers();
        if key == DEFAULTS_KEY || handlers.contains(&key.as_str()) {
            return Ok(FunctionKey(key));
        }
        let expected: Vec<String> = std::iter::once(DEFAULTS_KEY)
            .chain(handlers)
            .map(|name| format!("`{name}`"))
            .collect();
        // The wording serde uses for a struct's unknown field, so the
        // message reads like every other unknown key in an env file.
        Err(serde::de::Error::custom(format!(
            "unknown field `{key}`, expected one of {}",
            expected.join(", ")
        )))
    }
}

impl<'de> Deserialize<'de> for FunctionsConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Tables;
        impl<'de> serde::de::Visitor<'de> for Tables {
            type Value = FunctionsConfig;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a table of `defaults` and one table per declared handler")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FunctionsConfig, A::Error> {
                let mut config = FunctionsConfig::default();
                while let Some(FunctionKey(key)) = map.next_key()? {
                    if key == DEFAULTS_KEY {
                        config.defaults = map.next_value()?;
                    } else {
                        config.overrides.insert(key, map.next_value()?);
                    }
                }
                Ok(config)
            }
        }
        deserializer.deserialize_map(Tables)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSettings {
    #[serde(default = "default_memory")]
    pub memory_mb: MemoryMb,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: TimeoutSeconds,
    /// Unset: the function shares the account's unreserved concurrency.
    #[serde(default)]
    pub reserved_concurrency: Option<Concurrency>,
}

fn default_memory() -> MemoryMb {
    MemoryMb(256)
}

fn default_timeout() -> TimeoutSeconds {
    TimeoutSeconds(30)
}

impl Default for FunctionSettings {
    fn default() -> Self {
        FunctionSettings {
            memory_mb: default_memory(),
            timeout_seconds: default_timeout(),
            reserved_concurrency: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionOverrides {
    pub memory_mb: Option<MemoryMb>,
    pub timeout_seconds: Option<TimeoutSeconds>,
    pub reserved_concurrency: Option<Concurrency>,
}

/// Which CSV/JSONL columns form the table's `pk` and `sk`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    pub pk_columns: ColumnList,
    pub sk_columns: ColumnList,
}

/// photo-check thresholds; see the handler for their meaning.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoConfig {
    pub min_confidence: Percent,
    pub min_eyes_open_confidence: Percent,
    pub max_yaw: Degrees,
    pub max_pitch: Degrees,
    pub max_roll: Degrees,
    /// Fraction of the image the face bounding box must cover (0..=1).
    pub min_face_area: Fraction,
    pub min_brightness: Percent,
    pub min_sharpness: Percent,
}

/// Parses `text` (the contents of `file`) into a config; `file` only labels errors.
pub fn parse(file: &str, text: &str) -> Result<EnvConfig, ConfigError> {
    let located =
        |span: Option<std::ops::Range<usize>>, key: Option<String>, message: String| ConfigError {
            file: file.to_owned(),
            line: span.map(|s| line_of(text, s.start)),
            key,
            message,
        };
    let deserializer = toml::Deserializer::parse(text)
        .map_err(|error| located(error.span(), None, error.message().to_owned()))?;
    let config: EnvConfig = serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let key = user_key(error.path());
        let inner = error.into_inner();
        // A missing key is reported against the whole table (offset 0):
        // "line 1" would point at the wrong place, so name no line.
        let span = inner.span().filter(|span| key.is_some() || span.start > 0);
        located(span, key, inner.message().to_owned())
    })?;
    check_names_fit(&config)
        .map_err(|message| located(Some(config.app.span()), Some("app".to_owned()), message))?;
    if let Some(role) = &config.execution_role_arn {
        check_role_account(role.get_ref(), &config).map_err(|message| {
            located(
                Some(role.span()),
                Some("execution_role_arn".to_owned()),
                message,
            )
        })?;
    }
    for kind in AlarmKind::ALL {
        let settings = config.alarms.settings(kind);
        let total = settings.period_seconds * settings.evaluation_periods;
        if total > MAX_EVALUATION_SECONDS {
            let span = config
                .alarms
                .overrides(kind)
                .evaluation_periods
                .as_ref()
                .map(toml::Spanned::span);
            return Err(located(
                span,
                Some(format!("alarms.{}.evaluation_periods", kind.key())),
                format!(
                    "{} periods of {} s cover {total} s; CloudWatch evaluates at most {MAX_EVALUATION_SECONDS} s (7 days)",
                    settings.evaluation_periods, settings.period_seconds
                ),
            ));
        }
    }
    Ok(config)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

/// The longest physical name we derive: S3 bucket names are at most 63
/// characters (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>).
fn check_names_fit(config: &EnvConfig) -> Result<(), String> {
    // `<app>-<env>-access-logs-<12-digit account>-<region>` is the longest
    // bucket name; the env name is not known here, so reserve its maximum.
    let longest = config.app().len()
        + 1
        + MAX_ENV_NAME
        + "-access-logs-".len()
        + 12
        + 1
        + config.region.as_str().len();
    if longest > 63 {
        return Err(format!(
            "`{}` is too long: bucket names `<app>-<env>-access-logs-<account>-{}` could reach {longest} characters and S3 allows 63; use at most {} characters",
            config.app(),
            config.region.as_str(),
            63 - (longest - config.app().len())
        ));
    }
    Ok(())
}

/// The execution role must be a role of the env's own account and partition:
/// CloudFormation can only assume a role of the stack's account.
fn check_role_account(role: &RoleArn, config: &EnvConfig) -> Result<(), String> {
    let Some(account) = &config.account_id else {
        return Err(format!(
            "`{}` needs `account_id`: the execution role belongs to one account, so the env must pin it (add `account_id = \"{}\"`)",
            role.as_str(),
            role.account()
        ));
    };
    if role.account() != account.as_str() {
        return Err(format!(
            "`{}` is a role of account {}, but the env deploys to account {} (`account_id`)",
            role.as_str(),
            role.account(),
            account.as_str()
        ));
    }
    let partition = crate::regions::lookup(config.region.as_str()).map(|region| region.partition);
    if partition.is_some_and(|partition| partition != role.partition()) {
        return Err(format!(
            "`{}` is in partition `{}`, but region {} is in `{}`",
            role.as_str(),
            role.partition(),
            config.region.as_str(),
            partition.unwrap_or_default()
        ));
    }
    Ok(())
}

/// Longest env name (file stem of `envs/<env>.toml`) we accept.
pub const MAX_ENV_NAME: usize = 10;

/// Checks an env name taken from a file name: lowercase letters, digits and
/// `-`, starting with a letter, at most [`MAX_ENV_NAME`] characters, because
/// it becomes part of bucket, function and topic names.
pub fn validate_env_name(env: &str) -> Result<(), String> {
    let valid = !env.is_empty()
        && env.len() <= MAX_ENV_NAME
        && env.starts_with(|c: char| c.is_ascii_lowercase())
        && env
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !env.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "env name `{env}` must be 1-{MAX_ENV_NAME} lowercase letters, digits or `-`, starting with a letter (it becomes part of bucket and function names)"
        ))
    }
}

/// Declares a newtype whose `Deserialize` runs `$check` on the raw value.
macro_rules! validated {
    ($(#[$meta:meta])* $name:ident($inner:ty), |$value:ident| $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name($inner);

        impl $name {
            pub fn new($value: $inner) -> Result<Self, String> {
                let checked: Result<(), String> = $check;
                checked.map(|()| $name($value))
            }

            pub fn get(&self) -> &$inner {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <$inner>::deserialize(deserializer)?;
                $name::new(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

validated!(
    /// Lowercase letters, digits and `-`: it prefixes S3 bucket names.
    Name(String),
    |value| {
        let ok = !value.is_empty()
            && value.starts_with(|c: char| c.is_ascii_lowercase())
            && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !value.ends_with('-');
        if ok { Ok(()) } else { Err(format!("`{value}` must be lowercase letters, digits or `-`, starting with a letter (it prefixes S3 bucket names)")) }
    }
);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

validated!(
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-using-console-create-stack-parameters.html>:
    /// letters, digits and `-`, starting with a letter, at most 128 characters.
    StackName(String),
    |value| {
        let ok = !value.is_empty()
            && value.len() <= 128
            && value.starts_with(|c: char| c.is_ascii_alphabetic())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if ok { Ok(()) } else { Err(format!("`{value}` is not a valid stack name (letters, digits and `-`, starting with a letter, at most 128 characters)")) }
    }
);

impl StackName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

validated!(
    /// An AWS region code such as `eu-west-1` or `us-gov-west-1`.
    Region(String),
    |value| match region_error(&value) { None => Ok(()), Some(message) => Err(message) }
);

impl Region {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Known to the SDK's partition table (`crate::regions`); for a near miss
/// the message lists the regions sharing its prefix (`eu-west-9` → `eu-west-1, …`).
fn region_error(value: &str) -> Option<String> {
    if crate::regions::lookup(value).is_some() {
        return None;
    }
    let stem = value.trim_end_matches(|c: char| c.is_ascii_digit());
    let near: Vec<&str> = crate::regions::KNOWN_REGIONS
        .iter()
        .map(|region| region.code)
        .filter(|code| stem.len() > 3 && code.starts_with(stem))
        .collect();
    Some(if near.is_empty() {
        format!("`{value}` is not an AWS region the SDK knows (like `eu-west-1`)")
    } else {
        format!(
            "`{value}` is not an AWS region the SDK knows; did you mean one of {}?",
            near.join(", ")
        )
    })
}

validated!(
    /// A 12-digit AWS account ID.
    AccountId(String),
    |value| if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) { Ok(()) } else { Err(format!("`{value}` is not an AWS account ID (exactly 12 digits, quoted)")) }
);

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

validated!(
    /// An IAM role ARN: `arn:<partition>:iam::<12-digit account>:role/<path/>name`.
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>
    RoleArn(String),
    |value| role_arn_error(&value).map_or(Ok(()), Err)
);

impl RoleArn {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ARN's partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &str {
        self.0.split(':').nth(1).unwrap_or_default()
    }

    /// The ARN's 12-digit account.
    pub fn account(&self) -> &str {
        self.0.split(':').nth(4).unwrap_or_default()
    }
}

fn role_arn_error(value: &str) -> Option<String> {
    let bad = |why: &str| {
        Some(format!(
            "`{value}` is not an IAM role ARN ({why}); expected `arn:aws:iam::<account>:role/<name>`, as `upstack bootstrap --github` prints it"
        ))
    };
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return bad("it does not have the six `:`-separated parts of an ARN");
    };
    if *arn != "arn" || !matches!(*partition, "aws" | "aws-cn" | "aws-us-gov") {
        return bad("it must start with `arn:aws:`, `arn:aws-cn:` or `arn:aws-us-gov:`");
    }
    if *service != "iam" || !region.is_empty() {
        return bad("the service must be `iam`, with no region");
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return bad("the account must be 12 digits");
    }
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return bad("the resource must be `role/...`");
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    let path_ok = path_and_name.len() <= 512 + 64
        && path_and_name
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '*' && c != '?');
    if !name_ok || !path_ok {
        return bad("the role name must be 1-64 letters, digits or `+=,.@_-`, without wildcards");
    }
    None
}

validated!(
    /// An email address SNS can subscribe (`local@domain.tld`).
    Email(String),
    |value| if is_email(&value) { Ok(()) } else { Err(format!("`{value}` is not an email address")) }
);

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let clean = |part: &str| {
        !part.is_empty()
            && !part
                .chars()
                .any(|c| c.is_whitespace() || c == '@' || c.is_control())
    };
    clean(local)
        && clean(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// The values `AWS::Logs::LogGroup.RetentionInDays` accepts
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html>).
pub const LOG_RETENTION_DAYS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

validated!(
    LogRetentionDays(i64),
    |value| if LOG_RETENTION_DAYS.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{value} is not a retention CloudWatch Logs accepts; use one of {LOG_RETENTION_DAYS:?}"
        ))
    }
);

validated!(
    /// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html>: 128 to 10,240 MB.
    MemoryMb(i64),
    |value| if (128..=10_240).contains(&value) { Ok(()) } else { Err(format!("{value} MB is outside Lambda's 128..=10240 MB")) }
);

validated!(
    /// Lambda allows 1 to 900 seconds.
    TimeoutSeconds(i64),
    |value| if (1..=900).contains(&value) { Ok(()) } else { Err(format!("{value} s is outside Lambda's 1..=900 seconds")) }
);

validated!(
    /// Reserved concurrency; 0 would stop the function entirely, so it is refused.
    Concurrency(i64),
    |value| if (1..=10_000).contains(&value) { Ok(()) } else { Err(format!("{value} is not a usable reserved concurrency (1..=10000)")) }
);

validated!(
    /// CloudFormation's rollback monitoring time: 0 to 180 minutes
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackConfiguration.html>).
    /// Default 0: no monitoring after the deploy.
    #[derive(Default)]
    MonitoringMinutes(i64),
    |value| if (0..=180).contains(&value) { Ok(()) } else { Err(format!("{value} min is outside CloudFormation's 0..=180 minutes")) }
);

validated!(
    /// An alarm threshold: finite and not negative (every metric alarmed on
    /// here is a count or an age).
    Threshold(f64),
    |value| if value.is_finite() && value >= 0.0 { Ok(()) } else { Err(format!("{value} is not a usable threshold (a finite number ≥ 0)")) }
);

validated!(
    /// An alarm period: a whole number of minutes up to a day. The metrics
    /// alarmed on (AWS/Lambda, AWS/SQS and the handlers' EMF metrics) have
    /// 1-minute resolution, and CloudWatch requires a multiple of 60 s for
    /// such metrics (10 or 30 s only for high-resolution ones).
    PeriodSeconds(i64),
    |value| if (60..=86_400).contains(&value) && value % 60 == 0 { Ok(()) } else { Err(format!("{value} s is not a usable alarm period (a multiple of 60 from 60 to 86400)")) }
);

validated!(
    /// How many periods an alarm evaluates (CloudWatch allows 1 or more;
    /// the 7-day total is checked with the period).
    EvaluationPeriods(i64),
    |value| if value >= 1 { Ok(()) } else { Err(format!("{value} is not a usable number of evaluation periods (at least 1)")) }
);

validated!(
    /// A confidence or quality score, 0 to 100 as Rekognition reports them.
    Percent(f64),
    |value| if (0.0..=100.0).contains(&value) { Ok(()) } else { Err(format!("{value} is outside 0..=100")) }
);

validated!(
    /// A head pose angle limit in degrees (Rekognition reports -180..=180).
    Degrees(f64),
    |value| if (0.0..=180.0).contains(&value) { Ok(()) } else { Err(format!("{value} is outside 0..=180 degrees")) }
);

validated!(
    /// A fraction of the image, 0 to 1.
    Fraction(f64),
    |value| if (0.0..=1.0).contains(&value) { Ok(()) } else { Err(format!("{value} is outside 0..=1")) }
);

validated!(
    /// Non-empty list of distinct, non-empty column names without commas
    /// (the handler receives them comma-separated).
    ColumnList(Vec<String>),
    |value| {
        if value.is_empty() {
            Err("needs at least one column".to_owned())
        } else if let Some(bad) = value.iter().find(|c| c.trim().is_empty() || c.contains(',')) {
            Err(format!("column `{bad}` must be non-empty and contain no comma"))
        } else if let Some(dup) = value.iter().enumerate().find(|(i, c)| value[..*i].contains(c)).map(|(_, c)| c) {
            Err(format!("column `{dup}` is listed twice"))
        } else {
            Ok(())
        }
    }
);

impl ColumnList {
    pub fn joined(&self) -> String {
        self.0.join(",")
    }
}

validated!(
    /// A tag key: 1-128 characters, not in the reserved `aws:` namespace.
    TagKey(String),
    |value| if value.is_empty() || value.len() > 128 || value.to_ascii_lowercase().starts_with("aws:") { Err(format!("tag key `{value}` must be 1-128 characters and not start with `aws:`")) } else { Ok(()) }
);

impl Eq for TagKey {}
impl PartialOrd for TagKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TagKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl TagKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

validated!(
    /// A tag value: at most 256 characters.
    TagValue(String),
    |value| if value.len() > 256 { Err(format!("tag value `{value}` is longer than 256 characters")) } else { Ok(()) }
);

impl TagValue {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `x86_64` or `arm64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArchitectureName(pub Architecture);

impl<'de> Deserialize<'de> for ArchitectureName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Architecture::from_lambda_name(&raw)
            .map(ArchitectureName)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{raw}` is not a Lambda architecture; use `x86_64` or `arm64`"
                ))
            })
    }
}

/// `build_profile`: one of [`BuildProfile::ALL`], by its config name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BuildProfileName(pub BuildProfile);

impl<'de> Deserialize<'de> for BuildProfileName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        BuildProfile::from_config_name(&raw)
            .map(BuildProfileName)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{raw}` is not a build profile; use `lambda` (optimised, the default) or `fast` (quick rebuilds for a dev loop)"
                ))
            })
    }
}

impl fmt::Display for ArchitectureName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.lambda_name())
    }
}

impl LogRetentionDays {
    pub fn days(&self) -> i64 {
        self.0
    }
}

impl MemoryMb {
    pub fn mb(&self) -> i64 {
        self.0
    }
}

impl TimeoutSeconds {
    pub fn seconds(&self) -> i64 {
        self.0
    }
}

impl Concurrency {
    pub fn count(&self) -> i64 {
        self.0
    }
}

/// The dotted key as the user wrote it. `toml::Spanned` deserializes through
/// private map keys (`$__serde_spanned_private_*`) that serde_path_to_error
/// records like real keys; they are not part of the file, so they are dropped.
fn user_key(path: &serde_path_to_error::Path) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut key = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Map { key: name } if name.starts_with("$__serde_spanned_private") => {}
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(name);
            }
            Segment::Seq { index } => key.push_str(&format!("[{index}]")),
            Segment::Unknown => {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push('?');
            }
        }
    }
    (!key.is_empty()).then_some(key)
}
