//! Content fingerprints of handler builds, computed without compiling.
//!
//! `synth` names each function's code object `assets/<handler>-<arch>-<fingerprint>.zip`,
//! so the fingerprint must change exactly when the binary `bundle` would build
//! changes, and stay put otherwise (otherwise every synth is a code deploy).
//! It covers:
//! - the sources of the handler crate and of every workspace crate it reaches
//!   through `path` dependencies (normal and build dependencies, under any
//!   `[target]` cfg; dev-dependencies never reach the binary; optional ones
//!   only when an enabled feature turns them on), and of the crates that
//!   `[patch]` and `[replace]` entries (in the root manifest or in cargo's
//!   config, with `paths`) build from a path (for every handler, with every
//!   feature), walked in sorted order as relative path + bytes
//!   ([`sources`]). The manifests are read typed with the `cargo_toml`
//!   crate, in process (`cargo metadata` would cost ~100 ms a synth); which
//!   features are on is our own walk over that model, from the handler
//!   alone: `bundle` builds each handler in a cargo invocation of its own,
//!   so no other handler's features reach its binary;
//! - the part of `Cargo.lock` the handler's dependency graph reaches, read
//!   with the `cargo-lock` crate ([`lock`]: a new crate in the CLI's graph
//!   does not change the handlers' code);
//! - the `[workspace.dependencies]` entries the crates inherit (features live
//!   there and are not recorded in `Cargo.lock`), `[workspace.package]`
//!   (edition) and `[patch]`;
//! - the build profile: its name and its `[profile.*]` table, followed
//!   through `inherits` ([`profile`]);
//! - the target triple with the glibc version zigbuild links against;
//! - the compilers: `rust-toolchain.toml` when it pins a release (else what
//!   `rustc -vV` reports), and the zig and cargo-zigbuild versions
//!   `scripts/requirements-test.lock` pins ([`toolchain`]; `bundle` checks
//!   the tools it runs against both);
//! - every cargo config file the build reads, the user's
//!   `$CARGO_HOME/config.toml` included, minus what cannot change a build
//!   ([`cargo_config`]);
//! - the environment variables that pass through to the build
//!   ([`build_env::BUILD_ENV`], which also lists those `bundle` sets or
//!   clears itself, and why).
//!
//! Left out on purpose, because they cannot change the binary: `tests/`,
//! `benches/`, `examples/` at a crate's root, insta snapshots, dot-files,
//! `target/`, and in each crate's `Cargo.toml` the dev-dependencies and the
//! `[[test]]`, `[[bench]]` and `[[example]]` targets (with their entries in
//! `Cargo.lock`, which lists a workspace crate's dev-dependencies among its
//! dependencies). A test-only change then moves no asset key, so it neither
//! makes `synth-out/` stale nor uploads unchanged code. Nor is where the
//! build runs: `bundle` remaps the checkout, `$CARGO_HOME` and the target
//! directory out of the binary, so two honest builds agree byte for byte.

pub mod build_env;
pub mod cargo_config;
mod lock;
pub mod profile;
mod sources;
#[cfg(test)]
mod tests;
pub mod toolchain;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use cargo_toml::{DepsSet, PatchSet, Workspace};
use sha2::{Digest, Sha256};
use upstack_contract::{Architecture, BuildProfile, LAMBDA_GLIBC};

use build_env::BuildEnv;
use cargo_config::CargoConfig;
use lock::{LockInput, LockReader, lock_closure, read_lock};
use sources::{ManifestFile, normalize, path_dependencies};
use toolchain::{ToolPins, Toolchain};

/// Bumped when what goes into the hash changes, so old asset keys are not reused
/// for a differently computed fingerprint.
const SCHEME: &str = "upstack-handler-fingerprint-v4";

#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {path} as TOML: {source}")]
    Toml {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("cannot read {path} as a Cargo manifest: {source}")]
    Manifest {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error(
        "handler `{handler}` is not a package of the workspace at {workspace}: \
         expected functions/{handler}/Cargo.toml or a [workspace] member whose package or [[bin]] is named `{handler}`"
    )]
    UnknownHandler { handler: String, workspace: PathBuf },
    #[error(
        "{manifest}: dependency `{dependency}` says `workspace = true` but the root Cargo.toml has no [workspace.dependencies] entry `{dependency}`"
    )]
    MissingWorkspaceDependency {
        manifest: PathBuf,
        dependency: String,
    },
    #[error("{manifest}: cannot build with profile `{profile}`: {message}")]
    Profile {
        manifest: PathBuf,
        profile: String,
        message: String,
    },
    #[error(
        "{path} pins no `{package}==<version>`: the asset key includes the zig and cargo-zigbuild versions, and bundle checks the tools it runs against these pins"
    )]
    UnpinnedTool {
        path: PathBuf,
        package: &'static str,
    },
    #[error("`{command}` failed: {message}")]
    Tool { command: String, message: String },
}

/// `assets/<handler>-<arch>-<fingerprint>.zip`: the S3 key of a handler's zip
/// in the asset bucket, and the name `synth` writes into the template.
pub fn asset_key(handler: &str, arch: Architecture, fingerprint: &str) -> String {
    format!("assets/{handler}-{}-{fingerprint}.zip", arch.lambda_name())
}

/// The package that builds `handler`'s binary (`upstack-notify` for `notify`).
pub fn handler_package(workspace_root: &Path, handler: &str) -> Result<String, FingerprintError> {
    Fingerprinter::new(workspace_root)?.package(handler)
}

/// Lowercase hex SHA-256 of everything that decides the bytes of `handler`'s
/// `bootstrap` for `arch` built with `profile`, in this process's
/// environment (see the module docs for the list).
pub fn handler_fingerprint(
    workspace_root: &Path,
    handler: &str,
    arch: Architecture,
    profile: BuildProfile,
) -> Result<String, FingerprintError> {
    Fingerprinter::new(workspace_root)?.fingerprint(handler, arch, profile)
}

/// Fingerprints several handlers of one workspace, reading what they share
/// (the root manifest, `Cargo.lock`, the crates they have in common, cargo's
/// config, the pins) once: synth fingerprints every handler, and each
/// reaches the same files of `handler-common` and `contract`. `Cargo.lock`
/// is parsed on the first fingerprint, so finding a handler's package
/// (`invoke`) does not parse it.
pub struct Fingerprinter<'a> {
    workspace_root: &'a Path,
    /// The environment the build starts from: what of it passes through is hashed.
    env: BuildEnv,
    /// The root `Cargo.toml` as written: sections of it are hashed.
    root_manifest: toml::Value,
    /// Its `[workspace]`, typed: the members, and the dependencies they inherit.
    workspace: Option<Workspace>,
    /// Directories of the crates its `[patch]` and `[replace]` entries, and
    /// cargo config's `[patch]` and `paths`, build from a path.
    path_overrides: BTreeSet<PathBuf>,
    /// Every cargo config file the build reads: hashed, and read once for
    /// their path overrides.
    cargo_config: CargoConfig,
    /// What of them is hashed, computed once.
    cargo_config_hashed: Vec<(&'static str, String)>,
    /// The rustc pin (or what rustc reports), found on the first fingerprint.
    toolchain: Option<Toolchain>,
    /// The zig and cargo-zigbuild pins, read on the first fingerprint.
    tool_pins: Option<ToolPins>,
    /// Crate manifests by crate directory.
    manifests: BTreeMap<PathBuf, ManifestFile>,
    /// Digest of each crate directory's sources, by directory.
    crate_digests: BTreeMap<PathBuf, [u8; 32]>,
    /// Digest of what each handler is built from, by handler
    /// ([`Fingerprinter::sources_digest`]).
    sources_digests: BTreeMap<String, [u8; 32]>,
    /// `Cargo.lock`, read on the first fingerprint.
    lock: Option<LockInput>,
    /// `Cargo.lock` being read and parsed on a thread of its own
    /// ([`Fingerprinter::reading_lock_ahead`]).
    lock_reader: Option<LockReader>,
}

impl<'a> Fingerprinter<'a> {
    /// Fingerprints for builds started from this process's environment.
    pub fn new(workspace_root: &'a Path) -> Result<Self, FingerprintError> {
        Fingerprinter::with_env(workspace_root, BuildEnv::from_process())
    }

    /// Fingerprints for builds started from `env`.
    pub fn with_env(workspace_root: &'a Path, env: BuildEnv) -> Result<Self, FingerprintError> {
        Fingerprinter::with_lock_reader(workspace_root, env, None)
    }

    /// [`Fingerprinter::new`] for a caller about to fingerprint: `Cargo.lock`
    /// is read and parsed on a thread of its own meanwhile. Parsing it is
    /// about a fifth of a whole `synth`, and it runs beside reading and
    /// hashing the crates' sources ([`Fingerprinter::read_sources_ahead`]).
    /// Finding a handler's package (`invoke`) never needs it.
    pub fn reading_lock_ahead(workspace_root: &'a Path) -> Result<Self, FingerprintError> {
        let path = workspace_root.join("Cargo.lock");
        let reader = std::thread::spawn(move || read_lock(&path));
        Fingerprinter::with_lock_reader(workspace_root, BuildEnv::from_process(), Some(reader))
    }

    fn with_lock_reader(
        workspace_root: &'a Path,
        env: BuildEnv,
        lock_reader: Option<LockReader>,
    ) -> Result<Self, FingerprintError> {
        let root_path = workspace_root.join("Cargo.toml");
        let root_manifest = read_toml(&root_path)?;
        // Only what the walk needs is typed, not the CLI package's own
        // dependencies or the profiles.
        let workspace = root_table(&root_manifest, "workspace", &root_path)?;
        let patches: PatchSet =
            root_table(&root_manifest, "patch", &root_path)?.unwrap_or_default();
        let replacements: DepsSet =
            root_table(&root_manifest, "replace", &root_path)?.unwrap_or_default();
        let cargo_config = CargoConfig::discover(workspace_root, &env)?;
        let mut path_overrides: BTreeSet<PathBuf> = path_dependencies(patches.values())
            .chain(path_dependencies([&replacements]))
            .map(|path| normalize(&workspace_root.join(path)))
            .collect();
        path_overrides.extend(cargo_config.path_overrides()?);
        Ok(Fingerprinter {
            workspace_root,
            env,
            root_manifest,
            workspace,
            path_overrides,
            cargo_config_hashed: cargo_config.hashed(),
            cargo_config,
            toolchain: None,
            tool_pins: None,
            manifests: BTreeMap::new(),
            crate_digests: BTreeMap::new(),
            sources_digests: BTreeMap::new(),
            lock: None,
            lock_reader,
        })
    }

    /// The environment the fingerprints describe builds from.
    pub fn env(&self) -> &BuildEnv {
        &self.env
    }

    /// The cargo config files the build reads.
    pub fn cargo_config(&self) -> &CargoConfig {
        &self.cargo_config
    }

    /// The rustc the fingerprints name (read once; `rustc -vV` is run only
    /// when no exact release is pinned).
    pub fn toolchain(&mut self) -> Result<&Toolchain, FingerprintError> {
        let toolchain = match self.toolchain.take() {
            Some(toolchain) => toolchain,
            None => Toolchain::detect(self.workspace_root, &self.env)?,
        };
        Ok(self.toolchain.insert(toolchain))
    }

    /// The zig and cargo-zigbuild versions the fingerprints name.
    pub fn tool_pins(&mut self) -> Result<&ToolPins, FingerprintError> {
        let pins = match self.tool_pins.take() {
            Some(pins) => pins,
            None => ToolPins::read(self.workspace_root)?,
        };
        Ok(self.tool_pins.insert(pins))
    }

    /// Reads and hashes the sources of every crate `handlers` reach, so that
    /// it happens while `Cargo.lock` is parsed rather than after. Errors are
    /// left to [`Fingerprinter::fingerprint`], which meets them again in the
    /// order it would have without this.
    pub fn read_sources_ahead(&mut self, handlers: &[&str]) {
        for handler in handlers {
            let Ok(handler_dir) = self.find_package_dir(handler) else {
                continue;
            };
            let Ok(crates) = self.path_dependency_closure(&handler_dir) else {
                continue;
            };
            for dir in &crates.dirs {
                let _ = self.crate_digest(dir);
            }
        }
    }

    /// [`handler_fingerprint`] of `handler` for `arch` and `profile`.
    pub fn fingerprint(
        &mut self,
        handler: &str,
        arch: Architecture,
        profile: BuildProfile,
    ) -> Result<String, FingerprintError> {
        let sources = self.sources_digest(handler)?;
        let mut hasher = Sha256::new();
        feed(&mut hasher, "scheme", SCHEME.as_bytes());
        feed(&mut hasher, "handler", handler.as_bytes());
        let (glibc_major, glibc_minor) = LAMBDA_GLIBC;
        feed(
            &mut hasher,
            "target",
            format!("{}.{glibc_major}.{glibc_minor}", arch.rust_target()).as_bytes(),
        );
        let root_path = self.workspace_root.join("Cargo.toml");
        for (name, table) in
            profile::profile_chain(&self.root_manifest, profile.cargo_profile(), &root_path)?
        {
            let written = table.map(|table| table.to_string()).unwrap_or_default();
            feed(&mut hasher, &format!("profile.{name}"), written.as_bytes());
        }
        feed(&mut hasher, "sources", &sources);
        match self.toolchain()? {
            Toolchain::Pinned { text, .. } => feed(&mut hasher, "rust-toolchain", text.as_bytes()),
            Toolchain::Unpinned {
                file,
                rustc_version,
            } => {
                if let Some((_, text)) = file {
                    feed(&mut hasher, "rust-toolchain", text.as_bytes());
                }
                feed(&mut hasher, "rustc -vV", rustc_version.as_bytes());
            }
        }
        let pins = self.tool_pins()?;
        feed(&mut hasher, "ziglang", pins.zig.as_bytes());
        feed(
            &mut hasher,
            "cargo-zigbuild",
            pins.cargo_zigbuild.as_bytes(),
        );
        for (label, text) in &self.cargo_config_hashed {
            feed(&mut hasher, label, text.as_bytes());
        }
        for (name, value) in self.env.hashed(arch.rust_target()) {
            feed(&mut hasher, &format!("env {name}"), value);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// What `handler` is built from, whatever the target and profile: the
    /// sources of the crates it reaches, the workspace dependencies they
    /// inherit, `[workspace.package]`, `[patch]` and its part of
    /// `Cargo.lock`. Computed once per handler (synth asks for each handler
    /// once per architecture and profile its envs use).
    fn sources_digest(&mut self, handler: &str) -> Result<[u8; 32], FingerprintError> {
        if let Some(digest) = self.sources_digests.get(handler) {
            return Ok(*digest);
        }
        let handler_dir = self.find_package_dir(handler)?;
        let crates = self.path_dependency_closure(&handler_dir)?;
        let mut hasher = Sha256::new();
        for dir in &crates.dirs {
            let digest = self.crate_digest(dir)?;
            let relative = dir.strip_prefix(self.workspace_root).unwrap_or(dir);
            feed(&mut hasher, &slash_path(relative), &digest);
        }
        for (name, spec) in &crates.inherited {
            feed(
                &mut hasher,
                &format!("workspace.dependencies.{name}"),
                spec.as_bytes(),
            );
        }
        for section in [&["workspace", "package"][..], &["patch"]] {
            let mut value = Some(&self.root_manifest);
            for key in section {
                value = value.and_then(|v| v.get(*key));
            }
            if let Some(value) = value {
                feed(
                    &mut hasher,
                    &section.join("."),
                    value.to_string().as_bytes(),
                );
            }
        }
        match self.lock()? {
            LockInput::Absent => {}
            LockInput::Parsed {
                lock,
                text,
                entries_of_non_roots,
            } => {
                match lock_closure(lock, &crates.linked, entries_of_non_roots) {
                    Some(entries) => feed(&mut hasher, "Cargo.lock", entries.as_bytes()),
                    // The handler is newer than the lock file (or the lock file
                    // names a dependency it does not list): the whole file is a
                    // safe over-approximation.
                    None => feed(&mut hasher, "Cargo.lock", text.as_bytes()),
                }
            }
            LockInput::Unparsed(text) => feed(&mut hasher, "Cargo.lock", text.as_bytes()),
        }
        let digest: [u8; 32] = hasher.finalize().into();
        self.sources_digests.insert(handler.to_owned(), digest);
        Ok(digest)
    }

    fn lock(&mut self) -> Result<&mut LockInput, FingerprintError> {
        let lock = match (self.lock.take(), self.lock_reader.take()) {
            (Some(lock), _) => lock,
            (None, Some(reader)) => reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
            (None, None) => read_lock(&self.workspace_root.join("Cargo.lock"))?,
        };
        Ok(self.lock.insert(lock))
    }
}

/// Forward slashes, so a checkout on another OS gets the same fingerprint.
fn slash_path(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Length-prefixed so that ("ab", "c") and ("a", "bc") hash differently.
fn feed(hasher: &mut Sha256, label: &str, bytes: &[u8]) {
    hasher.update((label.len() as u64).to_le_bytes());
    hasher.update(label.as_bytes());
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, FingerprintError> {
    fs::read(path).map_err(|source| FingerprintError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_string(path: &Path) -> Result<String, FingerprintError> {
    fs::read_to_string(path).map_err(|source| FingerprintError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_toml(path: &Path) -> Result<toml::Value, FingerprintError> {
    parse_toml(path, &read_string(path)?)
}

fn parse_toml(path: &Path, text: &str) -> Result<toml::Value, FingerprintError> {
    toml::from_str(text).map_err(|source| FingerprintError::Toml {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

/// The root manifest's table `key`, typed.
fn root_table<T: serde::de::DeserializeOwned>(
    root: &toml::Value,
    key: &str,
    path: &Path,
) -> Result<Option<T>, FingerprintError> {
    root.get(key)
        .map(|table| table.clone().try_into())
        .transpose()
        .map_err(|source| FingerprintError::Manifest {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
}
