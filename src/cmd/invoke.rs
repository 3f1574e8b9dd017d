//! `upstack invoke <function> --env <env> --key <s3-key> | --event <file.json>`:
//! runs a handler locally behind an embedded Lambda Runtime API, with the
//! deployed function's environment, and prints its response and logs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use upstack_local::invoke::{EventSource, InvokeOutput, InvokeRequest, InvokeTarget, invoke};
use upstack_project::manifest::{self, MANIFEST_FILE};
use upstack_runtime_api::{InvocationOutcome, LogStream};

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["key", "event"])))]
pub struct Args {
    /// The handler to run: one of the functions the stack defines.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(upstack_stack::pipeline::handlers()))]
    pub function: String,
    /// Send the ObjectCreated:Put event S3 would send for this key of the upload bucket
    #[arg(long)]
    pub key: Option<String>,
    /// Send the event in this JSON file instead
    #[arg(long)]
    pub event: Option<PathBuf>,
    /// Upload bucket name (default: the stack's bucket)
    #[arg(long)]
    pub bucket: Option<String>,
    /// Stack name (default: the env's, as synth recorded it in synth-out/<env>/manifest.json)
    #[arg(long)]
    pub stack_name: Option<String>,
    /// Run this executable instead of `cargo build -p <function>`
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

fn millis(duration: Option<Duration>) -> String {
    duration.map_or_else(
        || "-".to_string(),
        |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0),
    )
}

/// What `invoke` prints: a header, the logs, then the response or the error.
pub fn render(handler: &str, output: &InvokeOutput) -> String {
    let report = &output.report;
    let mut out = format!(
        "invoke {handler} as {} (request {})\n  init {}, duration {}\n",
        output.function_name,
        report.request_id,
        millis(report.init_duration),
        millis(report.duration)
    );
    out.push_str("--- logs ---\n");
    for line in &report.logs {
        let stream = match line.stream {
            LogStream::Stdout => "out",
            LogStream::Stderr => "err",
        };
        out.push_str(&format!("{stream} | {}\n", line.text));
    }
    match &report.outcome {
        InvocationOutcome::Response(body) => {
            out.push_str("--- response ---\n");
            let pretty = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|value| serde_json::to_string_pretty(&value).ok())
                .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
            out.push_str(&pretty);
            out.push('\n');
        }
        InvocationOutcome::Error {
            phase,
            error_type,
            error_message,
            ..
        } => {
            out.push_str(&format!(
                "--- error ({phase}) ---\n{error_type}: {error_message}\n"
            ));
        }
        InvocationOutcome::TimedOut { phase, after } => {
            out.push_str(&format!(
                "--- timed out ({phase}) ---\nno answer after {} s\n",
                after.as_secs()
            ));
        }
        InvocationOutcome::Exited { phase, status } => {
            out.push_str(&format!(
                "--- exited ({phase}) ---\nthe process ended without answering: {status}\n"
            ));
        }
    }
    out
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let env = ctx.env("invoke")?.to_owned();
    let workspace_root = ctx.root()?.to_path_buf();
    let event = match (&args.key, &args.event) {
        (Some(key), _) => EventSource::S3Key(key.clone()),
        (None, Some(path)) => EventSource::File(path.clone()),
        (None, None) => anyhow::bail!("pass --key <s3-key> or --event <file.json>"),
    };
    // Which function, and under which stack: what synth recorded.
    let manifest = manifest::load(&workspace_root, &env)?;
    let function = manifest
        .function(&args.function)
        .cloned()
        .with_context(|| {
            format!(
                "{}: no function for handler `{}`; run `upstack synth --env {env}`",
                manifest::output_file(&env, MANIFEST_FILE),
                args.function
            )
        })?;
    // The shared session: the env's region and account guard, and one-line
    // credential errors, exactly as for deploy.
    let config = ctx.env_config("invoke")?;
    let session = ctx.session(&env, &config).await?;
    let template_json = manifest::read_template(&manifest, &workspace_root)?;
    let output = invoke(InvokeRequest {
        workspace_root,
        env: env.clone(),
        function,
        template_json,
        stack_name: args.stack_name.unwrap_or(manifest.stack_name),
        event,
        bucket: args.bucket,
        binary: args.binary,
        target: InvokeTarget {
            cloudformation: session.cloudformation,
            s3: session.s3,
            region: session.region,
            account_id: session.identity.account,
        },
        handler_environment: Default::default(),
        now: ctx.now(),
    })
    .await?;
    print!("{}", render(&args.function, &output));
    match &output.report.outcome {
        InvocationOutcome::Response(_) => Ok(Outcome::Success),
        InvocationOutcome::Error { error_type, .. } => {
            anyhow::bail!("{} returned an error ({error_type})", args.function)
        }
        InvocationOutcome::TimedOut { after, .. } => {
            anyhow::bail!("{} timed out after {} s", args.function, after.as_secs())
        }
        InvocationOutcome::Exited { status, .. } => {
            anyhow::bail!("{} exited without answering ({status})", args.function)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use upstack_runtime_api::{InvocationReport, LogLine, Phase};

    use super::*;

    fn output(outcome: InvocationOutcome) -> InvokeOutput {
        InvokeOutput {
            function_name: "upstack-dev-notify".into(),
            event: serde_json::json!({}),
            environment: BTreeMap::new(),
            report: InvocationReport {
                request_id: "8f5e2a4c-0000-4000-8000-000000000001".into(),
                outcome,
                init_duration: Some(Duration::from_micros(12_345)),
                duration: Some(Duration::from_micros(45_600)),
                logs: vec![
                    LogLine {
                        stream: LogStream::Stdout,
                        text: r#"{"level":"INFO","message":"notified"}"#.into(),
                    },
                    LogLine {
                        stream: LogStream::Stderr,
                        text: "warning: slow SNS".into(),
                    },
                ],
            },
        }
    }

    #[test]
    fn response_snapshot() {
        // Keys already sorted: the rendering is the same whether or not
        // serde_json's `preserve_order` is unified into the build.
        let body = br#"{"key":"uploads/a+b.txt","published":2}"#.to_vec();
        insta::assert_snapshot!(render("notify", &output(InvocationOutcome::Response(body))));
    }

    #[test]
    fn error_and_timeout_snapshots() {
        let error = InvocationOutcome::Error {
            phase: Phase::Invoke,
            error_type: "Permanent".into(),
            error_message: "object uploads/x was deleted".into(),
            body: Vec::new(),
        };
        insta::assert_snapshot!("error", render("notify", &output(error)));
        let timeout = InvocationOutcome::TimedOut {
            phase: Phase::Invoke,
            after: Duration::from_secs(30),
        };
        insta::assert_snapshot!("timeout", render("notify", &output(timeout)));
    }
}
