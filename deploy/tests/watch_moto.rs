//! `watch` against moto, driven by file changes in a copy of the workspace:
//! the env is synthesized from the copy as a user's machine would, so a
//! saved handler source moves that handler's asset key and nothing else.
//! The build is a stand-in (a zip per asset key, and a "compile error"
//! when the source holds `compile_error!`): a cross-compiled handler takes
//! minutes, and moto's Lambda only stores the code. What is tested is the
//! loop: the look for changes, the hotswap with its record, the logs of
//! the changed function, a build error, an expired session and a refused
//! update survived, and Ctrl-C. moto finishes code updates at once; waiting and Lambda's
//! failures are in tests/hotswap_recorded.rs.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use tokio::sync::{mpsc, oneshot};
use upstack_deploy::assets::{self, AssetFile};
use upstack_deploy::aws::ProfileChoice;
use upstack_deploy::deploy::hotswap::RECORD_TAG;
use upstack_deploy::deploy::{DeployRequest, running_code};
use upstack_deploy::interact::Reporter;
use upstack_deploy::watch::{self, Builder, WatchTarget, WatchTiming};
use upstack_stack::Manifest;
use upstack_test_support::{
    ACCOUNT_ID as ACCOUNT, MotoServer, REGION, copy_workspace, fake_zip, repo_root,
};

use crate::deploy_moto::{bootstrapped, deploy_ok, options};

/// Builds a stand-in zip for each function, named after its asset key (so
/// other sources give other bytes), or fails like cargo when the handler's
/// `src/main.rs` holds `compile_error!`.
struct StandInBuilder;

impl Builder for StandInBuilder {
    fn build(
        &self,
        root: &Path,
        _env: &str,
        manifest: &Manifest,
    ) -> Result<Vec<AssetFile>, String> {
        let out = root.join("target/stand-in");
        std::fs::create_dir_all(&out).unwrap();
        manifest
            .functions
            .iter()
            .map(|function| {
                let main = root
                    .join("functions")
                    .join(&function.handler)
                    .join("src/main.rs");
                if std::fs::read_to_string(&main)
                    .unwrap()
                    .contains("compile_error!")
                {
                    return Err(format!(
                        "`cargo zigbuild` of {} failed: error: stand-in compile error",
                        function.handler
                    ));
                }
                let name = function
                    .asset_key
                    .trim_start_matches("assets/")
                    .trim_end_matches(".zip");
                let path = fake_zip(&out, name);
                let bytes = std::fs::read(&path).unwrap();
                Ok(AssetFile {
                    key: function.asset_key.clone(),
                    sha256: assets::sha256_hex(&bytes),
                    size: bytes.len() as u64,
                    unzipped_size: bytes.len() as u64,
                    path,
                })
            })
            .collect()
    }
}

/// Credentials that can be made to fail, as an SSO session does when it expires.
#[derive(Debug, Clone)]
struct Expiring(Arc<AtomicBool>);

impl ProvideCredentials for Expiring {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(if self.0.load(Ordering::SeqCst) {
            Err(CredentialsError::provider_error(
                "the SSO session has expired",
            ))
        } else {
            Ok(Credentials::new("testing", "testing", None, None, "moto"))
        })
    }
}

/// The watch's lines, sent to the test as they are written.
struct Lines(mpsc::UnboundedSender<String>);

impl Reporter for Lines {
    fn line(&mut self, text: &str) {
        let _ = self.0.send(text.to_owned());
    }
}

/// Waits for a line containing `text`, returning every line read until then.
async fn until(lines: &mut mpsc::UnboundedReceiver<String>, text: &str) -> Vec<String> {
    let mut read = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.recv().await {
            let done = line.contains(text);
            read.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        found == Ok(true),
        "no line with {text:?}; read:\n{}",
        read.join("\n")
    );
    read
}

fn append(path: &Path, text: &str) {
    let mut source = std::fs::read_to_string(path).unwrap();
    source.push_str(text);
    std::fs::write(path, source).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_change_goes_live_with_its_logs_and_the_loop_survives_what_goes_wrong() {
    let moto = MotoServer::start();
    let expired = Arc::new(AtomicBool::new(false));
    let config = moto
        .sdk_config()
        .await
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(Expiring(expired.clone())))
        .build();
    let clients = bootstrapped(&config).await;
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("workspace");
    // Synthesized, never built: nothing to keep apart.
    copy_workspace(&repo_root(), &root, &[]);

    // The stack as the copy's sources build it, deployed the normal way.
    let first = upstack_project::synth::synth_env(&root, "dev").unwrap();
    let request = DeployRequest {
        manifest: first.manifest.clone(),
        template_json: first.template_json.clone(),
        account: ACCOUNT.into(),
        region: REGION.into(),
        assets: StandInBuilder.build(&root, "dev", &first.manifest).unwrap(),
        outputs_path: work.path().join("outputs.json"),
    };
    deploy_ok(&clients, &request, &options("1")).await;
    let notify = first.manifest.functions[0].clone();
    assert_eq!(notify.handler, "notify");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let _ = logs
        .create_log_group()
        .log_group_name(&notify.log_group)
        .send()
        .await;

    let target = WatchTarget {
        root: root.clone(),
        env: "dev".into(),
        account: ACCOUNT.into(),
        region: REGION.into(),
        profile: ProfileChoice {
            name: None,
            from_flag: false,
        },
        pacing: options("1").pacing,
        timing: WatchTiming {
            poll: Duration::from_millis(100),
            settle: Duration::from_millis(100),
            log_poll: Duration::from_millis(200),
            retry: Duration::from_millis(500),
        },
    };
    let (sender, mut lines) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let main = root.join("functions/notify/src/main.rs");
    let driver = async {
        until(&mut lines, "in sync").await;

        // A one-line change: notify alone is built and set, and recorded.
        append(&main, "\n// a one-line change\n");
        let read = until(&mut lines, "live: notify").await;
        assert!(read.iter().any(|line| line == "change: notify"), "{read:?}");
        assert!(
            read.iter()
                .any(|line| line == "building notify (fast profile)"),
            "{read:?}"
        );
        let function = clients
            .lambda
            .get_function()
            .function_name(&notify.function_name)
            .send()
            .await
            .unwrap();
        let hotswapped = function.tags().unwrap()[RECORD_TAG].clone();
        assert_ne!(hotswapped, notify.asset_key);
        // It runs the zip built for the new key.
        let zip = root
            .join("target/stand-in")
            .join(hotswapped.trim_start_matches("assets/"));
        let bytes = std::fs::read(&zip).unwrap();
        assert_eq!(
            running_code(&clients.lambda, &notify.function_name)
                .await
                .unwrap(),
            Some(assets::sha256_hex(&bytes))
        );

        // Its logs are followed from now on.
        logs.create_log_stream()
            .log_group_name(&notify.log_group)
            .log_stream_name("2026/12/07/[$LATEST]abc")
            .send()
            .await
            .unwrap();
        logs.put_log_events()
            .log_group_name(&notify.log_group)
            .log_stream_name("2026/12/07/[$LATEST]abc")
            .log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(upstack_deploy::logs::epoch_millis(
                        std::time::SystemTime::now(),
                    ))
                    .message("hello from the new code")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let read = until(&mut lines, "hello from the new code").await;
        assert!(read.last().unwrap().contains("notify"), "{read:?}");

        // Another handler changes: notify, hotswapped already, still differs
        // from the deployed template and is built again, but it runs this
        // very zip and is left alone; ingest alone is set.
        append(
            &root.join("functions/ingest/src/main.rs"),
            "\n// a change in ingest\n",
        );
        let read = until(&mut lines, "live: ").await;
        assert!(
            read.iter()
                .any(|line| line == "building notify, ingest (fast profile)"),
            "{read:?}"
        );
        assert!(
            read.iter()
                .any(|line| line == "notify: already running this code (recorded), left as it is"),
            "{read:?}"
        );
        assert!(
            read.last().unwrap().starts_with("live: ingest in "),
            "{read:?}"
        );

        // A build error is shown, nothing is uploaded, the loop goes on.
        append(&main, "compile_error!(\"half-typed\");\n");
        let read = until(&mut lines, "watch carries on: fix the code and save").await;
        assert!(
            read.iter().any(
                |line| line.contains("build failed") && line.contains("stand-in compile error")
            ),
            "{read:?}"
        );
        let source = std::fs::read_to_string(&main).unwrap();
        std::fs::write(
            &main,
            source.replace("compile_error!(\"half-typed\");", "// fixed"),
        )
        .unwrap();
        until(&mut lines, "live: notify").await;

        // The session expires: said with the way out; once it is renewed
        // the round is tried again without another change.
        expired.store(true, Ordering::SeqCst);
        append(&main, "// while the session is expired\n");
        let read = until(
            &mut lines,
            "watch tries again in 0.5 s and at the next change",
        )
        .await;
        assert!(read.last().unwrap().contains("has expired"), "{read:?}");
        expired.store(false, Ordering::SeqCst);
        until(&mut lines, "live: notify").await;

        // Lambda refuses the update (the function was deleted behind the
        // stack's back): said, and the loop goes on to Ctrl-C.
        clients
            .lambda
            .delete_function()
            .function_name(&notify.function_name)
            .send()
            .await
            .unwrap();
        append(&main, "// after the function was deleted\n");
        let read = until(&mut lines, "hotswap failed").await;
        // Tried again, and said again, while nothing changes.
        until(&mut lines, "hotswap failed").await;
        assert!(
            read.last().unwrap().contains("lambda:UpdateFunctionCode")
                && read.last().unwrap().ends_with("and at the next change"),
            "{read:?}"
        );

        // Ctrl-C while waiting for a change.
        stop.send(()).unwrap();
        until(&mut lines, "watch stopped").await;
    };
    let mut watch_lines = Lines(sender);
    let watching = watch::watch(
        &target,
        &config,
        first,
        Arc::new(StandInBuilder),
        &mut watch_lines,
        async {
            let _ = stopped.await;
        },
    );
    tokio::join!(watching, driver);
}
