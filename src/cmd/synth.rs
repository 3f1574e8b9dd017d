//! `upstack synth [--env <name>] [--check]`: writes (or checks)
//! synth-out/<env>/template.json and manifest.json for every env in envs/
//! (or only `--env`'s).

use std::path::PathBuf;

use upstack_project::{manifest, synth};

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write nothing; exit 3 if synth-out/ differs from what synth would write.
    #[arg(long)]
    pub check: bool,
    /// Output directory (default: <root>/synth-out).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let root = ctx.root()?.to_path_buf();
    let envs: Vec<String> = ctx.args.env.iter().cloned().collect();
    // Everything renders and validates before anything is written.
    let outputs = synth::synth_envs(&root, &envs)?;
    let out_dir = args.out.unwrap_or_else(|| root.join(manifest::OUT_DIR));
    if args.check {
        let mut stale = synth::stale_files(&out_dir, &outputs);
        if envs.is_empty() {
            let envs: Vec<String> = outputs.iter().map(|output| output.env.clone()).collect();
            stale.extend(synth::orphan_outputs(&out_dir, &envs));
        }
        if stale.is_empty() {
            println!("synth-out/ is up to date ({} env(s))", outputs.len());
            return Ok(Outcome::Success);
        }
        eprintln!("synth-out/ is stale; run `cargo run -- synth` and commit the result:");
        for path in stale {
            let shown = path.strip_prefix(&root).unwrap_or(&path);
            eprintln!("  {}", shown.display());
        }
        // A key can move without a source edit: say where else to look.
        eprintln!(
            "(asset keys also cover the build environment: RUSTFLAGS and the other build variables, \
             every cargo config file including ~/.cargo/config.toml, the toolchain pins; \
             docs/commands.md, \"What the asset key covers\")"
        );
        return Ok(Outcome::Blocked);
    }
    synth::write_outputs(&out_dir, &outputs)?;
    let label = out_dir
        .strip_prefix(&root)
        .unwrap_or(&out_dir)
        .display()
        .to_string();
    print!("{}", synth::render_summary(&outputs, &label));
    Ok(Outcome::Success)
}
