//! Plumbing shared by the three Lambda handlers (`notify`, `ingest`,
//! `photo-check`): start-up configuration from environment variables, S3
//! event decoding, error classes, per-object-version idempotency, the
//! per-record driver, JSON logging and embedded-metric-format metrics.
//! Test doubles (moto fixtures, `FixedClock`, the AWS call recorder) exist
//! only with the `test-util` feature, which only the handlers'
//! dev-dependencies turn on.
//!
//! Everything account-specific (table name, topic ARNs) comes from the
//! environment the stack sets (`upstack_contract::env`); nothing here names an
//! account, a region or a resource.

pub mod clock;
pub mod config;
pub mod error;
pub mod idempotency;
pub mod logging;
pub mod metrics;
pub mod process;
#[cfg(feature = "test-util")]
pub mod recorder;
pub mod s3_event;
pub mod sdk;
pub mod sns;

#[cfg(feature = "test-util")]
pub mod testing;

#[cfg(feature = "test-util")]
pub use clock::FixedClock;
pub use clock::{Clock, SystemClock};
pub use config::ConfigError;
pub use error::{HandlerError, classify_sdk_error};
pub use idempotency::{Claim, ClaimToken, IdempotencyStore, VersionState};
pub use metrics::Metrics;
pub use process::{InvocationSummary, RecordOutcome, process_event};
#[cfg(feature = "test-util")]
pub use recorder::{AwsCall, CallRecorder};
pub use s3_event::{EventError, ObjectEvent, ObjectVersion, VersionMarker};

/// Names of environment variables only the handlers read (the stack may set
/// them; each has a documented default). The ones the stack must set live in
/// `upstack_contract::env`.
pub mod env {
    /// Seconds added to the invocation deadline to form the lease of an
    /// IN_PROGRESS idempotency claim (default 30). See [`crate::idempotency`].
    pub const IDEMPOTENCY_LEASE_MARGIN_SECONDS: &str = "IDEMPOTENCY_LEASE_MARGIN_SECONDS";
    /// ingest: maximum `BatchWriteItem` requests in flight (default 4).
    pub const INGEST_MAX_BATCHES_IN_FLIGHT: &str = "INGEST_MAX_BATCHES_IN_FLIGHT";
    /// ingest: attempts per batch while DynamoDB returns `UnprocessedItems` (default 8).
    pub const INGEST_MAX_BATCH_ATTEMPTS: &str = "INGEST_MAX_BATCH_ATTEMPTS";
}
