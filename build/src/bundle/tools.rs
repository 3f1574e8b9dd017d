//! The tools a build runs, found the way they will be run and checked
//! against the versions the asset key names before anything is built.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use upstack_project::fingerprint::Fingerprinter;
use upstack_project::fingerprint::build_env::BuildEnv;
use upstack_project::fingerprint::toolchain::{
    TOOL_PINS_FILE, Toolchain, find_on_path, release_of, resolve_rust_tool, rustc_version_verbose,
};

use super::{BundleError, ToolMismatch};

pub(super) const SETUP_HINT: &str = "run `bash scripts/setup-test-tools.sh` (it installs the pinned cargo-zigbuild and zig into .venv/)";

/// What a build runs, each checked against its pin.
#[derive(Debug, Clone)]
pub struct Tools {
    pub zigbuild: PathBuf,
    /// The directory put first on `PATH`: cargo-zigbuild's, so zig (or
    /// `python3 -m ziglang`) resolves from the same virtualenv.
    pub tools_bin: Option<PathBuf>,
    pub cargo: PathBuf,
    pub rustc: PathBuf,
}

/// Finds cargo-zigbuild, zig, cargo and rustc as the build will run them and
/// refuses unless each reports the version the fingerprint names.
pub fn checked_tools(
    workspace_root: &Path,
    tools_bin: &Path,
    env: &BuildEnv,
    fingerprinter: &mut Fingerprinter<'_>,
) -> Result<Tools, BundleError> {
    let zigbuild = find_zigbuild(tools_bin, env.get("PATH"))?;
    let tools_bin = zigbuild.parent().map(Path::to_path_buf);
    let path = search_path(tools_bin.as_deref(), env);
    let pins = fingerprinter.tool_pins()?.clone();
    let pin_file = workspace_root.join(TOOL_PINS_FILE);

    let output = version_output(&zigbuild, &["--version"], &path)?;
    let found = output
        .split_whitespace()
        .nth(1)
        .unwrap_or(output.trim())
        .to_owned();
    if found != pins.cargo_zigbuild {
        return Err(BundleError::ToolVersion(Box::new(ToolMismatch {
            tool: "cargo-zigbuild",
            path: zigbuild,
            found,
            pinned: pins.cargo_zigbuild,
            pin_file,
            fix: SETUP_HINT,
        })));
    }

    let (zig, zig_version) = find_zig(env, &path)?;
    if zig_version != pins.zig_release() {
        return Err(BundleError::ToolVersion(Box::new(ToolMismatch {
            tool: "zig",
            path: zig,
            found: zig_version,
            pinned: pins.zig.clone(),
            pin_file,
            fix: SETUP_HINT,
        })));
    }

    let cargo = resolve_rust_tool(workspace_root, "cargo", env)?;
    let rustc = resolve_rust_tool(workspace_root, "rustc", env)?;
    let reported = rustc_version_verbose(&rustc, env)?;
    match fingerprinter.toolchain()? {
        Toolchain::Pinned { file, version, .. } => {
            let found = release_of(&reported).unwrap_or("an unknown release");
            if found != version {
                return Err(BundleError::ToolVersion(Box::new(ToolMismatch {
                    tool: "rustc",
                    path: rustc,
                    found: found.to_owned(),
                    pinned: version.clone(),
                    pin_file: file.clone(),
                    fix: "install the pinned toolchain (`bash scripts/setup-test-tools.sh --toolchain`) and remove any `rustup override` of this directory",
                })));
            }
        }
        Toolchain::Unpinned { rustc_version, .. } => {
            if *rustc_version != reported {
                return Err(BundleError::ToolchainMoved {
                    rustc,
                    fingerprinted: rustc_version.clone(),
                    found: reported,
                });
            }
        }
    }
    Ok(Tools {
        zigbuild,
        tools_bin,
        cargo,
        rustc,
    })
}

/// `PATH` as the build gets it: `tools_bin` first.
pub fn search_path(tools_bin: Option<&Path>, env: &BuildEnv) -> OsString {
    let mut paths: Vec<PathBuf> = tools_bin.map(Path::to_path_buf).into_iter().collect();
    if let Some(existing) = env.get("PATH") {
        paths.extend(std::env::split_paths(existing));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// `program` as a path (when it holds a `/`) or found on `path`.
fn which(program: &OsStr, path: &OsStr) -> Option<PathBuf> {
    let as_path = Path::new(program);
    if as_path.components().count() > 1 {
        return as_path.is_file().then(|| as_path.to_path_buf());
    }
    find_on_path(program.to_str()?, Some(path))
}

/// The trimmed stdout of `program args`, with `path` as its `PATH`.
fn version_output(program: &Path, args: &[&str], path: &OsStr) -> Result<String, BundleError> {
    let output = Command::new(program)
        .args(args)
        .env("PATH", path)
        .output()
        .map_err(|source| BundleError::Spawn {
            program: program.to_path_buf(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The zig cargo-zigbuild will run and its version, found as it finds it:
/// `python3 -m ziglang` (`CARGO_ZIGBUILD_PYTHON_PATH`, else `python3` on
/// `PATH`) when that reports a version, else `zig`
/// (`CARGO_ZIGBUILD_ZIG_PATH`, else `zig` on `PATH`).
fn find_zig(env: &BuildEnv, path: &OsStr) -> Result<(PathBuf, String), BundleError> {
    let is_version = |text: &str| text.chars().next().is_some_and(|c| c.is_ascii_digit());
    let python = env
        .get("CARGO_ZIGBUILD_PYTHON_PATH")
        .unwrap_or(OsStr::new("python3"));
    if let Some(python) = which(python, path) {
        let version = version_output(&python, &["-m", "ziglang", "version"], path)?;
        if is_version(&version) {
            return Ok((python, version));
        }
    }
    let zig = env
        .get("CARGO_ZIGBUILD_ZIG_PATH")
        .unwrap_or(OsStr::new("zig"));
    if let Some(zig) = which(zig, path) {
        let version = version_output(&zig, &["version"], path)?;
        if is_version(&version) {
            return Ok((zig, version));
        }
    }
    Err(BundleError::ZigNotFound)
}

/// `cargo-zigbuild` from the repo's virtualenv, else from `PATH`.
pub fn find_zigbuild(tools_bin: &Path, path_var: Option<&OsStr>) -> Result<PathBuf, BundleError> {
    let in_tools = tools_bin.join("cargo-zigbuild");
    if in_tools.is_file() {
        if !zig_available_in(tools_bin) {
            return Err(BundleError::ZigMissing { zigbuild: in_tools });
        }
        return Ok(in_tools);
    }
    match find_on_path("cargo-zigbuild", path_var) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_zigbuild_says_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let empty_path = OsString::from(dir.path().join("empty"));
        let error = find_zigbuild(&dir.path().join("bin"), Some(&empty_path)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("cargo-zigbuild not found"), "{message}");
        assert!(message.contains("scripts/setup-test-tools.sh"), "{message}");
    }

    /// A script standing in for a tool: prints `output` for any arguments.
    fn fake_tool(dir: &Path, name: &str, output: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        fs::write(&path, format!("#!/bin/sh\necho '{output}'\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn zig_is_found_as_cargo_zigbuild_finds_it() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path();
        let path = OsString::from(bin);
        // No python3 with ziglang: `zig` on PATH.
        fake_tool(bin, "python3", "");
        let zig = fake_tool(bin, "zig", "0.16.0");
        assert_eq!(
            find_zig(&BuildEnv::default(), &path).unwrap(),
            (zig, "0.16.0".to_owned())
        );
        // A python whose ziglang answers comes first.
        let python = fake_tool(bin, "python3", "0.17.1");
        assert_eq!(
            find_zig(&BuildEnv::default(), &path).unwrap(),
            (python, "0.17.1".to_owned())
        );
        // CARGO_ZIGBUILD_PYTHON_PATH names another one.
        let other = fake_tool(bin, "other-python", "0.15.2");
        let env = BuildEnv::from_vars([("CARGO_ZIGBUILD_PYTHON_PATH", other.as_os_str())]);
        assert_eq!(find_zig(&env, &path).unwrap(), (other, "0.15.2".to_owned()));
    }
}
