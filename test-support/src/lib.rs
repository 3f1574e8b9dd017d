//! Dev-only test fixtures shared by the workspace's tests and benches: the
//! repository's paths, a `moto_server` per test, and (feature `pipeline`) the
//! real dev template with fake handler assets.
//!
//! Never a normal dependency: only `[dev-dependencies]`, or handler-common's
//! `test-util` feature, which is itself enabled only from dev-dependencies. No
//! Lambda binary or CLI build links it.
//!
//! Each test starts its own `moto_server` on a port the kernel gives it and
//! kills it on drop, so tests run in parallel without sharing state. A
//! missing moto is a test failure that says how to install it, never a skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

#[cfg(feature = "echo")]
mod echo;
#[cfg(feature = "pipeline")]
mod pipeline;
#[cfg(feature = "echo")]
pub use echo::echo_bootstrap;
#[cfg(feature = "pipeline")]
pub use pipeline::{asset_key, fake_zip, pipeline_template};

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

/// A running `moto_server`, killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl MotoServer {
    /// `$MOTO_SERVER`, else the repository's `.venv/bin/moto_server`.
    pub fn binary() -> PathBuf {
        if let Some(path) = std::env::var_os("MOTO_SERVER") {
            return PathBuf::from(path);
        }
        venv_tool("moto_server")
    }

    /// Starts moto on a port of its own and waits (30 s at most) until it
    /// listens.
    ///
    /// moto binds port 0 and the port is read from its startup line. Picking
    /// a free port here and passing it on raced: two tests could be handed
    /// the same port (the second moto failed to bind, and its test talked to
    /// the first one's server until that was killed), and the connect probe
    /// that waited for moto could connect to itself through an ephemeral port
    /// equal to the target. A fresh-clone run of the test command saw
    /// "connection refused" on a test's first request.
    pub fn start() -> MotoServer {
        let binary = MotoServer::binary();
        if !binary.exists() {
            panic!(
                "moto is not installed at {}: run `bash scripts/setup-test-tools.sh` from the \
                 repository root (or set MOTO_SERVER to a moto_server binary)",
                binary.display()
            );
        }
        let mut child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("could not start {}: {error}", binary.display()));
        let Some(stderr) = child.stderr.take() else {
            panic!("moto_server's stderr was not piped");
        };
        let (port_sender, port_receiver) = mpsc::channel();
        // The reader keeps draining stderr after the startup line: moto logs
        // every request there, and a full pipe would stall the server.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            let mut before_startup = Vec::new();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if let Some(port) = listening_port(&line) {
                    let _ = port_sender.send(Ok(port));
                    lines.for_each(drop);
                    return;
                }
                before_startup.push(line);
            }
            let _ = port_sender.send(Err(before_startup.join("\n")));
        });
        let mut server = MotoServer {
            child,
            endpoint: String::new(),
        };
        match port_receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(port)) => server.endpoint = format!("http://127.0.0.1:{port}"),
            Ok(Err(output)) => panic!("moto_server exited before it listened; it said:\n{output}"),
            Err(_) => panic!("moto_server did not say it listens within 30 s"),
        }
        server
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

/// The port of werkzeug's startup line, ` * Running on http://127.0.0.1:PORT`.
fn listening_port(line: &str) -> Option<u16> {
    line.trim()
        .strip_prefix("* Running on http://127.0.0.1:")?
        .trim_end_matches('/')
        .parse()
        .ok()
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
