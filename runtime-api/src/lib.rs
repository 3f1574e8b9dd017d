//! An embedded Lambda Runtime API for running one invocation of a handler
//! binary locally, the way `provided.al2023` runs it.
//!
//! The server implements the runtime side of
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>:
//! `GET /2018-06-01/runtime/invocation/next` (long-polls; answers with the
//! event and the `Lambda-Runtime-*` headers), `POST .../invocation/{id}/response`,
//! `POST .../invocation/{id}/error` and `POST .../runtime/init/error`. It
//! listens on 127.0.0.1 on a free port, spawns the binary with
//! `AWS_LAMBDA_RUNTIME_API` pointing at it and the variables Lambda sets, feeds
//! it one event, and kills it once the invocation ends or times out.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Lambda gives a runtime 10 s to reach its first `/next` (the init phase).
/// <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib>
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Environment variables passed through from the caller: credentials and
/// endpoint settings, so the handler reaches the same AWS (or moto) as `invoke`.
const PASSED_THROUGH: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
    "HOME",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// One invocation to run.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The handler executable (`bootstrap` or `target/debug/<handler>`).
    pub binary: PathBuf,
    pub function_name: String,
    /// The function's own environment variables (from the template).
    pub environment: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub region: String,
    pub account_id: String,
    /// The event, as JSON text.
    pub event: Vec<u8>,
    /// Pass these through from this process's environment too (e.g. `AWS_ENDPOINT_URL_S3`).
    pub extra_passthrough: Vec<String>,
}

/// How the invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvocationOutcome {
    /// `POST .../response`: the body the handler returned.
    Response(Vec<u8>),
    /// `POST .../error` or `/init/error`: Lambda's `Unhandled` function error.
    Error {
        phase: Phase,
        error_type: String,
        error_message: String,
        body: Vec<u8>,
    },
    /// The handler did not answer within the function timeout (or init within 10 s).
    TimedOut { phase: Phase, after: Duration },
    /// The process exited without answering.
    Exited { phase: Phase, status: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Init,
    Invoke,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Init => "init",
            Phase::Invoke => "invoke",
        })
    }
}

#[derive(Debug, Clone)]
pub struct InvocationReport {
    pub request_id: String,
    pub outcome: InvocationOutcome,
    /// Process spawn to its first `/next` request (the init phase).
    pub init_duration: Option<Duration>,
    /// Event handed out to response/error received.
    pub duration: Option<Duration>,
    /// stdout and stderr lines, in arrival order.
    pub logs: Vec<LogLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: LogStream,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("cannot listen on 127.0.0.1 for the local Runtime API: {0}")]
    Listen(#[source] std::io::Error),
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What the HTTP side tells the supervising task.
#[derive(Debug)]
enum ApiEvent {
    EventDelivered(Instant),
    Response(Vec<u8>),
    Error {
        init: bool,
        error_type: Option<String>,
        body: Vec<u8>,
    },
}

struct ServerState {
    request_id: String,
    event: Mutex<Option<Bytes>>,
    function_arn: String,
    timeout: Duration,
    events: mpsc::UnboundedSender<ApiEvent>,
}

/// A request id in the shape Lambda uses (a UUID v4).
pub fn new_request_id() -> String {
    let mut bytes: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs `invocation` to completion: the process is always gone when this returns.
pub async fn invoke_once(invocation: Invocation) -> Result<InvocationReport, RuntimeApiError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(RuntimeApiError::Listen)?;
    let address = listener.local_addr().map_err(RuntimeApiError::Listen)?;
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let request_id = new_request_id();
    let state = Arc::new(ServerState {
        request_id: request_id.clone(),
        event: Mutex::new(Some(Bytes::from(invocation.event.clone()))),
        function_arn: format!(
            "arn:aws:lambda:{}:{}:function:{}",
            invocation.region, invocation.account_id, invocation.function_name
        ),
        timeout: invocation.timeout,
        events: events_tx,
    });
    let server = tokio::spawn(serve(listener, state));

    let mut command = tokio::process::Command::new(&invocation.binary);
    command
        .env_clear()
        .envs(child_environment(&invocation, address))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = invocation
        .binary
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        command.current_dir(dir);
    }
    let spawned_at = Instant::now();
    let mut child = command.spawn().map_err(|source| RuntimeApiError::Spawn {
        binary: invocation.binary.clone(),
        source,
    })?;

    let logs = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(tokio::spawn(collect_lines(
            stdout,
            LogStream::Stdout,
            logs.clone(),
        )));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(tokio::spawn(collect_lines(
            stderr,
            LogStream::Stderr,
            logs.clone(),
        )));
    }

    let mut init_duration = None;
    let mut delivered_at = None;
    let mut deadline = tokio::time::Instant::from_std(spawned_at + INIT_TIMEOUT);
    let outcome = loop {
        let phase = if delivered_at.is_some() {
            Phase::Invoke
        } else {
            Phase::Init
        };
        tokio::select! {
            // API events first: the server queues EventDelivered before the
            // process can see its event, so a handler that crashes right
            // after reading it is reported in the invoke phase, and one that
            // answers then exits is reported by its answer. Unbiased, select!
            // picked the exit at random when both were ready.
            biased;
            event = events_rx.recv() => match event {
                Some(ApiEvent::EventDelivered(at)) => {
                    init_duration = Some(at.duration_since(spawned_at));
                    delivered_at = Some(at);
                    deadline = tokio::time::Instant::from_std(at + invocation.timeout);
                }
                Some(ApiEvent::Response(body)) => break InvocationOutcome::Response(body),
                Some(ApiEvent::Error { init, error_type, body }) => {
                    let (parsed_type, message) = parse_error_body(&body);
                    break InvocationOutcome::Error {
                        phase: if init { Phase::Init } else { Phase::Invoke },
                        error_type: parsed_type.or(error_type).unwrap_or_else(|| "Unhandled".to_string()),
                        error_message: message,
                        body,
                    };
                }
                None => break InvocationOutcome::Exited { phase, status: "runtime API server stopped".into() },
            },
            status = child.wait() => {
                let status = match status {
                    Ok(status) => status.to_string(),
                    Err(error) => format!("unknown status ({error})"),
                };
                break InvocationOutcome::Exited { phase, status };
            }
            _ = tokio::time::sleep_until(deadline) => {
                let after = match delivered_at {
                    Some(_) => invocation.timeout,
                    None => INIT_TIMEOUT,
                };
                break InvocationOutcome::TimedOut { phase, after };
            }
        }
    };
    let duration = delivered_at.map(|at| at.elapsed());

    // The handler loops back to `/next` after answering; like Lambda freezing
    // the sandbox, end it now rather than leave a process behind.
    let _ = child.start_kill();
    let _ = child.wait().await;
    server.abort();
    for reader in readers {
        // Pipes close when the process is gone; bound the wait in case a
        // grandchild inherited them.
        let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
    }
    let logs = logs.lock().map(|lines| lines.clone()).unwrap_or_default();
    Ok(InvocationReport {
        request_id,
        outcome,
        init_duration,
        duration,
        logs,
    })
}

/// The variables Lambda sets for `provided.al2023`, over the function's own
/// (Lambda does not let a function override its reserved variables).
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>
fn child_environment(invocation: &Invocation, address: SocketAddr) -> BTreeMap<String, String> {
    let mut environment = BTreeMap::new();
    let passthrough = PASSED_THROUGH
        .iter()
        .map(|name| name.to_string())
        .chain(invocation.extra_passthrough.clone());
    for name in passthrough {
        if let Ok(value) = std::env::var(&name) {
            environment.insert(name, value);
        }
    }
    // Service-specific endpoint overrides (AWS_ENDPOINT_URL_S3, ...) follow
    // AWS_ENDPOINT_URL to the handler.
    for (name, value) in std::env::vars() {
        if name.starts_with("AWS_ENDPOINT_URL_") {
            environment.insert(name, value);
        }
    }
    environment.insert("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into());
    environment.insert("LANG".into(), "en_US.UTF-8".into());
    environment.insert("TZ".into(), ":UTC".into());
    environment.extend(invocation.environment.clone());
    let task_root = invocation
        .binary
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let reserved = [
        ("AWS_LAMBDA_RUNTIME_API", address.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", invocation.function_name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            invocation.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", invocation.function_name),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "local/[$LATEST]upstack-invoke".into(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_REGION", invocation.region.clone()),
        ("AWS_DEFAULT_REGION", invocation.region.clone()),
        ("LAMBDA_TASK_ROOT", task_root),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("_HANDLER", "bootstrap".into()),
    ];
    for (name, value) in reserved {
        environment.insert(name.to_string(), value);
    }
    environment
}

/// Lambda's error body is `{"errorType": ..., "errorMessage": ...}`; anything
/// else is reported verbatim.
fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let message =
        field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    (field("errorType"), message)
}

async fn collect_lines<R: AsyncRead + Unpin>(
    stream: R,
    kind: LogStream,
    logs: Arc<Mutex<Vec<LogLine>>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(text)) = lines.next_line().await {
        if let Ok(mut logs) = logs.lock() {
            logs.push(LogLine { stream: kind, text });
        }
    }
}

/// Connections live in a `JoinSet` owned by this task: aborting the server
/// drops it, which aborts the handler's parked `/next` long-poll too.
async fn serve(listener: TcpListener, state: Arc<ServerState>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| handle(request, state.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

const PREFIX: &str = "/2018-06-01/runtime";

async fn handle(
    request: Request<Incoming>,
    state: Arc<ServerState>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let error_type = request
        .headers()
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                r#"{"errorMessage":"unreadable request body"}"#,
            ));
        }
    };
    let Some(route) = path.strip_prefix(PREFIX) else {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            r#"{"errorMessage":"not a Runtime API path"}"#,
        ));
    };
    let accepted = || reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#);
    match (method, route) {
        (Method::GET, "/invocation/next") => Ok(next_invocation(&state).await),
        (Method::POST, "/init/error") => {
            let _ = state.events.send(ApiEvent::Error {
                init: true,
                error_type,
                body,
            });
            Ok(accepted())
        }
        (Method::POST, route) => {
            let Some(rest) = route.strip_prefix("/invocation/") else {
                return Ok(reply(
                    StatusCode::NOT_FOUND,
                    r#"{"errorMessage":"unknown Runtime API path"}"#,
                ));
            };
            let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
            if id != state.request_id {
                // What Lambda answers for a stale or made-up id.
                return Ok(reply(
                    StatusCode::BAD_REQUEST,
                    r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
                ));
            }
            match action {
                "response" => {
                    let _ = state.events.send(ApiEvent::Response(body));
                    Ok(accepted())
                }
                "error" => {
                    let _ = state.events.send(ApiEvent::Error {
                        init: false,
                        error_type,
                        body,
                    });
                    Ok(accepted())
                }
                _ => Ok(reply(
                    StatusCode::NOT_FOUND,
                    r#"{"errorMessage":"unknown Runtime API path"}"#,
                )),
            }
        }
        _ => Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"errorMessage":"method not allowed"}"#,
        )),
    }
}

/// Hands out the one event; later calls wait until the process is killed,
/// as a frozen Lambda sandbox would.
async fn next_invocation(state: &ServerState) -> Response<Full<Bytes>> {
    let event = state.event.lock().ok().and_then(|mut slot| slot.take());
    let Some(event) = event else {
        std::future::pending::<()>().await;
        return reply(StatusCode::INTERNAL_SERVER_ERROR, "{}");
    };
    let now = Instant::now();
    let deadline_ms = epoch_ms(SystemTime::now() + state.timeout);
    let _ = state.events.send(ApiEvent::EventDelivered(now));
    let mut response = Response::new(Full::new(event));
    let headers = response.headers_mut();
    let mut insert = |name: &'static str, value: &str| {
        if let Ok(value) = hyper::header::HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    insert("content-type", "application/json");
    insert("lambda-runtime-aws-request-id", &state.request_id);
    insert("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    insert("lambda-runtime-invoked-function-arn", &state.function_arn);
    let trace_id = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        epoch_ms(SystemTime::now()) / 1000,
        &hex::encode(std::array::from_fn::<u8, 12, _>(|_| fastrand::u8(..))),
        &hex::encode(std::array::from_fn::<u8, 8, _>(|_| fastrand::u8(..))),
    );
    insert("lambda-runtime-trace-id", &trace_id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuid_v4() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_ne!(id, new_request_id());
    }

    #[test]
    fn error_bodies_are_parsed_or_kept_verbatim() {
        assert_eq!(
            parse_error_body(br#"{"errorType":"Boom","errorMessage":"it broke"}"#),
            (Some("Boom".to_string()), "it broke".to_string())
        );
        assert_eq!(
            parse_error_body(b"plain text"),
            (None, "plain text".to_string())
        );
    }

    #[test]
    fn reserved_variables_win_over_the_functions_own() {
        let invocation = Invocation {
            binary: PathBuf::from("/tmp/task/bootstrap"),
            function_name: "dev-notify".into(),
            environment: BTreeMap::from([
                ("TABLE_NAME".to_string(), "items".to_string()),
                ("AWS_REGION".to_string(), "us-east-1".to_string()),
            ]),
            memory_mb: 256,
            timeout: Duration::from_secs(3),
            region: "eu-west-1".into(),
            account_id: "123456789012".into(),
            event: b"{}".to_vec(),
            extra_passthrough: Vec::new(),
        };
        let environment = child_environment(&invocation, "127.0.0.1:9001".parse().unwrap());
        assert_eq!(environment["TABLE_NAME"], "items");
        assert_eq!(environment["AWS_REGION"], "eu-west-1");
        assert_eq!(environment["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001");
        assert_eq!(environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(environment["LAMBDA_TASK_ROOT"], "/tmp/task");
    }
}
