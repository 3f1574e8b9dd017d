//! Reproducible Lambda zips: same binary in, same bytes out.
//!
//! Lambda's `provided.al2023` runtime executes `/var/task/bootstrap`, so the
//! zip holds one entry `bootstrap` at the root with mode 0755 (Lambda keeps
//! the zip's Unix permissions; without the execute bit the function fails with
//! `Runtime.InvalidEntrypoint`). The timestamp is fixed at 1980-01-01 00:00
//! (the zip epoch) and the compression settings are fixed, so the zip's hash
//! depends only on the binary: CloudFormation sees no code change when there
//! is none.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Name of the single entry, as `provided.al2023` requires.
pub const ENTRY_NAME: &str = "bootstrap";

/// Deflate level 9 with flate2's zlib-rs backend: deterministic for a given
/// `zip` crate version, and worth the extra second for upload size.
const DEFLATE_LEVEL: i64 = 9;

pub fn zip_bootstrap(binary: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(binary.len() / 2)));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755)
        .large_file(false);
    writer.start_file(ENTRY_NAME, options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_binary() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn same_binary_gives_identical_bytes() {
        let binary = sample_binary();
        assert_eq!(
            zip_bootstrap(&binary).unwrap(),
            zip_bootstrap(&binary).unwrap()
        );
        let mut other = binary.clone();
        other[10] ^= 1;
        assert_ne!(
            zip_bootstrap(&binary).unwrap(),
            zip_bootstrap(&other).unwrap()
        );
    }

    #[test]
    fn single_executable_bootstrap_entry_dated_1980() {
        let binary = sample_binary();
        let bytes = zip_bootstrap(&binary).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|mode| mode & 0o777), Some(0o755));
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        let modified = entry.last_modified().unwrap();
        assert_eq!(
            (modified.year(), modified.month(), modified.day()),
            (1980, 1, 1)
        );
        assert_eq!(
            (modified.hour(), modified.minute(), modified.second()),
            (0, 0, 0)
        );
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut unpacked).unwrap();
        assert_eq!(unpacked, binary);
    }
}
