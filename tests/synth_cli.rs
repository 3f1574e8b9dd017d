//! `upstack synth` end to end: output files, `--check` (exit 3 naming the
//! stale files), byte-identical reruns, and a failing synth writing nothing.
//!
//! Each test runs the CLI against a scratch workspace: symlinks to this
//! repository's crates (so handler fingerprints are real) plus its own
//! `envs/` and `synth-out/`, so the committed output is never touched.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn scratch_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(REPO).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["envs", "synth-out", "target", ".git", ".venv"].contains(&name.to_str().unwrap()) {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), dir.path().join(&name)).unwrap();
    }
    fs::create_dir(dir.path().join("envs")).unwrap();
    for env in ["dev", "prod"] {
        fs::copy(
            Path::new(REPO).join(format!("envs/{env}.toml")),
            dir.path().join(format!("envs/{env}.toml")),
        )
        .unwrap();
    }
    dir
}

fn synth(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_upstack"))
        .arg("synth")
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn out_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for env in ["dev", "prod"] {
        for file in ["template.json", "manifest.json"] {
            files.push(root.join("synth-out").join(env).join(file));
        }
    }
    files
}

#[test]
fn synth_writes_every_env_and_reruns_are_byte_identical() {
    let workspace = scratch_workspace();
    let root = workspace.path();
    let first = synth(root, &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before: Vec<Vec<u8>> = out_files(root)
        .iter()
        .map(|path| fs::read(path).unwrap())
        .collect();
    let second = synth(root, &[]);
    assert!(second.status.success());
    let after: Vec<Vec<u8>> = out_files(root)
        .iter()
        .map(|path| fs::read(path).unwrap())
        .collect();
    assert!(before == after, "a second synth changed the output");
    assert_eq!(
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&second.stdout)
    );
}

#[test]
fn check_exits_3_and_names_stale_files() {
    let workspace = scratch_workspace();
    let root = workspace.path();
    assert!(synth(root, &[]).status.success());
    let fresh = synth(root, &["--check"]);
    assert_eq!(fresh.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&fresh.stdout),
        "synth-out/ is up to date (2 env(s))\n"
    );

    fs::write(root.join("synth-out/prod/manifest.json"), "{}\n").unwrap();
    fs::remove_file(root.join("synth-out/dev/template.json")).unwrap();
    let stale = synth(root, &["--check"]);
    assert_eq!(stale.status.code(), Some(3));
    insta::assert_snapshot!("synth_check_stale", String::from_utf8_lossy(&stale.stderr));
    // --check writes nothing.
    assert!(!root.join("synth-out/dev/template.json").exists());

    fs::create_dir_all(root.join("synth-out/retired")).unwrap();
    let orphan = synth(root, &["--check"]);
    assert_eq!(orphan.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&orphan.stderr).contains("  synth-out/retired\n"));

    let only_dev = synth(root, &["--check", "--env", "prod"]);
    assert_eq!(only_dev.status.code(), Some(3));
    assert!(!String::from_utf8_lossy(&only_dev.stderr).contains("dev/"));
}

#[test]
fn a_failing_env_leaves_synth_out_as_it_was() {
    let workspace = scratch_workspace();
    let root = workspace.path();
    assert!(synth(root, &[]).status.success());
    let before: Vec<Vec<u8>> = out_files(root)
        .iter()
        .map(|path| fs::read(path).unwrap())
        .collect();
    // dev changes (would be rewritten), prod is broken: nothing may be written.
    let dev = fs::read_to_string(root.join("envs/dev.toml")).unwrap();
    fs::write(
        root.join("envs/dev.toml"),
        dev.replace("memory_mb = 512", "memory_mb = 1024"),
    )
    .unwrap();
    let prod = fs::read_to_string(root.join("envs/prod.toml")).unwrap();
    fs::write(
        root.join("envs/prod.toml"),
        prod.replace("region = \"eu-west-1\"", "region = \"eu-west\""),
    )
    .unwrap();
    let failed = synth(root, &[]);
    assert_eq!(failed.status.code(), Some(1));
    insta::assert_snapshot!("synth_bad_env", String::from_utf8_lossy(&failed.stderr));
    let after: Vec<Vec<u8>> = out_files(root)
        .iter()
        .map(|path| fs::read(path).unwrap())
        .collect();
    assert!(before == after, "a failed synth changed synth-out/");
}

#[test]
fn a_new_env_file_is_synthesized_and_an_unknown_env_is_an_error() {
    let workspace = scratch_workspace();
    let root = workspace.path();
    let dev = fs::read_to_string(root.join("envs/dev.toml")).unwrap();
    fs::write(
        root.join("envs/staging.toml"),
        dev.replace("upstack-dev", "upstack-staging"),
    )
    .unwrap();
    let run = synth(root, &["--env", "staging"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(root.join("synth-out/staging/template.json").is_file());
    assert!(!root.join("synth-out/dev").exists());

    let unknown = synth(root, &["--env", "qa"]);
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("unknown env `qa`") && stderr.contains("known: dev, prod, staging"),
        "{stderr}"
    );
}
