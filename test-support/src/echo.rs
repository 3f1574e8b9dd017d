//! The echo handler (build/tests/fixtures/elf/echo-workspace) bundled for
//! the host, for tests that run a real zipped `bootstrap` under the local
//! Runtime API without cross-compiling the real handlers.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use upstack_build::bundle::{BundleOptions, bundle};
use upstack_contract::Architecture;

use crate::repo_root;

/// Bundles echo for x86_64 (a no-op when another test already built it: they
/// share `target/bundle-tests/echo`) and unpacks the zip's `bootstrap` into
/// `dir`, with the mode stored in the zip.
pub fn echo_bootstrap(dir: &std::path::Path) -> PathBuf {
    let tools_bin = repo_root().join(".venv/bin");
    assert!(
        tools_bin.join("cargo-zigbuild").is_file(),
        "cargo-zigbuild is missing from {}: run `bash scripts/setup-test-tools.sh`",
        tools_bin.display()
    );
    let options = BundleOptions {
        target_dir: Some(repo_root().join("target/bundle-tests/echo")),
        tools_bin: Some(tools_bin),
        quiet: true,
        env: None,
    };
    let workspace = repo_root().join("build/tests/fixtures/elf/echo-workspace");
    let asset = bundle(
        &workspace,
        &[("echo".to_string(), Architecture::X86_64)],
        &options,
    )
    .unwrap_or_else(|error| panic!("bundling the echo fixture: {error}"))
    .remove(0);
    let zip_file = std::fs::File::open(&asset.zip_path)
        .unwrap_or_else(|error| panic!("{}: {error}", asset.zip_path.display()));
    let mut archive = zip::ZipArchive::new(zip_file)
        .unwrap_or_else(|error| panic!("{}: {error}", asset.zip_path.display()));
    let mut entry = archive
        .by_name("bootstrap")
        .unwrap_or_else(|error| panic!("no bootstrap in {}: {error}", asset.zip_path.display()));
    let mode = entry.unix_mode().unwrap_or(0o755);
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .unwrap_or_else(|error| panic!("reading bootstrap: {error}"));
    let path = dir.join("bootstrap");
    std::fs::write(&path, bytes).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    path
}
