//! Dev-only test fixtures shared by the workspace's tests and benches: the
//! repository's paths, a `moto_server` per test, and (feature `pipeline`) the
//! real dev template with fake handler assets.
//!
//! Never a normal dependency: only `[dev-dependencies]`, or handler-common's
//! `test-util` feature, which is itself enabled only from dev-dependencies. No
//! Lambda binary or CLI build links it.
//!
//! Each test starts its own moto server on a port the kernel gives it and
//! kills it on drop, so tests run in parallel without sharing state; the
//! servers are forked from one process per test binary that imported moto
//! once ([`MotoServer::start`]). A missing moto is a test failure that says
//! how to install it, never a skip.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError, mpsc};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

#[cfg(feature = "echo")]
mod echo;
mod faulty_proxy;
#[cfg(feature = "pipeline")]
mod pipeline;
mod workspace_copy;
#[cfg(feature = "echo")]
pub use echo::echo_bootstrap;
pub use faulty_proxy::{FaultyProxy, ProxyCounts};
#[cfg(feature = "pipeline")]
pub use pipeline::{asset_key, fake_zip, pipeline_plan, pipeline_template, stand_in_bundle};
pub use workspace_copy::{COPY_CODEGEN_UNITS, copy_workspace, tracked_files};

/// The region every moto-backed test deploys to (envs/dev.toml's region).
pub const REGION: &str = "eu-west-1";
/// The account moto reports (its fixed default).
pub const ACCOUNT_ID: &str = "123456789012";

/// The metric values of the EMF lines a handler wrote (one JSON object per
/// line), each checked to be in `namespace` and returned without its `_aws`
/// metadata, in order: what the three handlers' moto tests compare.
pub fn emf_values(
    lines: &std::sync::Mutex<Vec<String>>,
    namespace: &str,
) -> Vec<serde_json::Value> {
    let lines = lines
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    lines
        .iter()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
            assert_eq!(
                value["_aws"]["CloudWatchMetrics"][0]["Namespace"], namespace,
                "{line}"
            );
            if let Some(object) = value.as_object_mut() {
                object.remove("_aws");
            }
            value
        })
        .collect()
}

/// The repository root (the workspace's root package).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support sits one level below the repository root")
        .to_path_buf()
}

/// Runs `command` to its end and returns its output; when it fails, panics
/// with the command, its status, its stdout and its stderr.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?}\nstatus {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `.venv/bin/<name>` in the repository (installed by
/// `scripts/setup-test-tools.sh`); it may not exist.
pub fn venv_tool(name: &str) -> PathBuf {
    repo_root().join(".venv/bin").join(name)
}

/// [`venv_tool`], panicking with how to install it when it is missing.
pub fn require_venv_tool(name: &str) -> PathBuf {
    let path = venv_tool(name);
    if !path.is_file() {
        panic!(
            "{} missing: run `bash scripts/setup-test-tools.sh` from the repository root",
            path.display()
        );
    }
    path
}

/// A moto server of the test's own, killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    /// The server's process id, in [`ForkServer`]'s namespace of children.
    pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl MotoServer {
    /// Starts a fresh moto server on a port of its own.
    ///
    /// The server is forked from `scripts/moto/moto_fork_server.py`, which
    /// imported moto once (one for the whole run under
    /// scripts/run-test-binaries.py, else one per test process): a new
    /// `moto_server` spent about 1.5 s of CPU importing moto before its first
    /// answer, and the test run starts 28 of them on two cores. Each forked
    /// server starts with no backend state, so tests still share nothing.
    ///
    /// It listens on a port the kernel gives it (port 0) and reports that
    /// port before it is used. Picking a free port here and passing it on
    /// raced: two tests could be handed the same port, and a connect probe
    /// waiting for the server could connect to itself through an ephemeral
    /// port equal to the target.
    pub fn start() -> MotoServer {
        let answer = ForkServer::request("start");
        let fields: Vec<&str> = answer.split_whitespace().collect();
        match fields.as_slice() {
            ["started", pid, port] => match (pid.parse(), port.parse::<u16>()) {
                (Ok(pid), Ok(port)) => MotoServer {
                    pid,
                    endpoint: format!("http://127.0.0.1:{port}"),
                },
                _ => panic!("moto fork server: unexpected answer {answer:?}"),
            },
            _ => panic!(
                "moto fork server could not start a server: {answer}\n{}",
                ForkServer::recent_stderr()
            ),
        }
    }

    /// An SDK config for this server: [`REGION`], static `testing` credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // A test that panics drops its server too: no second panic here.
        let _ = ForkServer::try_request(&format!("stop {}", self.pid));
    }
}

/// `scripts/moto/moto_fork_server.py`, reached on the first
/// [`MotoServer::start`] of a test process and driven one line each way.
///
/// scripts/run-test-binaries.py starts one for the whole test run and names
/// its socket in [`SHARED_FORK_SERVER`]: each test process connects, and the
/// servers it started are killed when the connection closes. Otherwise (a
/// plain `cargo test`) the test process starts its own, over its stdin and
/// stdout; it exits, killing its servers, when the test process ends and its
/// stdin closes.
struct ForkServer {
    requests: Box<dyn Write + Send>,
    answers: Box<dyn BufRead + Send>,
    /// The test process's own fork server, kept so it is not reaped or killed
    /// before the test process ends (none when the server is shared).
    _child: Option<Child>,
}

/// The socket of a fork server shared by every test process of the run.
const SHARED_FORK_SERVER: &str = "UPSTACK_MOTO_FORK_SERVER";
/// The shared fork server's stderr (moto's request log), for failure messages.
const SHARED_FORK_SERVER_LOG: &str = "UPSTACK_MOTO_FORK_SERVER_LOG";

/// The fork server's latest stderr lines, for failure messages.
static FORK_SERVER_STDERR: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());
const STDERR_LINES_KEPT: usize = 40;

impl ForkServer {
    fn shared() -> Result<&'static Mutex<ForkServer>, &'static str> {
        static SHARED: OnceLock<Result<Mutex<ForkServer>, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| ForkServer::connect_or_spawn().map(Mutex::new))
            .as_ref()
            .map_err(String::as_str)
    }

    fn connect_or_spawn() -> Result<ForkServer, String> {
        let Some(socket) = std::env::var_os(SHARED_FORK_SERVER) else {
            return ForkServer::spawn();
        };
        // The runner does not wait for the server's start-up (its import of
        // moto): the first test to need it waits here for its socket.
        let connect = |socket: &std::ffi::OsStr| {
            let waiting_since = Instant::now();
            let stream = loop {
                match UnixStream::connect(socket) {
                    Ok(stream) => break stream,
                    Err(error)
                        if matches!(
                            error.kind(),
                            ErrorKind::NotFound | ErrorKind::ConnectionRefused
                        ) && waiting_since.elapsed() < Duration::from_secs(60) =>
                    {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(error) => return Err(error),
                }
            };
            let answers = stream.try_clone()?;
            Ok::<_, std::io::Error>((stream, answers))
        };
        match connect(&socket) {
            Ok((requests, answers)) => Ok(ForkServer {
                requests: Box::new(requests),
                answers: Box::new(BufReader::new(answers)),
                _child: None,
            }),
            Err(error) => Err(format!(
                "cannot connect to the shared moto fork server at {} (${SHARED_FORK_SERVER}, set by \
                 scripts/run-test-binaries.py): {error}\n{}",
                Path::new(&socket).display(),
                ForkServer::recent_stderr()
            )),
        }
    }

    fn spawn() -> Result<ForkServer, String> {
        let python = venv_tool("python");
        if !python.exists() {
            return Err(format!(
                "moto is not installed ({} is missing): run `bash scripts/setup-test-tools.sh` \
                 from the repository root",
                python.display()
            ));
        }
        let script = repo_root().join("scripts/moto/moto_fork_server.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("could not start {}: {error}", script.display()))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err("the moto fork server's stdio was not piped".to_owned());
        };
        // moto logs every request to stderr: a full pipe would stall the
        // servers, so it is drained for the life of the process.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut kept = FORK_SERVER_STDERR
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if kept.len() == STDERR_LINES_KEPT {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
        let (ready_sender, ready_receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            let read = stdout.read_line(&mut line);
            let _ = ready_sender.send((read, line, stdout));
        });
        match ready_receiver.recv_timeout(Duration::from_secs(60)) {
            Ok((Ok(_), line, stdout)) if line.trim() == "ready" => Ok(ForkServer {
                requests: Box::new(stdin),
                answers: Box::new(stdout),
                _child: Some(child),
            }),
            Ok((_, line, _)) => Err(format!(
                "the moto fork server exited or misspoke before it was ready (it said {line:?}):\n{}",
                ForkServer::recent_stderr()
            )),
            Err(_) => Err(format!(
                "the moto fork server was not ready within 60 s:\n{}",
                ForkServer::recent_stderr()
            )),
        }
    }

    /// Sends one command and returns the answer line; panics if the fork
    /// server cannot be started or does not answer.
    fn request(command: &str) -> String {
        ForkServer::try_request(command).unwrap_or_else(|error| panic!("{error}"))
    }

    fn try_request(command: &str) -> Result<String, String> {
        let server = ForkServer::shared()?;
        let mut server = server.lock().unwrap_or_else(PoisonError::into_inner);
        let mut answer = String::new();
        let exchange = writeln!(server.requests, "{command}")
            .and_then(|()| server.requests.flush())
            .and_then(|()| server.answers.read_line(&mut answer));
        match exchange {
            Ok(read) if read > 0 => Ok(answer.trim_end().to_owned()),
            Ok(_) => Err(format!(
                "the moto fork server exited (asked to {command:?}):\n{}",
                ForkServer::recent_stderr()
            )),
            Err(error) => Err(format!(
                "the moto fork server did not answer {command:?}: {error}\n{}",
                ForkServer::recent_stderr()
            )),
        }
    }

    fn recent_stderr() -> String {
        if let Some(log) = std::env::var_os(SHARED_FORK_SERVER_LOG) {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let recent = &lines[lines.len().saturating_sub(STDERR_LINES_KEPT)..];
            return format!(
                "the last lines of its log ({}):\n{}",
                Path::new(&log).display(),
                recent.join("\n")
            );
        }
        let kept = FORK_SERVER_STDERR
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if kept.is_empty() {
            return "(it wrote nothing to stderr)".to_owned();
        }
        let lines: Vec<&str> = kept.iter().map(String::as_str).collect();
        format!("its last stderr lines:\n{}", lines.join("\n"))
    }
}
