//! `upstack bundle`: builds the handler crates for `provided.al2023`, checks
//! every binary, and writes reproducible zips.
//!
//! One `cargo zigbuild --profile <profile> --target <triple>.2.34 -p <package>`
//! per handler and architecture: each binary from its own dependency graph
//! (see [`bundle`]), dependencies shared through the one target dir. Zig
//! links against glibc 2.34, the version `provided.al2023` ships, so a
//! binary built on a newer host still loads on Lambda
//! (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html>).
//! The profile is the env's `build_profile`: `lambda` (optimised) or
//! `lambda-fast` (quick rebuilds); both are cross-built, linked against the
//! same glibc and checked the same way.
//!
//! Before building, the tools are checked against the versions the asset
//! key names (rustc against `rust-toolchain.toml`, zig and cargo-zigbuild
//! against `scripts/requirements-test.lock`), and cargo's environment is
//! set as the fingerprint's table of build inputs says ([`command`]).
//! Paths of the checkout, `$CARGO_HOME` and the target directory are
//! remapped out of the binary, so the same sources build to the same bytes
//! on any machine.
//!
//! Outputs live in `target/<profile>/<handler>-<arch>/`: `bootstrap.zip`,
//! `bootstrap.zip.sha256` (`sha256sum` format), `bootstrap.sha256` (the hash
//! of the binary the zip was made from) and `asset.json` ([`record`]: what
//! was built, under which asset key). When cargo leaves the binary
//! unchanged, the zip is reused as is. [`prebuilt`] hands back what an
//! earlier `bundle` built, checked, without running cargo.

mod archive;
mod cfg;
pub mod command;
mod elf;
pub mod record;
mod tools;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::{Digest, Sha256};
use upstack_contract::LAMBDA_GLIBC;
/// Re-exported so the CLI names architectures and profiles without
/// depending on the contract crate.
pub use upstack_contract::{Architecture, BuildProfile};

pub use archive::{ENTRY_NAME, zip_bootstrap};
pub use elf::{BinaryRequirements, ElfProblem, check_binary};
pub use record::{AssetRecord, RECORD_FILE};

use upstack_project::fingerprint::build_env::BuildEnv;
use upstack_project::fingerprint::cargo_config::cargo_home;
use upstack_project::fingerprint::{FingerprintError, Fingerprinter, asset_key};
use upstack_project::fsutil::write_atomic;
use upstack_project::manifest::ManifestFunction;

use command::{Invocation, RustflagsSource};
use tools::{SETUP_HINT, Tools};

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
    /// The environment the build starts from; default this process's.
    pub env: Option<BuildEnv>,
}

/// One handler to build: for an architecture, with a profile (a manifest
/// function's, [`BundleTarget::from`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleTarget {
    pub handler: String,
    pub arch: Architecture,
    pub profile: BuildProfile,
}

impl From<&ManifestFunction> for BundleTarget {
    fn from(function: &ManifestFunction) -> BundleTarget {
        BundleTarget {
            handler: function.handler.clone(),
            arch: function.architecture,
            profile: function.build_profile,
        }
    }
}

/// `(handler, arch)` with the `lambda` profile, the only one before envs
/// chose theirs. A manifest function carries its env's profile: build from
/// it ([`BundleTarget::from`]) so that a `fast` env's keys match.
impl From<(String, Architecture)> for BundleTarget {
    fn from((handler, arch): (String, Architecture)) -> BundleTarget {
        BundleTarget {
            handler,
            arch,
            profile: BuildProfile::Lambda,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundledAsset {
    pub handler: String,
    pub arch: Architecture,
    pub profile: BuildProfile,
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
    /// False when the binary was unchanged and the existing zip was kept
    /// (and always for [`prebuilt`]).
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
    #[error(
        "zig not found the way cargo-zigbuild looks for it (`python3 -m ziglang`, then `zig` on PATH): {SETUP_HINT}"
    )]
    ZigNotFound,
    #[error("{0}")]
    ToolVersion(Box<ToolMismatch>),
    #[error(
        "{rustc} now reports another compiler than the asset key was computed with (no exact release is pinned in rust-toolchain.toml):\nfingerprinted:\n{fingerprinted}\nnow:\n{found}",
        rustc = rustc.display()
    )]
    ToolchainMoved {
        rustc: PathBuf,
        fingerprinted: String,
        found: String,
    },
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
    #[error("cannot build reproducibly from {path}: {reason}", path = path.display())]
    Path { path: PathBuf, reason: String },
    #[error("{variable} is not UTF-8: cargo cannot read it either")]
    NotUtf8 { variable: String },
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
    #[error("{path}: {message}; it is written by bundle: run `upstack bundle` again")]
    BadRecord { path: PathBuf, message: String },
    #[error(
        "{handler} ({arch}, {profile} profile) has not been bundled: there is no {path}; run `upstack bundle` first"
    )]
    NotBundled {
        handler: String,
        arch: &'static str,
        profile: &'static str,
        path: PathBuf,
    },
    #[error(
        "{handler} ({arch}): {path} is not the zip bundle built (sha256 {found}, {RECORD_FILE} beside it records {recorded}); run `upstack bundle` again",
        path = path.display()
    )]
    ZipChanged {
        handler: String,
        arch: &'static str,
        path: PathBuf,
        recorded: String,
        found: String,
    },
    #[error(
        "{handler} ({arch}): the sources changed since `upstack bundle` (or its build environment did: cargo config, RUSTFLAGS, the toolchain pins): it built {recorded}, they now fingerprint to {current}; run `upstack bundle` again"
    )]
    SourcesChanged {
        handler: String,
        arch: &'static str,
        recorded: String,
        current: String,
    },
    #[error(
        "{handler} ({arch}): the sources changed while cargo built them, so the binary may hold code its asset key does not describe; no zip was made. Build again"
    )]
    SourcesChangedDuringBuild { handler: String, arch: &'static str },
    #[error(transparent)]
    Fingerprint(#[from] FingerprintError),
}

/// A tool that is not the version the asset key names.
#[derive(Debug)]
pub struct ToolMismatch {
    pub tool: &'static str,
    pub path: PathBuf,
    pub found: String,
    pub pinned: String,
    /// The file that pins it.
    pub pin_file: PathBuf,
    /// How to get the pinned one.
    pub fix: &'static str,
}

impl std::fmt::Display for ToolMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at {} is {}, but {} pins {}: the asset key names the pinned version, so bundle builds with nothing else; {}",
            self.tool,
            self.path.display(),
            self.found,
            self.pin_file.display(),
            self.pinned,
            self.fix
        )
    }
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

/// Where `bundle` writes `<handler>`'s zip for `arch` built with `profile`.
pub fn zip_path(
    target_dir: &Path,
    handler: &str,
    arch: Architecture,
    profile: BuildProfile,
) -> PathBuf {
    target_dir
        .join(profile.cargo_profile())
        .join(format!("{handler}-{}", arch.lambda_name()))
        .join("bootstrap.zip")
}

/// `targets` without repeats, in their first order.
fn unique<T: Clone + Into<BundleTarget>>(targets: &[T]) -> Vec<BundleTarget> {
    let mut unique: Vec<BundleTarget> = Vec::new();
    for target in targets {
        let target = target.clone().into();
        if !unique.contains(&target) {
            unique.push(target);
        }
    }
    unique
}

fn target_dir(workspace_root: &Path, opts: &BundleOptions) -> PathBuf {
    let dir = opts
        .target_dir
        .clone()
        .unwrap_or_else(|| workspace_root.join("target"));
    std::path::absolute(&dir).unwrap_or(dir)
}

/// Builds, checks and zips each target; duplicates are bundled once.
/// Each handler is built by a cargo invocation of its own, so its binary
/// does not depend on which other handlers are bundled with it. Results
/// come back in the order of `targets`.
pub fn bundle<T: Clone + Into<BundleTarget>>(
    workspace_root: &Path,
    targets: &[T],
    opts: &BundleOptions,
) -> Result<Vec<BundledAsset>, BundleError> {
    let unique = unique(targets);
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    let workspace_root =
        &std::path::absolute(workspace_root).unwrap_or_else(|_| workspace_root.to_path_buf());
    let target_dir = target_dir(workspace_root, opts);
    let tools_bin = opts
        .tools_bin
        .clone()
        .unwrap_or_else(|| workspace_root.join(".venv").join("bin"));
    let env = opts.env.clone().unwrap_or_else(BuildEnv::from_process);

    // Fingerprints first: they describe the sources this build starts from.
    let mut fingerprinter = Fingerprinter::with_env(workspace_root, env.clone())?;
    let mut fingerprints = Vec::with_capacity(unique.len());
    let mut packages = Vec::with_capacity(unique.len());
    for target in &unique {
        fingerprints.push(fingerprinter.fingerprint(
            &target.handler,
            target.arch,
            target.profile,
        )?);
        packages.push(fingerprinter.package(&target.handler)?);
    }
    let tools = tools::checked_tools(workspace_root, &tools_bin, &env, &mut fingerprinter)?;
    fs::create_dir_all(&target_dir).map_err(io_error(&target_dir))?;
    let remaps = command::path_remaps(
        workspace_root,
        cargo_home(workspace_root, &env).as_deref(),
        &target_dir,
    )
    .map_err(|path| BundleError::Path {
        path,
        reason: "a path that is not UTF-8 or holds `=` cannot be remapped".to_owned(),
    })?;

    // One cargo invocation per handler: cargo unifies features across the
    // packages of one invocation, so built together, the `s3` feature ingest
    // turns on in handler-common would be built into notify as well, and a
    // handler's binary (and its bytes under one asset key) would depend on
    // which other handlers happened to be bundled with it. Alone, each
    // binary is built from its own dependency graph, which is exactly what
    // its fingerprint walks. Dependencies with the same features are built
    // once and shared through the one target dir.
    for (target, package) in unique.iter().zip(&packages) {
        let rustflags = rustflags_source(&fingerprinter, &tools, target.arch)?;
        let invocation = Invocation {
            workspace_root,
            zigbuild: &tools.zigbuild,
            tools_bin: tools.tools_bin.as_deref(),
            cargo: &tools.cargo,
            rustc: &tools.rustc,
            target_dir: &target_dir,
            arch: target.arch,
            profile: target.profile,
            package,
            env: &env,
            remaps: &remaps,
            rustflags,
        };
        let spec = command::zigbuild_command(&invocation)
            .map_err(|variable| BundleError::NotUtf8 { variable })?;
        run(&spec, target, opts.quiet)?;
    }

    // A save during the build (likely under `watch`) would put newer sources
    // in the binary than the key says: the sources are fingerprinted again,
    // and a zip is made only for a key that still describes them.
    let mut after = Fingerprinter::with_env(workspace_root, env.clone())?;
    for (target, fingerprint) in unique.iter().zip(&fingerprints) {
        let now = after.fingerprint(&target.handler, target.arch, target.profile)?;
        if &now != fingerprint {
            return Err(BundleError::SourcesChangedDuringBuild {
                handler: target.handler.clone(),
                arch: target.arch.lambda_name(),
            });
        }
    }

    unique
        .iter()
        .zip(fingerprints)
        .map(|(target, fingerprint)| {
            let asset = package(&target_dir, target, fingerprint)?;
            let record = zip_path(&target_dir, &target.handler, target.arch, target.profile)
                .with_file_name(RECORD_FILE);
            write_atomic(&record, AssetRecord::of(&asset).to_json().as_bytes())
                .map_err(io_error(&record))?;
            Ok(asset)
        })
        .collect()
}

/// The zips an earlier [`bundle`] built for `targets`, without running
/// cargo: each zip is hashed again and must be the one its `asset.json`
/// records, and the sources (and build environment) must still fingerprint
/// to the asset key it was built under. For a deploy that runs where no
/// build should (with credentials, after the build ran without them).
pub fn prebuilt<T: Clone + Into<BundleTarget>>(
    workspace_root: &Path,
    targets: &[T],
    opts: &BundleOptions,
) -> Result<Vec<BundledAsset>, BundleError> {
    let unique = unique(targets);
    let target_dir = target_dir(workspace_root, opts);
    let env = opts.env.clone().unwrap_or_else(BuildEnv::from_process);
    let mut fingerprinter = Fingerprinter::with_env(workspace_root, env)?;
    unique
        .iter()
        .map(|target| {
            let arch = target.arch.lambda_name();
            let zip_path = zip_path(&target_dir, &target.handler, target.arch, target.profile);
            let record_path = zip_path.with_file_name(RECORD_FILE);
            let record =
                AssetRecord::read(&zip_path, &target.handler, target.arch, target.profile)?
                    .ok_or_else(|| BundleError::NotBundled {
                        handler: target.handler.clone(),
                        arch,
                        profile: target.profile.config_name(),
                        path: record_path.clone(),
                    })?;
            let zip = match fs::read(&zip_path) {
                Ok(zip) => zip,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    return Err(BundleError::NotBundled {
                        handler: target.handler.clone(),
                        arch,
                        profile: target.profile.config_name(),
                        path: zip_path,
                    });
                }
                Err(source) => {
                    return Err(BundleError::Io {
                        path: zip_path,
                        source,
                    });
                }
            };
            let found = sha256_hex(&zip);
            if found != record.zip_sha256 || zip.len() as u64 != record.zip_size {
                return Err(BundleError::ZipChanged {
                    handler: target.handler.clone(),
                    arch,
                    path: zip_path,
                    recorded: record.zip_sha256,
                    found,
                });
            }
            let fingerprint =
                fingerprinter.fingerprint(&target.handler, target.arch, target.profile)?;
            let current = asset_key(&target.handler, target.arch, &fingerprint);
            if current != record.asset_key {
                return Err(BundleError::SourcesChanged {
                    handler: target.handler.clone(),
                    arch,
                    recorded: record.asset_key,
                    current,
                });
            }
            record.asset(zip_path, target.arch, target.profile)
        })
        .collect()
}

/// Where cargo will take rustflags from for `arch` (the remapping goes there).
fn rustflags_source(
    fingerprinter: &Fingerprinter<'_>,
    tools: &Tools,
    arch: Architecture,
) -> Result<RustflagsSource, BundleError> {
    let keys = fingerprinter.cargo_config().target_rustflags_keys();
    let target_cfg = if command::needs_target_cfg(&keys) {
        Some(target_cfg(&tools.rustc, arch, fingerprinter.env())?)
    } else {
        None
    };
    Ok(command::rustflags_source(
        fingerprinter.env(),
        &keys,
        arch.rust_target(),
        target_cfg.as_ref(),
    ))
}

/// `rustc --print cfg --target <triple>`: what cargo matches
/// `[target.'cfg(..)']` config keys against.
fn target_cfg(
    rustc: &Path,
    arch: Architecture,
    env: &BuildEnv,
) -> Result<cfg::TargetCfg, BundleError> {
    let mut command = std::process::Command::new(rustc);
    command
        .args(["--print", "cfg", "--target", arch.rust_target()])
        .env_remove("RUSTUP_TOOLCHAIN");
    if let Some(path) = env.get("PATH") {
        command.env("PATH", path);
    }
    let output = command.output().map_err(|source| BundleError::Spawn {
        program: rustc.to_path_buf(),
        source,
    })?;
    Ok(cfg::TargetCfg::parse(&String::from_utf8_lossy(
        &output.stdout,
    )))
}

fn run(spec: &command::CommandSpec, target: &BundleTarget, quiet: bool) -> Result<(), BundleError> {
    let mut command = spec.command();
    command.stdin(Stdio::null());
    let spawn_error = |source| BundleError::Spawn {
        program: spec.program.clone(),
        source,
    };
    let (status, output) = if quiet {
        let output = command.output().map_err(spawn_error)?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status, text)
    } else {
        (command.status().map_err(spawn_error)?, String::new())
    };
    if !status.success() {
        return Err(BundleError::BuildFailed {
            arch: target.arch.lambda_name(),
            handler: target.handler.clone(),
            status,
            output,
        });
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
    target: &BundleTarget,
    fingerprint: String,
) -> Result<BundledAsset, BundleError> {
    let BundleTarget {
        handler,
        arch,
        profile,
    } = target;
    let (handler, arch, profile) = (handler.as_str(), *arch, *profile);
    let binary_path = target_dir
        .join(arch.rust_target())
        .join(profile.cargo_profile())
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

    let zip_path = zip_path(target_dir, handler, arch, profile);
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
        profile,
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
mod tests;
