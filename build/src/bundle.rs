//! `upstack bundle`: builds the handler crates for `provided.al2023`, checks
//! every binary, and writes reproducible zips.
//!
//! One `cargo zigbuild --profile lambda --target <triple>.2.34 -p <package>`
//! per handler and architecture: each binary from its own dependency graph
//! (see [`bundle`]), dependencies shared through the one target dir. Zig
//! links against glibc 2.34,
//! the version `provided.al2023` ships, so a binary built on a newer host still
//! loads on Lambda (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html>).
//!
//! Outputs live in `target/lambda/<handler>-<arch>/`: `bootstrap.zip`,
//! `bootstrap.zip.sha256` (`sha256sum` format) and `bootstrap.sha256`, the hash
//! of the binary the zip was made from. When cargo leaves the binary
//! unchanged, the zip is reused as is.

mod archive;
mod elf;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
/// Re-exported so the CLI names architectures without depending on the contract crate.
pub use upstack_contract::Architecture;
use upstack_contract::LAMBDA_GLIBC;

pub use archive::{ENTRY_NAME, zip_bootstrap};
pub use elf::{BinaryRequirements, ElfProblem, check_binary};

use upstack_project::fingerprint::{FingerprintError, Fingerprinter, asset_key};
use upstack_project::fsutil::write_atomic;

/// Cargo profile the handlers are built with (root Cargo.toml `[profile.lambda]`).
pub const PROFILE: &str = "lambda";

const SETUP_HINT: &str =
    "run `scripts/setup-test-tools.sh` (it installs cargo-zigbuild and zig into .venv/)";

#[derive(Debug, Clone, Default)]
pub struct BundleOptions {
    /// Cargo's target directory; default `<workspace>/target`.
    pub target_dir: Option<PathBuf>,
    /// Directory holding `cargo-zigbuild` (and zig's Python package next to
    /// it); default `<workspace>/.venv/bin`, then `PATH`.
    pub tools_bin: Option<PathBuf>,
    /// Capture cargo's output (returned in the error on failure) instead of
    /// letting it stream to the terminal.
    pub quiet: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundledAsset {
    pub handler: String,
    pub arch: Architecture,
    pub zip_path: PathBuf,
    /// Lowercase hex SHA-256 of the zip.
    pub sha256: String,
    /// Zip size in bytes.
    pub size: u64,
    /// [`upstack_project::fingerprint::handler_fingerprint`] of the sources the zip was built from.
    pub fingerprint: String,
    /// `assets/<handler>-<arch>-<fingerprint>.zip`.
    pub asset_key: String,
    /// Lowercase hex SHA-256 of the `bootstrap` binary.
    pub binary_sha256: String,
    pub binary_size: u64,
    /// Highest glibc version the binary needs.
    pub max_glibc: Option<(u32, u32)>,
    /// False when the binary was unchanged and the existing zip was kept.
    pub rezipped: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cargo-zigbuild not found in {looked_in} nor on PATH: {SETUP_HINT}")]
    ZigbuildMissing { looked_in: PathBuf },
    #[error(
        "zig not found next to {zigbuild} (no `zig` and no Python `ziglang` package in that virtualenv): {SETUP_HINT}"
    )]
    ZigMissing { zigbuild: PathBuf },
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`cargo zigbuild` of {handler} for {arch} failed with {status}{}", output_tail(.output))]
    BuildFailed {
        arch: &'static str,
        handler: String,
        status: std::process::ExitStatus,
        output: String,
    },
    #[error(
        "{handler} ({arch}): cargo reported success but {path} does not exist; is `{handler}` the name of the crate's binary?"
    )]
    MissingBinary {
        handler: String,
        arch: &'static str,
        path: PathBuf,
    },
    #[error("{handler} ({arch}): {problem}")]
    Refused {
        handler: String,
        arch: &'static str,
        problem: ElfProblem,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{handler} ({arch}): cannot write the zip: {source}")]
    Zip {
        handler: String,
        arch: &'static str,
        #[source]
        source: zip::result::ZipError,
    },
    #[error(transparent)]
    Fingerprint(#[from] FingerprintError),
}

fn output_tail(output: &str) -> String {
    if output.trim().is_empty() {
        return "; cargo's output is above".to_string();
    }
    let lines: Vec<&str> = output.lines().collect();
    let tail = &lines[lines.len().saturating_sub(40)..];
    format!(":\n{}", tail.join("\n"))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where `bundle` writes `<handler>`'s zip for `arch`.
pub fn zip_path(target_dir: &Path, handler: &str, arch: Architecture) -> PathBuf {
    target_dir
        .join(PROFILE)
        .join(format!("{handler}-{}", arch.lambda_name()))
        .join("bootstrap.zip")
}

/// Builds, checks and zips each `(handler, arch)`; duplicates are bundled once.
/// Each handler is built by a cargo invocation of its own, so its binary
/// does not depend on which other handlers are bundled with it. Results
/// come back in the order of `targets`.
pub fn bundle(
    workspace_root: &Path,
    targets: &[(String, Architecture)],
    opts: &BundleOptions,
) -> Result<Vec<BundledAsset>, BundleError> {
    let mut unique: Vec<(String, Architecture)> = Vec::new();
    for target in targets {
        if !unique.contains(target) {
            unique.push(target.clone());
        }
    }
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    let target_dir = opts
        .target_dir
        .clone()
        .unwrap_or_else(|| workspace_root.join("target"));
    let tools_bin = opts
        .tools_bin
        .clone()
        .unwrap_or_else(|| workspace_root.join(".venv").join("bin"));
    let zigbuild = find_zigbuild(&tools_bin, std::env::var_os("PATH").as_deref())?;

    // Fingerprints first: they describe the sources this build starts from.
    let mut fingerprinter = Fingerprinter::new(workspace_root)?;
    let mut fingerprints = Vec::with_capacity(unique.len());
    let mut packages = Vec::with_capacity(unique.len());
    for (handler, arch) in &unique {
        fingerprints.push(fingerprinter.fingerprint(handler, *arch)?);
        packages.push(fingerprinter.package(handler)?);
    }

    // One cargo invocation per handler: cargo unifies features across the
    // packages of one invocation, so built together, the `s3` feature ingest
    // turns on in handler-common would be built into notify as well, and a
    // handler's binary (and its bytes under one asset key) would depend on
    // which other handlers happened to be bundled with it. Alone, each
    // binary is built from its own dependency graph, which is exactly what
    // its fingerprint walks. Dependencies with the same features are built
    // once and shared through the one target dir.
    for ((handler, arch), package) in unique.iter().zip(&packages) {
        run_zigbuild(
            workspace_root,
            &target_dir,
            &zigbuild,
            *arch,
            handler,
            package,
            opts.quiet,
        )?;
    }

    unique
        .iter()
        .zip(fingerprints)
        .map(|((handler, arch), fingerprint)| package(&target_dir, handler, *arch, fingerprint))
        .collect()
}

/// `cargo-zigbuild` from the repo's virtualenv, else from `PATH`.
fn find_zigbuild(
    tools_bin: &Path,
    path_var: Option<&std::ffi::OsStr>,
) -> Result<PathBuf, BundleError> {
    let in_tools = tools_bin.join("cargo-zigbuild");
    if in_tools.is_file() {
        if !zig_available_in(tools_bin) {
            return Err(BundleError::ZigMissing { zigbuild: in_tools });
        }
        return Ok(in_tools);
    }
    let on_path = path_var.and_then(|path| {
        std::env::split_paths(path)
            .map(|dir| dir.join("cargo-zigbuild"))
            .find(|p| p.is_file())
    });
    match on_path {
        // A system-wide install finds zig its own way and says so if it cannot.
        Some(found) => Ok(found),
        None => Err(BundleError::ZigbuildMissing {
            looked_in: tools_bin.to_path_buf(),
        }),
    }
}

/// cargo-zigbuild runs `zig` from PATH or `python3 -m ziglang`; in a
/// virtualenv the latter is the `ziglang` package under lib/python3.x.
fn zig_available_in(tools_bin: &Path) -> bool {
    if tools_bin.join("zig").is_file() {
        return true;
    }
    let Some(venv) = tools_bin.parent() else {
        return false;
    };
    let Ok(lib_entries) = fs::read_dir(venv.join("lib")) else {
        return false;
    };
    lib_entries.filter_map(Result::ok).any(|python_dir| {
        python_dir
            .path()
            .join("site-packages")
            .join("ziglang")
            .is_dir()
    })
}

fn run_zigbuild(
    workspace_root: &Path,
    target_dir: &Path,
    zigbuild: &Path,
    arch: Architecture,
    handler: &str,
    package: &str,
    quiet: bool,
) -> Result<(), BundleError> {
    let (glibc_major, glibc_minor) = LAMBDA_GLIBC;
    let mut command = Command::new(zigbuild);
    command
        .arg("zigbuild")
        .args(["--profile", PROFILE])
        .arg("--target")
        .arg(format!(
            "{}.{glibc_major}.{glibc_minor}",
            arch.rust_target()
        ))
        .current_dir(workspace_root)
        .env("CARGO_TARGET_DIR", target_dir);
    command.args(["-p", package]);
    // zig (and `python3 -m ziglang`) must resolve from the same virtualenv as
    // cargo-zigbuild itself.
    if let Some(tools_bin) = zigbuild.parent() {
        let mut paths = vec![tools_bin.to_path_buf()];
        if let Some(existing) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&existing));
        }
        if let Ok(joined) = std::env::join_paths(paths) {
            command.env("PATH", joined);
        }
    }
    if quiet {
        let output =
            command
                .stdin(Stdio::null())
                .output()
                .map_err(|source| BundleError::Spawn {
                    program: zigbuild.to_path_buf(),
                    source,
                })?;
        if !output.status.success() {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            return Err(BundleError::BuildFailed {
                arch: arch.lambda_name(),
                handler: handler.to_owned(),
                status: output.status,
                output: text,
            });
        }
    } else {
        let status =
            command
                .stdin(Stdio::null())
                .status()
                .map_err(|source| BundleError::Spawn {
                    program: zigbuild.to_path_buf(),
                    source,
                })?;
        if !status.success() {
            return Err(BundleError::BuildFailed {
                arch: arch.lambda_name(),
                handler: handler.to_owned(),
                status,
                output: String::new(),
            });
        }
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The hash in a `sha256sum`-style record (`<hex>  <name>`), if well formed.
fn read_record(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let hash = text.split_whitespace().next()?;
    (hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hash.to_ascii_lowercase())
}

/// Checks the built binary, then zips it unless the zip beside it was made
/// from the same bytes.
fn package(
    target_dir: &Path,
    handler: &str,
    arch: Architecture,
    fingerprint: String,
) -> Result<BundledAsset, BundleError> {
    let binary_path = target_dir
        .join(arch.rust_target())
        .join(PROFILE)
        .join(handler);
    if !binary_path.is_file() {
        return Err(BundleError::MissingBinary {
            handler: handler.to_string(),
            arch: arch.lambda_name(),
            path: binary_path,
        });
    }
    let binary = fs::read(&binary_path).map_err(io_error(&binary_path))?;
    let requirements =
        check_binary(&binary, arch, LAMBDA_GLIBC).map_err(|problem| BundleError::Refused {
            handler: handler.to_string(),
            arch: arch.lambda_name(),
            problem,
        })?;
    let binary_sha256 = sha256_hex(&binary);

    let zip_path = zip_path(target_dir, handler, arch);
    let binary_record = zip_path.with_file_name("bootstrap.sha256");
    let zip_record = zip_path.with_file_name("bootstrap.zip.sha256");

    let existing = match (read_record(&binary_record), read_record(&zip_record)) {
        (Some(recorded_binary), Some(recorded_zip)) if recorded_binary == binary_sha256 => {
            // The record alone is not trusted: a zip edited or truncated by
            // hand is rebuilt rather than uploaded.
            fs::read(&zip_path)
                .ok()
                .filter(|zip| sha256_hex(zip) == recorded_zip)
        }
        _ => None,
    };
    let (zip_bytes_len, zip_sha256, rezipped) = match existing {
        Some(zip) => (zip.len() as u64, sha256_hex(&zip), false),
        None => {
            let zip = zip_bootstrap(&binary).map_err(|source| BundleError::Zip {
                handler: handler.to_string(),
                arch: arch.lambda_name(),
                source,
            })?;
            let zip_sha256 = sha256_hex(&zip);
            // Binary record last: an interrupted run leaves no record and re-zips.
            write_atomic(&zip_path, &zip).map_err(io_error(&zip_path))?;
            write_atomic(
                &zip_record,
                format!("{zip_sha256}  bootstrap.zip\n").as_bytes(),
            )
            .map_err(io_error(&zip_record))?;
            write_atomic(
                &binary_record,
                format!("{binary_sha256}  bootstrap\n").as_bytes(),
            )
            .map_err(io_error(&binary_record))?;
            (zip.len() as u64, zip_sha256, true)
        }
    };
    Ok(BundledAsset {
        handler: handler.to_string(),
        arch,
        asset_key: asset_key(handler, arch, &fingerprint),
        fingerprint,
        zip_path,
        sha256: zip_sha256,
        size: zip_bytes_len,
        binary_sha256,
        binary_size: binary.len() as u64,
        max_glibc: requirements.max_glibc,
        rezipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_layout_under_target_lambda() {
        assert_eq!(
            zip_path(Path::new("/w/target"), "photo-check", Architecture::Arm64),
            PathBuf::from("/w/target/lambda/photo-check-arm64/bootstrap.zip")
        );
    }

    #[test]
    fn missing_zigbuild_says_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let empty_path = std::ffi::OsString::from(dir.path().join("empty"));
        let error = find_zigbuild(&dir.path().join("bin"), Some(&empty_path)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("cargo-zigbuild not found"), "{message}");
        assert!(message.contains("scripts/setup-test-tools.sh"), "{message}");
    }

    #[test]
    fn zigbuild_without_zig_is_refused_with_the_setup_command() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("venv/bin");
        fs::create_dir_all(&bin).unwrap();
        fs::write(bin.join("cargo-zigbuild"), "").unwrap();
        let opts = BundleOptions {
            tools_bin: Some(bin),
            ..Default::default()
        };
        let message = bundle(
            dir.path(),
            &[("notify".into(), Architecture::X86_64)],
            &opts,
        )
        .unwrap_err()
        .to_string();
        assert!(message.starts_with("zig not found next to"), "{message}");
        assert!(message.contains("scripts/setup-test-tools.sh"), "{message}");
    }

    #[test]
    fn records_are_read_in_sha256sum_format_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r");
        let hash = "a".repeat(64);
        fs::write(&path, format!("{hash}  bootstrap\n")).unwrap();
        assert_eq!(read_record(&path), Some(hash));
        fs::write(&path, "not-a-hash  bootstrap\n").unwrap();
        assert_eq!(read_record(&path), None);
        assert_eq!(read_record(&dir.path().join("missing")), None);
    }

    #[test]
    fn build_failure_includes_the_end_of_cargos_output() {
        let many: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let tail = output_tail(&many);
        assert!(
            tail.contains("line 99") && tail.contains("line 60") && !tail.contains("line 59\n"),
            "{tail}"
        );
        assert_eq!(output_tail(""), "; cargo's output is above");
    }
}
