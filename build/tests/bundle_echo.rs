//! `bundle` end to end on the one-handler fixture workspace
//! (fixtures/elf/echo-workspace): cargo zigbuild from .venv, ELF checks,
//! reproducible zips (the same bytes from another checkout path and target
//! directory), no re-zip when nothing changed, and `prebuilt`'s checks of
//! what an earlier bundle built.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use upstack_build::bundle::{BundleOptions, BundleTarget, bundle, prebuilt};
use upstack_contract::{Architecture, BuildProfile};
use upstack_project::fingerprint::build_env::BuildEnv;
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
        env: None,
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
        handler_fingerprint(
            &fixture_workspace(),
            "echo",
            Architecture::X86_64,
            BuildProfile::Lambda
        )
        .unwrap()
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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "target" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Two honest builds of the same sources, from checkouts at different
/// paths into different target directories, are the same bytes: the paths
/// that reach the binary (here the build script's generated code, under
/// the target directory) are remapped. Without the remapping the binary
/// holds each build's own temporary path and the zips differ.
#[test]
fn the_same_sources_bundle_to_the_same_bytes_wherever_they_are_built() {
    let scratch = tempfile::tempdir().unwrap();
    let mut built = Vec::new();
    for copy in ["first-checkout", "second/checkout"] {
        let workspace = scratch.path().join(copy);
        copy_dir(&fixture_workspace(), &workspace);
        let options = BundleOptions {
            target_dir: Some(
                scratch
                    .path()
                    .join(format!("{}-target", copy.replace('/', "-"))),
            ),
            ..options()
        };
        let asset = bundle(
            &workspace,
            &[("echo".to_string(), Architecture::X86_64)],
            &options,
        )
        .unwrap()
        .remove(0);
        let binary = std::fs::read(
            options
                .target_dir
                .unwrap()
                .join("x86_64-unknown-linux-gnu/lambda/echo"),
        )
        .unwrap();
        built.push((asset, binary));
    }
    let scratch_path = scratch.path().to_str().unwrap().as_bytes();
    for (_, binary) in &built {
        assert!(
            !binary
                .windows(scratch_path.len())
                .any(|window| window == scratch_path),
            "the binary holds the path it was built at"
        );
        let generated = b"/target/x86_64-unknown-linux-gnu/lambda/build/echo-";
        assert!(
            binary
                .windows(generated.len())
                .any(|window| window == generated),
            "the generated code's path is not remapped to /target"
        );
    }
    let (first, second) = (&built[0].0, &built[1].0);
    assert_eq!(
        first.asset_key, second.asset_key,
        "the key moved with the path"
    );
    assert_eq!(
        first.binary_sha256, second.binary_sha256,
        "the binaries differ"
    );
    assert_eq!(first.sha256, second.sha256, "the zips differ");
    assert_eq!(
        std::fs::read(&first.zip_path).unwrap(),
        std::fs::read(&second.zip_path).unwrap()
    );
}

/// What an earlier bundle built comes back from its records without a
/// build, and only while the zip and the sources are what it built.
#[test]
fn prebuilt_zips_are_checked_against_their_records_and_the_sources() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let opts = options();
    let targets = [BundleTarget {
        handler: "echo".into(),
        arch: Architecture::X86_64,
        profile: BuildProfile::Lambda,
    }];
    let built = bundle(&fixture_workspace(), &targets, &opts).unwrap();
    let record = built[0].zip_path.with_file_name("asset.json");
    let text = std::fs::read_to_string(&record).unwrap();
    assert!(
        text.contains(&format!("\"asset_key\": \"{}\"", built[0].asset_key)),
        "{text}"
    );

    let again = prebuilt(&fixture_workspace(), &targets, &opts).unwrap();
    assert_eq!(
        again,
        built
            .iter()
            .map(|asset| upstack_build::bundle::BundledAsset {
                rezipped: false,
                ..asset.clone()
            })
            .collect::<Vec<_>>()
    );

    // The sources' fingerprint moves (here through the build environment).
    let moved = BundleOptions {
        env: Some({
            let mut env = BuildEnv::from_process();
            env.set("RUSTFLAGS", "-Cdebuginfo=0");
            env
        }),
        ..opts.clone()
    };
    let error = prebuilt(&fixture_workspace(), &targets, &moved)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("echo (x86_64): the sources changed since `upstack bundle`")
            && error.ends_with("run `upstack bundle` again"),
        "{error}"
    );

    // The zip is not the one recorded.
    let zip = std::fs::read(&built[0].zip_path).unwrap();
    std::fs::write(&built[0].zip_path, b"planted").unwrap();
    let error = prebuilt(&fixture_workspace(), &targets, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("echo (x86_64): ") && error.contains("is not the zip bundle built"),
        "{error}"
    );
    std::fs::write(&built[0].zip_path, zip).unwrap();

    // No record: never bundled (or by an older bundle).
    std::fs::remove_file(&record).unwrap();
    let error = prebuilt(&fixture_workspace(), &targets, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("echo (x86_64, lambda profile) has not been bundled")
            && error.ends_with("run `upstack bundle` first"),
        "{error}"
    );
    // Bundling again writes it back, for the zip it keeps.
    let rebuilt = bundle(&fixture_workspace(), &targets, &opts).unwrap();
    assert!(!rebuilt[0].rezipped);
    assert_eq!(std::fs::read_to_string(&record).unwrap(), text);

    // A record without its zip.
    std::fs::remove_file(&built[0].zip_path).unwrap();
    let error = prebuilt(&fixture_workspace(), &targets, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("has not been bundled: there is no") && error.contains("bootstrap.zip"),
        "{error}"
    );
    assert!(bundle(&fixture_workspace(), &targets, &opts).unwrap()[0].rezipped);
}

/// The fixture is pinned like the repository: same toolchain, same zig and
/// cargo-zigbuild (it is fingerprinted, and bundled with the repository's
/// tools, from copies outside the repository too).
#[test]
fn the_fixture_pins_what_the_repository_pins() {
    use upstack_project::fingerprint::toolchain::{ToolPins, exact_channel};
    let pin = |root: &Path| {
        let path = root.join("rust-toolchain.toml");
        exact_channel(&path, &std::fs::read_to_string(&path).unwrap())
    };
    assert_eq!(pin(&fixture_workspace()), pin(&repo_root()));
    assert!(pin(&repo_root()).is_some());
    assert_eq!(
        ToolPins::read(&fixture_workspace()).unwrap(),
        ToolPins::read(&repo_root()).unwrap()
    );
}

/// A source saved while cargo builds (here by the build script, at a
/// moment no test could time from outside) leaves a binary its key may not
/// describe: no zip is made, and the error says to build again.
#[test]
fn sources_changed_during_the_build_make_no_zip() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("echo-workspace");
    copy_dir(&fixture_workspace(), &root);
    let build_script = root.join("functions/echo/build.rs");
    let mut script = std::fs::read_to_string(&build_script).unwrap();
    script = script.replacen(
        "fn main() {",
        "fn main() {\n    let saved = format!(\"{}/src/saved-during-build.txt\", std::env::var(\"CARGO_MANIFEST_DIR\").unwrap());\n    std::fs::write(&saved, format!(\"{:?}\", std::time::SystemTime::now())).unwrap();",
        1,
    );
    std::fs::write(&build_script, script).unwrap();
    let opts = BundleOptions {
        target_dir: Some(work.path().join("target")),
        ..options()
    };
    let error = bundle(&root, &[("echo".to_string(), Architecture::X86_64)], &opts).unwrap_err();
    assert!(
        matches!(
            error,
            upstack_build::bundle::BundleError::SourcesChangedDuringBuild { .. }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("no zip was made"), "{error}");
    // cargo did build it; only the zip was refused.
    assert!(
        work.path()
            .join("target/x86_64-unknown-linux-gnu/lambda/echo")
            .is_file()
    );
    assert!(
        !work
            .path()
            .join("target/lambda/echo-x86_64/bootstrap.zip")
            .exists()
    );
}
