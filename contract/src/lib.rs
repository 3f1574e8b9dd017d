//! The names the stack and the handlers must agree on.
//!
//! The stack writes these environment variables into each function's
//! configuration; the handlers read them at start-up. Keeping both sides on
//! the same constants means a rename is a compile error, not a function that
//! fails in production with "missing TABLE_NAME".

pub mod s3_key;

/// Environment variable names set on the Lambda functions by the stack.
pub mod env {
    /// Name of the DynamoDB table (items, idempotency records, reports).
    pub const TABLE_NAME: &str = "TABLE_NAME";
    /// ARN of the standard SNS topic (human-readable messages, email).
    pub const TOPIC_ARN: &str = "TOPIC_ARN";
    /// ARN of the FIFO SNS topic (structured events, feeds the SQS FIFO queue).
    pub const FIFO_TOPIC_ARN: &str = "FIFO_TOPIC_ARN";
    /// Name of the deployment environment (`dev`, `prod`, ...), for logs and messages.
    pub const APP_ENV: &str = "APP_ENV";
    /// CloudWatch namespace of the handlers' embedded-metric-format metrics
    /// ([`crate::metrics::namespace`]); unset: the handlers emit no metrics.
    pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";

    /// ingest: comma-separated column names forming the partition key.
    pub const INGEST_PK_COLUMNS: &str = "INGEST_PK_COLUMNS";
    /// ingest: comma-separated column names forming the sort key.
    pub const INGEST_SK_COLUMNS: &str = "INGEST_SK_COLUMNS";

    /// photo-check thresholds (see docs/handlers.md, photo-check, for defaults).
    pub const PHOTO_MIN_CONFIDENCE: &str = "PHOTO_MIN_CONFIDENCE";
    pub const PHOTO_MIN_EYES_OPEN_CONFIDENCE: &str = "PHOTO_MIN_EYES_OPEN_CONFIDENCE";
    pub const PHOTO_MAX_YAW: &str = "PHOTO_MAX_YAW";
    pub const PHOTO_MAX_PITCH: &str = "PHOTO_MAX_PITCH";
    pub const PHOTO_MAX_ROLL: &str = "PHOTO_MAX_ROLL";
    pub const PHOTO_MIN_FACE_AREA: &str = "PHOTO_MIN_FACE_AREA";
    pub const PHOTO_MIN_BRIGHTNESS: &str = "PHOTO_MIN_BRIGHTNESS";
    pub const PHOTO_MIN_SHARPNESS: &str = "PHOTO_MIN_SHARPNESS";
}

/// The S3 key prefixes that route objects to handlers.
pub mod prefix {
    pub const UPLOADS: &str = "uploads/";
    pub const DATA: &str = "data/";
    pub const PHOTOS: &str = "photos/";
}

/// The handler crates' names, which the pipeline declaration
/// (`stack/src/pipeline.rs`) routes to; which functions exist is its list.
pub mod handler {
    pub const NOTIFY: &str = "notify";
    pub const INGEST: &str = "ingest";
    pub const PHOTO_CHECK: &str = "photo-check";
}

/// The handlers' custom metrics, written as CloudWatch embedded metric format
/// (EMF) log lines: the stack's alarms and dashboard read the same names the
/// handlers write. Each is a `Count` without dimensions in the env's
/// namespace; every name belongs to exactly one handler, so no dimension is
/// needed to tell them apart.
pub mod metrics {
    /// ingest: rows (CSV lines or JSONL records) written to the table.
    pub const ROWS_WRITTEN: &str = "RowsWritten";
    /// ingest: rows rejected (wrong column count, invalid UTF-8 or JSON, too large).
    pub const ROWS_REJECTED: &str = "RowsRejected";
    /// photo-check: photos that passed every rule.
    pub const PHOTOS_ACCEPTED: &str = "PhotosAccepted";
    /// photo-check: photos that failed at least one rule.
    pub const PHOTOS_REJECTED: &str = "PhotosRejected";
    /// notify: human-readable notifications published to the standard topic.
    pub const NOTIFICATIONS_SENT: &str = "NotificationsSent";
    /// notify: events published to the FIFO topic.
    pub const FIFO_NOTIFICATIONS_SENT: &str = "FifoNotificationsSent";

    /// `<app>/<env>` (`upstack/prod`): one namespace per environment, so dev's
    /// test uploads never move prod's alarms.
    pub fn namespace(app: &str, env: &str) -> String {
        format!("{app}/{env}")
    }
}

/// The DynamoDB table's key attributes (both strings).
pub mod table {
    pub const PARTITION_KEY: &str = "pk";
    pub const SORT_KEY: &str = "sk";
}

/// A Lambda function's instruction set, as the env config names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    pub const ALL: [Architecture; 2] = [Architecture::X86_64, Architecture::Arm64];

    /// The name Lambda's `Architectures` property and the env config use.
    pub const fn lambda_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The Rust target triple the handler is built for.
    pub const fn rust_target(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64-unknown-linux-gnu",
            Architecture::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// Parses the env config's spelling (`x86_64` or `arm64`).
    pub fn from_lambda_name(name: &str) -> Option<Architecture> {
        Architecture::ALL
            .into_iter()
            .find(|arch| arch.lambda_name() == name)
    }
}

/// How an env's handlers are compiled: `build_profile` in `envs/<env>.toml`.
/// Both cross-build with cargo-zigbuild for the env's architecture against
/// the same glibc floor and pass the same ELF checks; they differ in how
/// much the compiler optimizes, and so in build time and in the bytes
/// (each is part of the asset key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum BuildProfile {
    /// Optimised for size and cold start (thin LTO, one codegen unit): the
    /// default, and what production runs.
    #[default]
    Lambda,
    /// Quick rebuilds for a dev loop: no LTO, many codegen units, incremental.
    Fast,
}

impl BuildProfile {
    pub const ALL: [BuildProfile; 2] = [BuildProfile::Lambda, BuildProfile::Fast];

    /// The spelling `build_profile` takes in an env file (and the manifest).
    pub const fn config_name(self) -> &'static str {
        match self {
            BuildProfile::Lambda => "lambda",
            BuildProfile::Fast => "fast",
        }
    }

    /// The `[profile.<name>]` of the root `Cargo.toml` cargo builds with.
    pub const fn cargo_profile(self) -> &'static str {
        match self {
            BuildProfile::Lambda => "lambda",
            BuildProfile::Fast => "lambda-fast",
        }
    }

    /// Parses the env config's spelling (`lambda` or `fast`).
    pub fn from_config_name(name: &str) -> Option<BuildProfile> {
        BuildProfile::ALL
            .into_iter()
            .find(|profile| profile.config_name() == name)
    }
}

/// `provided.al2023` ships glibc 2.34: a handler binary may not need a newer one.
/// <https://docs.aws.amazon.com/linux/al2023/ug/core-glibc.html>
pub const LAMBDA_GLIBC: (u32, u32) = (2, 34);

/// The per-account, per-region asset bucket `bootstrap` creates and `deploy`
/// uploads handler zips (and templates over 51,200 bytes) to.
pub mod assets {
    pub const BUCKET_PREFIX: &str = "upstack-assets";

    /// The same name as a `Fn::Sub` template, for use inside a stack.
    pub const BUCKET_NAME_SUB: &str = "upstack-assets-${AWS::AccountId}-${AWS::Region}";

    /// `upstack-assets-<account>-<region>`: deterministic, so templates can
    /// name it without a parameter and `deploy` can check it exists.
    pub fn bucket_name(account_id: &str, region: &str) -> String {
        format!("{BUCKET_PREFIX}-{account_id}-{region}")
    }
}
