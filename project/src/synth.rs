//! Synth output: `synth-out/<env>/template.json` and `manifest.json`.
//!
//! Everything is rendered and validated in memory first; files are written
//! only when every env synthesized, each with an atomic rename, so a failing
//! synth leaves `synth-out/` as it was. Handlers are not compiled: a
//! function's asset key is the fingerprint of what `bundle` would build.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use upstack_cfn::Template;
use upstack_contract::{Architecture, BuildProfile};
use upstack_stack::{EnvConfig, config, pipeline};

use crate::fingerprint::{FingerprintError, Fingerprinter, asset_key};
use crate::fsutil::write_atomic;
use crate::manifest::{MANIFEST_FILE, Manifest, TEMPLATE_FILE};

/// Where env configs live, relative to the workspace root.
pub const ENVS_DIR: &str = "envs";

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("cannot list {path}: {source}")]
    ListEnvs {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no environments: {path} has no *.toml files")]
    NoEnvs { path: PathBuf },
    #[error("unknown env `{env}`: there is no {path} (known: {known})")]
    UnknownEnv {
        env: String,
        path: PathBuf,
        known: String,
    },
    #[error("{file}: {message}")]
    BadEnvName { file: String, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The workspace manifest or `Cargo.lock`, read once for every handler.
    #[error("handler fingerprints: {0}")]
    Fingerprints(#[source] FingerprintError),
    #[error("fingerprint of handler `{handler}`: {source}")]
    Fingerprint {
        handler: String,
        source: FingerprintError,
    },
    #[error(transparent)]
    Stack(#[from] upstack_stack::StackError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no workspace root (a Cargo.toml next to an envs/ directory) in {start} or its parents"
    )]
    NoWorkspace { start: PathBuf },
}

/// One synthesized env, rendered but not written.
#[derive(Debug, Clone)]
pub struct SynthOutput {
    pub env: String,
    pub config: EnvConfig,
    pub template: Template,
    /// `template.json`'s exact bytes.
    pub template_json: String,
    pub manifest: Manifest,
    /// `manifest.json`'s exact bytes.
    pub manifest_json: String,
}

impl SynthOutput {
    /// `(path relative to the output dir, contents)` for each file this env writes.
    pub fn files(&self) -> [(PathBuf, &str); 2] {
        [
            (
                Path::new(&self.env).join(TEMPLATE_FILE),
                self.template_json.as_str(),
            ),
            (
                Path::new(&self.env).join(MANIFEST_FILE),
                self.manifest_json.as_str(),
            ),
        ]
    }
}

/// The workspace root: `start` or the nearest parent holding `Cargo.toml` and `envs/`.
pub fn find_workspace_root(start: &Path) -> Result<PathBuf, SynthError> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file() && dir.join(ENVS_DIR).is_dir())
        .map(Path::to_path_buf)
        .ok_or_else(|| SynthError::NoWorkspace {
            start: start.to_path_buf(),
        })
}

/// Env names (file stems of `envs/*.toml`), sorted. Adding `envs/staging.toml`
/// adds the `staging` env; nothing else needs to change.
pub fn list_envs(workspace_root: &Path) -> Result<Vec<String>, SynthError> {
    let dir = workspace_root.join(ENVS_DIR);
    let entries = fs::read_dir(&dir).map_err(|source| SynthError::ListEnvs {
        path: dir.clone(),
        source,
    })?;
    let mut envs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SynthError::ListEnvs {
            path: dir.clone(),
            source,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "toml")
            && let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
        {
            config::validate_env_name(stem).map_err(|message| SynthError::BadEnvName {
                file: format!("{ENVS_DIR}/{stem}.toml"),
                message,
            })?;
            envs.push(stem.to_owned());
        }
    }
    envs.sort();
    if envs.is_empty() {
        return Err(SynthError::NoEnvs { path: dir });
    }
    Ok(envs)
}

/// Reads and validates `envs/<env>.toml`.
pub fn load_env(workspace_root: &Path, env: &str) -> Result<EnvConfig, SynthError> {
    let relative = format!("{ENVS_DIR}/{env}.toml");
    let path = workspace_root.join(&relative);
    if !path.is_file() {
        let known = list_envs(workspace_root)
            .map(|envs| envs.join(", "))
            .unwrap_or_default();
        return Err(SynthError::UnknownEnv {
            env: env.to_owned(),
            path,
            known,
        });
    }
    config::validate_env_name(env).map_err(|message| SynthError::BadEnvName {
        file: relative.clone(),
        message,
    })?;
    let text = fs::read_to_string(&path).map_err(|source| SynthError::Read {
        path: path.clone(),
        source,
    })?;
    Ok(config::parse(&relative, &text)?)
}

/// Asset keys for every handler, from fingerprints (no compilation), for
/// the env's architecture and build profile.
pub fn asset_keys(
    workspace_root: &Path,
    config: &EnvConfig,
) -> Result<BTreeMap<String, String>, SynthError> {
    asset_keys_with(&mut new_fingerprinter(workspace_root)?, config)
}

/// A fingerprinter for every handler: `Cargo.lock` parsed beside reading
/// the sources, both shared by every (architecture, profile) it is asked for.
fn new_fingerprinter(workspace_root: &Path) -> Result<Fingerprinter<'_>, SynthError> {
    let mut fingerprinter =
        Fingerprinter::reading_lock_ahead(workspace_root).map_err(SynthError::Fingerprints)?;
    fingerprinter.read_sources_ahead(&pipeline::handlers());
    Ok(fingerprinter)
}

/// The fingerprinter in `slot`, made on first use.
fn shared_fingerprinter<'s, 'a>(
    slot: &'s mut Option<Fingerprinter<'a>>,
    workspace_root: &'a Path,
) -> Result<&'s mut Fingerprinter<'a>, SynthError> {
    match slot {
        Some(fingerprinter) => Ok(fingerprinter),
        None => Ok(slot.insert(new_fingerprinter(workspace_root)?)),
    }
}

fn asset_keys_with(
    fingerprinter: &mut Fingerprinter<'_>,
    config: &EnvConfig,
) -> Result<BTreeMap<String, String>, SynthError> {
    let arch = config.architecture.0;
    let profile = config.build_profile.0;
    pipeline::handlers()
        .iter()
        .map(|name| {
            let fingerprint = fingerprinter
                .fingerprint(name, arch, profile)
                .map_err(|source| SynthError::Fingerprint {
                    handler: (*name).to_owned(),
                    source,
                })?;
            Ok(((*name).to_owned(), asset_key(name, arch, &fingerprint)))
        })
        .collect()
}

/// Synthesizes one env in memory: config, checks, template, validation, manifest.
pub fn synth_env(workspace_root: &Path, env: &str) -> Result<SynthOutput, SynthError> {
    let config = load_env(workspace_root, env)?;
    let assets = asset_keys(workspace_root, &config)?;
    render(env, config, &assets)
}

/// The pure part of [`synth_env`]: everything after reading files and fingerprints.
pub fn render(
    env: &str,
    config: EnvConfig,
    assets: &BTreeMap<String, String>,
) -> Result<SynthOutput, SynthError> {
    let plan = upstack_stack::synthesize(env, &config, assets)?;
    let manifest_json = plan.manifest.to_json();
    Ok(SynthOutput {
        env: env.to_owned(),
        config,
        template: plan.template,
        template_json: plan.template_json,
        manifest: plan.manifest,
        manifest_json,
    })
}

/// Synthesizes `envs` (all envs when empty); fails on the first env that does not.
///
/// Reading (env files, fingerprints) runs in env order and stops where a
/// sequential synth would stop. The renders share nothing but the asset
/// keys and run on a thread each (two envs' renders were about a fifth of
/// a whole `synth` process). The error returned is the one a sequential
/// synth would meet first.
pub fn synth_envs(workspace_root: &Path, envs: &[String]) -> Result<Vec<SynthOutput>, SynthError> {
    let envs = if envs.is_empty() {
        list_envs(workspace_root)?
    } else {
        envs.to_vec()
    };
    // Asset keys depend on the architecture and the build profile, not the
    // env: each pair is fingerprinted once, by one fingerprinter (the
    // sources and Cargo.lock are read once for all of them).
    let mut fingerprinter = None;
    let mut keys_by_build: BTreeMap<(Architecture, BuildProfile), Arc<BTreeMap<String, String>>> =
        BTreeMap::new();
    let mut read = Vec::with_capacity(envs.len());
    let mut reading_error = None;
    for env in &envs {
        let config = match load_env(workspace_root, env) {
            Ok(config) => config,
            Err(error) => {
                reading_error = Some(error);
                break;
            }
        };
        let assets = match keys_by_build.entry((config.architecture.0, config.build_profile.0)) {
            Entry::Occupied(known) => Arc::clone(known.get()),
            Entry::Vacant(new) => match shared_fingerprinter(&mut fingerprinter, workspace_root)
                .and_then(|fingerprinter| asset_keys_with(fingerprinter, &config))
            {
                Ok(assets) => Arc::clone(new.insert(Arc::new(assets))),
                Err(error) => {
                    reading_error = Some(error);
                    break;
                }
            },
        };
        read.push((env.as_str(), config, assets));
    }
    let rendered: Vec<Result<SynthOutput, SynthError>> = std::thread::scope(|scope| {
        let threads: Vec<_> = read
            .into_iter()
            .map(|(env, config, assets)| scope.spawn(move || render(env, config, &assets)))
            .collect();
        threads
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    // Every env rendered here comes before the one whose reading failed.
    let outputs = rendered.into_iter().collect::<Result<Vec<_>, _>>()?;
    match reading_error {
        Some(error) => Err(error),
        None => Ok(outputs),
    }
}

/// Writes every output under `out_dir`; returns the paths written.
/// Call only with outputs that all synthesized: nothing is written otherwise.
pub fn write_outputs(out_dir: &Path, outputs: &[SynthOutput]) -> Result<Vec<PathBuf>, SynthError> {
    let mut written = Vec::new();
    for output in outputs {
        for (relative, contents) in output.files() {
            let path = out_dir.join(relative);
            write_atomic(&path, contents.as_bytes()).map_err(|source| SynthError::Write {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Files under `out_dir` that differ from `outputs` or are missing (for `synth --check`).
pub fn stale_files(out_dir: &Path, outputs: &[SynthOutput]) -> Vec<PathBuf> {
    let mut stale = Vec::new();
    for output in outputs {
        for (relative, contents) in output.files() {
            let path = out_dir.join(relative);
            if fs::read(&path).map_or(true, |on_disk| on_disk != contents.as_bytes()) {
                stale.push(path);
            }
        }
    }
    stale
}

/// Env directories under `out_dir` with no `envs/<env>.toml` any more: a
/// deleted env's output would otherwise look current forever.
pub fn orphan_outputs(out_dir: &Path, envs: &[String]) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(out_dir) else {
        return Vec::new();
    };
    let mut orphans: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter(|entry| !envs.iter().any(|env| entry.file_name() == env.as_str()))
        .map(|entry| entry.path())
        .collect();
    orphans.sort();
    orphans
}

/// What `synth` prints for each env written (or checked).
pub fn render_summary(outputs: &[SynthOutput], out_dir_label: &str) -> String {
    let mut text = String::new();
    for output in outputs {
        let functions: Vec<String> = output
            .manifest
            .functions
            .iter()
            .map(|function| format!("    {} -> {}", function.function_name, function.asset_key))
            .collect();
        text.push_str(&format!(
            "{env}: {out}/{env}/{TEMPLATE_FILE} (stack {stack}, {region}, {resources} resources, {bytes} bytes, sha256 {sha})\n{functions}\n",
            env = output.env,
            out = out_dir_label,
            stack = output.manifest.stack_name,
            region = output.manifest.region,
            resources = output.template.resources.len(),
            bytes = output.template_json.len(),
            sha = &output.manifest.template_sha256[..12],
            functions = functions.join("\n"),
        ));
    }
    text
}
