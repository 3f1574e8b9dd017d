//! `cargo run -p upstack-codegen [-- --out DIR]`: regenerates cfn-resources/src
//! (or DIR) from schemas/types.txt and the vendored schemas.

use std::path::PathBuf;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let root = upstack_codegen::repo_root();
    let mut out_dir = root.join("cfn-resources").join("src");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => match args.next() {
                Some(dir) => out_dir = PathBuf::from(dir),
                None => bail!("--out needs a directory"),
            },
            "-h" | "--help" => {
                println!("usage: upstack-codegen [--out DIR]  (default: cfn-resources/src)");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (usage: upstack-codegen [--out DIR])"),
        }
    }
    let files = upstack_codegen::generate(&root)?;
    upstack_codegen::write(&out_dir, &files)?;
    println!("generated {} files into {}", files.len(), out_dir.display());
    Ok(())
}
