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
//!   `[patch]` and `[replace]` entries (in the root manifest or in
//!   `.cargo/config.toml`, with `paths`) build from a path (for every
//!   handler, with every feature), walked in sorted order as relative path +
//!   bytes.
//!   The manifests are read typed with the `cargo_toml` crate, in process
//!   (`cargo metadata` would cost ~100 ms a synth); which features are on is
//!   our own walk over that model, from the handler alone: `bundle` builds
//!   each handler in a cargo invocation of its own, so no other handler's
//!   features reach its binary;
//! - the part of `Cargo.lock` the handler's dependency graph reaches, read
//!   with the `cargo-lock` crate (a new crate in the CLI's graph does not
//!   change the handlers' code);
//! - the `[workspace.dependencies]` entries the crates inherit (features live
//!   there and are not recorded in `Cargo.lock`), `[workspace.package]`
//!   (edition), the `lambda` and `release` profiles (`lambda` inherits
//!   `release`) and `[patch]`;
//! - `.cargo/config.toml` (rustflags), the target triple with the glibc
//!   version zigbuild links against, and `rust-toolchain.toml`.
//!
//! Left out on purpose, because they cannot change the binary: `tests/`,
//! `benches/`, `examples/` at a crate's root, insta snapshots, dot-files,
//! `target/`, and in each crate's `Cargo.toml` the dev-dependencies and the
//! `[[test]]`, `[[bench]]` and `[[example]]` targets (with their entries in
//! `Cargo.lock`, which lists a workspace crate's dev-dependencies among its
//! dependencies). A test-only change then moves no asset key, so it neither
//! makes `synth-out/` stale nor uploads unchanged code.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use cargo_lock::{Lockfile, Package};
use cargo_toml::{Dependency, DepsSet, Manifest, PatchSet, Workspace};
use sha2::{Digest, Sha256};
use upstack_contract::{Architecture, LAMBDA_GLIBC};

/// Bumped when what goes into the hash changes, so old asset keys are not reused
/// for a differently computed fingerprint.
const SCHEME: &str = "upstack-handler-fingerprint-v3";

/// Crate-root directories that never end up in the binary.
const SKIPPED_ROOT_DIRS: [&str; 4] = ["tests", "benches", "examples", "target"];

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
/// `bootstrap` for `arch` (see the module docs for the list).
pub fn handler_fingerprint(
    workspace_root: &Path,
    handler: &str,
    arch: Architecture,
) -> Result<String, FingerprintError> {
    Fingerprinter::new(workspace_root)?.fingerprint(handler, arch)
}

/// Fingerprints several handlers of one workspace, reading what they share
/// (the root manifest, `Cargo.lock`, the crates they have in common) once:
/// synth fingerprints every handler, and each reaches the same files of
/// `handler-common` and `contract`. `Cargo.lock` is parsed on the first
/// fingerprint, so finding a handler's package (`invoke`) does not parse it.
pub struct Fingerprinter<'a> {
    workspace_root: &'a Path,
    /// The root `Cargo.toml` as written: sections of it are hashed.
    root_manifest: toml::Value,
    /// Its `[workspace]`, typed: the members, and the dependencies they inherit.
    workspace: Option<Workspace>,
    /// Directories of the crates its `[patch]` and `[replace]` entries, and
    /// `.cargo/config`'s `[patch]` and `paths`, build from a path.
    path_overrides: BTreeSet<PathBuf>,
    /// `.cargo/config.toml` and `.cargo/config` as written, where present:
    /// hashed whole, and read once for their path overrides.
    cargo_config: Vec<(&'static str, String)>,
    /// Crate manifests by crate directory.
    manifests: BTreeMap<PathBuf, ManifestFile>,
    /// Digest of each crate directory's sources, by directory.
    crate_digests: BTreeMap<PathBuf, [u8; 32]>,
    /// `Cargo.lock`, read on the first fingerprint.
    lock: Option<LockInput>,
    /// `Cargo.lock` being read and parsed on a thread of its own
    /// ([`Fingerprinter::reading_lock_ahead`]).
    lock_reader: Option<LockReader>,
}

type LockReader = std::thread::JoinHandle<Result<LockInput, FingerprintError>>;

enum LockInput {
    Absent,
    Parsed {
        lock: Box<Lockfile>,
        text: String,
        /// Entries of packages that are not workspace crates, by index in
        /// `lock`, formatted once: handlers share most of their dependency
        /// graph, and such an entry's text does not depend on which handler
        /// reaches it.
        entries_of_non_roots: BTreeMap<usize, String>,
    },
    /// Not a lock file cargo-lock reads: hashed whole (a safe over-approximation).
    Unparsed(String),
}

impl<'a> Fingerprinter<'a> {
    pub fn new(workspace_root: &'a Path) -> Result<Self, FingerprintError> {
        Fingerprinter::with_lock_reader(workspace_root, None)
    }

    /// [`Fingerprinter::new`] for a caller about to fingerprint: `Cargo.lock`
    /// is read and parsed on a thread of its own meanwhile. Parsing it is
    /// about a fifth of a whole `synth`, and it runs beside reading and
    /// hashing the crates' sources ([`Fingerprinter::read_sources_ahead`]).
    /// Finding a handler's package (`invoke`) never needs it.
    pub fn reading_lock_ahead(workspace_root: &'a Path) -> Result<Self, FingerprintError> {
        let path = workspace_root.join("Cargo.lock");
        let reader = std::thread::spawn(move || read_lock(&path));
        Fingerprinter::with_lock_reader(workspace_root, Some(reader))
    }

    fn with_lock_reader(
        workspace_root: &'a Path,
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
        let cargo_config = read_cargo_config(workspace_root)?;
        let mut path_overrides: BTreeSet<PathBuf> = path_dependencies(patches.values())
            .chain(path_dependencies([&replacements]))
            .map(|path| normalize(&workspace_root.join(path)))
            .collect();
        path_overrides.extend(config_path_overrides(workspace_root, &cargo_config)?);
        Ok(Fingerprinter {
            workspace_root,
            root_manifest,
            workspace,
            path_overrides,
            cargo_config,
            manifests: BTreeMap::new(),
            crate_digests: BTreeMap::new(),
            lock: None,
            lock_reader,
        })
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

    /// [`handler_fingerprint`] of `handler` for `arch`.
    pub fn fingerprint(
        &mut self,
        handler: &str,
        arch: Architecture,
    ) -> Result<String, FingerprintError> {
        let handler_dir = self.find_package_dir(handler)?;
        let crates = self.path_dependency_closure(&handler_dir)?;

        let mut hasher = Sha256::new();
        feed(&mut hasher, "scheme", SCHEME.as_bytes());
        feed(&mut hasher, "handler", handler.as_bytes());
        let (glibc_major, glibc_minor) = LAMBDA_GLIBC;
        feed(
            &mut hasher,
            "target",
            format!("{}.{glibc_major}.{glibc_minor}", arch.rust_target()).as_bytes(),
        );

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
        for section in [
            &["workspace", "package"][..],
            &["profile", "release"],
            &["profile", "lambda"],
            &["patch"],
        ] {
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
        for optional in ["rust-toolchain.toml", "rust-toolchain"] {
            let path = self.workspace_root.join(optional);
            if path.is_file() {
                feed(&mut hasher, optional, &read_bytes(&path)?);
            }
        }
        for (name, text) in &self.cargo_config {
            feed(&mut hasher, name, text.as_bytes());
        }
        Ok(hex::encode(hasher.finalize()))
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

    /// The crate's `Cargo.toml`, read once per crate.
    fn manifest(&mut self, crate_dir: &Path) -> Result<&ManifestFile, FingerprintError> {
        if !self.manifests.contains_key(crate_dir) {
            let manifest = read_manifest(&crate_dir.join("Cargo.toml"))?;
            self.manifests.insert(crate_dir.to_path_buf(), manifest);
        }
        Ok(&self.manifests[crate_dir])
    }

    /// The handler's crate directory: `functions/<handler>` by convention,
    /// else any `[workspace] members` entry; either way the crate must build
    /// the handler, as its package name or as a `[[bin]]` of that name (the
    /// handler crates are packages `upstack-<handler>` with a `<handler>` binary).
    fn find_package_dir(&mut self, handler: &str) -> Result<PathBuf, FingerprintError> {
        let conventional = self.workspace_root.join("functions").join(handler);
        if conventional.join("Cargo.toml").is_file()
            && builds_handler(&self.manifest(&conventional)?.typed, handler)
        {
            return Ok(conventional);
        }
        let members = self
            .workspace
            .as_ref()
            .map(|workspace| workspace.members.clone())
            .unwrap_or_default();
        for member in members {
            let dir = self.workspace_root.join(member);
            if dir.join("Cargo.toml").is_file()
                && builds_handler(&self.manifest(&dir)?.typed, handler)
            {
                return Ok(dir);
            }
        }
        Err(FingerprintError::UnknownHandler {
            handler: handler.to_string(),
            workspace: self.workspace_root.to_path_buf(),
        })
    }

    /// The package that builds `handler`'s binary, for `cargo build -p`.
    pub fn package(&mut self, handler: &str) -> Result<String, FingerprintError> {
        let dir = self.find_package_dir(handler)?;
        Ok(package_name(&self.manifest(&dir)?.typed)
            .unwrap_or(handler)
            .to_owned())
    }

    /// Follows `path` dependencies (direct or through `workspace = true`) from the
    /// handler crate. Dev-dependencies are not followed: they are not linked into
    /// the binary. Nor are optional dependencies that no enabled feature turns
    /// on: `bundle` builds the handler with its default features, and a crate
    /// reached through it gets its own defaults plus what its dependents ask
    /// for (a test fixture behind a `test-util` feature stays out). The
    /// path crates of `[patch]`, `[replace]` and cargo config overrides are
    /// walked too.
    fn path_dependency_closure(
        &mut self,
        handler_dir: &Path,
    ) -> Result<CrateClosure, FingerprintError> {
        let workspace_root = self.workspace_root;
        let mut closure = CrateClosure {
            dirs: BTreeSet::new(),
            linked: BTreeMap::new(),
            inherited: BTreeMap::new(),
        };
        // Features each crate is built with, as far as the walk knows so far; a
        // crate is walked again when a dependent asks for more.
        let mut features: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
        features.insert(
            handler_dir.to_path_buf(),
            BTreeSet::from(["default".to_string()]),
        );
        let mut pending = vec![handler_dir.to_path_buf()];
        // A `[patch]` or `[replace]` path crate is built in place of a
        // registry crate wherever the graph has it: it is walked for every
        // handler, with every feature (hashing too much only costs an upload).
        for dir in self.path_overrides.clone() {
            let manifest = &self.manifest(&dir)?.typed;
            let every_feature = manifest
                .features
                .keys()
                .chain(optional_dependencies(manifest))
                .cloned()
                .chain(["default".to_string()]);
            features
                .entry(dir.clone())
                .or_default()
                .extend(every_feature);
            pending.push(dir);
        }
        while let Some(dir) = pending.pop() {
            closure.dirs.insert(dir.clone());
            self.manifest(&dir)?;
            let manifest = &self.manifests[&dir].typed;
            let requested = features.get(&dir).cloned().unwrap_or_default();
            let enabled = enabled_by_features(manifest, &requested);
            let mut linked_names = BTreeSet::new();
            for (name, dependency) in linked_dependencies(manifest) {
                if dependency.optional() && !enabled.optional_deps.contains(name) {
                    continue;
                }
                // `workspace = true`: the [workspace.dependencies] entry, its
                // path relative to the workspace root, and the crate's features
                // added to its own.
                let (resolved, path_base, added_features) = match dependency {
                    Dependency::Inherited(inherited) => {
                        let Some(entry) = self
                            .workspace
                            .as_ref()
                            .and_then(|workspace| workspace.dependencies.get(name))
                        else {
                            return Err(FingerprintError::MissingWorkspaceDependency {
                                manifest: dir.join("Cargo.toml"),
                                dependency: name.clone(),
                            });
                        };
                        closure.inherited.insert(
                            name.clone(),
                            written_workspace_dependency(&self.root_manifest, name),
                        );
                        (entry, workspace_root, inherited.features.as_slice())
                    }
                    own => (own, dir.as_path(), &[][..]),
                };
                // `foo = { package = "bar" }`: Cargo.lock knows it as `bar`.
                linked_names.insert(resolved.package().unwrap_or(name).to_string());
                let Some(path) = resolved.detail().and_then(|detail| detail.path.as_ref()) else {
                    continue;
                };
                let dependency_dir = normalize(&path_base.join(path));
                let mut wanted: BTreeSet<String> = resolved
                    .req_features()
                    .iter()
                    .chain(added_features)
                    .cloned()
                    .collect();
                if default_features(dependency, resolved) {
                    wanted.insert("default".to_string());
                }
                if let Some(more) = enabled.dependency_features.get(name) {
                    wanted.extend(more.iter().cloned());
                }
                let known = features.entry(dependency_dir.clone()).or_default();
                let before = known.len();
                known.extend(wanted);
                if known.len() != before || !closure.dirs.contains(&dependency_dir) {
                    pending.push(dependency_dir);
                }
            }
            if let Some(name) = package_name(manifest) {
                closure.linked.insert(name.to_string(), linked_names);
            }
        }
        Ok(closure)
    }

    /// SHA-256 of a crate directory's sources, walked in sorted order as
    /// relative path + bytes, its manifest without what only tests use.
    fn crate_digest(&mut self, crate_dir: &Path) -> Result<[u8; 32], FingerprintError> {
        if let Some(digest) = self.crate_digests.get(crate_dir) {
            return Ok(*digest);
        }
        let mut files = Vec::new();
        collect_files(crate_dir, true, &mut files)?;
        files.sort();
        let mut hasher = Sha256::new();
        for file in files {
            let relative = file.strip_prefix(self.workspace_root).unwrap_or(&file);
            let label = slash_path(relative);
            if file == crate_dir.join("Cargo.toml") {
                let manifest = build_manifest(&self.manifest(crate_dir)?.written);
                feed(&mut hasher, &label, manifest.as_bytes());
            } else {
                feed(&mut hasher, &label, &read_bytes(&file)?);
            }
        }
        let digest: [u8; 32] = hasher.finalize().into();
        self.crate_digests.insert(crate_dir.to_path_buf(), digest);
        Ok(digest)
    }
}

fn read_lock(path: &Path) -> Result<LockInput, FingerprintError> {
    if !path.exists() {
        return Ok(LockInput::Absent);
    }
    let text = read_string(path)?;
    Ok(match text.parse::<Lockfile>() {
        Ok(lock) => LockInput::Parsed {
            lock: Box::new(lock),
            text,
            entries_of_non_roots: BTreeMap::new(),
        },
        Err(_) => LockInput::Unparsed(text),
    })
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

/// A crate's `Cargo.toml`, read once and held twice: as written, the text
/// that is hashed ([`build_manifest`]), and in `cargo_toml`'s typed model,
/// which the walk reads.
struct ManifestFile {
    written: toml::Value,
    typed: Manifest,
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

fn read_manifest(path: &Path) -> Result<ManifestFile, FingerprintError> {
    let text = read_string(path)?;
    let written = parse_toml(path, &text)?;
    let not_a_manifest = |source| FingerprintError::Manifest {
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    // From the parsed value rather than the text: parsing the text a second
    // time doubled what reading the manifests costs a synth (16M more
    // instructions in the debug build, ~4 ms).
    let mut typed: Manifest = written.clone().try_into().map_err(not_a_manifest)?;
    // cargo still reads `build_dependencies` before edition 2024 (with a
    // warning); cargo_toml's model has no field for that spelling.
    if text.contains("build_dependencies") {
        let underscored: UnderscoredBuildDependencies =
            written.clone().try_into().map_err(not_a_manifest)?;
        typed
            .build_dependencies
            .extend(underscored.build_dependencies);
        for (cfg, target) in underscored.target {
            typed
                .target
                .entry(cfg)
                .or_default()
                .build_dependencies
                .extend(target.build_dependencies);
        }
    }
    Ok(ManifestFile { written, typed })
}

/// The `path` of each dependency in `tables` that has one: what a `[patch]`
/// or `[replace]` entry builds in place of a registry crate.
fn path_dependencies<'t>(
    tables: impl IntoIterator<Item = &'t DepsSet>,
) -> impl Iterator<Item = &'t String> {
    tables
        .into_iter()
        .flat_map(BTreeMap::values)
        .filter_map(|dependency| dependency.detail()?.path.as_ref())
}

/// `.cargo/config.toml` and `.cargo/config`, where present, as written.
fn read_cargo_config(
    workspace_root: &Path,
) -> Result<Vec<(&'static str, String)>, FingerprintError> {
    let mut found = Vec::new();
    for name in [".cargo/config.toml", ".cargo/config"] {
        let path = workspace_root.join(name);
        if path.is_file() {
            found.push((name, read_string(&path)?));
        }
    }
    Ok(found)
}

/// The crates cargo's own config builds from a path in place of a registry
/// crate: `[patch]` and the older `paths = [...]` overrides of
/// `.cargo/config.toml` (or `.cargo/config`). Its text is hashed whole, but
/// a patched crate's sources are not in it. Paths there are relative to the
/// directory holding `.cargo/`.
fn config_path_overrides(
    workspace_root: &Path,
    cargo_config: &[(&'static str, String)],
) -> Result<Vec<PathBuf>, FingerprintError> {
    let mut overrides = Vec::new();
    for (name, text) in cargo_config {
        let path = workspace_root.join(name);
        let config = parse_toml(&path, text)?;
        let patches: PatchSet = root_table(&config, "patch", &path)?.unwrap_or_default();
        let paths: Vec<String> = root_table(&config, "paths", &path)?.unwrap_or_default();
        overrides.extend(
            path_dependencies(patches.values())
                .cloned()
                .chain(paths)
                .map(|path| normalize(&workspace_root.join(path))),
        );
    }
    Ok(overrides)
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

#[derive(serde::Deserialize)]
struct UnderscoredBuildDependencies {
    #[serde(default)]
    build_dependencies: DepsSet,
    #[serde(default)]
    target: BTreeMap<String, UnderscoredBuildDependencies>,
}

/// The `[workspace.dependencies]` entry `name` as written: the features a
/// crate inherits live there and are not recorded in `Cargo.lock`.
fn written_workspace_dependency(root: &toml::Value, name: &str) -> String {
    root.get("workspace")
        .and_then(|workspace| workspace.get("dependencies"))
        .and_then(|dependencies| dependencies.get(name))
        .map(ToString::to_string)
        .unwrap_or_default()
}

fn package_name(manifest: &Manifest) -> Option<&str> {
    manifest.package.as_ref().map(|package| package.name())
}

/// Whether the crate's package, or one of its `[[bin]]` targets, is named `handler`.
fn builds_handler(manifest: &Manifest, handler: &str) -> bool {
    package_name(manifest) == Some(handler)
        || manifest
            .bin
            .iter()
            .any(|bin| bin.name.as_deref() == Some(handler))
}

struct CrateClosure {
    /// Crate directories, sorted, handler included.
    dirs: BTreeSet<PathBuf>,
    /// Package name of each of those crates (to find them in Cargo.lock), with
    /// the package names of its normal and build dependencies.
    linked: BTreeMap<String, BTreeSet<String>>,
    /// `[workspace.dependencies]` entries inherited by any of them, as TOML text.
    inherited: BTreeMap<String, String>,
}

struct EnabledFeatures {
    /// Optional dependencies some enabled feature turns on.
    optional_deps: BTreeSet<String>,
    /// `dependency/feature` entries of enabled features.
    dependency_features: BTreeMap<String, BTreeSet<String>>,
}

/// Expands `requested` through the manifest's `[features]`. A weak
/// `dep?/feature` is counted as enabling `dep`: hashing too much only costs
/// an upload, hashing too little would reuse a stale asset key.
/// The dependencies a feature must turn on (each is a feature of its own name).
fn optional_dependencies(manifest: &Manifest) -> impl Iterator<Item = &String> {
    linked_dependencies(manifest)
        .filter(|(_, dependency)| dependency.optional())
        .map(|(name, _)| name)
}

fn enabled_by_features(manifest: &Manifest, requested: &BTreeSet<String>) -> EnabledFeatures {
    let optional: BTreeSet<&str> = optional_dependencies(manifest)
        .map(String::as_str)
        .collect();
    let mut enabled = EnabledFeatures {
        optional_deps: BTreeSet::new(),
        dependency_features: BTreeMap::new(),
    };
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = requested.iter().cloned().collect();
    while let Some(feature) = stack.pop() {
        if !seen.insert(feature.clone()) {
            continue;
        }
        // An optional dependency is also a feature of its own name.
        if optional.contains(feature.as_str()) {
            enabled.optional_deps.insert(feature.clone());
        }
        for entry in manifest.features.get(&feature).into_iter().flatten() {
            if let Some(dependency) = entry.strip_prefix("dep:") {
                enabled.optional_deps.insert(dependency.to_string());
            } else if let Some((dependency, dependency_feature)) = entry.split_once('/') {
                let dependency = dependency.trim_end_matches('?');
                enabled.optional_deps.insert(dependency.to_string());
                enabled
                    .dependency_features
                    .entry(dependency.to_string())
                    .or_default()
                    .insert(dependency_feature.to_string());
            } else {
                stack.push(entry.clone());
            }
        }
    }
    enabled
}

/// `[dependencies]`, `[build-dependencies]` and their `[target.'cfg'.*]`
/// forms, whatever the cfg: what can be linked into the binary.
fn linked_dependencies(manifest: &Manifest) -> impl Iterator<Item = (&String, &Dependency)> {
    [&manifest.dependencies, &manifest.build_dependencies]
        .into_iter()
        .chain(
            manifest
                .target
                .values()
                .flat_map(|target| [&target.dependencies, &target.build_dependencies]),
        )
        .flatten()
}

/// Whether `dependency`, which is `resolved` after workspace inheritance,
/// turns on its default features. cargo_toml keeps no `default-features`
/// of a `workspace = true` entry, and one saying `true` turns back on the
/// defaults its workspace entry turns off: an inherited dependency counts
/// with its defaults (hashing too much only costs an upload).
fn default_features(dependency: &Dependency, resolved: &Dependency) -> bool {
    match (dependency, resolved.detail()) {
        (Dependency::Inherited(_), _) | (_, None) => true,
        // `default_features`, the spelling before edition 2024, is left in
        // `unstable` by cargo_toml.
        (_, Some(detail)) => {
            detail.default_features
                && detail.unstable.get("default_features") != Some(&toml::Value::Boolean(false))
        }
    }
}

/// Removes `.` and `..` components without touching the file system, so the
/// same crate reached by two spellings is hashed once.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A crate manifest without what only tests, benches and examples use.
fn build_manifest(manifest: &toml::Value) -> String {
    const TEST_ONLY: [&str; 5] = [
        "dev-dependencies",
        "dev_dependencies",
        "test",
        "bench",
        "example",
    ];
    /// Whether cargo discovers tests/benches/examples, and whether a target
    /// gets a test harness or doctests: settings of the test build only.
    const AUTO_DISCOVERY: [&str; 3] = ["autotests", "autobenches", "autoexamples"];
    const HARNESS_FLAGS: [&str; 3] = ["test", "doctest", "bench"];
    let mut manifest = manifest.clone();
    if let Some(table) = manifest.as_table_mut() {
        for key in TEST_ONLY {
            table.remove(key);
        }
        if let Some(package) = table.get_mut("package").and_then(toml::Value::as_table_mut) {
            for key in AUTO_DISCOVERY {
                package.remove(key);
            }
        }
        if let Some(lib) = table.get_mut("lib").and_then(toml::Value::as_table_mut) {
            for key in HARNESS_FLAGS {
                lib.remove(key);
            }
            if lib.is_empty() {
                table.remove("lib");
            }
        }
        if let Some(bins) = table.get_mut("bin").and_then(toml::Value::as_array_mut) {
            for bin in bins.iter_mut().filter_map(toml::Value::as_table_mut) {
                for key in HARNESS_FLAGS {
                    bin.remove(key);
                }
            }
        }
        if let Some(targets) = table.get_mut("target").and_then(toml::Value::as_table_mut) {
            for (_, target) in targets.iter_mut() {
                if let Some(target) = target.as_table_mut() {
                    target.remove("dev-dependencies");
                    target.remove("dev_dependencies");
                }
            }
        }
    }
    manifest.to_string()
}

fn collect_files(
    dir: &Path,
    is_crate_root: bool,
    out: &mut Vec<PathBuf>,
) -> Result<(), FingerprintError> {
    let entries = fs::read_dir(dir).map_err(|source| FingerprintError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| FingerprintError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let metadata = fs::metadata(&path).map_err(|source| FingerprintError::Read {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            if is_crate_root && SKIPPED_ROOT_DIRS.contains(&name.as_ref()) {
                continue;
            }
            collect_files(&path, false, out)?;
        } else if metadata.is_file() && !is_snapshot(&name) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_snapshot(file_name: &str) -> bool {
    file_name.ends_with(".snap")
        || file_name.ends_with(".snap.new")
        || file_name.ends_with(".pending-snap")
}

/// The packages of `Cargo.lock` reachable from `roots` (workspace crates,
/// each with the names of its normal and build dependencies), one line per
/// package (name, version, source, checksum) and per dependency edge, sorted.
/// A root's dev-dependencies are listed in its lock entry like any other
/// dependency: they are neither followed nor hashed. `None` when a root or a
/// dependency is not in the lock file (then the caller hashes the whole file).
fn lock_closure(
    lock: &Lockfile,
    roots: &BTreeMap<String, BTreeSet<String>>,
    entries_of_non_roots: &mut BTreeMap<usize, String>,
) -> Option<String> {
    let packages = &lock.packages;
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, package) in packages.iter().enumerate() {
        by_name
            .entry(package.name.as_str())
            .or_default()
            .push(index);
    }
    // A workspace crate's entry lists its dev-dependencies too; only the
    // ones its manifest links are kept. Registry crates list only what the
    // build resolves.
    let linked = |package: &Package, dependency: &cargo_lock::Dependency| {
        roots
            .get(package.name.as_str())
            .is_none_or(|names| names.contains(dependency.name.as_str()))
    };
    let mut reached = BTreeSet::new();
    let mut pending = Vec::new();
    for root in roots.keys() {
        pending.extend(by_name.get(root.as_str())?.iter().copied());
    }
    while let Some(index) = pending.pop() {
        if !reached.insert(index) {
            continue;
        }
        let package = &packages[index];
        for dependency in package
            .dependencies
            .iter()
            .filter(|dependency| linked(package, dependency))
        {
            let matching: Vec<usize> = by_name
                .get(dependency.name.as_str())?
                .iter()
                .copied()
                .filter(|&candidate| dependency.matches(&packages[candidate]))
                .collect();
            if matching.is_empty() {
                return None;
            }
            pending.extend(matching);
        }
    }
    let entry = |package: &Package| {
        let source = package
            .source
            .as_ref()
            .map_or_else(|| "workspace".to_owned(), ToString::to_string);
        let checksum = package
            .checksum
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        let mut entry = format!("{} {} {source} {checksum}", package.name, package.version);
        let mut edges: Vec<String> = package
            .dependencies
            .iter()
            .filter(|dependency| linked(package, dependency))
            .map(|dependency| format!("\n  {dependency}"))
            .collect();
        edges.sort();
        entry.extend(edges);
        entry
    };
    let mut entries: Vec<&str> = Vec::with_capacity(reached.len());
    let mut root_entries = Vec::new();
    for &index in &reached {
        let package = &packages[index];
        if roots.contains_key(package.name.as_str()) {
            root_entries.push(entry(package));
        } else {
            entries_of_non_roots
                .entry(index)
                .or_insert_with(|| entry(package));
        }
    }
    entries.extend(
        reached
            .iter()
            .filter_map(|index| entries_of_non_roots.get(index))
            .map(String::as_str),
    );
    entries.extend(root_entries.iter().map(String::as_str));
    entries.sort();
    Some(entries.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, contents: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    /// A miniature copy of the real layout: root workspace, contract, common, two handlers.
    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("Cargo.toml"),
            r#"[workspace]
members = ["contract", "functions/common", "functions/notify", "functions/ingest", "cli"]
[workspace.package]
edition = "2024"
[workspace.dependencies]
upstack-contract = { path = "contract" }
handler-common = { path = "functions/common" }
serde = { version = "1", features = ["derive"] }
tokio = "1"
clap = "4"
[profile.lambda]
inherits = "release"
opt-level = 3
"#,
        );
        write(
            &root.join("contract/Cargo.toml"),
            "[package]\nname = \"upstack-contract\"\n",
        );
        write(
            &root.join("contract/src/lib.rs"),
            "pub const A: &str = \"a\";\n",
        );
        write(
            &root.join("functions/common/Cargo.toml"),
            "[package]\nname = \"handler-common\"\n[dependencies]\nupstack-contract.workspace = true\nserde.workspace = true\n",
        );
        write(
            &root.join("functions/common/src/lib.rs"),
            "pub fn common() {}\n",
        );
        write(
            &root.join("functions/notify/Cargo.toml"),
            "[package]\nname = \"notify\"\n[dependencies]\nhandler-common.workspace = true\n[dev-dependencies]\ntokio.workspace = true\n",
        );
        write(&root.join("functions/notify/src/main.rs"), "fn main() {}\n");
        write(
            &root.join("functions/ingest/Cargo.toml"),
            "[package]\nname = \"ingest\"\n[dependencies]\ntokio.workspace = true\n",
        );
        write(&root.join("functions/ingest/src/main.rs"), "fn main() {}\n");
        write(
            &root.join("cli/Cargo.toml"),
            "[package]\nname = \"cli\"\n[dependencies]\nclap.workspace = true\n",
        );
        write(&root.join("cli/src/main.rs"), "fn main() {}\n");
        write(
            &root.join("rust-toolchain.toml"),
            "[toolchain]\nchannel = \"1.96.0\"\n",
        );
        write(
            &root.join("Cargo.lock"),
            r#"version = 4

[[package]]
name = "clap"
version = "4.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

[[package]]
name = "cli"
version = "0.1.0"
dependencies = [
 "clap",
]

[[package]]
name = "handler-common"
version = "0.1.0"
dependencies = [
 "serde",
 "upstack-contract",
]

[[package]]
name = "ingest"
version = "0.1.0"
dependencies = [
 "tokio",
]

[[package]]
name = "notify"
version = "0.1.0"
dependencies = [
 "handler-common",
 "tokio",
]

[[package]]
name = "serde"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

[[package]]
name = "tokio"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

[[package]]
name = "upstack-contract"
version = "0.1.0"
"#,
        );
        dir
    }

    fn notify(root: &Path) -> String {
        handler_fingerprint(root, "notify", Architecture::X86_64).unwrap()
    }

    fn edit(path: &Path, from: &str, to: &str) {
        let text = fs::read_to_string(path).unwrap();
        assert!(
            text.contains(from),
            "{} does not contain {from:?}",
            path.display()
        );
        fs::write(path, text.replace(from, to)).unwrap();
    }

    #[test]
    fn is_lowercase_hex_sha256_and_stable() {
        let ws = workspace();
        let first = notify(ws.path());
        assert_eq!(first.len(), 64);
        assert!(
            first
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "{first}"
        );
        assert_eq!(first, notify(ws.path()));
    }

    #[test]
    fn differs_per_architecture_and_handler() {
        let ws = workspace();
        let x86 = notify(ws.path());
        let arm = handler_fingerprint(ws.path(), "notify", Architecture::Arm64).unwrap();
        let ingest = handler_fingerprint(ws.path(), "ingest", Architecture::X86_64).unwrap();
        assert_ne!(x86, arm);
        assert_ne!(x86, ingest);
    }

    #[test]
    fn changes_with_own_and_path_dependency_sources() {
        let ws = workspace();
        let root = ws.path();
        let before = notify(root);
        write(
            &root.join("functions/notify/src/extra.rs"),
            "pub fn extra() {}\n",
        );
        let with_new_file = notify(root);
        assert_ne!(before, with_new_file);
        // contract is reached only through handler-common's workspace dependency.
        edit(&root.join("contract/src/lib.rs"), "\"a\"", "\"b\"");
        assert_ne!(with_new_file, notify(root));
    }

    #[test]
    fn changes_with_toolchain_profile_inherited_features_and_reached_lock_entries() {
        let ws = workspace();
        let root = ws.path();
        let mut last = notify(root);
        let mut assert_changed = |what: &str| {
            let now = notify(root);
            assert_ne!(last, now, "fingerprint did not change after {what}");
            last = now;
        };
        edit(&root.join("rust-toolchain.toml"), "1.96.0", "1.97.0");
        assert_changed("toolchain bump");
        edit(
            &root.join("Cargo.toml"),
            "opt-level = 3",
            "opt-level = \"s\"",
        );
        assert_changed("lambda profile change");
        edit(
            &root.join("Cargo.toml"),
            "features = [\"derive\"]",
            "features = [\"derive\", \"rc\"]",
        );
        assert_changed("feature added to an inherited workspace dependency");
        edit(
            &root.join("Cargo.lock"),
            "checksum = \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"",
            "checksum = \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"",
        );
        assert_changed("serde lock entry change");
    }

    #[test]
    fn ignores_what_cannot_reach_the_binary() {
        let ws = workspace();
        let root = ws.path();
        let before = notify(root);
        // Another package's dependency and lock entry.
        edit(&root.join("Cargo.toml"), "clap = \"4\"", "clap = \"4.1\"");
        edit(
            &root.join("Cargo.lock"),
            "checksum = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
            "checksum = \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"",
        );
        // A sibling handler's sources.
        edit(
            &root.join("functions/ingest/src/main.rs"),
            "fn main() {}",
            "fn main() { println!(); }",
        );
        // Integration tests, snapshots and editor files of the handler itself.
        write(
            &root.join("functions/notify/tests/it.rs"),
            "#[test] fn t() {}\n",
        );
        write(&root.join("functions/notify/src/snapshots/x.snap"), "---\n");
        write(&root.join("functions/notify/src/.main.rs.swp"), "swap");
        write(&root.join("functions/notify/target/debug/notify"), "binary");
        assert_eq!(before, notify(root));
    }

    #[test]
    fn test_harness_settings_are_not_hashed_but_target_settings_are() {
        let ws = workspace();
        let root = ws.path();
        let manifest = root.join("functions/notify/Cargo.toml");
        let before = notify(root);
        // One integration-test binary, no unit-test harness, no doctests.
        edit(
            &manifest,
            "name = \"notify\"\n",
            "name = \"notify\"\nautotests = false\n[lib]\ntest = false\ndoctest = false\n[[bin]]\nname = \"notify\"\npath = \"src/main.rs\"\ntest = false\n[[test]]\nname = \"it\"\npath = \"tests/it.rs\"\n",
        );
        let with_bin = notify(root);
        // Declaring the binary is a build setting; only its harness flags are not.
        assert_ne!(before, with_bin);
        edit(&manifest, "test = false\n[[test]]", "[[test]]");
        edit(&manifest, "autotests = false\n", "");
        edit(&manifest, "[lib]\ntest = false\ndoctest = false\n", "");
        let bin_only = notify(root);
        assert_eq!(with_bin, bin_only);
        // A library setting that reaches the binary still counts.
        edit(
            &manifest,
            "[[bin]]",
            "[lib]\npath = \"src/lib.rs\"\n[[bin]]",
        );
        assert_ne!(bin_only, notify(root));
    }

    #[test]
    fn dev_dependency_paths_are_not_followed() {
        let ws = workspace();
        let root = ws.path();
        let before = handler_fingerprint(root, "ingest", Architecture::X86_64).unwrap();
        // notify's dev-dependency on tokio does not make ingest depend on notify, and
        // handler-common is not reached by ingest: editing it leaves ingest alone.
        edit(
            &root.join("functions/common/src/lib.rs"),
            "common()",
            "common2()",
        );
        assert_eq!(
            before,
            handler_fingerprint(root, "ingest", Architecture::X86_64).unwrap()
        );
    }

    /// Test-only manifest entries and their lock entries move no asset key.
    #[test]
    fn dev_dependencies_and_test_targets_are_not_hashed() {
        let ws = workspace();
        let root = ws.path();
        let before = notify(root);
        edit(
            &root.join("functions/notify/Cargo.toml"),
            "[dev-dependencies]\ntokio.workspace = true\n",
            "[dev-dependencies]\ntokio.workspace = true\nclap.workspace = true\n\n[[bench]]\nname = \"b\"\nharness = false\n",
        );
        edit(
            &root.join("Cargo.lock"),
            "name = \"notify\"\nversion = \"0.1.0\"\ndependencies = [\n",
            "name = \"notify\"\nversion = \"0.1.0\"\ndependencies = [\n \"clap\",\n",
        );
        assert_eq!(before, notify(root), "a dev-dependency moved the key");
        // The dev-dependency's own lock entry is not reached either.
        edit(
            &root.join("Cargo.lock"),
            "checksum = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
            "checksum = \"abababababababababababababababababababababababababababababababab\"",
        );
        assert_eq!(
            before,
            notify(root),
            "a dev-dependency's lock entry moved the key"
        );
        // notify's lock entry lists tokio (a dev-dependency) from the start:
        // tokio's entry is not hashed for notify.
        edit(
            &root.join("Cargo.lock"),
            "checksum = \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"",
            "checksum = \"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\"",
        );
        assert_eq!(before, notify(root));
        // A normal dependency is hashed, manifest and lock entry.
        edit(
            &root.join("functions/notify/Cargo.toml"),
            "[dependencies]\n",
            "[dependencies]\nclap.workspace = true\n",
        );
        let with_clap = notify(root);
        assert_ne!(before, with_clap);
        edit(
            &root.join("Cargo.lock"),
            "checksum = \"abababababababababababababababababababababababababababababababab\"",
            "checksum = \"acacacacacacacacacacacacacacacacacacacacacacacacacacacacacacacac\"",
        );
        assert_ne!(with_clap, notify(root));
    }

    /// An optional path dependency behind a feature the handler does not
    /// turn on (a test fixture behind `testing`) is not hashed; turned on
    /// through a normal dependency, it is.
    #[test]
    fn optional_dependencies_count_only_when_a_feature_enables_them() {
        let ws = workspace();
        let root = ws.path();
        write(
            &root.join("support/Cargo.toml"),
            "[package]\nname = \"support\"\n",
        );
        write(&root.join("support/src/lib.rs"), "pub fn fixture() {}\n");
        edit(
            &root.join("functions/common/Cargo.toml"),
            "serde.workspace = true\n",
            "serde.workspace = true\nsupport = { path = \"../../support\", optional = true }\n[features]\ntesting = [\"dep:support\"]\n",
        );
        let before = notify(root);
        edit(
            &root.join("functions/notify/Cargo.toml"),
            "[dev-dependencies]\n",
            "[dev-dependencies]\nhandler-common = { workspace = true, features = [\"testing\"] }\n",
        );
        edit(&root.join("support/src/lib.rs"), "fixture()", "fixture2()");
        assert_eq!(
            before,
            notify(root),
            "a feature only tests enable moved the key"
        );
        edit(
            &root.join("functions/notify/Cargo.toml"),
            "[dependencies]\nhandler-common.workspace = true\n",
            "[dependencies]\nhandler-common = { workspace = true, features = [\"testing\"] }\n",
        );
        let enabled = notify(root);
        assert_ne!(before, enabled);
        edit(&root.join("support/src/lib.rs"), "fixture2()", "fixture3()");
        assert_ne!(
            enabled,
            notify(root),
            "the enabled optional crate is not hashed"
        );
    }

    fn append(path: &Path, text: &str) {
        let mut contents = fs::read_to_string(path).unwrap();
        contents.push_str(text);
        fs::write(path, contents).unwrap();
    }

    /// A library crate at `dir` (relative to `root`) with `manifest` after its `[package]`.
    fn library(root: &Path, dir: &str, manifest: &str) {
        let name = dir.rsplit('/').next().unwrap();
        write(
            &root.join(dir).join("Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\n{manifest}"),
        );
        write(&root.join(dir).join("src/lib.rs"), "pub fn f() {}\n");
    }

    /// Whether editing `dir`'s `src/lib.rs` moves notify's key.
    fn notify_hashes(root: &Path, dir: &str) -> bool {
        let before = notify(root);
        append(&root.join(dir).join("src/lib.rs"), "pub fn g() {}\n");
        before != notify(root)
    }

    /// A dependency renamed with `package = ...` is found in Cargo.lock by its
    /// package name, whether the crate or `[workspace.dependencies]` renames it.
    #[test]
    fn renamed_dependencies_reach_their_lock_entries() {
        for (workspace_entry, crate_entry) in [
            ("", "args = { package = \"clap\", version = \"4\" }\n"),
            (
                "args = { package = \"clap\", version = \"4\" }\n",
                "args.workspace = true\n",
            ),
        ] {
            let ws = workspace();
            let root = ws.path();
            let ingest = || handler_fingerprint(root, "ingest", Architecture::X86_64).unwrap();
            edit(
                &root.join("Cargo.toml"),
                "clap = \"4\"\n",
                &format!("clap = \"4\"\n{workspace_entry}"),
            );
            append(&root.join("functions/ingest/Cargo.toml"), crate_entry);
            edit(
                &root.join("Cargo.lock"),
                "name = \"ingest\"\nversion = \"0.1.0\"\ndependencies = [\n",
                "name = \"ingest\"\nversion = \"0.1.0\"\ndependencies = [\n \"clap\",\n",
            );
            let before = ingest();
            edit(
                &root.join("Cargo.lock"),
                "checksum = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
                "checksum = \"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\"",
            );
            assert_ne!(
                before,
                ingest(),
                "{crate_entry}: clap's lock entry is not hashed"
            );
        }
    }

    /// Features name a dependency by its key in the manifest, not its package:
    /// `fixtures/extra` turns on `extra` of the renamed `support`.
    #[test]
    fn renamed_path_dependency_features_are_followed() {
        let ws = workspace();
        let root = ws.path();
        library(
            root,
            "support",
            "[dependencies]\ndeep = { path = \"../deep\", optional = true }\n[features]\nextra = [\"dep:deep\"]\n",
        );
        library(root, "deep", "");
        append(
            &root.join("functions/notify/Cargo.toml"),
            "[dependencies.fixtures]\npackage = \"support\"\npath = \"../../support\"\n",
        );
        assert!(notify_hashes(root, "support"));
        assert!(!notify_hashes(root, "deep"), "deep is off");
        append(
            &root.join("functions/notify/Cargo.toml"),
            "[features]\ndefault = [\"fixtures/extra\"]\n",
        );
        assert!(notify_hashes(root, "deep"), "fixtures/extra turns deep on");
    }

    /// `[target.'cfg(..)'.dependencies]` and `.build-dependencies` can reach the
    /// binary (whatever the cfg: the walk does not evaluate it); the target's
    /// dev-dependencies cannot.
    #[test]
    fn target_specific_dependencies_count_but_not_their_dev_dependencies() {
        let ws = workspace();
        let root = ws.path();
        for dir in ["linux-only", "codegen", "test-fixture"] {
            library(root, dir, "");
        }
        append(
            &root.join("functions/notify/Cargo.toml"),
            "[target.'cfg(target_os = \"linux\")'.dependencies]\nlinux-only = { path = \"../../linux-only\" }\n\
             [target.'cfg(unix)'.build-dependencies]\ncodegen = { path = \"../../codegen\" }\n\
             [target.'cfg(unix)'.dev-dependencies]\ntest-fixture = { path = \"../../test-fixture\" }\n",
        );
        assert!(notify_hashes(root, "linux-only"));
        assert!(notify_hashes(root, "codegen"));
        assert!(!notify_hashes(root, "test-fixture"));
        // Nor does the dev-dependency's manifest entry.
        let before = notify(root);
        edit(
            &root.join("functions/notify/Cargo.toml"),
            "test-fixture = { path = \"../../test-fixture\" }",
            "test-fixture = { path = \"../../test-fixture\", features = [\"x\"] }",
        );
        assert_eq!(before, notify(root));
    }

    /// `build_dependencies`, the spelling cargo still reads before edition 2024.
    #[test]
    fn build_dependencies_spelled_with_an_underscore_count() {
        let ws = workspace();
        let root = ws.path();
        library(root, "codegen", "");
        library(root, "platform-codegen", "");
        append(
            &root.join("functions/notify/Cargo.toml"),
            "[build_dependencies]\ncodegen = { path = \"../../codegen\" }\n\
             [target.'cfg(unix)'.build_dependencies]\nplatform-codegen = { path = \"../../platform-codegen\" }\n",
        );
        assert!(notify_hashes(root, "codegen"));
        assert!(notify_hashes(root, "platform-codegen"));
    }

    /// `default-features = false` keeps a path dependency's default features
    /// (and what they turn on) out, written in the crate with either spelling.
    /// A `workspace = true` entry turns them back on with
    /// `default-features = true` when its workspace entry turns them off.
    #[test]
    fn default_features_of_path_dependencies() {
        let ws = workspace();
        let root = ws.path();
        library(
            root,
            "support",
            "[dependencies]\ndeep = { path = \"../deep\", optional = true }\n[features]\ndefault = [\"dep:deep\"]\n",
        );
        library(root, "deep", "");
        let notify_manifest = root.join("functions/notify/Cargo.toml");
        edit(
            &notify_manifest,
            "[dependencies]\n",
            "[dependencies]\nsupport = { path = \"../../support\", default-features = false }\n",
        );
        assert!(notify_hashes(root, "support"));
        assert!(!notify_hashes(root, "deep"), "default-features = false");
        edit(&notify_manifest, "default-features", "default_features");
        assert!(!notify_hashes(root, "deep"), "default_features = false");
        edit(&notify_manifest, ", default_features = false", "");
        assert!(
            notify_hashes(root, "deep"),
            "support's default turns deep on"
        );
        edit(
            &root.join("Cargo.toml"),
            "tokio = \"1\"\n",
            "tokio = \"1\"\nsupport = { path = \"support\", default-features = false }\n",
        );
        edit(
            &notify_manifest,
            "support = { path = \"../../support\" }",
            "support = { workspace = true, default-features = true }",
        );
        assert!(
            notify_hashes(root, "deep"),
            "the crate turned the workspace entry's default features back on"
        );
    }

    /// A `[patch]` or `[replace]` entry with a path builds that crate in place
    /// of the registry's wherever the graph has it: its sources count, and
    /// those of the path crates it reaches with any of its features.
    #[test]
    fn path_patches_and_replacements_count() {
        for table in [
            "[patch.crates-io]\nserde = { path = \"vendor/serde\" }\n",
            "[replace]\n\"serde:1.0.0\" = { path = \"vendor/serde\" }\n",
        ] {
            let ws = workspace();
            let root = ws.path();
            library(
                root,
                "vendor/serde",
                "version = \"1.0.0\"\n[dependencies]\nserde_derive = { path = \"../serde_derive\", optional = true }\n[features]\nderive = [\"dep:serde_derive\"]\n",
            );
            library(root, "vendor/serde_derive", "");
            append(&root.join("Cargo.toml"), table);
            edit(
                &root.join("Cargo.lock"),
                "checksum = \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n",
                "",
            );
            edit(
                &root.join("Cargo.lock"),
                "name = \"serde\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
                "name = \"serde\"\nversion = \"1.0.0\"\n",
            );
            assert!(notify_hashes(root, "vendor/serde"), "{table}");
            assert!(notify_hashes(root, "vendor/serde_derive"), "{table}");
        }
    }

    /// Cargo's config can patch a crate with a path too (`[patch]`, or the
    /// older `paths = [...]`): its sources count like a manifest patch's.
    #[test]
    fn path_patches_in_cargo_config_count() {
        for config in [
            "[patch.crates-io]\nserde = { path = \"vendor/serde\" }\n",
            "paths = [\"vendor/serde\"]\n",
        ] {
            let ws = workspace();
            let root = ws.path();
            library(root, "vendor/serde", "version = \"1.0.0\"\n");
            write(&root.join(".cargo/config.toml"), config);
            assert!(notify_hashes(root, "vendor/serde"), "{config}");
        }
    }

    #[test]
    fn unknown_handler_and_missing_workspace_dependency_are_named() {
        let ws = workspace();
        let root = ws.path();
        let error = handler_fingerprint(root, "resize", Architecture::Arm64).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("handler `resize` is not a package"),
            "{error}"
        );
        edit(
            &root.join("functions/notify/Cargo.toml"),
            "[dev-dependencies]",
            "ghost.workspace = true\n[dev-dependencies]",
        );
        let error = notify_err(root);
        assert!(
            error.contains("dependency `ghost`") && error.contains("notify/Cargo.toml"),
            "{error}"
        );
    }

    fn notify_err(root: &Path) -> String {
        handler_fingerprint(root, "notify", Architecture::X86_64)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn falls_back_to_the_whole_lock_file_when_the_handler_is_not_locked() {
        let ws = workspace();
        let root = ws.path();
        write(
            &root.join("functions/fresh/Cargo.toml"),
            "[package]\nname = \"fresh\"\n",
        );
        write(&root.join("functions/fresh/src/main.rs"), "fn main() {}\n");
        let before = handler_fingerprint(root, "fresh", Architecture::X86_64).unwrap();
        edit(
            &root.join("Cargo.lock"),
            "checksum = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
            "checksum = \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"",
        );
        assert_ne!(
            before,
            handler_fingerprint(root, "fresh", Architecture::X86_64).unwrap()
        );
    }

    #[test]
    fn asset_key_layout() {
        assert_eq!(
            asset_key("photo-check", Architecture::Arm64, "ab12"),
            "assets/photo-check-arm64-ab12.zip"
        );
        assert_eq!(
            asset_key("notify", Architecture::X86_64, "ff"),
            "assets/notify-x86_64-ff.zip"
        );
    }

    /// The real workspace's lock file is one this reader understands (no
    /// fallback to hashing the whole file), for every handler. Its speed is
    /// a figure of the bundle bench, not a timed test.
    #[test]
    fn real_workspace_handlers_use_the_lock_closure() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        // As synth reads it: Cargo.lock parsed on a thread of its own, the
        // sources read meanwhile, lock entries shared between handlers.
        let mut fingerprinter = Fingerprinter::reading_lock_ahead(root).unwrap();
        fingerprinter.read_sources_ahead(&upstack_contract::handler::ALL);
        for handler in upstack_contract::handler::ALL {
            let fingerprint = fingerprinter
                .fingerprint(handler, Architecture::Arm64)
                .unwrap();
            assert_eq!(fingerprint.len(), 64);
            assert_eq!(
                fingerprint,
                handler_fingerprint(root, handler, Architecture::Arm64).unwrap(),
                "{handler}: the shared reads changed the fingerprint"
            );
            assert_eq!(
                fingerprinter.package(handler).unwrap(),
                format!("upstack-{handler}"),
                "the handler crates are upstack-<handler>, with a <handler> binary"
            );
            let dir = fingerprinter.find_package_dir(handler).unwrap();
            let crates = fingerprinter.path_dependency_closure(&dir).unwrap();
            let Some(LockInput::Parsed { lock, .. }) = &fingerprinter.lock else {
                panic!("Cargo.lock is not a lock file cargo-lock reads");
            };
            let closure = lock_closure(lock, &crates.linked, &mut BTreeMap::new())
                .unwrap_or_else(|| panic!("{handler}: Cargo.lock not understood"));
            // The CLI-only validator never reaches a handler.
            assert!(!closure.contains("cloudformation-validate"), "{handler}");
        }
    }
}
