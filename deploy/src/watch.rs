//! `upstack watch --env <env>`: the dev loop. Every [`WatchTiming::poll`]
//! the env is synthesized again; a function's asset key is the fingerprint
//! of everything its build reads (its crate's sources, the workspace crates
//! it reaches, the lock file's part, the profile, the toolchain pins), so a
//! new template is exactly "something a build would see changed". Once it
//! has settled ([`WatchTiming::settle`], an editor's save is several
//! writes), the changed handlers are built, and [`hotswap`] sets their code
//! (verified upload, `UpdateFunctionCode`, the record, the `CodeSha256`
//! check) with the timing of each step; then the changed functions' logs
//! are streamed.
//!
//! A watch sets function code only. When more than code differs from the
//! deployed stack it says what, and that `upstack deploy` is the way; it
//! never makes a change set, whose review does not belong in a stream of
//! log lines. Anything that goes wrong in a round (a build error, an AWS
//! error, an expired session) is shown and the watch carries on with the
//! next change; a round AWS failed is tried again after
//! [`WatchTiming::retry`] too. Ctrl-C stops it: before or during a build at
//! once (nothing has been uploaded), during a hotswap once that hotswap is
//! done, so a Ctrl-C never leaves code set but not recorded (a record that
//! cannot be written is an error that says so).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use upstack_project::synth::{self, SynthError, SynthOutput};
use upstack_stack::{Manifest, ManifestFunction};

use crate::assets::AssetFile;
use crate::aws::{self, CallError, Pacing, ProfileChoice, TargetError};
use crate::deploy::hotswap::{self, HotswapError, HotswapPlan};
use crate::deploy::{DeployClients, DeployRequest};
use crate::interact::{Reporter, one_line};
use crate::logs::{self, LogEvent, LogSource};

/// How often a watch looks, and how long a change must stay put.
#[derive(Debug, Clone)]
pub struct WatchTiming {
    /// Between two syntheses of the env (the look for changes).
    pub poll: Duration,
    /// How long the sources must stay unchanged before a build starts.
    pub settle: Duration,
    /// Between two reads of the functions' logs.
    pub log_poll: Duration,
    /// After a round that AWS failed (an expired session, a refused call),
    /// when it is tried again if nothing changed meanwhile.
    pub retry: Duration,
}

impl Default for WatchTiming {
    fn default() -> Self {
        WatchTiming {
            poll: Duration::from_millis(400),
            settle: Duration::from_millis(300),
            log_poll: Duration::from_secs(2),
            retry: Duration::from_secs(30),
        }
    }
}

/// Builds the zips of a manifest's functions; `Err` is the message to show.
/// The CLI's is [`CargoBuilder`]; tests build stand-in zips.
pub trait Builder: Send + Sync {
    fn build(&self, root: &Path, env: &str, manifest: &Manifest) -> Result<Vec<AssetFile>, String>;
}

/// `bundle` as a deploy runs it: each function with its env's profile and
/// architecture, its zip refused unless it is the key synth computed.
#[derive(Debug, Clone, Copy, Default)]
pub struct CargoBuilder;

impl Builder for CargoBuilder {
    fn build(&self, root: &Path, env: &str, manifest: &Manifest) -> Result<Vec<AssetFile>, String> {
        crate::deploy::bundle_assets(root, env, manifest, false).map_err(|error| one_line(&error))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("watch {env}: synth")]
    Synth {
        env: String,
        #[source]
        source: SynthError,
    },
    /// `watch` of a production env: the command line's fault (exit 64).
    #[error("{0}")]
    Production(HotswapError),
    #[error(transparent)]
    Target(#[from] TargetError),
}

impl WatchError {
    /// The message of a refusal that is the command line's fault.
    pub fn usage_message(&self) -> Option<String> {
        match self {
            WatchError::Production(source) => Some(
                source
                    .to_string()
                    .replace("--hotswap is refused", "watch (which hotswaps) is refused"),
            ),
            _ => None,
        }
    }
}

/// One `upstack watch` invocation.
#[derive(Debug, Clone)]
pub struct WatchCommand {
    pub root: PathBuf,
    pub env: String,
    pub profile: ProfileChoice,
    pub pacing: Pacing,
    pub timing: WatchTiming,
}

/// Runs the command until `interrupt` resolves (Ctrl-C): `Ok` then.
/// Production envs are refused before any AWS call.
pub async fn run<I: Future<Output = ()>>(
    command: &WatchCommand,
    builder: Arc<dyn Builder>,
    reporter: &mut dyn Reporter,
    interrupt: I,
) -> Result<(), WatchError> {
    let env = command.env.as_str();
    let output = synth::synth_env(&command.root, env).map_err(|source| WatchError::Synth {
        env: env.to_owned(),
        source,
    })?;
    hotswap::refuse_production(&output.manifest).map_err(WatchError::Production)?;
    let session = crate::deploy::connect(env, &command.profile, &output.config, reporter).await?;
    let target = WatchTarget {
        root: command.root.clone(),
        env: command.env.clone(),
        account: session.identity.account.clone(),
        region: session.region.clone(),
        profile: command.profile.clone(),
        pacing: command.pacing.clone(),
        timing: command.timing.clone(),
    };
    watch(
        &target,
        &session.sdk_config,
        output,
        builder,
        reporter,
        interrupt,
    )
    .await;
    Ok(())
}

/// Where a watch sets code, after the credentials and the target were
/// checked.
#[derive(Debug, Clone)]
pub struct WatchTarget {
    pub root: PathBuf,
    pub env: String,
    pub account: String,
    pub region: String,
    /// For the hint when the session expires during the watch.
    pub profile: ProfileChoice,
    pub pacing: Pacing,
    pub timing: WatchTiming,
}

/// What the log reader sends to the loop.
enum LogMessage {
    Event(LogEvent),
    Missing(LogSource),
    Failed(CallError),
}

/// The loop of [`run`], from `first` (the env as synthesized at the start)
/// until `interrupt` resolves. Nothing in a round ends it.
pub async fn watch<I: Future<Output = ()>>(
    target: &WatchTarget,
    sdk_config: &aws_config::SdkConfig,
    first: SynthOutput,
    builder: Arc<dyn Builder>,
    reporter: &mut dyn Reporter,
    interrupt: I,
) {
    let clients = DeployClients {
        drift: None,
        ..DeployClients::new(sdk_config)
    };
    let mut interrupt = std::pin::pin!(interrupt);
    // Polled once now: a Ctrl-C handler is installed at its first poll, and
    // until then a Ctrl-C would end the process without a word.
    tokio::select! {
        biased;
        () = interrupt.as_mut() => return,
        () = std::future::ready(()) => {}
    }
    let mut state = Loop {
        target,
        sdk_config: sdk_config.clone(),
        clients,
        logs_client: logs::client(sdk_config),
        builder,
        shown: BTreeSet::new(),
        missing: BTreeSet::new(),
        reader: None,
        messages: mpsc::unbounded_channel(),
        width: first
            .manifest
            .functions
            .iter()
            .map(|function| function.handler.len())
            .max()
            .unwrap_or_default(),
        all_sources: logs::sources(&first.manifest, &[]).unwrap_or_default(),
    };
    reporter.line(&format!(
        "watching {} ({}) in account {} in {}: the sources of {} and what their builds read; Ctrl-C to stop",
        target.env,
        first.manifest.stack_name,
        target.account,
        target.region,
        handler_list(&first.manifest.functions)
    ));
    let clock = &target.pacing.clock;
    let mut seen = first.template_json.clone();
    let mut last_manifest = first.manifest.clone();
    let mut retry_at = None;
    match state
        .round(first, clock.now(), reporter, interrupt.as_mut())
        .await
    {
        Round::Interrupted => {
            state.stop(reporter);
            return;
        }
        Round::Failed => retry_at = Some(clock.now() + target.timing.retry),
        Round::Done => {}
    }
    // The template seen last, when it differs from the one last built.
    let mut pending: Option<(SynthOutput, std::time::Instant)> = None;
    let mut synth_error: Option<String> = None;
    loop {
        tokio::select! {
            biased;
            () = interrupt.as_mut() => {
                state.stop(reporter);
                return;
            }
            Some(message) = state.messages.1.recv() => state.show(message, reporter),
            () = target.pacing.sleep(target.timing.poll) => {
                let output = match synth::synth_env(&target.root, &target.env) {
                    Ok(output) => output,
                    Err(error) => {
                        // Said once per distinct error: a file mid-edit
                        // fails every poll until it is saved whole.
                        let message = one_line(&error);
                        if synth_error.as_deref() != Some(&message) {
                            reporter.warning(&format!(
                                "synth {}: {message}; watch carries on",
                                target.env
                            ));
                            synth_error = Some(message);
                        }
                        continue;
                    }
                };
                synth_error = None;
                if output.template_json != seen {
                    seen = output.template_json.clone();
                    let changed = changed_handlers(&last_manifest, &output.manifest);
                    reporter.line(&change_line(&changed));
                    pending = Some((output, clock.now()));
                    continue;
                }
                let settled = pending.as_ref().is_some_and(|(_, since)| {
                    clock.now().saturating_duration_since(*since) >= target.timing.settle
                });
                let retry_due = pending.is_none()
                    && retry_at.is_some_and(|at| clock.now() >= at);
                let next = if settled {
                    pending.take()
                } else if retry_due {
                    Some((output, clock.now()))
                } else {
                    None
                };
                if let Some((output, since)) = next {
                    last_manifest = output.manifest.clone();
                    retry_at = None;
                    match state.round(output, since, reporter, interrupt.as_mut()).await {
                        Round::Interrupted => {
                            state.stop(reporter);
                            return;
                        }
                        Round::Failed => retry_at = Some(clock.now() + target.timing.retry),
                        Round::Done => {}
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    Done,
    /// AWS failed it: tried again after [`WatchTiming::retry`].
    Failed,
    Interrupted,
}

struct Loop<'a> {
    target: &'a WatchTarget,
    sdk_config: aws_config::SdkConfig,
    clients: DeployClients,
    logs_client: aws_sdk_cloudwatchlogs::Client,
    builder: Arc<dyn Builder>,
    /// Handlers whose logs are shown: those hotswapped in this watch.
    shown: BTreeSet<String>,
    /// Handlers whose log group did not exist when the reader looked.
    missing: BTreeSet<String>,
    reader: Option<tokio::task::JoinHandle<()>>,
    messages: (
        mpsc::UnboundedSender<LogMessage>,
        mpsc::UnboundedReceiver<LogMessage>,
    ),
    width: usize,
    all_sources: Vec<LogSource>,
}

impl Loop<'_> {
    /// One round: what differs from the stack, build, hotswap, logs.
    async fn round<I: Future<Output = ()>>(
        &mut self,
        output: SynthOutput,
        since: std::time::Instant,
        reporter: &mut dyn Reporter,
        mut interrupt: Pin<&mut I>,
    ) -> Round {
        let target = self.target;
        let clock = &target.pacing.clock;
        // An SSO session or an assumed role outlives few afternoons: said
        // before any call, with how to renew it.
        let retry = seconds(target.timing.retry);
        // Nothing is started before the build: a Ctrl-C stops at once.
        let credentials = tokio::select! {
            checked = aws::check_credentials(&self.sdk_config, &target.profile) => checked,
            () = interrupt.as_mut() => return Round::Interrupted,
        };
        if let Err(error) = credentials {
            reporter.warning(&format!(
                "{error}; watch tries again in {retry} and at the next change"
            ));
            return Round::Failed;
        }
        let manifest = &output.manifest;
        let planned = tokio::select! {
            planned = hotswap::swap_plan(&self.clients, manifest, &output.template_json) => planned,
            () = interrupt.as_mut() => return Round::Interrupted,
        };
        let (functions, records) = match planned {
            Ok((HotswapPlan::Code(functions), records)) => (functions, records),
            Ok((HotswapPlan::Fallback(lines), _)) => {
                reporter.line(&format!(
                        "more than function code differs from the deployed stack; watch sets code only, deploy these with `upstack deploy --env {}`:",
                        target.env
                    ));
                for line in lines {
                    reporter.line(&format!("  {line}"));
                }
                return Round::Done;
            }
            Err(error) => {
                self.failed(&error, reporter);
                return Round::Failed;
            }
        };
        if functions.is_empty() {
            reporter.line("in sync: every function runs the code its sources build");
            return Round::Done;
        }
        reporter.line(&format!(
            "building {} ({} profile)",
            handler_list(&functions),
            functions[0].build_profile.config_name()
        ));
        let build_started = clock.now();
        let mut changed = manifest.clone();
        changed.functions = functions.clone();
        let builder = Arc::clone(&self.builder);
        let (root, env) = (target.root.clone(), target.env.clone());
        let build = tokio::task::spawn_blocking(move || builder.build(&root, &env, &changed));
        let assets = tokio::select! {
            built = build => built,
            () = interrupt.as_mut() => {
                // In a terminal cargo got the same Ctrl-C; nothing was uploaded.
                reporter.line("stopped during the build: nothing was uploaded");
                return Round::Interrupted;
            }
        };
        let assets = match assets {
            Ok(Ok(assets)) => assets,
            Ok(Err(message)) => {
                reporter.warning(&format!("build failed: {message}"));
                reporter.line("watch carries on: fix the code and save");
                return Round::Done;
            }
            Err(panicked) => {
                reporter.warning(&format!("the build stopped: {panicked}"));
                return Round::Done;
            }
        };
        let built = clock.now().saturating_duration_since(build_started);
        let swap_started = clock.now();
        // A function hotswapped earlier in this loop still differs from the
        // deployed template, so every round builds it again (cargo finds it
        // fresh). One whose record names this key and which runs exactly
        // the zip just built is left alone.
        let functions = match self.already_running(&records, &functions, &assets).await {
            Ok(current) => {
                let (done, to_set): (Vec<_>, Vec<_>) = functions
                    .into_iter()
                    .partition(|function| current.contains(&function.function_name));
                if !done.is_empty() {
                    reporter.line(&format!(
                        "{}: already running this code (recorded), left as it is",
                        handler_list(&done)
                    ));
                }
                to_set
            }
            Err(error) => {
                self.failed(&HotswapError::Call(error), reporter);
                return Round::Failed;
            }
        };
        if functions.is_empty() {
            reporter.line("in sync: every function runs the code its sources build");
            return Round::Done;
        }
        let request = DeployRequest {
            manifest: manifest.clone(),
            template_json: output.template_json.clone(),
            account: target.account.clone(),
            region: target.region.clone(),
            assets,
            outputs_path: crate::deploy::outputs_path(&target.root, &target.env),
        };
        // A hotswap is finished once started: set code and its record go
        // together. A Ctrl-C meanwhile is kept for after it.
        let mut interrupted = false;
        let result = {
            let apply = hotswap::apply(
                &self.clients,
                &request,
                &functions,
                &target.pacing,
                reporter,
            );
            tokio::pin!(apply);
            tokio::select! {
                result = &mut apply => result,
                () = interrupt.as_mut() => {
                    interrupted = true;
                    apply.await
                }
            }
        };
        if interrupted {
            reporter.line("Ctrl-C: the hotswap in flight was finished first, nothing is half-done");
        }
        match result {
            Ok(()) => {
                let now = clock.now();
                reporter.line(&live_line(
                    &functions,
                    built,
                    now.saturating_duration_since(swap_started),
                    now.saturating_duration_since(since),
                ));
                self.follow(&functions, reporter);
            }
            Err(error) => {
                self.failed(&error, reporter);
                if !interrupted {
                    return Round::Failed;
                }
            }
        }
        if interrupted {
            Round::Interrupted
        } else {
            Round::Done
        }
    }

    /// The names of `functions` whose hotswap record (as the round's plan
    /// read them) names their asset key and whose running code
    /// (`CodeSha256`) is the zip built for it.
    async fn already_running(
        &self,
        records: &[hotswap::HotswapRecord],
        functions: &[ManifestFunction],
        assets: &[AssetFile],
    ) -> Result<BTreeSet<String>, CallError> {
        let mut current = BTreeSet::new();
        for function in functions {
            let recorded = records.iter().any(|record| {
                record.function_name == function.function_name
                    && record.asset_key == function.asset_key
            });
            let Some(asset) = assets.iter().find(|asset| asset.key == function.asset_key) else {
                continue;
            };
            if recorded
                && crate::deploy::running_code(&self.clients.lambda, &function.function_name)
                    .await?
                    .as_deref()
                    == Some(asset.sha256.as_str())
            {
                current.insert(function.function_name.clone());
            }
        }
        Ok(current)
    }

    fn failed(&self, error: &HotswapError, reporter: &mut dyn Reporter) {
        let hint = match error {
            HotswapError::Call(call) if call.is_rejected_credentials() => {
                " (the session has expired or was revoked: renew the credentials)"
            }
            _ => "",
        };
        reporter.warning(&format!(
            "hotswap failed: {}{hint}; watch tries again in {} and at the next change",
            one_line(error),
            seconds(self.target.timing.retry)
        ));
    }

    /// Shows `functions`' logs from now on (the reader follows every
    /// function of the stack; lines of the others are dropped).
    fn follow(&mut self, functions: &[ManifestFunction], reporter: &mut dyn Reporter) {
        for function in functions {
            if self.shown.insert(function.handler.clone())
                && self.missing.contains(&function.handler)
            {
                reporter.line(&format!(
                    "{}: no log group yet (it has not run since it was deployed); its lines appear when it runs",
                    function.handler
                ));
            }
        }
        if self
            .reader
            .as_ref()
            .is_some_and(|reader| !reader.is_finished())
        {
            return;
        }
        let client = self.logs_client.clone();
        let sources = self.all_sources.clone();
        let poll = self.target.timing.log_poll;
        let sender = self.messages.0.clone();
        let start_ms = logs::epoch_millis(std::time::SystemTime::now());
        self.reader = Some(tokio::spawn(async move {
            let events = sender.clone();
            let missing = sender.clone();
            let result = logs::follow(
                &client,
                &sources,
                start_ms,
                None,
                poll,
                || logs::epoch_millis(std::time::SystemTime::now()),
                move |event| {
                    let _ = events.send(LogMessage::Event(event.clone()));
                },
                move |source| {
                    let _ = missing.send(LogMessage::Missing(source.clone()));
                },
                std::future::pending(),
            )
            .await;
            if let Err(error) = result {
                let _ = sender.send(LogMessage::Failed(error));
            }
        }));
    }

    fn show(&mut self, message: LogMessage, reporter: &mut dyn Reporter) {
        match message {
            LogMessage::Event(event) => {
                self.missing.remove(&event.function);
                if self.shown.contains(&event.function) {
                    reporter.line(&logs::render_text(&logs::parse(&event), self.width));
                }
            }
            LogMessage::Missing(source) => {
                if self.shown.contains(&source.function) {
                    reporter.line(&format!(
                        "{}: no log group {} yet (it has not run since it was deployed); its lines appear when it runs",
                        source.function, source.log_group
                    ));
                }
                self.missing.insert(source.function);
            }
            LogMessage::Failed(error) => {
                // From the reader that stopped, not one started since.
                if self
                    .reader
                    .as_ref()
                    .is_some_and(|reader| reader.is_finished())
                {
                    self.reader = None;
                }
                reporter.warning(&format!(
                    "logs: {}; read again after the next hotswap",
                    one_line(&error)
                ));
            }
        }
    }

    fn stop(&mut self, reporter: &mut dyn Reporter) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
        reporter.line("watch stopped");
    }
}

/// "notify, ingest".
fn handler_list(functions: &[ManifestFunction]) -> String {
    functions
        .iter()
        .map(|function| function.handler.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The handlers whose asset key moved from `old` to `new` (added ones too).
pub fn changed_handlers(old: &Manifest, new: &Manifest) -> Vec<String> {
    let old_keys: BTreeMap<&str, &str> = old
        .functions
        .iter()
        .map(|function| (function.handler.as_str(), function.asset_key.as_str()))
        .collect();
    new.functions
        .iter()
        .filter(|function| {
            old_keys.get(function.handler.as_str()) != Some(&function.asset_key.as_str())
        })
        .map(|function| function.handler.clone())
        .collect()
}

/// The line for a change seen in the sources.
pub fn change_line(changed: &[String]) -> String {
    if changed.is_empty() {
        "change: the template (no function's code)".to_owned()
    } else {
        format!("change: {}", changed.join(", "))
    }
}

/// The line when the new code runs, with each step's time.
pub fn live_line(
    functions: &[ManifestFunction],
    build: Duration,
    hotswap: Duration,
    since_change: Duration,
) -> String {
    format!(
        "live: {} in {} from the change (build {}, upload and update {})",
        handler_list(functions),
        seconds(since_change),
        seconds(build),
        seconds(hotswap)
    )
}

/// "9.6 s".
fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn manifest() -> Manifest {
        upstack_test_support::pipeline_plan(256).manifest
    }

    #[test]
    fn a_moved_key_names_its_handler_and_the_lines_say_each_step() {
        let old = manifest();
        let mut new = old.clone();
        new.functions[0].asset_key = "assets/notify-arm64-fedcba9876543210.zip".into();
        let changed = changed_handlers(&old, &new);
        assert_eq!(changed, ["notify"]);
        assert_eq!(changed_handlers(&old, &old), Vec::<String>::new());
        insta::assert_snapshot!(
            [
                change_line(&changed),
                change_line(&[]),
                live_line(
                    &new.functions[..1],
                    Duration::from_millis(7_940),
                    Duration::from_millis(1_420),
                    Duration::from_millis(9_680),
                ),
            ]
            .join("\n"),
            @r"
        change: notify
        change: the template (no function's code)
        live: notify in 9.7 s from the change (build 7.9 s, upload and update 1.4 s)
        "
        );
    }

    #[test]
    fn an_error_reads_with_its_causes_once() {
        let error = WatchError::Synth {
            env: "dev".into(),
            source: SynthError::UnknownEnv {
                env: "dev".into(),
                path: "envs/dev.toml".into(),
                known: "prod".into(),
            },
        };
        let line = one_line(&error);
        assert!(line.starts_with("watch dev: synth: "), "{line}");
    }
}
