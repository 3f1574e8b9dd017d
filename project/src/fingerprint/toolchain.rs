//! The compilers a handler build runs: rustc (pinned by
//! `rust-toolchain.toml`), and zig and cargo-zigbuild (pinned by
//! `scripts/requirements-test.lock`, which `scripts/setup-test-tools.sh`
//! installs from).
//!
//! Synth reads the pins from those files without starting any process
//! (synth must stay fast). Only when `rust-toolchain.toml` names no exact
//! version (`stable`, a date-less `nightly`, or no file at all) is
//! `rustc -vV` run, because only the compiler then knows what it is.
//! `bundle` checks, before building, that the tools it runs report the
//! pinned versions: otherwise the asset key would name a build that did
//! not happen.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::FingerprintError;
use super::build_env::BuildEnv;

/// Where the zig and cargo-zigbuild versions are pinned, relative to the
/// workspace root.
pub const TOOL_PINS_FILE: &str = "scripts/requirements-test.lock";

/// The rustc a build uses, as far as the fingerprint knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toolchain {
    /// `rust-toolchain.toml` (or `rust-toolchain`) pins an exact release:
    /// its text is hashed, and `bundle` checks rustc reports `version`.
    Pinned {
        file: PathBuf,
        text: String,
        version: String,
    },
    /// No exact pin: what `rustc -vV` reported (hashed whole; `bundle`
    /// checks the rustc it runs reports the same).
    Unpinned {
        /// The toolchain file, if any, with a channel that is not a release.
        file: Option<(PathBuf, String)>,
        rustc_version: String,
    },
}

impl Toolchain {
    /// Reads the pin, or runs `rustc -vV` when there is no exact one.
    pub fn detect(workspace_root: &Path, env: &BuildEnv) -> Result<Toolchain, FingerprintError> {
        let file = find_toolchain_file(workspace_root)?;
        if let Some((path, text)) = &file
            && let Some(version) = exact_channel(path, text)
        {
            return Ok(Toolchain::Pinned {
                file: path.clone(),
                text: text.clone(),
                version,
            });
        }
        let rustc = resolve_rust_tool(workspace_root, "rustc", env)?;
        let rustc_version = rustc_version_verbose(&rustc, env)?;
        Ok(Toolchain::Unpinned {
            file,
            rustc_version,
        })
    }
}

/// The toolchain file rustup would use for a command run in
/// `workspace_root`: the nearest `rust-toolchain` or `rust-toolchain.toml`
/// in it or its ancestors (rustup prefers `rust-toolchain` when a directory
/// has both).
pub fn find_toolchain_file(
    workspace_root: &Path,
) -> Result<Option<(PathBuf, String)>, FingerprintError> {
    let start =
        std::fs::canonicalize(workspace_root).unwrap_or_else(|_| workspace_root.to_path_buf());
    for dir in start.ancestors() {
        for name in ["rust-toolchain", "rust-toolchain.toml"] {
            let path = dir.join(name);
            if path.is_file() {
                let text = super::read_string(&path)?;
                return Ok(Some((path, text)));
            }
        }
    }
    Ok(None)
}

/// The release a toolchain file pins (`channel = "1.96.0"`, or a legacy
/// `rust-toolchain` holding just `1.96.0`); `None` for a channel that moves
/// (`stable`, `nightly`, `1.96`) or a custom `path`.
pub fn exact_channel(path: &Path, text: &str) -> Option<String> {
    let channel = match toml::from_str::<toml::Value>(text) {
        Ok(value) => {
            let toolchain = value.get("toolchain")?;
            if toolchain.get("path").is_some() {
                return None;
            }
            toolchain.get("channel")?.as_str()?.to_owned()
        }
        // The legacy one-line form of `rust-toolchain`.
        Err(_)
            if path
                .file_name()
                .is_some_and(|name| name == "rust-toolchain") =>
        {
            text.trim().to_owned()
        }
        Err(_) => return None,
    };
    let parts: Vec<&str> = channel.split('.').collect();
    (parts.len() == 3
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit())))
    .then_some(channel)
}

/// The zig and cargo-zigbuild versions the project installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPins {
    /// `ziglang==` (the Python package that ships zig).
    pub zig: String,
    pub cargo_zigbuild: String,
}

impl ToolPins {
    /// Reads [`TOOL_PINS_FILE`]; both pins must be there.
    pub fn read(workspace_root: &Path) -> Result<ToolPins, FingerprintError> {
        let path = workspace_root.join(TOOL_PINS_FILE);
        let text = super::read_string(&path)?;
        let pin = |package: &'static str| {
            pinned_version(&text, package).ok_or_else(|| FingerprintError::UnpinnedTool {
                path: path.clone(),
                package,
            })
        };
        Ok(ToolPins {
            zig: pin("ziglang")?,
            cargo_zigbuild: pin("cargo-zigbuild")?,
        })
    }

    /// The zig release `ziglang==` ships: the Python package's post
    /// releases (`0.13.0.post1`) repackage the same zig.
    pub fn zig_release(&self) -> &str {
        match self.zig.split_once(".post") {
            Some((release, _)) => release,
            None => &self.zig,
        }
    }
}

/// `<package>==<version>` in a pip requirements file, with pip's name
/// normalization (case, `-`, `_` and `.` alike).
fn pinned_version(text: &str, package: &str) -> Option<String> {
    let normalize = |name: &str| name.to_ascii_lowercase().replace(['_', '.'], "-");
    let wanted = normalize(package);
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter_map(|line| line.split_once("=="))
        .find(|(name, _)| normalize(name.trim()) == wanted)
        .map(|(_, version)| {
            version
                .split(|c: char| c == ';' || c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_owned()
        })
}

/// The `rustc` or `cargo` a build started in `workspace_root` runs: what
/// rustup resolves there (the toolchain file, `RUSTUP_TOOLCHAIN` ignored
/// since `bundle` clears it), else the one on `PATH` when there is no rustup.
pub fn resolve_rust_tool(
    workspace_root: &Path,
    tool: &str,
    env: &BuildEnv,
) -> Result<PathBuf, FingerprintError> {
    let mut rustup = Command::new("rustup");
    rustup
        .args(["which", tool])
        .current_dir(workspace_root)
        .env_remove("RUSTUP_TOOLCHAIN");
    if let Some(path) = env.get("PATH") {
        rustup.env("PATH", path);
    }
    match rustup.output() {
        Ok(output) if output.status.success() => {
            let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            Ok(PathBuf::from(path))
        }
        Ok(output) => Err(FingerprintError::Tool {
            command: format!("rustup which {tool}"),
            message: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stderr).trim(),
                "; install the toolchain rust-toolchain.toml pins (`bash scripts/setup-test-tools.sh --toolchain`)"
            ),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            find_on_path(tool, env.get("PATH")).ok_or_else(|| FingerprintError::Tool {
                command: tool.to_owned(),
                message: "neither rustup nor it is on PATH".to_owned(),
            })
        }
        Err(error) => Err(FingerprintError::Tool {
            command: format!("rustup which {tool}"),
            message: error.to_string(),
        }),
    }
}

/// `<dir>/<program>` for the first `PATH` directory that has it.
pub fn find_on_path(program: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `rustc -vV`'s output (release, commit, host, LLVM version).
pub fn rustc_version_verbose(rustc: &Path, env: &BuildEnv) -> Result<String, FingerprintError> {
    let mut command = Command::new(rustc);
    command.arg("-vV").env_remove("RUSTUP_TOOLCHAIN");
    if let Some(path) = env.get("PATH") {
        command.env("PATH", path);
    }
    let output = command.output().map_err(|error| FingerprintError::Tool {
        command: format!("{} -vV", rustc.display()),
        message: error.to_string(),
    })?;
    if !output.status.success() {
        return Err(FingerprintError::Tool {
            command: format!("{} -vV", rustc.display()),
            message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The `release:` line of `rustc -vV`.
pub fn release_of(rustc_version: &str) -> Option<&str> {
    rustc_version
        .lines()
        .find_map(|line| line.strip_prefix("release: "))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_exact_release_is_a_pin() {
        let toml = Path::new("/w/rust-toolchain.toml");
        let pin = |channel: &str| {
            exact_channel(
                toml,
                &format!("[toolchain]\nchannel = \"{channel}\"\nprofile = \"minimal\"\n"),
            )
        };
        assert_eq!(pin("1.96.0").as_deref(), Some("1.96.0"));
        for moving in [
            "stable",
            "beta",
            "nightly",
            "1.96",
            "nightly-2026-01-01",
            "1.96.0-beta.1",
        ] {
            assert_eq!(pin(moving), None, "{moving}");
        }
        assert_eq!(
            exact_channel(toml, "[toolchain]\npath = \"/opt/rust\"\n"),
            None
        );
        let legacy = Path::new("/w/rust-toolchain");
        assert_eq!(exact_channel(legacy, "1.95.0\n").as_deref(), Some("1.95.0"));
        assert_eq!(exact_channel(legacy, "stable\n"), None);
    }

    #[test]
    fn tool_pins_are_read_with_pips_name_rules() {
        let text = "# generated\nboto3==1.0\nZiglang==0.17.1\ncargo_zigbuild==0.24.0 ; python_version > \"3\"\n";
        assert_eq!(pinned_version(text, "ziglang").as_deref(), Some("0.17.1"));
        assert_eq!(
            pinned_version(text, "cargo-zigbuild").as_deref(),
            Some("0.24.0")
        );
        assert_eq!(pinned_version(text, "moto"), None);
        let pins = ToolPins {
            zig: "0.13.0.post1".into(),
            cargo_zigbuild: "0.24.0".into(),
        };
        assert_eq!(pins.zig_release(), "0.13.0");
    }

    #[test]
    fn a_missing_pin_names_the_file_and_the_package() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
        std::fs::write(dir.path().join(TOOL_PINS_FILE), "ziglang==0.17.1\n").unwrap();
        let error = ToolPins::read(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("scripts/requirements-test.lock")
                && error.contains("`cargo-zigbuild==<version>`"),
            "{error}"
        );
    }

    #[test]
    fn the_release_line_of_rustc_vv() {
        let output = "rustc 1.96.0 (ac68faa20 2026-05-25)\nbinary: rustc\nrelease: 1.96.0\nLLVM version: 21.1.0\n";
        assert_eq!(release_of(output), Some("1.96.0"));
        assert_eq!(release_of("garbage"), None);
    }
}
