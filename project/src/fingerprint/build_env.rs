//! The environment variables that can change the bytes of a handler build,
//! and what happens to each: [`BUILD_ENV`], the one table both the
//! fingerprint (which hashes) and `bundle` (which sets, clears and extends
//! on cargo's command) read.
//!
//! A variable the table does not name is neither hashed nor touched: the
//! table lists what cargo, rustc, cc-rs, cmake, cargo-zigbuild and the
//! build scripts in the handlers' dependency graph read (the cargo and cc
//! references, and each build script's `rerun-if-env-changed`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

/// What happens to a variable on the way from the caller's environment to
/// the handler build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// `bundle` sets its own value on cargo's command: the caller's never
    /// reaches the build, so it is not hashed.
    Set,
    /// `bundle` removes it from cargo's command: it never reaches the build.
    Cleared,
    /// Passes through to the build and is part of the fingerprint.
    Hashed,
    /// Passes through and is hashed; `bundle` appends its path remapping
    /// (which depends only on where the build runs) to it.
    Extended,
    /// Passes through and selects a tool; `bundle` refuses to build unless
    /// the tool it selects reports the pinned version (the pin is hashed).
    Checked,
    /// Cannot change the bytes; listed so the decision is visible (and a
    /// broader prefix does not catch it).
    NoEffect,
}

/// Which variable names a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvName {
    Exact(&'static str),
    /// Every variable whose name starts with this.
    Prefix(&'static str),
    /// `<base>_<target triple with underscores>`, cc-rs's and aws-lc-sys's
    /// spelling (`CFLAGS_aarch64_unknown_linux_gnu`), for the build's target.
    ForTarget(&'static str),
}

/// One entry of [`BUILD_ENV`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvRule {
    pub name: EnvName,
    pub treatment: Treatment,
    /// Why, in a few words (docs/commands.md lists the table).
    pub why: &'static str,
}

const fn rule(name: EnvName, treatment: Treatment, why: &'static str) -> EnvRule {
    EnvRule {
        name,
        treatment,
        why,
    }
}

use EnvName::{Exact, ForTarget, Prefix};
use Treatment::{Checked, Cleared, Extended, Hashed, NoEffect, Set};

/// Every variable (or family) that reaches a handler build, and its
/// treatment. An exact name wins over a target-suffixed one, which wins
/// over the longest matching prefix.
pub const BUILD_ENV: &[EnvRule] = &[
    // The compiler and the tools that drive it.
    rule(
        Exact("RUSTUP_TOOLCHAIN"),
        Cleared,
        "rust-toolchain.toml's pin is what builds",
    ),
    rule(
        Exact("RUSTC"),
        Set,
        "the pinned toolchain's rustc, after checking its version",
    ),
    rule(Exact("CARGO_BUILD_RUSTC"), Cleared, "RUSTC decides"),
    rule(
        Exact("CARGO"),
        Set,
        "the pinned toolchain's cargo (cargo-zigbuild runs $CARGO)",
    ),
    rule(
        Exact("RUSTC_WRAPPER"),
        Set,
        "empty: no wrapper, whatever cargo config says",
    ),
    rule(
        Exact("CARGO_BUILD_RUSTC_WRAPPER"),
        Cleared,
        "RUSTC_WRAPPER decides",
    ),
    rule(
        Exact("RUSTC_WORKSPACE_WRAPPER"),
        Set,
        "empty: a lint wrapper (clippy-driver) is not part of a Lambda build",
    ),
    rule(
        Exact("CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER"),
        Cleared,
        "RUSTC_WORKSPACE_WRAPPER decides",
    ),
    rule(Exact("CLIPPY_ARGS"), Cleared, "read by clippy-driver only"),
    rule(
        Exact("CLIPPY_CONF_DIR"),
        Cleared,
        "read by clippy-driver only",
    ),
    rule(
        Exact("RUSTC_BOOTSTRAP"),
        Cleared,
        "unlocks unstable features that build scripts probe for",
    ),
    rule(
        Exact("__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS"),
        Cleared,
        "unlocks unstable cargo features (cargo-zigbuild sets its own)",
    ),
    rule(
        Exact("PATH"),
        Set,
        "the tools directory first; the tools it selects are version-checked",
    ),
    // Where the build happens: remapped out of the binary.
    rule(
        Exact("CARGO_TARGET_DIR"),
        Set,
        "bundle's target directory, remapped out of the binary",
    ),
    rule(
        Exact("CARGO_BUILD_TARGET_DIR"),
        Cleared,
        "CARGO_TARGET_DIR decides",
    ),
    rule(
        Exact("CARGO_BUILD_BUILD_DIR"),
        Set,
        "the target directory, so OUT_DIR is under a remapped path",
    ),
    rule(
        Exact("CARGO_TARGET_TMPDIR"),
        NoEffect,
        "set by cargo for integration tests only",
    ),
    rule(
        Exact("CARGO_HOME"),
        NoEffect,
        "its registry and git paths are remapped; its config.toml is hashed as a file",
    ),
    rule(
        Exact("CARGO_BUILD_TARGET"),
        Cleared,
        "bundle passes --target",
    ),
    // Codegen settings.
    rule(
        Exact("CARGO_INCREMENTAL"),
        Set,
        "from the build profile: 0 for lambda, 1 for fast",
    ),
    rule(
        Exact("CARGO_BUILD_INCREMENTAL"),
        Cleared,
        "CARGO_INCREMENTAL decides",
    ),
    rule(
        Exact("CARGO_ENCODED_RUSTFLAGS"),
        Extended,
        "the first of cargo's four rustflags sources",
    ),
    rule(
        Exact("RUSTFLAGS"),
        Extended,
        "cargo's second rustflags source (passed on encoded)",
    ),
    rule(
        Prefix("CARGO_BUILD_"),
        Hashed,
        "build.* config (build.rustflags among them)",
    ),
    rule(
        Exact("CARGO_BUILD_JOBS"),
        NoEffect,
        "parallelism, with codegen units fixed by the profile",
    ),
    rule(
        Prefix("CARGO_TARGET_"),
        Hashed,
        "target.<triple>.* config: rustflags, linker",
    ),
    rule(Prefix("CARGO_PROFILE_"), Hashed, "profile settings"),
    rule(Prefix("CARGO_UNSTABLE_"), Hashed, "unstable cargo features"),
    rule(
        Prefix("CARGO_SOURCE_"),
        Hashed,
        "source replacement: where the crates' code comes from",
    ),
    rule(Prefix("CARGO_RESOLVER_"), Hashed, "dependency resolution"),
    // cargo-zigbuild and zig.
    rule(
        Exact("CARGO_ZIGBUILD_PYTHON_PATH"),
        Checked,
        "selects the Python whose ziglang package is zig",
    ),
    rule(
        Exact("CARGO_ZIGBUILD_ZIG_PATH"),
        Checked,
        "selects zig when no Python has ziglang",
    ),
    rule(
        Exact("CARGO_ZIGBUILD_ZIG_COMMAND"),
        Cleared,
        "internal to cargo-zigbuild's wrappers; would bypass the checked zig",
    ),
    rule(
        Exact("CARGO_ZIGBUILD_ZIG_COMMAND_ARGS"),
        Cleared,
        "internal to cargo-zigbuild's wrappers",
    ),
    rule(
        Exact("CARGO_ZIGBUILD_RUSTC_VERSION"),
        Cleared,
        "cargo-zigbuild sets it from rustc itself",
    ),
    rule(
        Exact("CARGO_ZIGBUILD_CACHE_DIR"),
        NoEffect,
        "where cargo-zigbuild writes its wrapper scripts",
    ),
    rule(
        Exact("ZIG_LIB_DIR"),
        Hashed,
        "zig's libc headers and sources",
    ),
    rule(Exact("ZIG_GLOBAL_CACHE_DIR"), NoEffect, "a cache"),
    rule(Exact("ZIG_LOCAL_CACHE_DIR"), NoEffect, "a cache"),
    // C and C++ from build scripts (cc-rs reads every form of each).
    rule(Exact("CC"), Hashed, "C compiler"),
    rule(Prefix("CC_"), Hashed, "C compiler per target"),
    rule(Exact("CXX"), Hashed, "C++ compiler"),
    rule(Prefix("CXX_"), Hashed, "C++ compiler per target"),
    rule(Exact("AR"), Hashed, "archiver"),
    rule(Prefix("AR_"), Hashed, "archiver per target"),
    rule(Exact("RANLIB"), Hashed, "archive indexer"),
    rule(Prefix("RANLIB_"), Hashed, "archive indexer per target"),
    rule(Prefix("CFLAGS"), Hashed, "C flags, every form"),
    rule(
        ForTarget("CFLAGS"),
        Extended,
        "C flags for the target; bundle appends -ffile-prefix-map",
    ),
    rule(Prefix("CXXFLAGS"), Hashed, "C++ flags, every form"),
    rule(
        ForTarget("CXXFLAGS"),
        Extended,
        "C++ flags for the target; bundle appends -ffile-prefix-map",
    ),
    rule(Prefix("ARFLAGS"), Hashed, "archiver flags"),
    rule(Prefix("RANLIBFLAGS"), Hashed, "archive indexer flags"),
    rule(Prefix("CXXSTDLIB"), Hashed, "C++ standard library"),
    rule(
        Prefix("TARGET_"),
        Hashed,
        "cc-rs's TARGET_CC, TARGET_CFLAGS, ...",
    ),
    rule(Prefix("HOST_"), Hashed, "cc-rs's HOST_CC, HOST_CFLAGS, ..."),
    rule(Exact("CROSS_COMPILE"), Hashed, "cc-rs's compiler prefix"),
    rule(
        Exact("CRATE_CC_NO_DEFAULTS"),
        Hashed,
        "cc-rs's default flags",
    ),
    rule(
        Exact("CPATH"),
        Hashed,
        "C include path read by the compiler",
    ),
    rule(Exact("C_INCLUDE_PATH"), Hashed, "C include path"),
    rule(Exact("CPLUS_INCLUDE_PATH"), Hashed, "C++ include path"),
    rule(Exact("LIBRARY_PATH"), Hashed, "linker search path"),
    rule(Prefix("CMAKE"), Hashed, "cmake and its toolchain files"),
    rule(Prefix("BINDGEN_"), Hashed, "bindgen's clang arguments"),
    rule(Exact("LIBCLANG_PATH"), Hashed, "bindgen's clang"),
    rule(Exact("CLANG_PATH"), Hashed, "bindgen's clang"),
    // Build scripts of the handlers' dependencies.
    rule(
        Prefix("AWS_LC_SYS_"),
        Hashed,
        "aws-lc-sys: C flags, assembly, prefixing",
    ),
    rule(Prefix("AWS_LC_FIPS_SYS_"), Hashed, "aws-lc-fips-sys"),
    rule(
        Prefix("OPENSSL_"),
        Hashed,
        "aws-lc-sys and openssl-sys: a system library instead",
    ),
    rule(
        Exact("ICU4X_DATA_DIR"),
        Hashed,
        "icu data baked into the binary",
    ),
    rule(
        Prefix("RUST_LIBC_UNSTABLE_"),
        Hashed,
        "libc: time and file-offset widths",
    ),
    rule(
        Exact("MALLOC_CONF"),
        NoEffect,
        "jemalloc tuning of rustc itself",
    ),
];

impl EnvRule {
    /// Whether this rule covers `name` for a build of `target`.
    fn covers(&self, name: &str, target: &str) -> bool {
        match self.name {
            Exact(exact) => name == exact,
            Prefix(prefix) => name.starts_with(prefix),
            ForTarget(base) => name == for_target(base, target),
        }
    }

    fn precedence(&self) -> (u8, usize) {
        match self.name {
            Exact(_) => (2, 0),
            ForTarget(_) => (1, 0),
            Prefix(prefix) => (0, prefix.len()),
        }
    }
}

/// `<base>_<target with underscores>`.
pub fn for_target(base: &str, target: &str) -> String {
    format!("{base}_{}", target.replace('-', "_"))
}

/// The exact names the table marks [`Treatment::Cleared`]: `bundle` removes
/// each from cargo's environment.
pub fn cleared() -> impl Iterator<Item = &'static str> {
    BUILD_ENV
        .iter()
        .filter_map(|rule| match (rule.name, rule.treatment) {
            (Exact(name), Treatment::Cleared) => Some(name),
            _ => None,
        })
}

/// The rule for variable `name` in a build of `target`, if the table has one.
pub fn rule_for(name: &str, target: &str) -> Option<&'static EnvRule> {
    BUILD_ENV
        .iter()
        .filter(|rule| rule.covers(name, target))
        .max_by_key(|rule| rule.precedence())
}

/// A snapshot of the environment a build starts from: the process's, or a
/// test's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildEnv {
    vars: BTreeMap<OsString, OsString>,
}

impl BuildEnv {
    /// This process's environment.
    pub fn from_process() -> BuildEnv {
        BuildEnv {
            vars: std::env::vars_os().collect(),
        }
    }

    pub fn from_vars<K: Into<OsString>, V: Into<OsString>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> BuildEnv {
        BuildEnv {
            vars: vars
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) {
        self.vars.insert(name.into(), value.into());
    }

    pub fn remove(&mut self, name: &str) {
        self.vars.remove(OsStr::new(name));
    }

    pub fn vars(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(key, value)| (key.as_os_str(), value.as_os_str()))
    }

    /// The variables a build of `target` hashes (treatment [`Treatment::Hashed`]
    /// or [`Treatment::Extended`]), sorted by name, values as bytes.
    pub fn hashed(&self, target: &str) -> Vec<(&str, &[u8])> {
        self.vars
            .iter()
            .filter_map(|(name, value)| {
                let name = name.to_str()?;
                let rule = rule_for(name, target)?;
                matches!(rule.treatment, Treatment::Hashed | Treatment::Extended)
                    .then(|| (name, value.as_encoded_bytes()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "aarch64-unknown-linux-gnu";

    fn treatment(name: &str) -> Option<Treatment> {
        rule_for(name, TARGET).map(|rule| rule.treatment)
    }

    #[test]
    fn exact_names_win_over_target_forms_which_win_over_prefixes() {
        assert_eq!(treatment("CARGO_TARGET_DIR"), Some(Set));
        assert_eq!(treatment("CARGO_TARGET_TMPDIR"), Some(NoEffect));
        assert_eq!(
            treatment("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS"),
            Some(Hashed)
        );
        assert_eq!(treatment("CARGO_BUILD_JOBS"), Some(NoEffect));
        assert_eq!(treatment("CARGO_BUILD_RUSTFLAGS"), Some(Hashed));
        assert_eq!(
            treatment("CFLAGS_aarch64_unknown_linux_gnu"),
            Some(Extended)
        );
        assert_eq!(treatment("CFLAGS_x86_64_unknown_linux_gnu"), Some(Hashed));
        assert_eq!(treatment("CFLAGS"), Some(Hashed));
        assert_eq!(treatment("CMAKE_TOOLCHAIN_FILE_aarch64"), Some(Hashed));
        assert_eq!(treatment("HOME"), None);
        assert_eq!(treatment("HOSTNAME"), None, "HOST_ needs its underscore");
        assert_eq!(treatment("CARGO_TERM_COLOR"), None);
        assert_eq!(treatment("CARGO_MANIFEST_DIR"), None);
    }

    #[test]
    fn only_exact_names_are_cleared() {
        // bundle removes exact names; a cleared prefix would need it to
        // enumerate the caller's environment.
        for rule in BUILD_ENV {
            if rule.treatment == Cleared {
                assert!(matches!(rule.name, Exact(_)), "{:?}", rule.name);
            }
        }
        assert!(cleared().any(|name| name == "RUSTUP_TOOLCHAIN"));
    }

    /// docs/commands.md lists the table for users; every entry is there.
    #[test]
    fn the_commands_doc_lists_every_entry() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/commands.md");
        let docs = std::fs::read_to_string(path).unwrap();
        for rule in BUILD_ENV {
            let spellings = match rule.name {
                Exact(name) => vec![format!("`{name}`")],
                Prefix(prefix) => vec![
                    format!("`{prefix}*`"),
                    format!("`{prefix}`"),
                    format!("`{}`", prefix.trim_end_matches('_')),
                ],
                ForTarget(base) => vec![format!("`{base}_<target>`")],
            };
            assert!(
                spellings
                    .iter()
                    .any(|spelling| docs.contains(spelling.as_str())),
                "docs/commands.md does not list {:?}",
                rule.name
            );
        }
    }

    #[test]
    fn every_name_is_listed_once() {
        for (index, rule) in BUILD_ENV.iter().enumerate() {
            assert!(
                !BUILD_ENV[index + 1..]
                    .iter()
                    .any(|other| other.name == rule.name),
                "{:?} is listed twice",
                rule.name
            );
            assert!(!rule.why.is_empty(), "{:?} says why", rule.name);
        }
    }

    #[test]
    fn only_hashed_and_extended_variables_are_hashed() {
        let env = BuildEnv::from_vars([
            ("RUSTFLAGS", "-Copt-level=1"),
            ("CARGO_INCREMENTAL", "0"),
            ("RUSTC_WORKSPACE_WRAPPER", "/x/clippy-driver"),
            ("MALLOC_CONF", "thp:always"),
            ("HOME", "/root"),
            ("CC_aarch64_unknown_linux_gnu", "/usr/bin/cc"),
        ]);
        assert_eq!(
            env.hashed(TARGET),
            vec![
                ("CC_aarch64_unknown_linux_gnu", &b"/usr/bin/cc"[..]),
                ("RUSTFLAGS", &b"-Copt-level=1"[..]),
            ]
        );
    }
}
