//! `bundle` end to end on the one-handler fixture workspace
//! (fixtures/elf/echo-workspace): cargo zigbuild from .venv, ELF checks,
//! reproducible zips, and no re-zip when nothing changed.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use upstack_build::bundle::{BundleOptions, bundle};
use upstack_contract::Architecture;
use upstack_project::fingerprint::handler_fingerprint;
use upstack_test_support::repo_root;

/// The tests share one target directory (so only the first pays the build)
/// and the zips inside it: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn fixture_workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/elf/echo-workspace")
}

fn options() -> BundleOptions {
    let tools_bin = repo_root().join(".venv/bin");
    assert!(
        tools_bin.join("cargo-zigbuild").is_file(),
        "{} missing: run `scripts/setup-test-tools.sh`",
        tools_bin.join("cargo-zigbuild").display()
    );
    BundleOptions {
        // Not the `target/bundle-tests/echo` that `echo_bootstrap` shares
        // between the runtime-api and local tests: these tests delete and
        // corrupt zips on purpose, and a test binary running beside them
        // would bundle echo again in between (its `SERIAL` lock is only
        // this process's).
        target_dir: Some(repo_root().join("target/bundle-tests/echo-bundler")),
        tools_bin: Some(tools_bin),
        quiet: true,
    }
}

#[test]
fn same_build_zips_to_identical_bytes_and_unchanged_binary_is_not_rezipped() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let opts = options();
    let targets = [("echo".to_string(), Architecture::X86_64)];
    let first = bundle(&fixture_workspace(), &targets, &opts)
        .unwrap()
        .remove(0);
    let first_bytes = std::fs::read(&first.zip_path).unwrap();
    assert_eq!(first.size, first_bytes.len() as u64);
    assert_eq!(first.sha256, hex::encode(Sha256::digest(&first_bytes)));
    assert!(
        first.zip_path.ends_with("lambda/echo-x86_64/bootstrap.zip"),
        "{}",
        first.zip_path.display()
    );
    assert_eq!(
        first.fingerprint,
        handler_fingerprint(&fixture_workspace(), "echo", Architecture::X86_64).unwrap()
    );
    assert_eq!(
        first.asset_key,
        format!("assets/echo-x86_64-{}.zip", first.fingerprint)
    );
    assert!(
        first.max_glibc.is_some_and(|v| v <= (2, 34)),
        "{:?}",
        first.max_glibc
    );
    let record =
        std::fs::read_to_string(first.zip_path.with_file_name("bootstrap.zip.sha256")).unwrap();
    assert_eq!(record, format!("{}  bootstrap.zip\n", first.sha256));

    // Nothing changed: cargo finds the binary fresh and the zip is kept.
    let again = bundle(&fixture_workspace(), &targets, &opts)
        .unwrap()
        .remove(0);
    assert!(!again.rezipped);
    assert_eq!(again.sha256, first.sha256);

    // Zip removed: the same binary zips to the same bytes.
    std::fs::remove_file(&first.zip_path).unwrap();
    let rezipped = bundle(&fixture_workspace(), &targets, &opts)
        .unwrap()
        .remove(0);
    assert!(rezipped.rezipped);
    assert_eq!(std::fs::read(&rezipped.zip_path).unwrap(), first_bytes);

    // A zip that no longer matches its record is rebuilt, not trusted.
    std::fs::write(&first.zip_path, b"truncated").unwrap();
    let repaired = bundle(&fixture_workspace(), &targets, &opts)
        .unwrap()
        .remove(0);
    assert!(repaired.rezipped);
    assert_eq!(std::fs::read(&repaired.zip_path).unwrap(), first_bytes);

    // The zip holds exactly an executable `bootstrap` equal to the built binary.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(first_bytes)).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_name("bootstrap").unwrap();
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut unpacked = Vec::new();
    entry.read_to_end(&mut unpacked).unwrap();
    let built = std::fs::read(
        opts.target_dir
            .unwrap()
            .join("x86_64-unknown-linux-gnu/lambda/echo"),
    )
    .unwrap();
    assert_eq!(unpacked, built);
}

#[test]
fn arm64_build_is_an_aarch64_elf() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let targets = [
        ("echo".to_string(), Architecture::Arm64),
        ("echo".to_string(), Architecture::Arm64),
    ];
    let assets = bundle(&fixture_workspace(), &targets, &options()).unwrap();
    assert_eq!(assets.len(), 1, "duplicate targets are bundled once");
    let asset = &assets[0];
    assert!(asset.zip_path.ends_with("lambda/echo-arm64/bootstrap.zip"));
    let binary = std::fs::read(
        options()
            .target_dir
            .unwrap()
            .join("aarch64-unknown-linux-gnu/lambda/echo"),
    )
    .unwrap();
    // bundle already checked it; check the other way round too.
    assert!(upstack_build::bundle::check_binary(&binary, Architecture::X86_64, (2, 34)).is_err());
    assert!(upstack_build::bundle::check_binary(&binary, Architecture::Arm64, (2, 34)).is_ok());
}

#[test]
fn unknown_handler_is_named_before_anything_builds() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let error = bundle(
        &fixture_workspace(),
        &[("resize".to_string(), Architecture::X86_64)],
        &options(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("handler `resize` is not a package"),
        "{error}"
    );
}
