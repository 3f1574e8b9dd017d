//! `upstack invoke` (not implemented yet).

use crate::exit::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("`invoke` is not implemented yet")
}
