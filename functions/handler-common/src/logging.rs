//! Structured JSON logs. Each line carries the Lambda request ID because
//! lambda_runtime wraps every invocation in a span with a `requestId` field
//! and the formatter includes the current span; CloudWatch Logs Insights can
//! then filter on `span.requestId`.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. Level: `AWS_LAMBDA_LOG_LEVEL` (Lambda's
/// advanced logging controls), else `RUST_LOG`, else `info`.
pub fn init_json_logs() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let filter =
        EnvFilter::try_new(level.to_ascii_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init` so a second call (tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        // Lambda stamps each line itself.
        .without_time()
        .try_init();
}
