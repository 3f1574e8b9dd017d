//! `asset.json`: what `bundle` built, written beside each zip, so that a
//! later step (CI's deploy, which runs with AWS credentials after the build
//! ran without them) can take the zips as built instead of building again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use upstack_contract::{Architecture, BuildProfile};

use super::{BundleError, BundledAsset};

/// The record's file name, beside `bootstrap.zip`.
pub const RECORD_FILE: &str = "asset.json";

/// `asset.json` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetRecord {
    pub handler: String,
    /// Lambda's name: `arm64` or `x86_64`.
    pub architecture: String,
    /// The env's `build_profile`: `lambda` or `fast`.
    pub profile: String,
    pub fingerprint: String,
    pub asset_key: String,
    /// Lowercase hex SHA-256 of `bootstrap.zip`.
    pub zip_sha256: String,
    pub zip_size: u64,
    pub binary_sha256: String,
    pub binary_size: u64,
    /// The highest glibc version the binary needs (`2.34`), if any.
    pub max_glibc: Option<String>,
}

impl AssetRecord {
    pub fn of(asset: &BundledAsset) -> AssetRecord {
        AssetRecord {
            handler: asset.handler.clone(),
            architecture: asset.arch.lambda_name().to_owned(),
            profile: asset.profile.config_name().to_owned(),
            fingerprint: asset.fingerprint.clone(),
            asset_key: asset.asset_key.clone(),
            zip_sha256: asset.sha256.clone(),
            zip_size: asset.size,
            binary_sha256: asset.binary_sha256.clone(),
            binary_size: asset.binary_size,
            max_glibc: asset
                .max_glibc
                .map(|(major, minor)| format!("{major}.{minor}")),
        }
    }

    /// Pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| unreachable!("a record always serializes: {error}"));
        json.push('\n');
        json
    }

    /// The record of `zip_path`'s directory, checked to describe
    /// `handler`/`arch`/`profile`; `None` when there is none.
    pub fn read(
        zip_path: &Path,
        handler: &str,
        arch: Architecture,
        profile: BuildProfile,
    ) -> Result<Option<AssetRecord>, BundleError> {
        let path = zip_path.with_file_name(RECORD_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(BundleError::Io { path, source }),
        };
        let record: AssetRecord =
            serde_json::from_str(&text).map_err(|error| BundleError::BadRecord {
                path: path.clone(),
                message: error.to_string(),
            })?;
        let described = (
            record.handler.as_str(),
            record.architecture.as_str(),
            record.profile.as_str(),
        );
        if described != (handler, arch.lambda_name(), profile.config_name()) {
            return Err(BundleError::BadRecord {
                path,
                message: format!(
                    "it describes {} ({}, {} profile), not {handler} ({}, {} profile)",
                    record.handler,
                    record.architecture,
                    record.profile,
                    arch.lambda_name(),
                    profile.config_name()
                ),
            });
        }
        Ok(Some(record))
    }

    /// The [`BundledAsset`] this record describes, at `zip_path`.
    pub fn asset(
        &self,
        zip_path: PathBuf,
        arch: Architecture,
        profile: BuildProfile,
    ) -> Result<BundledAsset, BundleError> {
        let max_glibc = match &self.max_glibc {
            None => None,
            Some(version) => Some(parse_glibc(version).ok_or_else(|| BundleError::BadRecord {
                path: zip_path.with_file_name(RECORD_FILE),
                message: format!("`{version}` is not a glibc version"),
            })?),
        };
        Ok(BundledAsset {
            handler: self.handler.clone(),
            arch,
            profile,
            zip_path,
            sha256: self.zip_sha256.clone(),
            size: self.zip_size,
            fingerprint: self.fingerprint.clone(),
            asset_key: self.asset_key.clone(),
            binary_sha256: self.binary_sha256.clone(),
            binary_size: self.binary_size,
            max_glibc,
            rezipped: false,
        })
    }
}

fn parse_glibc(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset() -> BundledAsset {
        BundledAsset {
            handler: "notify".into(),
            arch: Architecture::Arm64,
            profile: BuildProfile::Fast,
            zip_path: PathBuf::from("/w/target/lambda-fast/notify-arm64/bootstrap.zip"),
            sha256: "a".repeat(64),
            size: 10,
            fingerprint: "f".repeat(64),
            asset_key: format!("assets/notify-arm64-{}.zip", "f".repeat(64)),
            binary_sha256: "b".repeat(64),
            binary_size: 30,
            max_glibc: Some((2, 34)),
            rezipped: true,
        }
    }

    #[test]
    fn round_trips_to_the_asset_it_was_made_from() {
        let dir = tempfile::tempdir().unwrap();
        let mut original = asset();
        original.zip_path = dir.path().join("bootstrap.zip");
        let record = AssetRecord::of(&original);
        let json = record.to_json();
        assert!(json.contains("\"profile\": \"fast\""), "{json}");
        assert!(json.contains("\"max_glibc\": \"2.34\""), "{json}");
        std::fs::write(dir.path().join(RECORD_FILE), &json).unwrap();
        let read = AssetRecord::read(
            &original.zip_path,
            "notify",
            Architecture::Arm64,
            BuildProfile::Fast,
        )
        .unwrap()
        .unwrap();
        assert_eq!(read, record);
        let back = read
            .asset(
                original.zip_path.clone(),
                Architecture::Arm64,
                BuildProfile::Fast,
            )
            .unwrap();
        assert_eq!(
            back,
            BundledAsset {
                rezipped: false,
                ..original.clone()
            }
        );

        // A record of another build in its place is refused, naming both.
        let error = AssetRecord::read(
            &original.zip_path,
            "notify",
            Architecture::Arm64,
            BuildProfile::Lambda,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(
                "it describes notify (arm64, fast profile), not notify (arm64, lambda profile)"
            ),
            "{error}"
        );
        std::fs::write(dir.path().join(RECORD_FILE), "{\"handler\": 1}").unwrap();
        let error = AssetRecord::read(
            &original.zip_path,
            "notify",
            Architecture::Arm64,
            BuildProfile::Fast,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("asset.json") && error.contains("run `upstack bundle`"),
            "{error}"
        );
        std::fs::remove_file(dir.path().join(RECORD_FILE)).unwrap();
        assert_eq!(
            AssetRecord::read(
                &original.zip_path,
                "notify",
                Architecture::Arm64,
                BuildProfile::Fast
            )
            .unwrap(),
            None
        );
    }
}
