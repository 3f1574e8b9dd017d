//! `upstack logs --env <env> [FUNCTION...] [--since 10m] [--follow]
//! [--filter TEXT] [--format text|json]`: the stack's function logs merged
//! in time order. See `upstack_deploy::logs`.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use upstack_deploy::interact;
use upstack_deploy::logs::{self, LogEvent, LogSource};
use upstack_project::synth;

use crate::context::Ctx;
use crate::exit::{Outcome, UsageError};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One line per event for a person: time, function, request id, level, text.
    Text,
    /// One JSON object per line (time, function, request_id, kind, level, text, message).
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Functions to show, as `invoke` names them (default: every function of the stack)
    pub functions: Vec<String>,
    /// From how long ago (30s, 10m, 2h, 1d) or from when (an RFC 3339 time)
    #[arg(long, default_value = "10m")]
    pub since: String,
    /// Keep printing new lines until Ctrl-C
    #[arg(long, short)]
    pub follow: bool,
    /// Only lines containing this text, as written (case-sensitive)
    #[arg(long)]
    pub filter: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// How often `--follow` asks CloudWatch Logs for new lines.
const FOLLOW_POLL: Duration = Duration::from_secs(2);

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let env = ctx.env("logs")?;
    let output =
        synth::synth_env(ctx.root()?, env).with_context(|| format!("logs {env}: synth"))?;
    let sources = logs::sources(&output.manifest, &args.functions)
        .map_err(|error| UsageError(error.to_string()))?;
    let start =
        logs::parse_since(&args.since, ctx.now()).map_err(|error| UsageError(error.to_string()))?;
    let session = ctx.session(env, &output.config).await?;
    let client = logs::client(&session.sdk_config);
    let width = sources
        .iter()
        .map(|source| source.function.len())
        .max()
        .unwrap_or_default();
    let format = args.format;
    let print = |event: &LogEvent| {
        let line = logs::parse(event);
        let text = match format {
            Format::Text => logs::render_text(&line, width),
            Format::Json => logs::render_json(&line),
        };
        // A closed pipe (`| head`) ends the output, not the program with a panic.
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
    };
    let missing = |source: &LogSource| {
        eprintln!(
            "{}: no log group {} yet (the function has not run since it was deployed)",
            source.function, source.log_group
        );
    };
    let filter = args.filter.as_deref();
    let start_ms = logs::epoch_millis(start);
    if !args.follow {
        let fetched = logs::fetch(&client, &sources, start_ms, None, filter)
            .await
            .with_context(|| format!("logs {env}"))?;
        fetched.missing.iter().for_each(missing);
        fetched.events.iter().for_each(print);
        return Ok(Outcome::Success);
    }
    let now_ms = || logs::epoch_millis(std::time::SystemTime::now());
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let stop = async {
        interact::ctrl_c().await;
        stopped.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    logs::follow(
        &client,
        &sources,
        start_ms,
        filter,
        FOLLOW_POLL,
        now_ms,
        print,
        missing,
        stop,
    )
    .await
    .with_context(|| format!("logs {env}"))?;
    Ok(if stopped.load(std::sync::atomic::Ordering::SeqCst) {
        Outcome::Interrupted
    } else {
        Outcome::Success
    })
}
