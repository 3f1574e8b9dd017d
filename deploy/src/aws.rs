//! AWS plumbing shared by `bootstrap`, `deploy`, `destroy` and `diff`:
//! loading credentials, checking the target account and region, retrying
//! throttled calls, and an injectable clock so polling loops can be tested
//! without waiting.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;

/// A future the clock returns from `sleep`.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Time as the polling loops see it. Production uses [`TokioClock`]
/// (tokio's timer); tests use [`ManualClock`], whose `sleep` returns at once
/// and advances its own `now`, so a 10-minute wait runs in microseconds and
/// the test can assert on every pause that was asked for.
pub trait PollClock: Send + Sync + fmt::Debug {
    fn now(&self) -> Instant;
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// Real time for the polling loops: `Instant::now` and tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioClock;

impl PollClock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that never really sleeps: `sleep(d)` records `d` and moves `now` by `d`.
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Clone)]
pub struct ManualClock {
    start: Instant,
    state: Arc<std::sync::Mutex<ManualClockState>>,
}

#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Default)]
struct ManualClockState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

#[cfg(any(test, feature = "test-util"))]
impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            start: Instant::now(),
            state: Arc::default(),
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
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

#[cfg(any(test, feature = "test-util"))]
impl PollClock for ManualClock {
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

/// How long to wait between polls. One value is threaded through every loop
/// so tests can swap the clock and shrink the limits in one place. Retries of
/// failed calls are not here: they are the SDK's (see [`retry_config`]).
#[derive(Debug, Clone)]
pub struct Pacing {
    pub clock: Arc<dyn PollClock>,
    /// First pause between two polls of a change set or stack.
    pub poll_initial: Duration,
    /// Polls back off (x1.5 each time) up to this pause. CloudFormation's own
    /// waiters poll every 5-30 s; a deploy's event stream wants to be livelier.
    pub poll_max: Duration,
    /// Longest a change set may stay in CREATE_PENDING/IN_PROGRESS.
    pub change_set_timeout: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            clock: Arc::new(TokioClock),
            poll_initial: Duration::from_millis(250),
            poll_max: Duration::from_secs(5),
            change_set_timeout: Duration::from_secs(15 * 60),
        }
    }
}

impl Pacing {
    /// Pacing driven by `clock` with the default limits.
    pub fn with_clock(clock: Arc<dyn PollClock>) -> Self {
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
    /// The HTTP status of AWS's answer, when there was one. HEAD requests
    /// (s3:HeadBucket, s3:HeadObject) have no body, so no code: only a 404.
    pub status: Option<u16>,
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
            status: None,
            message: message.into(),
        }
    }

    /// Builds the error from an SDK error, keeping the service's message
    /// rather than the SDK's generic "service error".
    pub fn from_sdk<E>(operation: impl Into<String>, error: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = error.raw_response().map(|raw| raw.status().as_u16());
        let (code, message) = match error {
            SdkError::ServiceError(context) => {
                let err = context.err();
                let code = err.code().map(str::to_owned);
                let message = match (err.code(), err.message()) {
                    (Some(code), Some(message)) => format!("{code}: {message}"),
                    (None, Some(message)) => message.to_owned(),
                    (Some(code), None) => code.to_owned(),
                    // No code, no message (an emulator's HTML page, a proxy):
                    // the status is all there is to say.
                    (None, None) => format!(
                        "HTTP {} with no AWS error code or message",
                        context.raw().status().as_u16()
                    ),
                };
                (code, message)
            }
            other => (None, transport_message(other)),
        };
        CallError {
            operation: operation.into(),
            code,
            status,
            message,
        }
    }

    /// True when AWS refused the credentials themselves (expired, revoked,
    /// unknown), as STS answers at the start of every command.
    pub fn is_rejected_credentials(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|code| REJECTED_CREDENTIAL_CODES.contains(&code) && code != "AccessDenied")
    }

    /// True when AWS says the thing does not exist (stack, change set,
    /// bucket, object, IAM entity, Lambda function or policy, log group,
    /// table, dashboard): by error code, or by the 404 of a HEAD request,
    /// which has no body to carry a code.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "NoSuchBucket"
                    | "NotFound"
                    | "ChangeSetNotFound"
                    | "NoSuchKey"
                    | "NoSuchEntity"
                    | "ResourceNotFound"
                    | "ResourceNotFoundException"
            )
        ) || (self.code.is_none() && self.status == Some(404))
            // CloudFormation has no code for a missing stack: DescribeStacks
            // answers `ValidationError: Stack with id X does not exist`.
            || (self.code.as_deref() == Some("ValidationError")
                && self.message.contains("does not exist"))
    }
}

/// A transport failure (no answer from AWS) in one line: the SDK's Debug
/// form (`DispatchFailure(DispatchFailure { source: ConnectorError ...`) is
/// for developers, not for the person at the terminal.
fn transport_message<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + 'static,
{
    match error {
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "could not connect"
            } else {
                "the request failed"
            };
            match innermost_cause(error) {
                Some(cause) => format!("{kind} ({cause})"),
                None => kind.to_owned(),
            }
        }
        SdkError::TimeoutError(_) => "no answer in time".to_owned(),
        // An answer the SDK cannot read: an emulator's HTML 404, a proxy's
        // error page. Say so in one line instead of the SDK's error chain.
        SdkError::ResponseError(context) => {
            let status = context.raw().status().as_u16();
            let content_type = context
                .raw()
                .headers()
                .get("content-type")
                .unwrap_or("no content type");
            format!(
                "AWS's answer could not be read (HTTP {status}, {content_type}): is AWS_ENDPOINT_URL an endpoint that serves this service's protocol?"
            )
        }
        other => DisplayErrorContext(other).to_string(),
    }
}

/// The last error in `error`'s source chain: for a refused connection that
/// is the OS's "Connection refused (os error 111)".
fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = error.source()?;
    while let Some(next) = cause.source() {
        cause = next;
    }
    Some(cause.to_string())
}

/// Awaits one AWS call and names the operation in its error. Retries of
/// throttled and transient failures are the SDK's, configured once in
/// [`retry_config`]; a retry loop stacked on them multiplied the attempts
/// (with no credentials a deploy used to take 80 s to fail).
pub async fn call<T, E>(
    operation: &str,
    request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T, CallError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    request
        .await
        .map_err(|error| CallError::from_sdk(operation, &error))
}

/// The one retry policy of every client: the SDK's standard mode (it
/// recognises throttling and transient errors by code and status, and a
/// dropped connection as transient), with more attempts than its default 3
/// and a shorter longest pause: a deploy polls DescribeStackEvents for
/// minutes and must ride out throttling and a flaky network (tested through
/// a proxy that fails one request in ten, tests/faults_cli.rs), while an
/// error that is not transient still fails at once.
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(8)
        .with_max_backoff(Duration::from_secs(5))
}

/// The identity check runs before anything else and decides how fast a
/// wrong setup is reported: two attempts and a hard cap, so no credentials
/// or an unreachable endpoint fail in seconds rather than after backoff.
const IDENTITY_TIMEOUT: Duration = Duration::from_secs(4);
/// Attempts of the identity call within [`IDENTITY_TIMEOUT`]: enough to
/// ride out a network that drops one request in ten (a lost attempt costs
/// a 100-400 ms backoff, not the deploy).
const IDENTITY_ATTEMPTS: u32 = 4;

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

impl ExpectedTarget {
    /// Where env `env`'s config says commands act: its region and, if
    /// pinned, its account; errors name `envs/<env>.toml`.
    pub fn of(env: &str, config: &upstack_stack::EnvConfig) -> ExpectedTarget {
        ExpectedTarget {
            env: env.to_owned(),
            region: config.region.as_str().to_owned(),
            account: config.account_id.as_ref().map(|id| id.as_str().to_owned()),
            config_file: PathBuf::from(upstack_project::synth::ENVS_DIR)
                .join(format!("{env}.toml")),
        }
    }
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
    /// Found before any network call: the named profile is in neither file.
    #[error(
        "AWS profile `{profile}` is not defined in ~/.aws/config or ~/.aws/credentials (it came from {origin}): pass an existing one with --profile (`aws configure list-profiles` lists them) or unset AWS_PROFILE"
    )]
    UnknownProfile { profile: String, origin: String },
    /// The credentials could not be had or were refused; `fix` says what to do.
    #[error("{problem} (sts:GetCallerIdentity): {fix}")]
    Credentials { problem: String, fix: String },
    /// No answer from AWS: the endpoint is unreachable or too slow.
    #[error("cannot reach AWS at {endpoint} (sts:GetCallerIdentity: {cause}): {fix}")]
    Unreachable {
        endpoint: String,
        cause: String,
        fix: String,
    },
    #[error("cannot identify the AWS credentials (sts:GetCallerIdentity): {0}")]
    Identity(CallError),
}

/// Refuses when the credentials belong to another account than the env
/// config pins. (The region cannot differ: clients are built for the env's.)
pub fn check_target(
    expected: &ExpectedTarget,
    identity: &CallerIdentity,
) -> Result<(), TargetError> {
    if let Some(account) = &expected.account
        && account != &identity.account
    {
        let config = expected.config_file.display().to_string();
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

/// The profile a command uses and where that choice came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChoice {
    /// `None`: no profile named, the SDK's default chain (env vars, then `default`).
    pub name: Option<String>,
    /// Named by `--profile` (as opposed to AWS_PROFILE), for messages.
    pub from_flag: bool,
}

impl ProfileChoice {
    fn origin(&self) -> &'static str {
        if self.from_flag {
            "--profile"
        } else {
            "AWS_PROFILE"
        }
    }
    fn login_hint(&self) -> String {
        match &self.name {
            Some(name) => format!("run `aws sso login --profile {name}`"),
            None => "run `aws sso login --profile <name>` and pass --profile".to_owned(),
        }
    }
}

/// What the profile files say about the chosen profile, read without any
/// network call so a typo in a profile name fails at once.
#[derive(Debug, Clone, Default)]
struct ProfileFacts {
    /// The profile exists in ~/.aws/config or ~/.aws/credentials.
    defined: bool,
    /// The profile logs in through IAM Identity Center (SSO).
    sso: bool,
    /// The profile's own `region`, to tell the user it is overridden.
    region: Option<String>,
}

async fn profile_facts(choice: &ProfileChoice) -> Result<ProfileFacts, TargetError> {
    let fs = aws_types::os_shim_internal::Fs::real();
    let env = aws_types::os_shim_internal::Env::real();
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let set = aws_config::profile::load(
        &fs,
        &env,
        &files,
        choice.name.clone().map(std::borrow::Cow::Owned),
    )
    .await;
    let Ok(set) = set else {
        // Unreadable or malformed files: the credential chain reports them
        // with the file and line; nothing more to say here.
        return Ok(ProfileFacts::default());
    };
    let selected = set.selected_profile().to_owned();
    match set.get_profile(&selected) {
        Some(profile) => Ok(ProfileFacts {
            defined: true,
            sso: profile.get("sso_session").is_some() || profile.get("sso_start_url").is_some(),
            region: profile.get("region").map(str::to_owned),
        }),
        None if choice.name.is_some() => Err(TargetError::UnknownProfile {
            profile: selected,
            origin: choice.origin().to_owned(),
        }),
        // No `default` profile is normal when credentials come from env vars.
        None => Ok(ProfileFacts::default()),
    }
}

/// The SDK config for one env: the env's region whatever AWS_REGION or the
/// profile say, the standard credential chain (env, profile, SSO, web
/// identity, ECS, IMDS) and the one retry policy. `AWS_ENDPOINT_URL` is
/// honoured by aws-config itself, which is how the tests point every
/// client at moto.
pub async fn load_sdk_config(profile: Option<&str>, region: &str) -> aws_config::SdkConfig {
    let region = aws_config::Region::new(region.to_owned());
    // One IMDS attempt with a 1 s connect timeout, as the AWS CLI does: the
    // SDK's default (4 attempts) made a laptop without credentials wait
    // several seconds for an EC2 metadata service that is not there.
    let imds = aws_config::imds::Client::builder()
        .max_attempts(1)
        .connect_timeout(Duration::from_secs(1))
        .read_timeout(Duration::from_secs(1))
        .build();
    let mut chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
        .region(region.clone())
        .imds_client(imds);
    if let Some(profile) = profile {
        chain = chain.profile_name(profile);
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .retry_config(retry_config())
        .credentials_provider(chain.build().await);
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// sts:GetCallerIdentity with a short retry budget and a hard time cap;
/// failures become one line naming the cause and the fix.
async fn caller_identity(
    sdk_config: &aws_config::SdkConfig,
    choice: &ProfileChoice,
    facts: &ProfileFacts,
) -> Result<CallerIdentity, TargetError> {
    let nothing_configured = !facts.defined
        && [
            "AWS_ACCESS_KEY_ID",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        ]
        .iter()
        .all(|name| std::env::var_os(name).is_none_or(|value| value.is_empty()));
    // Credentials first, before any call to an AWS API: none at all, an
    // expired SSO session or a broken profile is decided here (the chain
    // asks the EC2 metadata service once, with a 1 s timeout), never after
    // STS's retries, which are for a network that drops requests.
    if let Some(provider) = sdk_config.credentials_provider()
        && let Err(error) =
            aws_credential_types::provider::ProvideCredentials::provide_credentials(&provider).await
    {
        return Err(credentials_error(
            &error,
            choice,
            facts.sso,
            nothing_configured,
        ));
    }
    let config = aws_sdk_sts::config::Builder::from(sdk_config)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(IDENTITY_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(100)),
        )
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_timeout(IDENTITY_TIMEOUT)
                .build(),
        )
        .build();
    let sts = aws_sdk_sts::Client::from_conf(config);
    let output = match sts.get_caller_identity().send().await {
        Ok(output) => output,
        Err(error) => {
            return Err(identity_error(
                &error,
                choice,
                facts.sso,
                nothing_configured,
                sdk_config.endpoint_url(),
            ));
        }
    };
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

/// Error codes STS answers when the credentials exist but are not valid.
const REJECTED_CREDENTIAL_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AccessDenied",
];

/// Sorts a failed identity call into the causes a user can act on, by the
/// error's type and code (never by its wording).
fn identity_error<E>(
    error: &SdkError<E, HttpResponse>,
    choice: &ProfileChoice,
    sso_profile: bool,
    nothing_configured: bool,
    endpoint: Option<&str>,
) -> TargetError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_credential_types::provider::error::CredentialsError;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(credentials) = current.downcast_ref::<CredentialsError>() {
            return credentials_error(credentials, choice, sso_profile, nothing_configured);
        }
        cause = current.source();
    }
    let profile_label = profile_label(choice);
    let endpoint = endpoint.map_or_else(|| "the STS endpoint".to_owned(), str::to_owned);
    match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => TargetError::Unreachable {
            endpoint,
            cause: transport_message(error),
            fix: "check your network or proxy (HTTPS_PROXY), and AWS_ENDPOINT_URL if you set it"
                .to_owned(),
        },
        SdkError::ServiceError(context)
            if context
                .err()
                .code()
                .is_some_and(|code| REJECTED_CREDENTIAL_CODES.contains(&code)) =>
        {
            let call = CallError::from_sdk("sts:GetCallerIdentity", error);
            TargetError::Credentials {
                problem: format!(
                    "AWS refused the credentials of {profile_label}: {}",
                    call.message
                ),
                fix: if sso_profile {
                    choice.login_hint()
                } else {
                    "refresh them (expired session token?), or pick other ones with --profile / AWS_PROFILE"
                        .to_owned()
                },
            }
        }
        other => TargetError::Identity(CallError::from_sdk("sts:GetCallerIdentity", other)),
    }
}

/// The user-actionable cause of credentials that could not be loaded.
fn credentials_error(
    credentials: &aws_credential_types::provider::error::CredentialsError,
    choice: &ProfileChoice,
    sso_profile: bool,
    nothing_configured: bool,
) -> TargetError {
    use aws_credential_types::provider::error::CredentialsError;
    let env_fix = "set AWS_PROFILE or pass --profile <name> (after `aws sso login --profile <name>` for an SSO profile), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
    let profile_label = profile_label(choice);
    let detail = innermost_cause(credentials).unwrap_or_else(|| credentials.to_string());
    match credentials {
        CredentialsError::CredentialsNotLoaded(_) => TargetError::Credentials {
            problem: "no AWS credentials found".to_owned(),
            fix: env_fix.to_owned(),
        },
        // No profile, no keys: whatever the last provider of the chain
        // (the EC2 metadata service) said, the user configured nothing.
        _ if nothing_configured => TargetError::Credentials {
            problem: format!(
                "no AWS credentials found (no profile, no AWS_ACCESS_KEY_ID; the EC2 metadata service answered: {detail})"
            ),
            fix: env_fix.to_owned(),
        },
        CredentialsError::ProviderTimedOut(_) => TargetError::Credentials {
            problem: format!("loading the credentials of {profile_label} timed out"),
            fix: if sso_profile {
                choice.login_hint()
            } else {
                "check the profile's credential_process / role settings and your network".to_owned()
            },
        },
        _ if sso_profile => TargetError::Credentials {
            problem: format!(
                "the SSO session of {profile_label} has expired or is invalid ({detail})"
            ),
            fix: choice.login_hint(),
        },
        _ => TargetError::Credentials {
            problem: format!("the credentials of {profile_label} cannot be loaded ({detail})"),
            fix: "fix the profile in ~/.aws/config, or pass another with --profile".to_owned(),
        },
    }
}

fn profile_label(choice: &ProfileChoice) -> String {
    choice.name.as_deref().map_or_else(
        || "the default profile".to_owned(),
        |name| format!("profile `{name}`"),
    )
}

/// Whether the credentials can still be loaded, decided as [`AwsSession::connect`]
/// decides it, before any call of a service (loading them may itself ask
/// the SSO portal or STS, for a profile that logs in or assumes a role): a
/// long `watch` outlives an SSO session or an assumed role, and says so
/// with how to renew it.
pub async fn check_credentials(
    sdk_config: &aws_config::SdkConfig,
    choice: &ProfileChoice,
) -> Result<(), TargetError> {
    let Some(provider) = sdk_config.credentials_provider() else {
        return Ok(());
    };
    match aws_credential_types::provider::ProvideCredentials::provide_credentials(&provider).await {
        Ok(_) => Ok(()),
        Err(error) => {
            let facts = profile_facts(choice).await.unwrap_or_default();
            Err(credentials_error(&error, choice, facts.sso, false))
        }
    }
}

/// Loaded clients for one account and region, after the target check passed.
#[derive(Debug, Clone)]
pub struct AwsSession {
    pub sdk_config: aws_config::SdkConfig,
    pub identity: CallerIdentity,
    pub region: String,
    /// Set when AWS_REGION or the profile name another region than the env:
    /// the env wins, and the user is told so.
    pub region_note: Option<String>,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
}

impl AwsSession {
    /// Loads credentials for the env's region, asks STS who they are, and
    /// refuses (before any other call) when the account differs from `expected`.
    pub async fn connect(
        expected: &ExpectedTarget,
        profile: &ProfileChoice,
    ) -> Result<AwsSession, TargetError> {
        let facts = profile_facts(profile).await?;
        let sdk_config = load_sdk_config(profile.name.as_deref(), &expected.region).await;
        let region_note = region_note(expected, region_from_env(), facts.region.as_deref());
        let identity = caller_identity(&sdk_config, profile, &facts).await?;
        check_target(expected, &identity)?;
        Ok(AwsSession {
            cloudformation: aws_sdk_cloudformation::Client::new(&sdk_config),
            s3: s3_client(&sdk_config),
            region: expected.region.clone(),
            region_note,
            identity,
            sdk_config,
        })
    }
}

/// The region the environment variables name, and which variable.
fn region_from_env() -> Option<(&'static str, String)> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.is_empty())
                .map(|value| (name, value))
        })
}

/// "note: AWS_REGION is us-east-1; env `dev` deploys to eu-west-1 (envs/dev.toml)".
fn region_note(
    expected: &ExpectedTarget,
    from_env: Option<(&str, String)>,
    profile_region: Option<&str>,
) -> Option<String> {
    let (source, region) = match (from_env, profile_region) {
        (Some((name, value)), _) => (name.to_owned(), value),
        (None, Some(region)) => ("the profile's region".to_owned(), region.to_owned()),
        (None, None) => return None,
    };
    (region != expected.region).then(|| {
        format!(
            "note: {source} is {region}; env `{}` targets {} ({}), so every call goes to {}",
            expected.env,
            expected.region,
            expected.config_file.display(),
            expected.region
        )
    })
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
        let error = check_target(&expected(Some("111111111111")), &identity("222222222222"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("111111111111"), "{error}");
        assert!(error.contains("222222222222"), "{error}");
        assert!(error.contains("envs/prod.toml"), "{error}");
    }

    #[test]
    fn matching_target_passes_and_unpinned_account_accepts_any() {
        check_target(&expected(Some("1")), &identity("1")).unwrap();
        check_target(&expected(None), &identity("9")).unwrap();
    }

    #[test]
    fn a_region_elsewhere_that_differs_is_noted_not_refused() {
        let from_env = Some(("AWS_REGION", "us-east-1".to_owned()));
        let note = region_note(&expected(None), from_env.clone(), Some("eu-west-1")).unwrap();
        assert!(note.starts_with("note: AWS_REGION is us-east-1"), "{note}");
        assert!(note.contains("targets eu-west-1"), "{note}");
        let note = region_note(&expected(None), None, Some("ap-south-1")).unwrap();
        assert!(
            note.contains("the profile's region is ap-south-1"),
            "{note}"
        );
        assert_eq!(region_note(&expected(None), None, Some("eu-west-1")), None);
        assert_eq!(region_note(&expected(None), None, None), None);
    }

    #[test]
    fn each_services_code_for_a_missing_thing_is_not_found() {
        for (operation, code) in [
            ("lambda:GetFunction", "ResourceNotFoundException"),
            ("logs:FilterLogEvents", "ResourceNotFoundException"),
            ("iam:GetRole", "NoSuchEntity"),
            ("cloudwatch:GetDashboard", "ResourceNotFound"),
            ("s3:GetObject", "NoSuchKey"),
        ] {
            assert!(
                CallError::new(operation, Some(code.into()), "gone").is_not_found(),
                "{operation} {code}"
            );
        }
        let refused = CallError::new(
            "lambda:GetFunction",
            Some("AccessDeniedException".into()),
            "not authorized",
        );
        assert!(!refused.is_not_found());
    }

    #[test]
    fn a_head_404_without_a_code_is_not_found_and_a_message_is_never_searched() {
        let mut error = CallError::new("s3:HeadObject", None, "service error");
        error.status = Some(404);
        assert!(error.is_not_found());
        let other = CallError::new(
            "s3:PutObject",
            Some("AccessDenied".into()),
            "404 in the text",
        );
        assert!(!other.is_not_found());
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
