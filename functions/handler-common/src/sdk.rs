//! SDK configuration, loaded once per execution environment in `main`.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::recorder::CallRecorder;

/// The standard credential/region chain. `AWS_ENDPOINT_URL` (honoured by
/// aws-config) points every client at a local emulator such as moto.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// Path-style S3 addressing is needed when an endpoint override is an IP
/// address (moto at 127.0.0.1 cannot serve `bucket.127.0.0.1`); against AWS
/// itself virtual-hosted style is kept.
pub fn s3_config(sdk_config: &SdkConfig) -> aws_sdk_s3::config::Builder {
    let builder = aws_sdk_s3::config::Builder::from(sdk_config);
    let endpoint_override = sdk_config.endpoint_url().is_some();
    builder.force_path_style(endpoint_override)
}

/// Clients with an optional [`CallRecorder`] attached (tests attach one; the
/// Lambda binaries do not).
pub fn s3_client(sdk_config: &SdkConfig, recorder: Option<&CallRecorder>) -> aws_sdk_s3::Client {
    let mut builder = s3_config(sdk_config);
    if let Some(recorder) = recorder {
        builder = builder.interceptor(recorder.clone());
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

pub fn dynamodb_client(
    sdk_config: &SdkConfig,
    recorder: Option<&CallRecorder>,
) -> aws_sdk_dynamodb::Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(sdk_config);
    if let Some(recorder) = recorder {
        builder = builder.interceptor(recorder.clone());
    }
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

pub fn sns_client(sdk_config: &SdkConfig, recorder: Option<&CallRecorder>) -> aws_sdk_sns::Client {
    let mut builder = aws_sdk_sns::config::Builder::from(sdk_config);
    if let Some(recorder) = recorder {
        builder = builder.interceptor(recorder.clone());
    }
    aws_sdk_sns::Client::from_conf(builder.build())
}

pub fn rekognition_client(
    sdk_config: &SdkConfig,
    recorder: Option<&CallRecorder>,
) -> aws_sdk_rekognition::Client {
    let mut builder = aws_sdk_rekognition::config::Builder::from(sdk_config);
    if let Some(recorder) = recorder {
        builder = builder.interceptor(recorder.clone());
    }
    aws_sdk_rekognition::Client::from_conf(builder.build())
}

/// The IAM actions the idempotency store needs on the table; every handler
/// includes them in its `IAM_ACTIONS`.
pub const IDEMPOTENCY_IAM_ACTIONS: [&str; 4] = [
    "dynamodb:PutItem",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
];
