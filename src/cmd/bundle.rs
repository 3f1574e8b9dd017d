//! `upstack bundle [--env <env>]`: builds exactly the handlers the env's
//! synthesized stack references, for the architecture it gives each, into
//! verified, reproducible zips under target/lambda/.

use std::path::Path;

use anyhow::Context;
use upstack_build::bundle::Architecture;
use upstack_build::bundle::{BundleOptions, BundledAsset, bundle};

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Capture cargo's output (shown only when the build fails)
    #[arg(long)]
    pub quiet: bool,
}

/// One function of the synthesized manifest, as `bundle` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFunction {
    pub handler: String,
    pub arch: Architecture,
    pub asset_key: Option<String>,
}

/// Reads the functions from `manifest.json`: `functions` as a list or a map
/// of objects with `crate` (or `handler`), `architecture` and `asset_key`.
pub fn manifest_functions(
    manifest: &serde_json::Value,
    source: &str,
) -> anyhow::Result<Vec<ManifestFunction>> {
    let entries: Vec<(Option<&str>, &serde_json::Value)> = match manifest.get("functions") {
        Some(serde_json::Value::Array(items)) => items.iter().map(|item| (None, item)).collect(),
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(name, item)| (Some(name.as_str()), item))
            .collect(),
        _ => anyhow::bail!("{source}: no `functions` list; regenerate it with `upstack synth`"),
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(index, (map_key, entry))| {
            let field = |name: &str| entry.get(name).and_then(serde_json::Value::as_str);
            let where_ = format!(
                "{source}: functions[{}]",
                map_key.map_or_else(|| index.to_string(), str::to_string)
            );
            let handler = field("crate")
                .or_else(|| field("handler"))
                .or(map_key)
                .with_context(|| format!("{where_}: no `crate`"))?;
            let arch_name =
                field("architecture").with_context(|| format!("{where_}: no `architecture`"))?;
            let arch = Architecture::from_lambda_name(arch_name).with_context(|| {
                format!("{where_}: `{arch_name}` is not a Lambda architecture (x86_64 or arm64)")
            })?;
            Ok(ManifestFunction {
                handler: handler.to_string(),
                arch,
                asset_key: field("asset_key").map(str::to_string),
            })
        })
        .collect()
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// What `bundle` prints: one line per zip, then the stale-synth warnings.
pub fn render_summary(env: &str, assets: &[BundledAsset], stale: &[String], root: &Path) -> String {
    let mut out = format!("bundle {env}: {} function(s)\n", assets.len());
    let handler_width = assets.iter().map(|a| a.handler.len()).max().unwrap_or(0);
    for asset in assets {
        let glibc = asset.max_glibc.map_or_else(
            || "static".to_string(),
            |(major, minor)| format!("glibc {major}.{minor}"),
        );
        out.push_str(&format!(
            "  {:<handler_width$}  {:<6}  {:>9}  {}  sha256 {}  {}  {}\n",
            asset.handler,
            asset.arch.lambda_name(),
            human_size(asset.size),
            glibc,
            &asset.sha256[..12.min(asset.sha256.len())],
            asset
                .zip_path
                .strip_prefix(root)
                .unwrap_or(&asset.zip_path)
                .display(),
            if asset.rezipped {
                "zipped"
            } else {
                "unchanged"
            },
        ));
    }
    for message in stale {
        out.push_str(&format!("stale: {message}\n"));
    }
    out
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    // --env: the env whose synth-out/<env>/manifest.json lists the functions.
    let env = ctx.env("bundle")?;
    let root = ctx.root()?.to_path_buf();
    let manifest_path = root.join("synth-out").join(env).join("manifest.json");
    let source = format!("synth-out/{env}/manifest.json");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {source}; run `upstack synth --env {env}` first"))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{source} is not valid JSON"))?;
    let functions = manifest_functions(&manifest, &source)?;
    let targets: Vec<(String, Architecture)> = functions
        .iter()
        .map(|f| (f.handler.clone(), f.arch))
        .collect();

    let options = BundleOptions {
        quiet: args.quiet,
        ..Default::default()
    };
    let build_root = root.clone();
    let assets = tokio::task::spawn_blocking(move || bundle(&build_root, &targets, &options))
        .await
        .context("the bundle task panicked")??;

    // The manifest's asset key names the sources synth saw; if the sources
    // changed since, deploy would upload new code under an old key.
    let stale: Vec<String> = functions
        .iter()
        .filter_map(|function| {
            let expected = function.asset_key.as_deref()?;
            let asset = assets.iter().find(|a| a.handler == function.handler && a.arch == function.arch)?;
            (asset.asset_key != expected).then(|| {
                format!(
                    "{} ({}): sources changed since synth ({source} has {expected}, the build is {}); run `upstack synth --env {}`",
                    function.handler,
                    function.arch.lambda_name(),
                    asset.asset_key,
                    env
                )
            })
        })
        .collect();
    print!("{}", render_summary(env, &assets, &stale, &root));
    Ok(if stale.is_empty() {
        Outcome::Success
    } else {
        Outcome::Blocked
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_functions_from_list_or_map_manifests() {
        let list = serde_json::json!({ "functions": [
            { "crate": "notify", "architecture": "arm64", "asset_key": "assets/notify-arm64-ab.zip" },
            { "handler": "ingest", "architecture": "x86_64" }
        ]});
        let functions = manifest_functions(&list, "m.json").unwrap();
        assert_eq!(
            functions,
            vec![
                ManifestFunction {
                    handler: "notify".into(),
                    arch: Architecture::Arm64,
                    asset_key: Some("assets/notify-arm64-ab.zip".into())
                },
                ManifestFunction {
                    handler: "ingest".into(),
                    arch: Architecture::X86_64,
                    asset_key: None
                },
            ]
        );
        let map =
            serde_json::json!({ "functions": { "photo-check": { "architecture": "arm64" } } });
        assert_eq!(
            manifest_functions(&map, "m.json").unwrap()[0].handler,
            "photo-check"
        );
    }

    #[test]
    fn manifest_errors_say_where() {
        let bad_arch =
            serde_json::json!({ "functions": [{ "crate": "notify", "architecture": "arm" }] });
        let error = manifest_functions(&bad_arch, "synth-out/dev/manifest.json")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "synth-out/dev/manifest.json: functions[0]: `arm` is not a Lambda architecture (x86_64 or arm64)"
        );
        let error = manifest_functions(&serde_json::json!({}), "m.json")
            .unwrap_err()
            .to_string();
        assert!(error.contains("no `functions` list"), "{error}");
    }

    #[test]
    fn summary_snapshot() {
        let root = Path::new("/work/repo");
        let asset = |handler: &str, arch: Architecture, size: u64, rezipped: bool| BundledAsset {
            handler: handler.into(),
            arch,
            zip_path: root.join(format!(
                "target/lambda/{handler}-{}/bootstrap.zip",
                arch.lambda_name()
            )),
            sha256: "0123456789abcdef".repeat(4),
            size,
            fingerprint: "f".repeat(64),
            asset_key: format!(
                "assets/{handler}-{}-{}.zip",
                arch.lambda_name(),
                "f".repeat(64)
            ),
            binary_sha256: "e".repeat(64),
            binary_size: size * 3,
            max_glibc: Some((2, 34)),
            rezipped,
        };
        let assets = vec![
            asset("notify", Architecture::Arm64, 2_400_000, true),
            asset("photo-check", Architecture::Arm64, 3_100_000, false),
            asset("ingest", Architecture::X86_64, 900_000, true),
        ];
        let stale = vec![
            "notify (arm64): sources changed since synth (...); run `upstack synth --env dev`"
                .to_string(),
        ];
        insta::assert_snapshot!(render_summary("dev", &assets, &stale, root));
    }
}
