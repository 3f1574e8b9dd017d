//! `bootstrap`: the per-account, per-region asset bucket deploy uploads
//! handler zips and large templates to; with a GitHub repository, the env's
//! CI identities too ([`ci`]); the whole command is [`command::run`].
//!
//! Plain S3 calls rather than a bootstrap CloudFormation stack (CDK's
//! choice): every call below is an idempotent "put the whole setting", so
//! re-running converges the bucket to the desired state even if someone
//! changed it by hand, without a second stack to deploy, diff and delete.

pub mod ci;
pub mod command;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};

use crate::aws::{CallError, call};

/// Where `deploy` puts templates too large for TemplateBody.
pub const TEMPLATE_PREFIX: &str = "templates/";
/// Where handler zips go (content-addressed, see `fingerprint`).
pub const ASSET_PREFIX: &str = "assets/";
/// Days a superseded object version (and an uploaded template) is kept.
pub const NONCURRENT_DAYS: i32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(
        "the asset bucket {bucket} exists but this account cannot use it ({code}): S3 bucket names are global, so another account may own it"
    )]
    NotOurs { bucket: String, code: String },
    #[error(
        "the asset bucket {bucket} does not exist in {region}: run `upstack bootstrap --env {env}` first"
    )]
    Missing {
        bucket: String,
        region: String,
        env: String,
    },
    #[error("cannot build the bucket configuration: {0}")]
    Build(String),
}

/// `upstack-assets-<account>-<region>` (the contract's name, which the
/// stack's functions also use for `Code.S3Bucket`).
pub fn asset_bucket(account: &str, region: &str) -> String {
    upstack_contract::assets::bucket_name(account, region)
}

/// What `bootstrap` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapReport {
    pub bucket: String,
    pub created: bool,
    /// The settings applied, in order, for the summary.
    pub applied: Vec<&'static str>,
}

impl BootstrapReport {
    pub fn render(&self) -> String {
        let mut text = format!(
            "asset bucket {} {}\n",
            self.bucket,
            if self.created {
                "created"
            } else {
                "already existed; settings re-applied"
            }
        );
        for setting in &self.applied {
            text.push_str("  - ");
            text.push_str(setting);
            text.push('\n');
        }
        text
    }
}

/// Whether the bucket exists and we can use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BucketState {
    Missing,
    Ours,
}

async fn bucket_state(s3: &Client, bucket: &str) -> Result<BucketState, BootstrapError> {
    match call("s3:HeadBucket", s3.head_bucket().bucket(bucket).send()).await {
        Ok(_) => Ok(BucketState::Ours),
        // HeadBucket has no body, so the SDK reports a bare `NotFound`/`Forbidden` code.
        Err(error) if error.is_not_found() => Ok(BucketState::Missing),
        Err(error)
            if error.code.as_deref() == Some("Forbidden")
                || (error.code.is_none() && error.status == Some(403)) =>
        {
            Err(BootstrapError::NotOurs {
                bucket: bucket.to_owned(),
                code: "403 Forbidden".to_owned(),
            })
        }
        Err(error) => Err(error.into()),
    }
}

/// Fails with the command to run when the asset bucket is missing.
pub async fn ensure_bootstrapped(
    s3: &Client,
    bucket: &str,
    region: &str,
    env: &str,
) -> Result<(), BootstrapError> {
    match bucket_state(s3, bucket).await? {
        BucketState::Ours => Ok(()),
        BucketState::Missing => Err(BootstrapError::Missing {
            bucket: bucket.to_owned(),
            region: region.to_owned(),
            env: env.to_owned(),
        }),
    }
}

/// The bucket policy. Always: the asset and template prefixes are
/// write-once (`PutObject` without `If-None-Match` is denied, so an object,
/// once written, is never overwritten in place, by any principal). With
/// `deny_insecure_transport`: every request not made over TLS is denied.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html>
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit>
pub fn bucket_policy(bucket: &str, deny_insecure_transport: bool) -> String {
    let mut statements = vec![serde_json::json!({
        "Sid": "WriteOnceAssets",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": [
            format!("arn:aws:s3:::{bucket}/{ASSET_PREFIX}*"),
            format!("arn:aws:s3:::{bucket}/{TEMPLATE_PREFIX}*")
        ],
        // No If-None-Match header: a write that could replace an object.
        // (Multipart uploads carry no such header on their parts, so they
        // are refused too; deploy never uses them.)
        "Condition": {"Null": {"s3:if-none-match": "true"}}
    })];
    if deny_insecure_transport {
        statements.insert(
            0,
            serde_json::json!({
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }),
        );
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Whether the TLS-only statement can be applied: not when the endpoint is
/// a plain-http emulator (moto, LocalStack), which enforces bucket policies
/// and would then refuse every request, including our own. The write-once
/// statement is applied everywhere.
pub fn tls_enforceable(endpoint_url: Option<&str>) -> bool {
    endpoint_url.is_none_or(|url| !url.starts_with("http://"))
}

/// The lifecycle rules: superseded object versions and unfinished multipart
/// uploads go away; uploaded templates (only needed while a change set is
/// created) expire. No rule ever expires the *current* version of an asset:
/// a deployed stack's functions, and a rollback to the previous template,
/// point at them.
pub fn lifecycle_rules() -> Result<BucketLifecycleConfiguration, BootstrapError> {
    let build = |error: aws_sdk_s3::error::BuildError| BootstrapError::Build(error.to_string());
    BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("expire-noncurrent-versions")
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .status(ExpirationStatus::Enabled)
                .noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder()
                        .noncurrent_days(NONCURRENT_DAYS)
                        .build(),
                )
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(1)
                        .build(),
                )
                .build()
                .map_err(build)?,
        )
        .rules(
            LifecycleRule::builder()
                .id("expire-uploaded-templates")
                .filter(
                    LifecycleRuleFilter::builder()
                        .prefix(TEMPLATE_PREFIX)
                        .build(),
                )
                .status(ExpirationStatus::Enabled)
                .expiration(LifecycleExpiration::builder().days(NONCURRENT_DAYS).build())
                .build()
                .map_err(build)?,
        )
        .build()
        .map_err(build)
}

/// Creates the bucket if needed and (re-)applies every setting.
/// `deny_insecure_transport` is true against AWS; see [`tls_enforceable`].
pub async fn bootstrap(
    s3: &Client,
    bucket: &str,
    region: &str,
    deny_insecure_transport: bool,
) -> Result<BootstrapReport, BootstrapError> {
    let build = |error: aws_sdk_s3::error::BuildError| BootstrapError::Build(error.to_string());
    let created = match bucket_state(s3, bucket).await? {
        BucketState::Ours => false,
        BucketState::Missing => {
            // us-east-1 rejects an explicit LocationConstraint; every other region requires it.
            let configuration = (region != "us-east-1").then(|| {
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build()
            });
            let result = call(
                "s3:CreateBucket",
                s3.create_bucket()
                    .bucket(bucket)
                    .set_create_bucket_configuration(configuration.clone())
                    .send(),
            )
            .await;
            match result {
                Ok(_) => true,
                // A concurrent bootstrap won the race: fine, settings follow.
                Err(error) if error.code.as_deref() == Some("BucketAlreadyOwnedByYou") => false,
                Err(error) if error.code.as_deref() == Some("BucketAlreadyExists") => {
                    return Err(BootstrapError::NotOurs {
                        bucket: bucket.to_owned(),
                        code: "BucketAlreadyExists".into(),
                    });
                }
                Err(error) => return Err(error.into()),
            }
        }
    };
    let mut applied = Vec::new();

    let block = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    call(
        "s3:PutPublicAccessBlock",
        s3.put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(block.clone())
            .send(),
    )
    .await?;
    applied.push("public access blocked (all four settings)");

    // SSE-KMS with the AWS-managed key (aws/s3): every use of the key is in
    // CloudTrail, and no key policy has to be managed or paid for. The bucket
    // key cuts KMS requests (and cost) for the many small zips.
    // Lambda and CloudFormation read the objects with the deployer's
    // credentials, which the aws/s3 key allows for any principal of the account.
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::AwsKms)
                        .build()
                        .map_err(build)?,
                )
                .bucket_key_enabled(true)
                .build(),
        )
        .build()
        .map_err(build)?;
    call(
        "s3:PutBucketEncryption",
        s3.put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(encryption.clone())
            .send(),
    )
    .await?;
    applied.push("default encryption SSE-KMS (AWS-managed key aws/s3, bucket key on)");

    call(
        "s3:PutBucketVersioning",
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send(),
    )
    .await?;
    applied.push("versioning enabled");

    let policy = bucket_policy(bucket, deny_insecure_transport);
    call(
        "s3:PutBucketPolicy",
        s3.put_bucket_policy().bucket(bucket).policy(&policy).send(),
    )
    .await?;
    applied.push(
        "bucket policy: assets and templates are write-once (PutObject without If-None-Match is denied)",
    );
    if deny_insecure_transport {
        applied.push("bucket policy denies requests without TLS");
    } else {
        applied.push(
            "bucket policy's TLS-only statement NOT applied: the endpoint is plain http (an emulator), which it would lock out",
        );
    }

    let lifecycle = lifecycle_rules()?;
    call(
        "s3:PutBucketLifecycleConfiguration",
        s3.put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(lifecycle.clone())
            .send(),
    )
    .await?;
    applied.push(
        "lifecycle: noncurrent versions and uploaded templates expire after 30 days; current assets never do",
    );

    Ok(BootstrapReport {
        bucket: bucket.to_owned(),
        created,
        applied,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lists_what_was_applied() {
        let report = BootstrapReport {
            bucket: "upstack-assets-123456789012-eu-west-1".into(),
            created: true,
            applied: vec![
                "versioning enabled",
                "bucket policy denies requests without TLS",
            ],
        };
        insta::assert_snapshot!(report.render());
    }

    #[test]
    fn tls_policy_is_skipped_only_for_plain_http_endpoints() {
        assert!(tls_enforceable(None));
        assert!(tls_enforceable(Some("https://s3.eu-west-1.amazonaws.com")));
        assert!(!tls_enforceable(Some("http://127.0.0.1:5000")));
    }

    #[test]
    fn policy_makes_assets_write_once_and_denies_insecure_transport() {
        let policy: serde_json::Value = serde_json::from_str(&bucket_policy("b", true)).unwrap();
        let tls = &policy["Statement"][0];
        assert_eq!(tls["Effect"], "Deny");
        assert_eq!(tls["Condition"]["Bool"]["aws:SecureTransport"], "false");
        assert_eq!(tls["Resource"][1], "arn:aws:s3:::b/*");
        let once = &policy["Statement"][1];
        assert_eq!(once["Sid"], "WriteOnceAssets");
        assert_eq!(once["Effect"], "Deny");
        assert_eq!(once["Action"], "s3:PutObject");
        assert_eq!(
            once["Resource"],
            serde_json::json!(["arn:aws:s3:::b/assets/*", "arn:aws:s3:::b/templates/*"])
        );
        assert_eq!(once["Condition"]["Null"]["s3:if-none-match"], "true");
        // On an emulator: write-once still, no TLS statement.
        let plain: serde_json::Value = serde_json::from_str(&bucket_policy("b", false)).unwrap();
        assert_eq!(plain["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(plain["Statement"][0], *once);
    }

    #[test]
    fn no_lifecycle_rule_expires_a_current_asset() {
        let rules = lifecycle_rules().unwrap();
        for rule in rules.rules() {
            let prefix = rule
                .filter()
                .and_then(|filter| filter.prefix())
                .unwrap_or_default();
            if rule.expiration().is_some() {
                // Only uploaded templates expire while current.
                assert_eq!(prefix, TEMPLATE_PREFIX, "{rule:?}");
                assert!(!ASSET_PREFIX.starts_with(prefix), "{rule:?}");
            }
        }
        assert!(
            rules
                .rules()
                .iter()
                .any(|rule| rule.noncurrent_version_expiration().is_some()),
            "old versions are expired"
        );
    }
}
