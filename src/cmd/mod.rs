//! One module per subcommand, each with `Args` (clap) and `run(args, &Ctx)`.

pub mod bootstrap;
pub mod bundle;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod invoke;
pub mod logs;
pub mod new_handler;
pub mod status;
pub mod synth;
