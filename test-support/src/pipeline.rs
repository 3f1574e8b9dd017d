//! The real dev stack for deploy tests and benches: the template `upstack
//! synth` renders from envs/dev.toml, with fake asset keys, and small valid
//! zips to upload as the handlers' assets (moto's Lambda only stores the
//! code, so cross-compiled handlers are not needed).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::repo_root;

/// The real dev template, as `upstack synth` renders it, with the functions'
/// default memory set to `memory_mb` (a config change) and fake asset keys
/// ([`asset_key`]).
pub fn pipeline_template(memory_mb: u32) -> String {
    pipeline_plan(memory_mb).template_json
}

/// [`pipeline_template`] with its manifest: the whole dev stack plan.
pub fn pipeline_plan(memory_mb: u32) -> upstack_project::synth::SynthOutput {
    let path = repo_root().join("envs/dev.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let defaults = "[functions.defaults]\nmemory_mb = 256\n";
    assert!(
        text.contains(defaults),
        "envs/dev.toml no longer has {defaults:?}"
    );
    let text = text.replacen(
        defaults,
        &format!("[functions.defaults]\nmemory_mb = {memory_mb}\n"),
        1,
    );
    let config = upstack_stack::config::parse("envs/dev.toml", &text)
        .unwrap_or_else(|error| panic!("envs/dev.toml: {error}"));
    let assets = ["notify", "ingest", "photo-check"]
        .into_iter()
        .map(|handler| (handler.to_owned(), asset_key(handler)))
        .collect();
    upstack_project::synth::render("dev", config, &assets)
        .unwrap_or_else(|error| panic!("rendering the dev template: {error}"))
}

/// The fake S3 key of `handler`'s asset in [`pipeline_template`].
pub fn asset_key(handler: &str) -> String {
    format!("assets/{handler}-arm64-0123456789abcdef.zip")
}

/// `dir/<name>.zip`: a valid zip holding a `bootstrap` shell script.
pub fn fake_zip(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.zip"));
    let file =
        std::fs::File::create(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut writer = zip::ZipWriter::new(file);
    writer
        .start_file("bootstrap", zip::write::SimpleFileOptions::default())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    writer
        .write_all(format!("#!/bin/sh\necho {name}\n").as_bytes())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    writer
        .finish()
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    path
}

/// What `upstack bundle --env <env>` leaves in `root`'s target directory for
/// `deploy --no-build`, with stand-in zips ([`fake_zip`]): each function's
/// `bootstrap.zip` and its `asset.json` record, for the key synth computed
/// (read from `synth-out/<env>/manifest.json`). A cross-compiled handler
/// takes minutes; moto's Lambda only stores the code.
pub fn stand_in_bundle(root: &Path, env: &str) {
    use sha2::{Digest, Sha256};
    let manifest = upstack_project::manifest::load(root, env)
        .unwrap_or_else(|error| panic!("synth-out/{env}/manifest.json: {error}"));
    for function in &manifest.functions {
        let handler = &function.handler;
        let arch = function.architecture.lambda_name();
        let profile = function.build_profile;
        let dir = root
            .join("target")
            .join(profile.cargo_profile())
            .join(format!("{handler}-{arch}"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
        let zip = fake_zip(&dir, "bootstrap");
        let bytes =
            std::fs::read(&zip).unwrap_or_else(|error| panic!("{}: {error}", zip.display()));
        let sha256: String = Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let fingerprint = function
            .asset_key
            .trim_start_matches(&format!("assets/{handler}-{arch}-"))
            .trim_end_matches(".zip");
        let record = serde_json::json!({
            "handler": handler,
            "architecture": arch,
            "profile": profile.config_name(),
            "fingerprint": fingerprint,
            "asset_key": function.asset_key,
            "zip_sha256": sha256,
            "zip_size": bytes.len(),
            "binary_sha256": "0".repeat(64),
            "binary_size": 1,
            "max_glibc": "2.34",
        });
        let path = dir.join("asset.json");
        std::fs::write(&path, record.to_string())
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    }
}
