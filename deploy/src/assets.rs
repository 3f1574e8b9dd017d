//! Handler zips (and templates too large to send inline) in the asset
//! bucket, identified by their bytes as well as by their key.
//!
//! A key is a fingerprint of the handler's *sources* (computed at synth,
//! without compiling), so the key alone is a claim, not a proof: anyone who
//! can write to the bucket could put other bytes under a key before the
//! honest upload, and a build input the fingerprint missed would leave stale
//! bytes under an unchanged key. So every asset is also identified by the
//! SHA-256 of the zip `bundle` built:
//!
//! - each upload sends that SHA-256 (`ChecksumSHA256`: S3 refuses a body
//!   that does not match it, and stores it with the object) and is
//!   conditional (`If-None-Match: *`): an object, once written, is never
//!   overwritten, by us or by a concurrent uploader;
//! - before an upload is skipped because the key exists, the stored object's
//!   checksum is read and compared with the local zip; any difference refuses
//!   the deploy, naming the key and both hashes, before anything is uploaded;
//! - a reviewed plan records each asset's SHA-256 and object version, and
//!   `deploy --execute` checks both again ([`check_stored`]).
//!
//! This is the gap CDK's asset publisher leaves open ("does not attempt to
//! protect assets from manual tampering"; it skips any key that exists).

use std::path::PathBuf;

use aws_sdk_s3::Client as S3Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aws::CallError;

/// One zip `bundle` built, to make available in the asset bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFile {
    /// The S3 key the template names (`assets/<handler>-<arch>-<fingerprint>.zip`).
    pub key: String,
    pub path: PathBuf,
    /// Lowercase hex SHA-256 of the zip, as `bundle` recorded it.
    pub sha256: String,
    /// The zip's size in bytes, as `bundle` recorded it.
    pub size: u64,
    /// Its one entry's (`bootstrap`) size: what Lambda extracts.
    pub unzipped_size: u64,
}

/// An asset as it is in the bucket, checked to hold the bytes that were
/// built: what a reviewed plan records and `deploy --execute` requires again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredAsset {
    pub key: String,
    /// Lowercase hex SHA-256 of the object's bytes.
    pub sha256: String,
    /// The object version holding them. The asset bucket is versioned, so a
    /// new object under the key (after a deletion) is a new version; `None`
    /// only where the bucket keeps no versions (an emulator without
    /// versioning), and then the checksum alone is compared.
    pub version_id: Option<String>,
}

/// What publishing did with one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Uploaded by this deploy.
    Uploaded,
    /// Already in the bucket, with the same bytes.
    AlreadyStored,
}

/// One published asset: where it is and what was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedAsset {
    pub stored: StoredAsset,
    pub placement: Placement,
}

/// Why the assets could not be published or checked.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("cannot read asset {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not the zip `bundle` recorded for {key} (sha256 {found}, recorded {recorded}): it changed after it was built; run the deploy again"
    )]
    LocalChanged {
        key: String,
        path: PathBuf,
        recorded: String,
        found: String,
    },
    /// The key is taken by other bytes: the worst case this module guards.
    #[error(
        "s3://{bucket}/{key} holds other bytes than the zip built for it (stored sha256 {stored}{}, local sha256 {local}); nothing was uploaded and nothing was deployed. Either the zip was built from inputs the fingerprint does not cover (another toolchain, zig or cargo-zigbuild than the pinned ones, or a build that is not reproducible), or someone uploaded other code under this key. Find out who wrote it (`aws s3api list-object-versions --bucket {bucket} --prefix {key}`) before deploying; once you know, an administrator of the account can delete every version of the object so the next deploy uploads this build",
        version_id.as_deref().map(|version| format!(", version {version}")).unwrap_or_default()
    )]
    Mismatch {
        bucket: String,
        key: String,
        stored: String,
        local: String,
        version_id: Option<String>,
    },
    #[error(
        "s3://{bucket}/{key}: S3 stored no usable SHA-256 for the object just uploaded ({what}); refusing to deploy bytes that cannot be verified"
    )]
    Unverifiable {
        bucket: String,
        key: String,
        what: String,
    },
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The `ChecksumSHA256` form of a hex SHA-256: base64 of the 32 raw bytes.
/// `None` when `hex_digest` is not 64 hex digits.
pub fn checksum_of_hex(hex_digest: &str) -> Option<String> {
    let raw = hex::decode(hex_digest).ok().filter(|raw| raw.len() == 32)?;
    Some(aws_smithy_types::base64::encode(raw))
}

/// The hex SHA-256 of a base64 `ChecksumSHA256` (S3's) or `CodeSha256`
/// (Lambda's); `None` when it is not base64 of 32 bytes (e.g. a multipart
/// upload's composite checksum, `<base64>-<parts>`).
pub fn hex_of_checksum(checksum: &str) -> Option<String> {
    let raw = aws_smithy_types::base64::decode(checksum).ok()?;
    (raw.len() == 32).then(|| hex::encode(raw))
}

/// What the bucket holds under a key: its SHA-256 (S3's stored checksum, or
/// the bytes hashed when it has none) and version; `None` when nothing.
pub async fn stored(
    s3: &S3Client,
    bucket: &str,
    key: &str,
) -> Result<Option<StoredAsset>, CallError> {
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await;
    let head = match head {
        Ok(head) => head,
        Err(error) => {
            let error = CallError::from_sdk("s3:HeadObject", &error);
            return if error.is_not_found() {
                Ok(None)
            } else {
                Err(error)
            };
        }
    };
    let version_id = head.version_id().map(str::to_owned);
    let full_object = head
        .checksum_type()
        .is_none_or(|kind| *kind == ChecksumType::FullObject);
    if let Some(sha256) = head
        .checksum_sha256()
        .filter(|_| full_object)
        .and_then(hex_of_checksum)
    {
        return Ok(Some(StoredAsset {
            key: key.to_owned(),
            sha256,
            version_id,
        }));
    }
    // No whole-object SHA-256 stored (an object written without one, or in
    // parts): hash the bytes of exactly the version the HEAD saw.
    let mut get = s3.get_object().bucket(bucket).key(key);
    if let Some(version) = &version_id {
        get = get.version_id(version);
    }
    let object = get
        .send()
        .await
        .map_err(|error| CallError::from_sdk("s3:GetObject", &error))?;
    let bytes = object.body.collect().await.map_err(|error| {
        CallError::new(
            "s3:GetObject",
            None,
            format!("reading s3://{bucket}/{key}: {error}"),
        )
    })?;
    Ok(Some(StoredAsset {
        key: key.to_owned(),
        sha256: sha256_hex(&bytes.into_bytes()),
        version_id,
    }))
}

/// The result of one conditional PutObject.
enum Put {
    Stored {
        version_id: Option<String>,
    },
    /// `412 PreconditionFailed`: the key exists (someone wrote it meanwhile).
    Exists,
    /// `409 ConditionalRequestConflict`: a concurrent write; retry.
    Conflict,
}

/// PutObject only if the key is free, with the body's SHA-256 for S3 to
/// check and store.
async fn put_if_absent(
    s3: &S3Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    sha256: &str,
    content_type: Option<&str>,
) -> Result<Put, CallError> {
    let checksum = checksum_of_hex(sha256).ok_or_else(|| {
        CallError::new(
            "s3:PutObject",
            None,
            format!("{key}: `{sha256}` is not a SHA-256"),
        )
    })?;
    let result = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .if_none_match("*")
        // The algorithm and its value: S3 verifies the body against it and
        // keeps it with the object for the HEAD above to return.
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(checksum)
        .set_content_type(content_type.map(str::to_owned))
        .body(ByteStream::from(bytes))
        .send()
        .await;
    match result {
        Ok(output) => Ok(Put::Stored {
            version_id: output.version_id().map(str::to_owned),
        }),
        Err(error) => {
            let error = CallError::from_sdk("s3:PutObject", &error);
            match (error.code.as_deref(), error.status) {
                (Some("PreconditionFailed"), _) | (None, Some(412)) => Ok(Put::Exists),
                (Some("ConditionalRequestConflict"), _) | (None, Some(409)) => Ok(Put::Conflict),
                _ => Err(error),
            }
        }
    }
}

/// How many times a conditional write that met a concurrent one is tried.
const CONFLICT_ATTEMPTS: usize = 3;

/// Makes `bytes` (SHA-256 `sha256`) the object at `key`, or finds it there
/// already: a conditional upload, and on any existing object a comparison
/// of its SHA-256 with ours.
async fn place(
    s3: &S3Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    sha256: &str,
    content_type: Option<&str>,
) -> Result<PublishedAsset, AssetError> {
    for _ in 0..CONFLICT_ATTEMPTS {
        match put_if_absent(s3, bucket, key, bytes.clone(), sha256, content_type).await? {
            Put::Stored { version_id } => {
                return Ok(PublishedAsset {
                    stored: StoredAsset {
                        key: key.to_owned(),
                        sha256: sha256.to_owned(),
                        version_id,
                    },
                    placement: Placement::Uploaded,
                });
            }
            Put::Exists => {
                return match stored(s3, bucket, key).await? {
                    Some(found) => same_bytes(bucket, found, sha256),
                    // Written and deleted again in between: try once more.
                    None => continue,
                };
            }
            Put::Conflict => continue,
        }
    }
    Err(AssetError::Unverifiable {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        what: format!(
            "{CONFLICT_ATTEMPTS} conditional uploads in a row met a concurrent write to the key"
        ),
    })
}

/// `found` if it holds the bytes `sha256` names, else the refusal.
fn same_bytes(
    bucket: &str,
    found: StoredAsset,
    sha256: &str,
) -> Result<PublishedAsset, AssetError> {
    if found.sha256 == sha256 {
        return Ok(PublishedAsset {
            stored: found,
            placement: Placement::AlreadyStored,
        });
    }
    Err(AssetError::Mismatch {
        bucket: bucket.to_owned(),
        key: found.key,
        stored: found.sha256,
        local: sha256.to_owned(),
        version_id: found.version_id,
    })
}

/// Puts every asset in `bucket`, verified: the local zips are read and
/// checked against what `bundle` recorded; every key already in the bucket
/// is compared by SHA-256 *before anything is uploaded*, so a key holding
/// other bytes refuses the whole deploy with nothing written; then the
/// missing ones are uploaded, conditionally. Returns each asset as stored,
/// in the order given.
pub async fn publish(
    s3: &S3Client,
    bucket: &str,
    assets: &[AssetFile],
) -> Result<Vec<PublishedAsset>, AssetError> {
    let mut local = Vec::with_capacity(assets.len());
    for asset in assets {
        let bytes = std::fs::read(&asset.path).map_err(|source| AssetError::Read {
            path: asset.path.clone(),
            source,
        })?;
        let found = sha256_hex(&bytes);
        if found != asset.sha256 {
            return Err(AssetError::LocalChanged {
                key: asset.key.clone(),
                path: asset.path.clone(),
                recorded: asset.sha256.clone(),
                found,
            });
        }
        local.push(bytes);
    }
    let mut present = Vec::with_capacity(assets.len());
    for asset in assets {
        present.push(match stored(s3, bucket, &asset.key).await? {
            Some(found) => Some(same_bytes(bucket, found, &asset.sha256)?),
            None => None,
        });
    }
    let mut published = Vec::with_capacity(assets.len());
    for ((asset, bytes), present) in assets.iter().zip(local).zip(present) {
        published.push(match present {
            Some(found) => found,
            None => place(s3, bucket, &asset.key, bytes, &asset.sha256, None).await?,
        });
    }
    Ok(published)
}

/// [`publish`] for one body held in memory (a template too large to send
/// inline, whose key names its SHA-256).
pub async fn publish_bytes(
    s3: &S3Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> Result<PublishedAsset, AssetError> {
    let sha256 = sha256_hex(&bytes);
    if let Some(found) = stored(s3, bucket, key).await? {
        return same_bytes(bucket, found, &sha256);
    }
    place(s3, bucket, key, bytes, &sha256, Some(content_type)).await
}

/// How a recorded asset differs from the bucket now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetChange {
    /// No object under the key any more.
    Missing { key: String },
    /// Another object version under the key (deleted and written again).
    Replaced {
        key: String,
        version_id: Option<String>,
        was_version_id: Option<String>,
    },
    /// Other bytes under the key.
    Changed {
        key: String,
        sha256: String,
        was_sha256: String,
    },
}

/// Compares each recorded asset with the bucket: the same version holding
/// the same bytes, or a change. Only reads.
pub async fn check_stored(
    s3: &S3Client,
    bucket: &str,
    recorded: &[StoredAsset],
) -> Result<Vec<AssetChange>, CallError> {
    let mut changes = Vec::new();
    for asset in recorded {
        match stored(s3, bucket, &asset.key).await? {
            None => changes.push(AssetChange::Missing {
                key: asset.key.clone(),
            }),
            Some(now) if now.sha256 != asset.sha256 => changes.push(AssetChange::Changed {
                key: asset.key.clone(),
                sha256: now.sha256,
                was_sha256: asset.sha256.clone(),
            }),
            Some(now) if now.version_id != asset.version_id => {
                changes.push(AssetChange::Replaced {
                    key: asset.key.clone(),
                    version_id: now.version_id,
                    was_version_id: asset.version_id.clone(),
                })
            }
            Some(_) => {}
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_convert_between_hex_and_base64() {
        let hex_digest = sha256_hex(b"bootstrap");
        let checksum = checksum_of_hex(&hex_digest).unwrap();
        assert_eq!(checksum.len(), 44, "{checksum}");
        assert_eq!(hex_of_checksum(&checksum), Some(hex_digest));
        // Lambda's CodeSha256 of an empty body, as documented examples show it.
        assert_eq!(
            hex_of_checksum("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            Some(sha256_hex(b""))
        );
        assert_eq!(checksum_of_hex("abc"), None);
        assert_eq!(checksum_of_hex(&"zz".repeat(32)), None);
        // A multipart upload's composite checksum is not a whole-object SHA-256.
        assert_eq!(
            hex_of_checksum("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=-3"),
            None
        );
    }

    #[test]
    fn a_key_holding_other_bytes_is_refused_naming_both_hashes() {
        let found = StoredAsset {
            key: "assets/notify-arm64-f.zip".into(),
            sha256: "a".repeat(64),
            version_id: Some("v1".into()),
        };
        let error = same_bytes("bucket", found.clone(), &"b".repeat(64))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("s3://bucket/assets/notify-arm64-f.zip holds other bytes"),
            "{error}"
        );
        assert!(error.contains(&"a".repeat(64)), "{error}");
        assert!(error.contains(&"b".repeat(64)), "{error}");
        assert!(error.contains("version v1"), "{error}");
        assert!(error.contains("nothing was uploaded"), "{error}");
        let same = same_bytes("bucket", found.clone(), &"a".repeat(64)).unwrap();
        assert_eq!(same.placement, Placement::AlreadyStored);
        assert_eq!(same.stored, found);
    }
}
