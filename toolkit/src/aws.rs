//! AWS plumbing shared by `bootstrap`, `deploy`, `destroy` and `diff`:
//! loading credentials, checking the target account and region, retrying
//! throttled calls, and an injectable clock so polling loops can be tested
//! without waiting.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;

/// A future the clock returns from `sleep`.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Time as the polling loops see it. Production uses [`SystemClock`]
/// (tokio's timer); tests use [`ManualClock`], whose `sleep` returns at once
/// and advances its own `now`, so a 10-minute wait runs in microseconds and
/// the test can assert on every pause that was asked for.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Instant;
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that never really sleeps: `sleep(d)` records `d` and moves `now` by `d`.
#[derive(Debug, Clone)]
pub struct ManualClock {
    start: Instant,
    state: Arc<Mutex<ManualClockState>>,
}

#[derive(Debug, Default)]
struct ManualClockState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            start: Instant::now(),
            state: Arc::default(),
        }
    }
}

impl ManualClock {
    /// Every pause requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state
            .lock()
            .map(|state| state.sleeps.clone())
            .unwrap_or_default()
    }
    /// Total virtual time slept.
    pub fn elapsed(&self) -> Duration {
        self.state
            .lock()
            .map(|state| state.elapsed)
            .unwrap_or_default()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }
    fn sleep(&self, duration: Duration) -> SleepFuture {
        if let Ok(mut state) = self.state.lock() {
            state.elapsed += duration;
            state.sleeps.push(duration);
        }
        // Yield once so a `select!` against Ctrl-C still gets a chance to run.
        Box::pin(tokio::task::yield_now())
    }
}

/// How long to wait between polls and retries. One value is threaded through
/// every loop so tests can swap the clock and shrink the limits in one place.
#[derive(Debug, Clone)]
pub struct Pacing {
    pub clock: Arc<dyn Clock>,
    /// First pause between two polls of a change set or stack.
    pub poll_initial: Duration,
    /// Polls back off (x1.5 each time) up to this pause. CloudFormation's own
    /// waiters poll every 5-30 s; a deploy's event stream wants to be livelier.
    pub poll_max: Duration,
    /// Throttled/transient calls are retried this many times before giving up.
    pub max_retries: u32,
    /// First retry pause; doubled for each further retry (plus jitter).
    pub retry_base: Duration,
    /// Longest a change set may stay in CREATE_PENDING/IN_PROGRESS.
    pub change_set_timeout: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            clock: Arc::new(SystemClock),
            poll_initial: Duration::from_millis(250),
            poll_max: Duration::from_secs(5),
            max_retries: 8,
            retry_base: Duration::from_millis(500),
            change_set_timeout: Duration::from_secs(15 * 60),
        }
    }
}

impl Pacing {
    /// Pacing driven by `clock` with the default limits.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Pacing {
            clock,
            ..Pacing::default()
        }
    }

    /// The poll pause after `previous`: x1.5, capped at `poll_max`.
    pub fn next_poll(&self, previous: Duration) -> Duration {
        (previous.mul_f64(1.5))
            .min(self.poll_max)
            .max(self.poll_initial)
    }

    /// Pause before retry number `attempt` (1-based): exponential with full
    /// jitter, as AWS recommends so that many clients don't retry in step.
    /// <https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/>
    fn retry_pause(&self, attempt: u32) -> Duration {
        let ceiling = self.retry_base.saturating_mul(1u32 << attempt.min(6));
        let half = ceiling / 2;
        half + half.mul_f64(fastrand::f64())
    }

    pub async fn sleep(&self, duration: Duration) {
        self.clock.sleep(duration).await;
    }
}

/// A failed AWS call, with what we were doing and AWS's own code and message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct CallError {
    pub operation: String,
    /// AWS's error code (`ValidationError`, `Throttling`, ...), when it sent one.
    pub code: Option<String>,
    pub message: String,
}

impl CallError {
    pub fn new(
        operation: impl Into<String>,
        code: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        CallError {
            operation: operation.into(),
            code,
            message: message.into(),
        }
    }

    /// Builds the error from an SDK error, keeping the service's message
    /// rather than the SDK's generic "service error".
    pub fn from_sdk<E>(operation: impl Into<String>, error: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (code, message) = match error {
            SdkError::ServiceError(context) => {
                let err = context.err();
                let code = err.code().map(str::to_owned);
                let message = match (err.code(), err.message()) {
                    (Some(code), Some(message)) => format!("{code}: {message}"),
                    (None, Some(message)) => message.to_owned(),
                    _ => DisplayErrorContext(error).to_string(),
                };
                (code, message)
            }
            other => (None, DisplayErrorContext(other).to_string()),
        };
        CallError {
            operation: operation.into(),
            code,
            message,
        }
    }

    /// True when AWS says the thing does not exist (stack, change set, bucket).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("NoSuchBucket" | "NotFound" | "ChangeSetNotFound" | "NoSuchKey")
        ) || (self.code.as_deref() == Some("ValidationError")
            && self.message.contains("does not exist"))
    }
}

/// Error codes AWS uses for "slow down". Retrying these (with backoff) is the
/// documented response; the SDK's own retries give up after 3 attempts,
/// which a long deploy polling DescribeStackEvents can exhaust.
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Whether a failed call is worth retrying: throttling, 5xx, timeouts, and
/// connection failures. Validation errors and access denials are not.
pub fn is_retryable<E>(error: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or_default();
            THROTTLING_CODES.contains(&code)
                || code == "InternalFailure"
                || code == "ServiceUnavailable"
                || context.raw().status().as_u16() >= 500
        }
        _ => false,
    }
}

/// Runs `call`, retrying throttled and transient failures with jittered
/// exponential backoff (`pacing.max_retries` times). Any other error, or the
/// last retryable one, is returned as a [`CallError`] naming `operation`.
pub async fn with_retries<T, E, F, Fut>(
    pacing: &Pacing,
    operation: &str,
    mut call: F,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if attempt < pacing.max_retries && is_retryable(&error) => {
                attempt += 1;
                let pause = pacing.retry_pause(attempt);
                tracing::debug!(operation, attempt, ?pause, error = %DisplayErrorContext(&error), "retrying");
                pacing.sleep(pause).await;
            }
            Err(error) => return Err(CallError::from_sdk(operation, &error)),
        }
    }
}

/// The account and principal the loaded credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

/// Where a command is about to act, as the env config expects it.
#[derive(Debug, Clone)]
pub struct ExpectedTarget {
    pub env: String,
    pub region: String,
    /// `None` when the env config does not pin an account.
    pub account: Option<String>,
    /// The env config file, named in errors so the user knows what to edit.
    pub config_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(
        "refusing to touch AWS: the credentials resolve to account {actual} ({arn}) but env `{env}` expects account {expected} ({config}); switch profile (--profile) or fix `account_id` in {config}"
    )]
    WrongAccount {
        env: String,
        expected: String,
        actual: String,
        arn: String,
        config: String,
    },
    #[error(
        "refusing to touch AWS: the resolved region is {actual} but env `{env}` expects {expected} ({config}); set AWS_REGION (or the profile's region) or fix `region` in {config}"
    )]
    WrongRegion {
        env: String,
        expected: String,
        actual: String,
        config: String,
    },
    #[error(
        "no AWS region resolved for env `{env}`: set AWS_REGION or a profile region (the env config {config} expects {expected})"
    )]
    NoRegion {
        env: String,
        expected: String,
        config: String,
    },
    #[error(
        "cannot identify the AWS credentials (sts:GetCallerIdentity): {0}; check `aws sso login`, AWS_PROFILE or --profile"
    )]
    Identity(CallError),
}

/// Refuses when the credentials or region do not match the env config.
/// Called before any other AWS call so a wrong profile never creates anything.
pub fn check_target(
    expected: &ExpectedTarget,
    resolved_region: Option<&str>,
    identity: &CallerIdentity,
) -> Result<(), TargetError> {
    let config = expected.config_file.display().to_string();
    let Some(region) = resolved_region else {
        return Err(TargetError::NoRegion {
            env: expected.env.clone(),
            expected: expected.region.clone(),
            config,
        });
    };
    if region != expected.region {
        return Err(TargetError::WrongRegion {
            env: expected.env.clone(),
            expected: expected.region.clone(),
            actual: region.to_owned(),
            config,
        });
    }
    if let Some(account) = &expected.account
        && account != &identity.account
    {
        return Err(TargetError::WrongAccount {
            env: expected.env.clone(),
            expected: account.clone(),
            actual: identity.account.clone(),
            arn: identity.arn.clone(),
            config,
        });
    }
    Ok(())
}

/// Loads the SDK config the way the AWS CLI does (env, profile, SSO, IMDS),
/// with `profile` and `region` overriding the environment when given.
/// `AWS_ENDPOINT_URL` is honoured by aws-config itself, which is how the
/// tests point every client at moto.
pub async fn load_sdk_config(profile: Option<&str>, region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    loader.load().await
}

/// sts:GetCallerIdentity, retried on throttling.
pub async fn caller_identity(
    sts: &aws_sdk_sts::Client,
    pacing: &Pacing,
) -> Result<CallerIdentity, TargetError> {
    let output = with_retries(pacing, "sts:GetCallerIdentity", || {
        sts.get_caller_identity().send()
    })
    .await
    .map_err(TargetError::Identity)?;
    let account = output.account().unwrap_or_default().to_owned();
    if account.is_empty() {
        return Err(TargetError::Identity(CallError::new(
            "sts:GetCallerIdentity",
            None,
            "the response has no account id",
        )));
    }
    Ok(CallerIdentity {
        account,
        arn: output.arn().unwrap_or_default().to_owned(),
    })
}

/// Loaded clients for one account and region, after the target check passed.
#[derive(Debug, Clone)]
pub struct AwsSession {
    pub sdk_config: aws_config::SdkConfig,
    pub identity: CallerIdentity,
    pub region: String,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
}

impl AwsSession {
    /// Loads credentials, asks STS who they are, and refuses (before any
    /// other call) when the account or region differs from `expected`.
    pub async fn connect(
        expected: &ExpectedTarget,
        profile: Option<&str>,
        region_override: Option<&str>,
        pacing: &Pacing,
    ) -> Result<AwsSession, TargetError> {
        let sdk_config = load_sdk_config(profile, region_override).await;
        let resolved_region = sdk_config.region().map(|region| region.as_ref().to_owned());
        // The region check needs no network call: do it first.
        if resolved_region.as_deref() != Some(expected.region.as_str()) {
            let placeholder = CallerIdentity {
                account: String::new(),
                arn: String::new(),
            };
            let unpinned = ExpectedTarget {
                account: None,
                ..expected.clone()
            };
            check_target(&unpinned, resolved_region.as_deref(), &placeholder)?;
        }
        let sts = aws_sdk_sts::Client::new(&sdk_config);
        let identity = caller_identity(&sts, pacing).await?;
        check_target(expected, resolved_region.as_deref(), &identity)?;
        Ok(AwsSession {
            cloudformation: aws_sdk_cloudformation::Client::new(&sdk_config),
            s3: s3_client(&sdk_config),
            region: expected.region.clone(),
            identity,
            sdk_config,
        })
    }
}

/// An S3 client; path-style addressing when an endpoint override is set,
/// because emulators (moto, LocalStack) on 127.0.0.1 have no per-bucket DNS.
pub fn s3_client(sdk_config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let path_style = sdk_config.endpoint_url().is_some();
    let config = aws_sdk_s3::config::Builder::from(sdk_config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Displays a path relative to `base` when it is inside it.
pub fn display_path(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(account: Option<&str>) -> ExpectedTarget {
        ExpectedTarget {
            env: "prod".into(),
            region: "eu-west-1".into(),
            account: account.map(str::to_owned),
            config_file: PathBuf::from("envs/prod.toml"),
        }
    }

    fn identity(account: &str) -> CallerIdentity {
        CallerIdentity {
            account: account.into(),
            arn: format!("arn:aws:iam::{account}:user/dev"),
        }
    }

    #[test]
    fn wrong_account_names_both_accounts_and_the_config_file() {
        let error = check_target(
            &expected(Some("111111111111")),
            Some("eu-west-1"),
            &identity("222222222222"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("111111111111"), "{error}");
        assert!(error.contains("222222222222"), "{error}");
        assert!(error.contains("envs/prod.toml"), "{error}");
    }

    #[test]
    fn wrong_region_names_both_regions() {
        let error = check_target(
            &expected(None),
            Some("us-east-1"),
            &identity("222222222222"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("us-east-1") && error.contains("eu-west-1"),
            "{error}"
        );
    }

    #[test]
    fn missing_region_is_refused() {
        let error = check_target(&expected(None), None, &identity("1")).unwrap_err();
        assert!(matches!(error, TargetError::NoRegion { .. }));
    }

    #[test]
    fn matching_target_passes_and_unpinned_account_accepts_any() {
        check_target(&expected(Some("1")), Some("eu-west-1"), &identity("1")).unwrap();
        check_target(&expected(None), Some("eu-west-1"), &identity("9")).unwrap();
    }

    #[test]
    fn poll_backoff_grows_and_caps() {
        let pacing = Pacing::default();
        let mut pause = pacing.poll_initial;
        for _ in 0..20 {
            pause = pacing.next_poll(pause);
        }
        assert_eq!(pause, pacing.poll_max);
        assert!(pacing.next_poll(pacing.poll_initial) > pacing.poll_initial);
    }

    #[tokio::test]
    async fn manual_clock_records_sleeps_and_advances() {
        let clock = ManualClock::default();
        let before = clock.now();
        clock.sleep(Duration::from_secs(3)).await;
        clock.sleep(Duration::from_secs(2)).await;
        assert_eq!(clock.now() - before, Duration::from_secs(5));
        assert_eq!(
            clock.sleeps(),
            vec![Duration::from_secs(3), Duration::from_secs(2)]
        );
    }
}
