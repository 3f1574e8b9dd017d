//! The pure half of synth (render, manifest, summary, staleness) and env discovery.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use upstack_project::synth;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn assets() -> BTreeMap<String, String> {
    upstack_stack::pipeline::handlers()
        .iter()
        .map(|h| {
            (
                (*h).to_owned(),
                format!("assets/{h}-arm64-0123456789abcdef.zip"),
            )
        })
        .collect()
}

fn rendered(env: &str) -> synth::SynthOutput {
    let text = fs::read_to_string(Path::new(REPO).join(format!("envs/{env}.toml"))).unwrap();
    let config = upstack_stack::config::parse(&format!("envs/{env}.toml"), &text).unwrap();
    synth::render(env, config, &assets()).unwrap()
}

#[test]
fn manifest_lists_stack_and_functions() {
    let output = rendered("prod");
    // The template hash changes with every template edit; pin the rest. The
    // file's own text is pinned, not a `serde_json::Value` re-serialized:
    // how a `Value` prints numbers depends on features other crates of the
    // build turn on (AWS's validator enables `arbitrary_precision`).
    let sha = &output.manifest.template_sha256;
    assert_eq!(sha.len(), 64);
    let manifest = output
        .manifest_json
        .replace(sha.as_str(), "<sha256 of template.json>");
    insta::assert_snapshot!("prod_manifest", manifest);
}

#[test]
fn manifest_hash_is_the_template_bytes_hash() {
    use sha2::Digest;
    let output = rendered("dev");
    assert_eq!(
        output.manifest.template_sha256,
        hex::encode(sha2::Sha256::digest(output.template_json.as_bytes()))
    );
}

#[test]
fn summary_text() {
    let outputs = vec![rendered("dev"), rendered("prod")];
    let summary = synth::render_summary(&outputs, "synth-out");
    // Hashes and sizes move with template edits; the shape is what is pinned.
    let masked: Vec<String> = summary
        .lines()
        .map(|line| match line.find(" resources, ") {
            Some(at) => format!(
                "{}, <bytes> bytes, sha256 <hash>)",
                &line[..at + " resources".len()]
            ),
            None => line.to_owned(),
        })
        .collect();
    insta::assert_snapshot!("summary", masked.join("\n"));
}

#[test]
fn envs_are_discovered_from_the_envs_directory() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("envs")).unwrap();
    for name in ["prod.toml", "dev.toml", "staging.toml", "README.md"] {
        fs::write(root.path().join("envs").join(name), "").unwrap();
    }
    assert_eq!(
        synth::list_envs(root.path()).unwrap(),
        vec!["dev", "prod", "staging"]
    );
    fs::write(root.path().join("envs/Bad_Name.toml"), "").unwrap();
    let error = synth::list_envs(root.path()).unwrap_err().to_string();
    assert!(
        error.starts_with("envs/Bad_Name.toml: env name `Bad_Name` must be"),
        "{error}"
    );
}

#[test]
fn load_env_reports_config_errors_with_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("envs")).unwrap();
    let dev = fs::read_to_string(Path::new(REPO).join("envs/dev.toml")).unwrap();
    fs::write(
        root.path().join("envs/dev.toml"),
        dev.replace("architecture = \"arm64\"", "architecture = \"sparc\""),
    )
    .unwrap();
    let error = synth::load_env(root.path(), "dev").unwrap_err().to_string();
    let line = dev
        .lines()
        .position(|l| l.starts_with("architecture"))
        .unwrap()
        + 1;
    assert_eq!(
        error,
        format!(
            "envs/dev.toml:{line}: key `architecture`: `sparc` is not a Lambda architecture; use `x86_64` or `arm64`"
        )
    );
    let missing = synth::load_env(root.path(), "qa").unwrap_err().to_string();
    assert!(
        missing.starts_with("unknown env `qa`: there is no "),
        "{missing}"
    );
    assert!(missing.ends_with("(known: dev)"), "{missing}");
}

#[test]
fn stale_files_are_the_missing_and_different_ones() {
    let out = tempfile::tempdir().unwrap();
    let outputs = vec![rendered("dev")];
    assert_eq!(synth::stale_files(out.path(), &outputs).len(), 2);
    synth::write_outputs(out.path(), &outputs).unwrap();
    assert!(synth::stale_files(out.path(), &outputs).is_empty());
    fs::write(out.path().join("dev/manifest.json"), "{}").unwrap();
    assert_eq!(
        synth::stale_files(out.path(), &outputs),
        vec![out.path().join("dev/manifest.json")]
    );
}

#[test]
fn output_dirs_without_an_env_file_are_orphans() {
    let out = tempfile::tempdir().unwrap();
    for dir in ["dev", "prod", "old"] {
        fs::create_dir(out.path().join(dir)).unwrap();
    }
    fs::write(out.path().join("README"), "").unwrap();
    let envs = vec!["dev".to_owned(), "prod".to_owned()];
    assert_eq!(
        synth::orphan_outputs(out.path(), &envs),
        vec![out.path().join("old")]
    );
    assert!(synth::orphan_outputs(&out.path().join("missing"), &envs).is_empty());
}
