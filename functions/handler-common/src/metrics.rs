//! Custom metrics as CloudWatch embedded metric format (EMF) log lines.
//!
//! A JSON line on stdout with an `_aws.CloudWatchMetrics` directive becomes a
//! metric when CloudWatch Logs ingests it: no `PutMetricData` call, no
//! `cloudwatch:*` permission, no latency on the invocation
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//! The namespace comes from `upstack_contract::env::METRICS_NAMESPACE`, which
//! the stack sets per env; the metric names from `upstack_contract::metrics`,
//! which the stack's alarms and dashboard read too.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::clock::Clock;
use crate::config::EnvSource;

/// One EMF line: `{"_aws": {...}, "<name>": <value>, ...}` with every metric a
/// `Count` and no dimensions (`"Dimensions": [[]]`: each name belongs to one
/// handler and the namespace to one env, so nothing needs telling apart).
/// Values keep the order given; a name must not repeat.
pub fn emf_line(namespace: &str, timestamp_ms: u64, values: &[(&str, u64)]) -> String {
    let line = Line {
        namespace,
        timestamp_ms,
        values,
    };
    // Serializing plain strings and integers into a String cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

struct Line<'a> {
    namespace: &'a str,
    timestamp_ms: u64,
    values: &'a [(&'a str, u64)],
}

#[derive(Serialize)]
struct Aws<'a> {
    #[serde(rename = "Timestamp")]
    timestamp: u64,
    #[serde(rename = "CloudWatchMetrics")]
    cloudwatch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
struct Directive<'a> {
    #[serde(rename = "Namespace")]
    namespace: &'a str,
    #[serde(rename = "Dimensions")]
    dimensions: [[&'a str; 0]; 1],
    #[serde(rename = "Metrics")]
    metrics: Vec<Definition<'a>>,
}

#[derive(Serialize)]
struct Definition<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "Unit")]
    unit: &'static str,
}

impl Serialize for Line<'_> {
    // By hand, so the keys come out in this order whatever serde_json's
    // `preserve_order` feature (turned on by another dependency) says.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.values.len()))?;
        map.serialize_entry(
            "_aws",
            &Aws {
                timestamp: self.timestamp_ms,
                cloudwatch_metrics: [Directive {
                    namespace: self.namespace,
                    dimensions: [[]],
                    metrics: self
                        .values
                        .iter()
                        .map(|(name, _)| Definition {
                            name,
                            unit: "Count",
                        })
                        .collect(),
                }],
            },
        )?;
        for (name, value) in self.values {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[derive(Debug, Clone)]
enum Sink {
    /// Lambda ships stdout to the function's log group.
    Stdout,
    /// Tests read what would have been written.
    Memory(Arc<Mutex<Vec<String>>>),
}

/// Writes EMF lines in one namespace, stamped with the injected clock.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `None`: metrics are off (no namespace configured, e.g. a local run).
    namespace: Option<String>,
    clock: Arc<dyn Clock>,
    sink: Sink,
}

impl Metrics {
    /// Metrics in `METRICS_NAMESPACE`, or none when it is unset or empty.
    pub fn from_env(env_source: &EnvSource<'_>, clock: Arc<dyn Clock>) -> Self {
        let namespace = env_source
            .get(upstack_contract::env::METRICS_NAMESPACE)
            .filter(|namespace| !namespace.trim().is_empty());
        Metrics {
            namespace,
            clock,
            sink: Sink::Stdout,
        }
    }

    /// Collects lines in memory instead of writing them (for tests): the
    /// second value holds every line emitted.
    pub fn in_memory(
        namespace: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> (Self, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let metrics = Metrics {
            namespace: Some(namespace.into()),
            clock,
            sink: Sink::Memory(Arc::clone(&lines)),
        };
        (metrics, lines)
    }

    /// Emits `values` (name, count) as one line; nothing when metrics are off.
    pub fn emit(&self, values: &[(&str, u64)]) {
        let Some(namespace) = &self.namespace else {
            return;
        };
        let timestamp_ms = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let line = emf_line(namespace, timestamp_ms, values);
        match &self.sink {
            Sink::Stdout => {
                // One write of the whole line, so it never interleaves with a
                // log line. A failed write loses a metric, not the invocation.
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{line}");
            }
            Sink::Memory(lines) => {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::FixedClock;

    #[test]
    fn one_line_is_the_exact_emf_document() {
        assert_eq!(
            emf_line(
                "upstack/dev",
                1_700_000_000_123,
                &[("RowsWritten", 10), ("RowsRejected", 2)]
            ),
            r#"{"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"upstack/dev","Dimensions":[[]],"Metrics":[{"Name":"RowsWritten","Unit":"Count"},{"Name":"RowsRejected","Unit":"Count"}]}]},"RowsWritten":10,"RowsRejected":2}"#
        );
    }

    #[test]
    fn values_keep_their_order_and_zero_counts_are_written() {
        assert_eq!(
            emf_line(
                "upstack/prod",
                0,
                &[("PhotosRejected", 0), ("PhotosAccepted", 1)]
            ),
            r#"{"_aws":{"Timestamp":0,"CloudWatchMetrics":[{"Namespace":"upstack/prod","Dimensions":[[]],"Metrics":[{"Name":"PhotosRejected","Unit":"Count"},{"Name":"PhotosAccepted","Unit":"Count"}]}]},"PhotosRejected":0,"PhotosAccepted":1}"#
        );
    }

    fn clock() -> Arc<dyn Clock> {
        let clock = FixedClock::at_epoch_seconds(1_764_000_000);
        clock.advance(Duration::from_millis(500));
        Arc::new(clock)
    }

    #[test]
    fn the_namespace_comes_from_the_environment_and_the_time_from_the_clock() {
        let (metrics, lines) = Metrics::in_memory("upstack/dev", clock());
        metrics.emit(&[("NotificationsSent", 1)]);
        assert_eq!(
            *lines.lock().unwrap(),
            vec![
                r#"{"_aws":{"Timestamp":1764000000500,"CloudWatchMetrics":[{"Namespace":"upstack/dev","Dimensions":[[]],"Metrics":[{"Name":"NotificationsSent","Unit":"Count"}]}]},"NotificationsSent":1}"#
                    .to_owned()
            ]
        );
        let pairs = [(upstack_contract::env::METRICS_NAMESPACE, "upstack/prod")];
        let from_env = Metrics::from_env(&EnvSource::from_pairs(&pairs), clock());
        assert_eq!(from_env.namespace.as_deref(), Some("upstack/prod"));
    }

    #[test]
    fn without_a_namespace_nothing_is_emitted() {
        let off = Metrics::from_env(&EnvSource::from_pairs(&[]), clock());
        assert_eq!(off.namespace, None);
        let empty = [(upstack_contract::env::METRICS_NAMESPACE, " ")];
        assert_eq!(
            Metrics::from_env(&EnvSource::from_pairs(&empty), clock()).namespace,
            None
        );
        // Emitting with metrics off writes nothing and does not panic.
        off.emit(&[("RowsWritten", 1)]);
    }
}
