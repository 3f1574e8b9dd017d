//! `ingest`: streams `.csv` (header row) and `.jsonl` objects created under
//! `data/` into DynamoDB items.
//!
//! The object is never held whole: S3 body chunks flow through a bounded
//! channel to the synchronous parser ([`parse`]) on a blocking thread, whose
//! items flow through another bounded channel to the [`writer`]. Memory is
//! bounded by the channel capacities (4 chunks, 64 items) plus the batches in
//! flight, whatever the object's size.
//!
//! Per object version, besides the rows, one report item is written:
//! `pk = ingest-report#<bucket>/<key>`, `sk = version#<id>` (or
//! `sequencer#<seq>`), with `format`, `bytes`, `rows_written`, `rows_bad`,
//! and `first_bad_line` / `first_bad_reason` when a row was rejected.
//!
//! Environment: `TABLE_NAME` (required); `INGEST_PK_COLUMNS`,
//! `INGEST_SK_COLUMNS` (default: see [`parse`]); `INGEST_MAX_BATCHES_IN_FLIGHT`
//! (default 4); `INGEST_MAX_BATCH_ATTEMPTS` (default 8);
//! `IDEMPOTENCY_LEASE_MARGIN_SECONDS` (default 30).

pub mod parse;
pub mod writer;

/// The global allocator of the `ingest` binary, and of the throughput bench
/// so that the bench measures what ships. Parsing allocates a few small
/// strings per cell (the SDK's item type owns them); with glibc's malloc,
/// allocation and free were a third of the parse time.
pub use mimalloc::MiMalloc as Allocator;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use handler_common::config::{ConfigError, EnvSource};
use handler_common::process::{InvocationSummary, lease_until};
use handler_common::{
    Clock, HandlerError, IdempotencyStore, Metrics, ObjectEvent, classify_sdk_error,
};
use tokio::sync::mpsc;
use upstack_contract::table::{PARTITION_KEY, SORT_KEY};
use upstack_contract::{env, handler, metrics, prefix};

use crate::parse::{Format, Item, KeySpec, ParseError, ParseReport, RowSink};
use crate::writer::{Backoff, BatchWriter};

/// Every IAM action `ingest` performs. `s3:GetObjectVersion` because it
/// reads exactly the version named in the event.
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "s3:GetObject",
    "s3:GetObjectVersion",
];

const CHUNKS_BUFFERED: usize = 4;
const ITEMS_BUFFERED: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Event(#[from] handler_common::EventError),
    #[error(transparent)]
    Retry(#[from] handler_common::process::InvocationError),
}

/// The AWS clients `ingest` calls, built once per execution environment.
#[derive(Debug, Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    /// The table: rows, reports and idempotency items.
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Clients {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        Clients {
            s3: handler_common::sdk::s3_client(sdk_config),
            dynamodb: handler_common::sdk::dynamodb_client(sdk_config),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ingest {
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    spec: KeySpec,
    store: IdempotencyStore,
    max_in_flight: usize,
    backoff: Backoff,
    lease_margin: Duration,
    metrics: Metrics,
}

impl Ingest {
    pub fn from_env(
        clients: Clients,
        env_source: &EnvSource<'_>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let table = env_source.required(env::TABLE_NAME)?;
        let spec = KeySpec {
            pk_columns: env_source.list(env::INGEST_PK_COLUMNS),
            sk_columns: env_source.list(env::INGEST_SK_COLUMNS),
        };
        let max_in_flight: usize =
            env_source.parsed_or(handler_common::env::INGEST_MAX_BATCHES_IN_FLIGHT, 4)?;
        let max_attempts: u32 =
            env_source.parsed_or(handler_common::env::INGEST_MAX_BATCH_ATTEMPTS, 8)?;
        if max_in_flight == 0 || max_attempts == 0 {
            return Err(ConfigError::Invalid {
                name: format!(
                    "{} / {}",
                    handler_common::env::INGEST_MAX_BATCHES_IN_FLIGHT,
                    handler_common::env::INGEST_MAX_BATCH_ATTEMPTS
                ),
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        let margin: u64 =
            env_source.parsed_or(handler_common::env::IDEMPOTENCY_LEASE_MARGIN_SECONDS, 30)?;
        let Clients { s3, dynamodb } = clients;
        let metrics = Metrics::from_env(env_source, Arc::clone(&clock));
        Ok(Ingest {
            s3,
            store: IdempotencyStore::new(dynamodb.clone(), table.clone(), handler::INGEST, clock),
            dynamodb,
            table,
            spec,
            max_in_flight,
            backoff: Backoff {
                max_attempts,
                ..Backoff::default()
            },
            lease_margin: Duration::from_secs(margin),
            metrics,
        })
    }

    /// Replaces the metrics writer (tests collect the EMF lines in memory).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub async fn handle(
        &self,
        payload: &serde_json::Value,
        request_id: &str,
        deadline: SystemTime,
    ) -> Result<InvocationSummary, IngestError> {
        let summary = handler_common::process_event(
            payload,
            &self.store,
            request_id,
            lease_until(deadline, self.lease_margin),
            |event| event.ignore_reason(prefix::DATA),
            async |event| self.ingest_one(event).await,
        )
        .await?;
        Ok(summary.into_result()?)
    }

    async fn ingest_one(&self, event: &ObjectEvent) -> Result<String, HandlerError> {
        let format = Format::for_key(&event.key).ok_or_else(|| {
            HandlerError::Permanent(
                "unsupported file type: ingest reads .csv and .jsonl".to_owned(),
            )
        })?;
        let object = self
            .s3
            .get_object()
            .bucket(&event.bucket)
            .key(&event.key)
            .set_version_id(event.version_id().map(str::to_owned))
            .send()
            .await
            .map_err(|error| {
                // Deleted before we got to it, or archived: cannot succeed.
                classify_sdk_error(
                    "S3 GetObject",
                    &error,
                    &["NoSuchKey", "NoSuchVersion", "InvalidObjectState"],
                )
            })?;
        let mut body = object.body;

        let (chunk_tx, chunk_rx) = mpsc::channel::<std::io::Result<Bytes>>(CHUNKS_BUFFERED);
        let (item_tx, mut item_rx) = mpsc::channel::<Item>(ITEMS_BUFFERED);
        let spec = self.spec.clone();
        let object_key = event.key.clone();
        let parser = tokio::task::spawn_blocking(move || {
            let reader = ChannelReader {
                chunks: chunk_rx,
                current: Bytes::new(),
            };
            parse::parse(
                reader,
                format,
                &spec,
                &object_key,
                &mut ChannelSink(item_tx),
            )
        });
        let pump = async move {
            loop {
                let next = match body.try_next().await {
                    Ok(Some(chunk)) => Ok(chunk),
                    Ok(None) => break,
                    Err(error) => Err(std::io::Error::other(error)),
                };
                let failed = next.is_err();
                if chunk_tx.send(next).await.is_err() || failed {
                    break; // parser finished early, or the stream broke
                }
            }
        };
        let write = async {
            let mut writer = BatchWriter::new(
                self.dynamodb.clone(),
                &self.table,
                self.max_in_flight,
                self.backoff,
            );
            while let Some(item) = item_rx.recv().await {
                writer.push(item).await?;
            }
            writer.finish().await?;
            Ok::<_, HandlerError>(writer.items_written)
        };
        let ((), written) = tokio::join!(pump, write);
        let parsed = parser
            .await
            .map_err(|error| HandlerError::Transient(format!("parser task failed: {error}")))?;
        let written = written?;
        let report = match parsed {
            Ok(report) => report,
            Err(ParseError::Unusable(reason)) => return Err(HandlerError::Permanent(reason)),
            Err(error) => return Err(HandlerError::Transient(error.to_string())),
        };
        self.write_report(event, format, &report).await?;
        // Counted once the report is written: a transient failure before
        // this point is retried and would count the rows twice.
        self.metrics.emit(&[
            (metrics::ROWS_WRITTEN, written),
            (metrics::ROWS_REJECTED, report.rows_bad),
        ]);
        let mut summary = format!(
            "wrote {written} item(s) from {} bytes of {}",
            report.bytes,
            format.name()
        );
        if let Some(bad) = &report.first_bad {
            summary.push_str(&format!(
                "; {} bad row(s), first at line {}: {}",
                report.rows_bad, bad.line, bad.reason
            ));
        }
        Ok(summary)
    }

    async fn write_report(
        &self,
        event: &ObjectEvent,
        format: Format,
        report: &ParseReport,
    ) -> Result<(), HandlerError> {
        let number = |value: u64| AttributeValue::N(value.to_string());
        let mut item: HashMap<String, AttributeValue> = HashMap::from([
            (
                PARTITION_KEY.to_owned(),
                AttributeValue::S(format!("ingest-report#{}/{}", event.bucket, event.key)),
            ),
            (
                SORT_KEY.to_owned(),
                AttributeValue::S(event.version.marker.as_sort_key()),
            ),
            (
                "format".to_owned(),
                AttributeValue::S(format.name().to_owned()),
            ),
            ("bytes".to_owned(), number(report.bytes)),
            ("rows_written".to_owned(), number(report.rows_ok)),
            ("rows_bad".to_owned(), number(report.rows_bad)),
            (
                "finished_at".to_owned(),
                AttributeValue::S(handler_common::clock::rfc3339(self.store.clock().now())),
            ),
        ]);
        if let Some(bad) = &report.first_bad {
            item.insert("first_bad_line".to_owned(), number(bad.line));
            item.insert(
                "first_bad_reason".to_owned(),
                AttributeValue::S(bad.reason.clone()),
            );
        }
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|error| classify_sdk_error("DynamoDB PutItem (ingest report)", &error, &[]))?;
        Ok(())
    }
}

/// `Read` over chunks arriving from the async side.
struct ChannelReader {
    chunks: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(error)) => return Err(error),
                None => return Ok(0),
            }
        }
        let length = buf.len().min(self.current.len());
        buf[..length].copy_from_slice(&self.current.split_to(length));
        Ok(length)
    }
}

struct ChannelSink(mpsc::Sender<Item>);

impl RowSink for ChannelSink {
    fn accept(&mut self, item: Item) -> bool {
        self.0.blocking_send(item).is_ok()
    }
}
