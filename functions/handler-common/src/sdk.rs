//! SDK configuration, loaded once per execution environment in `main`.

use aws_config::{BehaviorVersion, SdkConfig};

/// The standard credential/region chain. `AWS_ENDPOINT_URL` (honoured by
/// aws-config) points every client at a local emulator such as moto.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// Path-style S3 addressing is needed when an endpoint override is an IP
/// address (moto at 127.0.0.1 cannot serve `bucket.127.0.0.1`); against AWS
/// itself virtual-hosted style is kept.
#[cfg(feature = "s3")]
pub fn s3_config(sdk_config: &SdkConfig) -> aws_sdk_s3::config::Builder {
    let builder = aws_sdk_s3::config::Builder::from(sdk_config);
    let endpoint_override = sdk_config.endpoint_url().is_some();
    builder.force_path_style(endpoint_override)
}

// The clients the handlers call, built once in each binary's `main`. Tests
// build theirs with a `CallRecorder` attached instead (feature `test-util`).
#[cfg(feature = "s3")]
pub fn s3_client(sdk_config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(s3_config(sdk_config).build())
}

pub fn dynamodb_client(sdk_config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk_config)
}

#[cfg(feature = "sns")]
pub fn sns_client(sdk_config: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(sdk_config)
}

#[cfg(feature = "rekognition")]
pub fn rekognition_client(sdk_config: &SdkConfig) -> aws_sdk_rekognition::Client {
    aws_sdk_rekognition::Client::new(sdk_config)
}

/// The IAM actions the idempotency store needs on the table; every handler
/// includes them in its `IAM_ACTIONS`.
pub const IDEMPOTENCY_IAM_ACTIONS: [&str; 4] = [
    "dynamodb:PutItem",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
];
