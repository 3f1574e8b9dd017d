//! The per-invocation driver: every record is handled, each under its own
//! idempotency claim, and the invocation only fails (so Lambda retries)
//! after all records have had their turn.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::error::HandlerError;
use crate::idempotency::{Claim, IdempotencyStore};
use crate::s3_event::{ObjectEvent, parse_s3_event};

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum RecordOutcome {
    Processed(String),
    /// Not this handler's business (wrong prefix or event type).
    Ignored(String),
    /// Same object version already DONE or FAILED: nothing repeated.
    Duplicate(String),
    FailedPermanently(String),
    FailedTransiently(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordReport {
    /// `s3://bucket/key (version v)`, or the record index when it did not parse.
    pub object: String,
    #[serde(flatten)]
    pub outcome: RecordOutcome,
}

/// The invocation's response (and, for tests, the full per-record story).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvocationSummary {
    pub records: Vec<RecordReport>,
}

impl InvocationSummary {
    pub fn transient_failures(&self) -> impl Iterator<Item = &RecordReport> {
        self.records
            .iter()
            .filter(|record| matches!(record.outcome, RecordOutcome::FailedTransiently(_)))
    }

    /// The error that makes Lambda retry, if any record needs it.
    pub fn into_result(self) -> Result<InvocationSummary, InvocationError> {
        let failed: Vec<String> = self
            .transient_failures()
            .map(|record| match &record.outcome {
                RecordOutcome::FailedTransiently(reason) => format!("{}: {reason}", record.object),
                _ => record.object.clone(),
            })
            .collect();
        if failed.is_empty() {
            Ok(self)
        } else {
            Err(InvocationError {
                total: self.records.len(),
                failed,
            })
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{} of {total} record(s) failed transiently and will be retried: {}", failed.len(), failed.join("; "))]
pub struct InvocationError {
    pub total: usize,
    pub failed: Vec<String>,
}

/// What the Runtime API reports for a failed invocation: a stable
/// `errorType` to alarm and filter on, instead of a Rust type name.
pub fn diagnostic(error_type: &str, error: &dyn std::error::Error) -> lambda_runtime::Diagnostic {
    lambda_runtime::Diagnostic {
        error_type: error_type.to_owned(),
        error_message: error.to_string(),
    }
}

/// How long past the invocation's deadline a claim stays leased: the margin
/// covers clock skew between Lambda hosts and DynamoDB.
pub fn lease_until(deadline: SystemTime, margin: Duration) -> SystemTime {
    deadline + margin
}

/// Handles every record of `payload`.
///
/// `relevant` returns `Some(reason)` for records this handler ignores (they
/// take no claim). `work` does the handler's job for one object version and
/// returns a one-line summary; its error class decides between FAILED (kept)
/// and a released claim (retried).
pub async fn process_event(
    payload: &serde_json::Value,
    store: &IdempotencyStore,
    request_id: &str,
    lease_until: SystemTime,
    relevant: impl Fn(&ObjectEvent) -> Option<String>,
    work: impl AsyncFn(&ObjectEvent) -> Result<String, HandlerError>,
) -> Result<InvocationSummary, crate::s3_event::EventError> {
    let records = parse_s3_event(payload)?;
    let mut reports = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let report = match record {
            Err(error) => {
                // S3 never sends this; a hand-made or corrupted event cannot
                // be retried into shape, and without a key there is no item
                // to record it on, so the log carries it.
                tracing::error!(record = index, error = %error, "unusable S3 event record");
                RecordReport {
                    object: format!("Records[{index}]"),
                    outcome: RecordOutcome::FailedPermanently(error.to_string()),
                }
            }
            Ok(event) => {
                let outcome = match relevant(&event) {
                    Some(reason) => {
                        tracing::info!(object = %event.label(), reason = %reason, "ignored");
                        RecordOutcome::Ignored(reason)
                    }
                    None => handle_one(&event, store, request_id, lease_until, &work).await,
                };
                RecordReport {
                    object: event.label(),
                    outcome,
                }
            }
        };
        reports.push(report);
    }
    Ok(InvocationSummary { records: reports })
}

async fn handle_one(
    event: &ObjectEvent,
    store: &IdempotencyStore,
    request_id: &str,
    lease_until: SystemTime,
    work: &impl AsyncFn(&ObjectEvent) -> Result<String, HandlerError>,
) -> RecordOutcome {
    let object = event.label();
    let token = match store.claim(&event.version, request_id, lease_until).await {
        Ok(Claim::Acquired(token)) => token,
        Ok(Claim::AlreadyDone { summary }) => {
            tracing::info!(object = %object, previous = %summary, "duplicate event: version already processed");
            return RecordOutcome::Duplicate(format!("already done: {summary}"));
        }
        Ok(Claim::AlreadyFailed { reason }) => {
            tracing::info!(object = %object, previous = %reason, "duplicate event: version already failed");
            return RecordOutcome::Duplicate(format!("already failed: {reason}"));
        }
        Ok(Claim::HeldElsewhere { lease_expires_at }) => {
            let reason =
                format!("another attempt holds this version until epoch {lease_expires_at}");
            tracing::warn!(object = %object, "{reason}");
            return RecordOutcome::FailedTransiently(reason);
        }
        Err(error) => {
            tracing::error!(object = %object, error = %error, "could not claim the object version");
            return RecordOutcome::FailedTransiently(error.to_string());
        }
    };
    match work(event).await {
        Ok(summary) => match store.mark_done(&event.version, &token, &summary).await {
            Ok(()) => {
                tracing::info!(object = %object, summary = %summary, "processed");
                RecordOutcome::Processed(summary)
            }
            Err(error) => {
                // The effects happened but DONE is not recorded: the lease
                // lets the retry redo them, which the handlers tolerate
                // (deterministic item keys, FIFO deduplication IDs).
                tracing::error!(object = %object, error = %error, "processed but could not record DONE");
                RecordOutcome::FailedTransiently(error.to_string())
            }
        },
        Err(HandlerError::Permanent(reason)) => {
            tracing::warn!(object = %object, reason = %reason, "permanent failure recorded");
            match store.mark_failed(&event.version, &token, &reason).await {
                Ok(()) => RecordOutcome::FailedPermanently(reason),
                Err(error) => RecordOutcome::FailedTransiently(format!(
                    "{reason} (and recording FAILED failed: {error})"
                )),
            }
        }
        Err(HandlerError::Transient(reason)) => {
            tracing::error!(object = %object, reason = %reason, "transient failure, releasing claim for the retry");
            if let Err(error) = store.release(&event.version, &token).await {
                // The lease still expires, so the retry can proceed later.
                tracing::error!(object = %object, error = %error, "could not release claim");
            }
            RecordOutcome::FailedTransiently(reason)
        }
    }
}
