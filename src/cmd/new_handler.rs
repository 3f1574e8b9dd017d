//! `upstack new-handler NAME`: scaffolds `functions/NAME` and says where to
//! declare it. The work is `upstack_project::new_handler`.

use upstack_project::new_handler;

use crate::context::Ctx;
use crate::exit::{Outcome, UsageError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The handler's name: crate `upstack-NAME` in functions/NAME, binary and function `NAME`
    /// (lowercase letters, digits and single hyphens, starting with a letter)
    pub name: String,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let root = ctx.root()?.to_path_buf();
    let scaffold = match new_handler::scaffold(&root, &args.name) {
        Ok(scaffold) => scaffold,
        // A bad name is the caller's to fix, like any other bad argument.
        Err(error @ new_handler::NewHandlerError::BadName { .. }) => {
            return Err(anyhow::Error::new(UsageError(error.to_string())));
        }
        Err(error) => return Err(error.into()),
    };
    println!(
        "created {} (package {}, binary {}):",
        scaffold.crate_dir.display(),
        scaffold.package,
        scaffold.name
    );
    for file in &scaffold.files {
        println!("  {}", file.display());
    }
    if scaffold.added_member {
        println!(
            "added \"{}\" to the workspace members in Cargo.toml",
            scaffold.crate_dir.display()
        );
    }
    // Without its Cargo.lock entry, synth cannot fingerprint the handler.
    match new_handler::lock(&root, &scaffold.package) {
        Ok(()) => println!("added {} to Cargo.lock", scaffold.package),
        Err(error) => eprintln!(
            "warning: {error}; `cargo build -p {}` will add it",
            scaffold.package
        ),
    }
    println!();
    println!(
        "Wire it into the pipeline: {}:{}, add above that line:",
        scaffold.declaration_file, scaffold.declaration_line
    );
    println!("{}", scaffold.declaration_entry);
    println!(
        "(its routes and grants: docs/customizing.md, \"Add a fourth handler\"), then run\n  cargo test -p {} && upstack synth",
        scaffold.package
    );
    Ok(Outcome::Success)
}
