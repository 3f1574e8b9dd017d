//! A copy of this workspace that builds into the same target directory,
//! sharing the original's artifacts exactly where they are the same build.
//!
//! Cargo names a workspace crate's artifacts by its path relative to the
//! workspace root, so a copy's crate and the original's write the same
//! files. For a crate whose sources the copy keeps as they are, that is
//! sharing: the copy holds the original's bytes with the original's
//! modification times, so either build finds the other's artifact fresh,
//! and it is the right one (a copy is made from the working tree as it is
//! now). A crate the caller will change in the copy must not share: its
//! artifacts would replace the original's, and the fingerprint left would
//! name the other's sources. A profile setting of its own makes that
//! crate's artifacts the copy's alone, and, since cargo mixes each
//! dependency's identity into a crate's, its dependents' too. So a copy
//! rebuilds only what the change reaches.
//!
//! Where the sharing ends:
//! - a crate whose code holds its own path (`env!("CARGO_MANIFEST_DIR")`,
//!   which cargo does not track) would, built in the copy, point the
//!   original's build into the copy: those ([`EMBED_THEIR_PATH`]) are always
//!   built apart;
//! - the settings are for the dev profile: a copy that builds a changed
//!   package with another profile (`lambda`, `release`) into the shared
//!   target directory would replace the original's artifacts, so it must
//!   use a target directory of its own;
//! - a crate edited in the original after the copy was made, and built by
//!   the copy after that edit, leaves an artifact of the older sources that
//!   the original's build takes as fresh: do not edit the workspace while a
//!   test that builds in a copy runs.

use std::path::{Path, PathBuf};

/// The codegen units a changed member of a copy is built with: not the dev
/// profile's (256), so its artifacts are the copy's own.
pub const COPY_CODEGEN_UNITS: u32 = 255;

/// Library crates whose code embeds their own path: built apart in every
/// copy, whatever it changes.
pub const EMBED_THEIR_PATH: [&str; 2] = ["upstack-test-support", "upstack-codegen"];

/// The tracked files of the workspace at `repo`, copied into `dir` (made
/// fresh). Each package named in `changed` (those the caller will edit in
/// the copy) is built apart from the original, and with it every crate
/// that depends on it; every other crate shares the original's artifacts.
pub fn copy_workspace(repo: &Path, dir: &Path, changed: &[&str]) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    }
    let mut manifests = Vec::new();
    for relative in tracked_files(repo) {
        let from = repo.join(&relative);
        let to = dir.join(&relative);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|error| panic!("{}: {error}", parent.display()));
        }
        std::fs::copy(&from, &to).unwrap_or_else(|error| panic!("{}: {error}", from.display()));
        // The original's modification time: a copy made again at the same
        // path builds warm, its unchanged sources seen as unchanged.
        let modified = std::fs::metadata(&from)
            .and_then(|metadata| metadata.modified())
            .unwrap_or_else(|error| panic!("{}: {error}", from.display()));
        std::fs::File::options()
            .write(true)
            .open(&to)
            .and_then(|file| file.set_modified(modified))
            .unwrap_or_else(|error| panic!("{}: {error}", to.display()));
        if relative
            .file_name()
            .is_some_and(|name| name == "Cargo.toml")
            && !relative.starts_with("build/tests/fixtures")
        {
            manifests.push(to);
        }
    }
    let names: Vec<String> = manifests
        .iter()
        .filter_map(|manifest| package_name(manifest))
        .collect();
    for name in changed.iter().chain(&EMBED_THEIR_PATH) {
        assert!(
            names.iter().any(|known| known == name),
            "{name} is not a package of the workspace at {}",
            repo.display()
        );
    }
    let mut overrides = String::from(
        "\n# The packages this copy changes (and those that embed their path), built apart from the original workspace's artifacts.\n",
    );
    for name in changed.iter().chain(&EMBED_THEIR_PATH) {
        overrides.push_str(&format!(
            "[profile.dev.package.{name}]\ncodegen-units = {COPY_CODEGEN_UNITS}\n"
        ));
    }
    let root = dir.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&root)
        .unwrap_or_else(|error| panic!("{}: {error}", root.display()));
    text.push_str(&overrides);
    std::fs::write(&root, text).unwrap_or_else(|error| panic!("{}: {error}", root.display()));
}

/// The files git tracks in `repo` (relative paths) that a clone would
/// build from: neither deleted but not yet staged, nor symlinks.
pub fn tracked_files(repo: &Path) -> Vec<PathBuf> {
    let listed = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo)
        .output()
        .unwrap_or_else(|error| panic!("git ls-files: {error}"));
    assert!(
        listed.status.success(),
        "git ls-files failed in {}",
        repo.display()
    );
    listed
        .stdout
        .split(|byte| *byte == 0)
        .filter(|path| !path.is_empty())
        .map(|path| PathBuf::from(String::from_utf8_lossy(path).into_owned()))
        .filter(|relative| {
            let from = repo.join(relative);
            from.is_file() && !from.is_symlink()
        })
        .collect()
}

/// `name` of a manifest's `[package]`, if it has one.
fn package_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let package = &text[text.find("[package]")?..];
    package
        .lines()
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .find_map(|line| {
            let value = line.trim().strip_prefix("name")?.trim().strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_owned())
        })
}
