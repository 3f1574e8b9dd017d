//! The sources a handler is built from: its crate and every workspace or
//! path crate it reaches, walked through the manifests' dependencies and
//! features, each hashed as relative path + bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use cargo_toml::{Dependency, DepsSet, Manifest};
use sha2::{Digest, Sha256};

use super::{
    FingerprintError, Fingerprinter, feed, parse_toml, read_bytes, read_string, slash_path,
};

/// Crate-root directories that never end up in the binary.
const SKIPPED_ROOT_DIRS: [&str; 4] = ["tests", "benches", "examples", "target"];

impl Fingerprinter<'_> {
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
    pub(super) fn find_package_dir(&mut self, handler: &str) -> Result<PathBuf, FingerprintError> {
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
    pub(super) fn path_dependency_closure(
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
    pub(super) fn crate_digest(&mut self, crate_dir: &Path) -> Result<[u8; 32], FingerprintError> {
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

/// A crate's `Cargo.toml`, read once and held twice: as written, the text
/// that is hashed ([`build_manifest`]), and in `cargo_toml`'s typed model,
/// which the walk reads.
pub(super) struct ManifestFile {
    pub(super) written: toml::Value,
    pub(super) typed: Manifest,
}

pub(super) fn read_manifest(path: &Path) -> Result<ManifestFile, FingerprintError> {
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
pub(super) fn path_dependencies<'t>(
    tables: impl IntoIterator<Item = &'t DepsSet>,
) -> impl Iterator<Item = &'t String> {
    tables
        .into_iter()
        .flat_map(BTreeMap::values)
        .filter_map(|dependency| dependency.detail()?.path.as_ref())
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

pub(super) struct CrateClosure {
    /// Crate directories, sorted, handler included.
    pub(super) dirs: BTreeSet<PathBuf>,
    /// Package name of each of those crates (to find them in Cargo.lock), with
    /// the package names of its normal and build dependencies.
    pub(super) linked: BTreeMap<String, BTreeSet<String>>,
    /// `[workspace.dependencies]` entries inherited by any of them, as TOML text.
    pub(super) inherited: BTreeMap<String, String>,
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
pub(super) fn normalize(path: &Path) -> PathBuf {
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
