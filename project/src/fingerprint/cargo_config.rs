//! Cargo's own configuration, as cargo reads it for a build started in the
//! workspace root: `.cargo/config.toml` (or `.cargo/config`) in that
//! directory and in every ancestor, then `$CARGO_HOME/config.toml`
//! (<https://doc.rust-lang.org/cargo/reference/config.html#hierarchical-structure>).
//!
//! Every file is hashed, minus the tables and keys that cannot change what
//! is built ([`NO_EFFECT_TABLES`], [`NO_EFFECT_KEYS`]); a table this module
//! does not know is hashed. So a rustflag added to `~/.cargo/config.toml`
//! moves every asset key: the binary it builds is a different one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cargo_toml::PatchSet;

use super::build_env::BuildEnv;
use super::sources::{normalize, path_dependencies};
use super::{FingerprintError, parse_toml, read_string, root_table};

/// Top-level tables that cannot change the bytes of a build: command
/// aliases, `cargo new`/`install`/`doc` settings, network, registries and
/// credentials, terminal output.
pub const NO_EFFECT_TABLES: [&str; 11] = [
    "alias",
    "cargo-new",
    "credential-alias",
    "doc",
    "future-incompat-report",
    "http",
    "install",
    "net",
    "registries",
    "registry",
    "term",
];

/// Keys of `[build]` that cannot change the bytes, or that `bundle` decides
/// itself on cargo's command line or environment (which take precedence
/// over config files): see `build_env::BUILD_ENV`.
pub const NO_EFFECT_KEYS: [&str; 11] = [
    "jobs",
    "rustc",
    "rustc-wrapper",
    "rustc-workspace-wrapper",
    "rustdoc",
    "rustdocflags",
    "target",
    "target-dir",
    "build-dir",
    "incremental",
    "dep-info-basedir",
];

/// Where a config file sits relative to the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigRole {
    /// `$CARGO_HOME/config.toml`: read last, lowest precedence.
    CargoHome,
    /// A directory above the workspace root.
    Ancestor,
    /// The workspace root's own `.cargo/`.
    Workspace,
}

impl ConfigRole {
    fn label(self) -> &'static str {
        match self {
            ConfigRole::CargoHome => "cargo config: $CARGO_HOME",
            ConfigRole::Ancestor => "cargo config: ancestor",
            ConfigRole::Workspace => "cargo config: workspace",
        }
    }
}

/// One config file cargo reads.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub role: ConfigRole,
    /// The directory holding `.cargo/` (or `$CARGO_HOME`'s parent): where
    /// relative paths in the file start.
    pub base: PathBuf,
    pub value: toml::Value,
}

/// The config files of a build, lowest precedence first.
#[derive(Debug, Clone, Default)]
pub struct CargoConfig {
    files: Vec<ConfigFile>,
}

impl CargoConfig {
    /// The files cargo reads for a build started in `workspace_root`.
    pub fn discover(
        workspace_root: &Path,
        env: &BuildEnv,
    ) -> Result<CargoConfig, FingerprintError> {
        // Cargo walks up from its working directory as the OS reports it.
        let start =
            std::fs::canonicalize(workspace_root).unwrap_or_else(|_| workspace_root.to_path_buf());
        let cargo_home = cargo_home(&start, env);
        let cargo_home_canonical = cargo_home
            .as_ref()
            .map(|home| std::fs::canonicalize(home).unwrap_or_else(|_| home.clone()));
        let mut files = Vec::new();
        for dir in start.ancestors() {
            let dot_cargo = dir.join(".cargo");
            // $CARGO_HOME above the workspace is read once, as itself.
            if cargo_home_canonical.as_deref() == Some(dot_cargo.as_path()) {
                continue;
            }
            if let Some(path) = config_in(&dot_cargo) {
                let role = if dir == start {
                    ConfigRole::Workspace
                } else {
                    ConfigRole::Ancestor
                };
                files.push(read_file(path, role, dir.to_path_buf())?);
            }
        }
        if let Some(home) = cargo_home
            && let Some(path) = config_in(&home)
        {
            let base = home.parent().map(Path::to_path_buf).unwrap_or_default();
            files.push(read_file(path, ConfigRole::CargoHome, base)?);
        }
        // Collected deepest first; precedence runs the other way.
        files.reverse();
        Ok(CargoConfig { files })
    }

    pub fn files(&self) -> &[ConfigFile] {
        &self.files
    }

    /// `(label, text)` for each file with anything that can change a build,
    /// lowest precedence first: the file without [`NO_EFFECT_TABLES`] and
    /// [`NO_EFFECT_KEYS`], as TOML with sorted keys (so comments and layout
    /// move no key).
    pub fn hashed(&self) -> Vec<(&'static str, String)> {
        self.files
            .iter()
            .filter_map(|file| {
                let mut value = file.value.clone();
                let table = value.as_table_mut()?;
                for key in NO_EFFECT_TABLES {
                    table.remove(key);
                }
                if let Some(build) = table.get_mut("build").and_then(toml::Value::as_table_mut) {
                    for key in NO_EFFECT_KEYS {
                        build.remove(key);
                    }
                    if build.is_empty() {
                        table.remove("build");
                    }
                }
                (!table.is_empty()).then(|| (file.role.label(), value.to_string()))
            })
            .collect()
    }

    /// The crates cargo's config builds from a path in place of a registry
    /// crate: `[patch]` and the older `paths = [...]` overrides. Paths there
    /// are relative to the directory holding `.cargo/`.
    pub fn path_overrides(&self) -> Result<Vec<PathBuf>, FingerprintError> {
        let mut overrides = Vec::new();
        for file in &self.files {
            let patches: PatchSet =
                root_table(&file.value, "patch", &file.path)?.unwrap_or_default();
            let paths: Vec<String> =
                root_table(&file.value, "paths", &file.path)?.unwrap_or_default();
            overrides.extend(
                path_dependencies(patches.values())
                    .cloned()
                    .chain(paths)
                    .map(|path| normalize(&file.base.join(path))),
            );
        }
        Ok(overrides)
    }

    /// The `<key>` of every `[target.<key>] rustflags` in any file: a
    /// triple or a `cfg(...)` expression. Any of them that applies to a
    /// build's target makes cargo ignore `build.rustflags` for it.
    pub fn target_rustflags_keys(&self) -> BTreeSet<String> {
        self.files
            .iter()
            .filter_map(|file| file.value.get("target")?.as_table())
            .flat_map(|targets| {
                targets
                    .iter()
                    .filter(|(_, table)| table.get("rustflags").is_some())
                    .map(|(key, _)| key.clone())
            })
            .collect()
    }
}

/// `.cargo/config` if present (cargo prefers it and warns), else
/// `.cargo/config.toml`.
fn config_in(dir: &Path) -> Option<PathBuf> {
    ["config", "config.toml"]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

fn read_file(
    path: PathBuf,
    role: ConfigRole,
    base: PathBuf,
) -> Result<ConfigFile, FingerprintError> {
    let text = read_string(&path)?;
    let value = parse_toml(&path, &text)?;
    Ok(ConfigFile {
        path,
        role,
        base,
        value,
    })
}

/// `$CARGO_HOME` (relative to the working directory when relative), else
/// `$HOME/.cargo`.
pub fn cargo_home(start: &Path, env: &BuildEnv) -> Option<PathBuf> {
    match env.get("CARGO_HOME") {
        Some(home) if !home.is_empty() => Some(start.join(home)),
        _ => env
            .get("HOME")
            .filter(|home| !home.is_empty())
            .map(|home| Path::new(home).join(".cargo")),
    }
}
