//! Generates the `upstack-cfn-resources` crate (cfn-resources/src) from the
//! CloudFormation registry schemas vendored in `schemas/`.
//!
//! The output is byte-for-byte deterministic: inputs are read in sorted
//! order, every map is a `BTreeMap`, nothing depends on time or paths, and
//! every file goes through the pinned `rustfmt`, so `cargo fmt --check`
//! passes on what is committed.

pub mod docs;
pub mod facts;
pub mod fixups;
pub mod model;
pub mod naming;
pub mod permissions;
pub mod render;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::model::ResourceModel;

/// The repository root (this crate lives in `<root>/codegen`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Type names listed in `schemas/types.txt` (comments and blanks skipped).
pub fn read_types(schemas_dir: &Path) -> Result<Vec<String>> {
    let path = schemas_dir.join("types.txt");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut types: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    types.sort();
    if let Some(pair) = types.windows(2).find(|pair| pair[0] == pair[1]) {
        bail!("{} lists {} twice", path.display(), pair[0]);
    }
    Ok(types)
}

/// Every property of every type on which the registry schema and the
/// documented update behaviour disagree, for the test that lists them.
pub fn replacement_disagreements(root: &Path) -> Result<Vec<(String, facts::PropertyBehaviour)>> {
    let schemas_dir = root.join("schemas");
    let types = read_types(&schemas_dir)?;
    let facts = facts::Facts::read(&schemas_dir, &types)?;
    let mut out = Vec::new();
    for type_name in types {
        let path = schemas_dir.join(schema_file_name(&type_name));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let schema: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        for behaviour in facts.behaviours(&type_name, &schema)? {
            if behaviour.registry != behaviour.documented {
                out.push((type_name.clone(), behaviour));
            }
        }
    }
    Ok(out)
}

/// `AWS::S3::Bucket` -> `aws-s3-bucket.json` (what scripts/refresh-schemas.sh writes).
pub fn schema_file_name(type_name: &str) -> String {
    format!("{}.json", type_name.to_lowercase().replace("::", "-"))
}

/// Every generated file, keyed by its path relative to `cfn-resources/src`,
/// already formatted.
pub fn generate(root: &Path) -> Result<BTreeMap<PathBuf, String>> {
    let schemas_dir = root.join("schemas");
    let mut models = Vec::new();
    let types = read_types(&schemas_dir)?;
    let facts = facts::Facts::read(&schemas_dir, &types)?;
    let permissions = permissions::generate(&schemas_dir, &types)?;
    for type_name in types {
        let file = schema_file_name(&type_name);
        let path = schemas_dir.join(&file);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (run scripts/refresh-schemas.sh after editing types.txt)",
                path.display()
            )
        })?;
        let mut schema: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let declared = schema.get("typeName").and_then(serde_json::Value::as_str);
        if declared != Some(type_name.as_str()) {
            bail!(
                "{} declares typeName {declared:?}, expected {type_name}",
                path.display()
            );
        }
        fixups::apply(&type_name, &mut schema)?;
        let mut model = model::build(&type_name, &file, &schema)
            .with_context(|| format!("generating {type_name}"))?;
        let (create_only, conditional) =
            facts::merged_lists(&facts.behaviours(&type_name, &schema)?);
        model.create_only = create_only;
        model.conditional_create_only = conditional;
        model.stateful = facts.stateful(&type_name);
        model.name_property = facts.name_property(&type_name, &schema)?;
        models.push(model);
    }
    let mut by_service: BTreeMap<String, Vec<&ResourceModel>> = BTreeMap::new();
    for model in &models {
        by_service
            .entry(model.service_module.clone())
            .or_default()
            .push(model);
    }
    let mut files = BTreeMap::new();
    for (service, models) in &mut by_service {
        models.sort_by(|a, b| a.resource_module.cmp(&b.resource_module));
        let service_name = models
            .first()
            .and_then(|m| m.type_name.split("::").nth(1))
            .unwrap_or(service.as_str())
            .to_owned();
        files.insert(
            PathBuf::from(service).join("mod.rs"),
            render::service_file(&service_name, models),
        );
        for model in models.iter() {
            files.insert(
                PathBuf::from(service).join(format!("{}.rs", model.resource_module)),
                render::resource_file(model),
            );
        }
    }
    let all: Vec<&ResourceModel> = models.iter().collect();
    files.insert(PathBuf::from("registry.rs"), render::registry_file(&all));
    files.insert(PathBuf::from("permissions.rs"), permissions);
    files.insert(PathBuf::from("any.rs"), render::any_file(&all));
    let services: Vec<String> = by_service.keys().cloned().collect();
    files.insert(PathBuf::from("lib.rs"), render::lib_file(&services));

    let config = root.join("rustfmt.toml");
    for (path, text) in &mut files {
        *text = rustfmt(text, &config, root)
            .with_context(|| format!("formatting {}", path.display()))?;
    }
    Ok(files)
}

/// Formats with the toolchain's rustfmt and the workspace config, as
/// `cargo fmt` would. Runs in `root` so rustup picks the pinned toolchain.
fn rustfmt(source: &str, config: &Path, root: &Path) -> Result<String> {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut child = Command::new(&rustfmt)
        .current_dir(root)
        .arg("--edition=2024")
        .arg("--emit=stdout")
        .arg("--config-path")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "running {} (is the rustfmt component installed?)",
                rustfmt.to_string_lossy()
            )
        })?;
    let mut stdin = child.stdin.take().context("rustfmt stdin")?;
    let input = source.to_owned();
    // Written from another thread: rustfmt may fill its stdout pipe before
    // it has read all of stdin.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("rustfmt writer thread panicked"))??;
    if !output.status.success() {
        bail!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).context("rustfmt printed non-UTF-8")
}

/// Writes `files` under `out_dir`, removing `.rs` files that are no longer
/// generated (a type dropped from types.txt must not linger).
pub fn write(out_dir: &Path, files: &BTreeMap<PathBuf, String>) -> Result<()> {
    for stale in existing_files(out_dir)? {
        if !files.contains_key(&stale) {
            std::fs::remove_file(out_dir.join(&stale))
                .with_context(|| format!("removing stale {}", stale.display()))?;
        }
    }
    for (path, text) in files {
        let target = out_dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read_to_string(&target).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&target, text)
                .with_context(|| format!("writing {}", target.display()))?;
        }
    }
    remove_empty_dirs(out_dir)?;
    Ok(())
}

/// Every file under `dir`, relative to it, sorted.
pub fn existing_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        if !current.exists() {
            continue;
        }
        for entry in
            std::fs::read_dir(&current).with_context(|| format!("listing {}", current.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.push(relative.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

fn remove_empty_dirs(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            remove_empty_dirs(&path)?;
            if std::fs::read_dir(&path)?.next().is_none() {
                std::fs::remove_dir(&path)?;
            }
        }
    }
    Ok(())
}
