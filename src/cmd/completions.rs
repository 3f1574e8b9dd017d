//! `upstack completions SHELL`: the shell's completion script for every
//! subcommand and flag, generated from the same clap definitions as the
//! parser (so it cannot fall behind), printed to stdout.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Install, e.g.:\n  bash: upstack completions bash > ~/.local/share/bash-completion/completions/upstack\n  zsh:  upstack completions zsh > \"${fpath[1]}/_upstack\"\n  fish: upstack completions fish > ~/.config/fish/completions/upstack.fish"
)]
pub struct Args {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let mut command = crate::Cli::command();
    // Into memory first: clap_complete panics on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "upstack", &mut script);
    crate::cmd::write_stdout(&script)?;
    Ok(Outcome::Success)
}
