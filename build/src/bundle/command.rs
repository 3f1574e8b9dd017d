//! The `cargo zigbuild` command `bundle` runs for one handler, built as a
//! value (program, arguments, the whole environment) so that what reaches
//! the build can be tested without running cargo.
//!
//! The environment follows `BUILD_ENV` (upstack_project's
//! `fingerprint::build_env`): what the table marks `Set` is set here,
//! `Cleared` removed, `Extended` passed on with the path remapping
//! appended, and everything else passed through as it is.
//!
//! # Reproducible paths
//!
//! rustc writes absolute paths into a binary wherever code names its own
//! source file: panic locations (`file!()`), which `strip` does not remove.
//! Cargo passes a workspace crate's sources as relative paths, but a
//! registry crate's as `$CARGO_HOME/registry/src/...`, and code generated
//! into `OUT_DIR` as a path under the target directory. So two honest
//! builds of the same sources in different directories differ in bytes.
//! `bundle` maps each of those prefixes to a fixed one ([`PathRemap`]):
//! `--remap-path-prefix` for rustc and `-ffile-prefix-map` for C compiled by
//! build scripts (cc-rs does not pass rustc's remapping on).
//!
//! The rustc flags must be added without dropping the user's. Cargo takes
//! rustflags from exactly one of four sources, the first that is set:
//! `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`, every `target.<triple>.rustflags`
//! and matching `target.'cfg(..)'.rustflags` joined, `build.rustflags`
//! (<https://doc.rust-lang.org/cargo/reference/config.html#buildrustflags>).
//! Within the config sources, a `--config` array is appended to the arrays
//! the config files and `CARGO_*` variables give the same key. So
//! [`RustflagsSource`] finds the source cargo will use and the remapping is
//! appended there: to the encoded variable (a `RUSTFLAGS` value is passed on
//! encoded, the user's words first), or with `--config` to the very key
//! that is in use. Adding a `target.<triple>.rustflags` while only
//! `build.rustflags` is set would make cargo ignore the latter.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use upstack_contract::{Architecture, BuildProfile, LAMBDA_GLIBC};
use upstack_project::fingerprint::build_env::{self, BuildEnv, for_target};

use super::cfg::{self, TargetCfg};

/// One prefix mapped to a fixed one in everything the build writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRemap {
    pub from: String,
    pub to: &'static str,
}

/// Where the workspace root appears in the binary.
pub const WORKSPACE_AS: &str = "/workspace";
/// Where `$CARGO_HOME/registry/src` appears.
pub const REGISTRY_AS: &str = "/cargo/registry/src";
/// Where `$CARGO_HOME/git/checkouts` appears.
pub const GIT_AS: &str = "/cargo/git/checkouts";
/// Where the target directory (and so every `OUT_DIR`) appears.
pub const TARGET_AS: &str = "/target";

/// The remappings for a build of `workspace_root` into `target_dir` with
/// `cargo_home`, longest prefix last: when several match, rustc applies the
/// last (<https://doc.rust-lang.org/rustc/remap-source-paths.html>), so a
/// target directory inside the checkout maps as the target directory.
/// Each path is given as cargo will see it and, where that differs, as the
/// OS resolves it. Paths that are not UTF-8 or hold `=` (which the flag
/// syntax cannot carry) are refused.
pub fn path_remaps(
    workspace_root: &Path,
    cargo_home: Option<&Path>,
    target_dir: &Path,
) -> Result<Vec<PathRemap>, PathBuf> {
    let mut prefixes: Vec<(PathBuf, &'static str)> = Vec::new();
    let mut add = |path: PathBuf, to: &'static str| {
        if let Ok(canonical) = std::fs::canonicalize(&path)
            && canonical != path
        {
            prefixes.push((canonical, to));
        }
        prefixes.push((path, to));
    };
    add(workspace_root.to_path_buf(), WORKSPACE_AS);
    if let Some(home) = cargo_home {
        add(home.join("registry").join("src"), REGISTRY_AS);
        add(home.join("git").join("checkouts"), GIT_AS);
    }
    add(target_dir.to_path_buf(), TARGET_AS);
    let mut remaps = Vec::with_capacity(prefixes.len());
    for (path, to) in prefixes {
        let from = path
            .to_str()
            .filter(|text| !text.contains('='))
            .ok_or(path.clone())?;
        let remap = PathRemap {
            from: from.trim_end_matches('/').to_owned(),
            to,
        };
        if !remaps.contains(&remap) {
            remaps.push(remap);
        }
    }
    remaps.sort_by_key(|remap| remap.from.len());
    Ok(remaps)
}

/// Which of cargo's four rustflags sources a build of `target` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RustflagsSource {
    /// `CARGO_ENCODED_RUSTFLAGS` is set (even empty).
    Encoded,
    /// `RUSTFLAGS` is set (even empty).
    Rustflags,
    /// A `target.<triple>.rustflags` or matching `target.'cfg(..)'.rustflags`
    /// (in a config file or `CARGO_TARGET_<TRIPLE>_RUSTFLAGS`).
    TargetConfig,
    /// `build.rustflags`, or none at all.
    BuildConfig,
}

/// Whether [`rustflags_source`] needs the target's cfg: some config key is
/// a `cfg(...)`.
pub fn needs_target_cfg(config_target_keys: &BTreeSet<String>) -> bool {
    config_target_keys.iter().any(|key| key.starts_with("cfg("))
}

/// The rustflags source cargo uses for `target`, from the environment and
/// the `<key>`s of the config files' `[target.<key>] rustflags`.
/// `target_cfg` is needed only when [`needs_target_cfg`].
pub fn rustflags_source(
    env: &BuildEnv,
    config_target_keys: &BTreeSet<String>,
    target: &str,
    target_cfg: Option<&TargetCfg>,
) -> RustflagsSource {
    if env.get("CARGO_ENCODED_RUSTFLAGS").is_some() {
        return RustflagsSource::Encoded;
    }
    if env.get("RUSTFLAGS").is_some() {
        return RustflagsSource::Rustflags;
    }
    let env_key = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        target.to_ascii_uppercase().replace(['-', '.'], "_")
    );
    let applies = |key: &String| {
        key == target || target_cfg.is_some_and(|cfg| cfg::matches(key, cfg) == Some(true))
    };
    if env.get(&env_key).is_some() || config_target_keys.iter().any(applies) {
        RustflagsSource::TargetConfig
    } else {
        RustflagsSource::BuildConfig
    }
}

/// A TOML basic string: what a `--config` value holds.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Everything that decides the command for one handler.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    pub workspace_root: &'a Path,
    pub zigbuild: &'a Path,
    /// Put first on `PATH`: the virtualenv holding cargo-zigbuild and zig.
    pub tools_bin: Option<&'a Path>,
    /// The pinned toolchain's cargo and rustc, as checked.
    pub cargo: &'a Path,
    pub rustc: &'a Path,
    pub target_dir: &'a Path,
    pub arch: Architecture,
    pub profile: BuildProfile,
    pub package: &'a str,
    /// The environment the build starts from.
    pub env: &'a BuildEnv,
    pub remaps: &'a [PathRemap],
    pub rustflags: RustflagsSource,
}

/// A command as a value: run it with [`CommandSpec::command`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub current_dir: PathBuf,
    /// The process's whole environment (nothing else is inherited).
    pub env: BTreeMap<OsString, OsString>,
}

impl CommandSpec {
    pub fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.program);
        command
            .args(&self.args)
            .current_dir(&self.current_dir)
            .env_clear()
            .envs(&self.env);
        command
    }

    pub fn var(&self, name: &str) -> Option<&OsStr> {
        self.env.get(OsStr::new(name)).map(OsString::as_os_str)
    }
}

/// `CARGO_INCREMENTAL` for `profile`: the same as the profile's own
/// `incremental`, stated so that no caller's value changes the codegen.
pub fn incremental(profile: BuildProfile) -> &'static str {
    match profile {
        BuildProfile::Lambda => "0",
        BuildProfile::Fast => "1",
    }
}

/// The `cargo zigbuild` command for `invocation`. Errors, with the
/// variable's name, only on a caller's flags that are not UTF-8 (cargo and
/// cc-rs could not read them either).
pub fn zigbuild_command(invocation: &Invocation<'_>) -> Result<CommandSpec, String> {
    let triple = invocation.arch.rust_target();
    let (glibc_major, glibc_minor) = LAMBDA_GLIBC;
    let mut args: Vec<OsString> = vec![
        "zigbuild".into(),
        "--profile".into(),
        invocation.profile.cargo_profile().into(),
        "--target".into(),
        format!("{triple}.{glibc_major}.{glibc_minor}").into(),
        "-p".into(),
        invocation.package.into(),
    ];

    let mut env: BTreeMap<OsString, OsString> = invocation
        .env
        .vars()
        .map(|(name, value)| (name.to_os_string(), value.to_os_string()))
        .collect();
    for name in build_env::cleared() {
        env.remove(OsStr::new(name));
    }
    let mut set = |name: &str, value: OsString| {
        env.insert(name.into(), value);
    };
    set("RUSTC", invocation.rustc.into());
    set("CARGO", invocation.cargo.into());
    // Empty overrides a wrapper named in cargo config too.
    set("RUSTC_WRAPPER", OsString::new());
    set("RUSTC_WORKSPACE_WRAPPER", OsString::new());
    set("CARGO_TARGET_DIR", invocation.target_dir.into());
    set("CARGO_BUILD_BUILD_DIR", invocation.target_dir.into());
    set("CARGO_INCREMENTAL", incremental(invocation.profile).into());
    let mut paths: Vec<PathBuf> = invocation
        .tools_bin
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    if let Some(existing) = invocation.env.get("PATH") {
        paths.extend(std::env::split_paths(existing));
    }
    if let Ok(joined) = std::env::join_paths(paths) {
        set("PATH", joined);
    }

    let remap_flags: Vec<String> = invocation
        .remaps
        .iter()
        .map(|remap| format!("--remap-path-prefix={}={}", remap.from, remap.to))
        .collect();
    let user_words = |name: &str| -> Result<Option<String>, String> {
        invocation
            .env
            .get(name)
            .map(|value| {
                value
                    .to_str()
                    .map(str::to_owned)
                    .ok_or_else(|| name.to_owned())
            })
            .transpose()
    };
    match invocation.rustflags {
        RustflagsSource::Encoded => {
            let existing = user_words("CARGO_ENCODED_RUSTFLAGS")?.unwrap_or_default();
            let flags: Vec<&str> = (!existing.is_empty())
                .then_some(existing.split('\x1f'))
                .into_iter()
                .flatten()
                .chain(remap_flags.iter().map(String::as_str))
                .collect();
            set("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f").into());
        }
        RustflagsSource::Rustflags => {
            let existing = user_words("RUSTFLAGS")?.unwrap_or_default();
            let flags: Vec<&str> = existing
                .split_whitespace()
                .chain(remap_flags.iter().map(String::as_str))
                .collect();
            set("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f").into());
        }
        RustflagsSource::TargetConfig | RustflagsSource::BuildConfig => {
            let key = if invocation.rustflags == RustflagsSource::TargetConfig {
                format!("target.{triple}.rustflags")
            } else {
                "build.rustflags".to_owned()
            };
            let values: Vec<String> = remap_flags.iter().map(|flag| toml_string(flag)).collect();
            args.push("--config".into());
            args.push(format!("{key}=[{}]", values.join(", ")).into());
        }
    }

    // C and C++ compiled by build scripts: cc-rs reads every spelling of
    // CFLAGS and uses them all, so the maps go on the target-specific one,
    // after the caller's own value of it. cc-rs splits these on whitespace:
    // a path holding a space cannot be mapped this way and is left out.
    let prefix_maps: Vec<String> = invocation
        .remaps
        .iter()
        .filter(|remap| !remap.from.contains(char::is_whitespace))
        .map(|remap| format!("-ffile-prefix-map={}={}", remap.from, remap.to))
        .collect();
    for base in ["CFLAGS", "CXXFLAGS"] {
        let name = for_target(base, triple);
        let existing = user_words(&name)?;
        let flags: Vec<&str> = existing
            .as_deref()
            .into_iter()
            .flat_map(str::split_whitespace)
            .chain(prefix_maps.iter().map(String::as_str))
            .collect();
        set(&name, flags.join(" ").into());
    }

    Ok(CommandSpec {
        program: invocation.zigbuild.to_path_buf(),
        args,
        current_dir: invocation.workspace_root.to_path_buf(),
        env,
    })
}
