//! A copy of this workspace that builds into the same target directory
//! without sharing its own crates' artifacts with the original.
//!
//! Cargo names a workspace crate's artifacts by its path relative to the
//! workspace root, so a copy's crates and the original's would write the
//! same files, and the fingerprint one build leaves names the other's
//! sources: a change made in the original after a copy's build could be
//! taken as already built. A profile setting of each member's own makes its
//! artifacts (and its dependents') the copy's alone; registry dependencies,
//! which are the same bytes either way, stay shared, so the copy builds warm.
//! The root manifest is the one file whose time changes (it gains the
//! settings), so the copy's crates build once per copy of the workspace.

use std::path::{Path, PathBuf};

/// The codegen units every member of a copy is built with: not the dev
/// profile's (256), so every member's artifacts are the copy's own.
pub const COPY_CODEGEN_UNITS: u32 = 255;

/// The tracked files of the workspace at `repo`, copied into `dir` (made
/// fresh), with the root manifest told to build each member apart.
pub fn copy_workspace_apart(repo: &Path, dir: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    }
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
    let mut manifests = Vec::new();
    for path in listed.stdout.split(|byte| *byte == 0) {
        if path.is_empty() {
            continue;
        }
        let relative = PathBuf::from(String::from_utf8_lossy(path).into_owned());
        let from = repo.join(&relative);
        // Deleted but not yet staged, or a tracked symlink: not part of a clone's build.
        if !from.is_file() || from.is_symlink() {
            continue;
        }
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
    let mut overrides =
        String::from("\n# A copy built apart from the original workspace's artifacts.\n");
    for manifest in &manifests {
        if let Some(name) = package_name(manifest) {
            overrides.push_str(&format!(
                "[profile.dev.package.{name}]\ncodegen-units = {COPY_CODEGEN_UNITS}\n"
            ));
        }
    }
    let root = dir.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&root)
        .unwrap_or_else(|error| panic!("{}: {error}", root.display()));
    text.push_str(&overrides);
    std::fs::write(&root, text).unwrap_or_else(|error| panic!("{}: {error}", root.display()));
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
