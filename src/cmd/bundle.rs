//! `upstack bundle [--env <env>]`: builds exactly the handlers the env's
//! synthesized stack references, for the architecture it gives each, into
//! verified, reproducible zips under target/lambda/.

use std::path::Path;

use anyhow::Context;
use upstack_build::bundle::{BundleOptions, BundleTarget, BundledAsset, bundle};
use upstack_project::manifest::{self, MANIFEST_FILE};

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Capture cargo's output (shown only when the build fails)
    #[arg(long)]
    pub quiet: bool,
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
            "  {:<handler_width$}  {:<6}  {:<6}  {:>9}  {}  sha256 {}  {}  {}\n",
            asset.handler,
            asset.arch.lambda_name(),
            asset.profile.config_name(),
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
    let manifest = manifest::load(&root, env)?;
    let targets: Vec<BundleTarget> = manifest.functions.iter().map(BundleTarget::from).collect();

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
    let source = manifest::output_file(env, MANIFEST_FILE);
    let stale: Vec<String> = manifest
        .functions
        .iter()
        .filter_map(|function| {
            let expected = &function.asset_key;
            let asset = assets.iter().find(|a| {
                a.handler == function.handler
                    && a.arch == function.architecture
                    && a.profile == function.build_profile
            })?;
            (asset.asset_key != *expected).then(|| {
                format!(
                    "{} ({}): sources changed since synth ({} has {expected}, the build is {}); run `upstack synth --env {}`",
                    function.handler,
                    function.architecture.lambda_name(),
                    source,
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
    fn summary_snapshot() {
        use upstack_build::bundle::{Architecture, BuildProfile};
        let root = Path::new("/work/repo");
        let asset = |handler: &str, arch: Architecture, size: u64, rezipped: bool| {
            let profile = if arch == Architecture::Arm64 {
                BuildProfile::Fast
            } else {
                BuildProfile::Lambda
            };
            BundledAsset {
                handler: handler.into(),
                arch,
                profile,
                zip_path: root.join(format!(
                    "target/{}/{handler}-{}/bootstrap.zip",
                    profile.cargo_profile(),
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
            }
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
