//! One module per subcommand, each with `Args` (clap) and `run(args, &Ctx)`.

pub mod bootstrap;
pub mod bundle;
pub mod completions;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod invoke;
pub mod list;
pub mod logs;
pub mod new_handler;
pub mod sample_event;
pub mod status;
pub mod synth;
pub mod watch;

/// The output of a command that prints a report (`list`, `status`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    /// For a person.
    Text,
    /// The versioned document (`schema_version`), for scripts.
    Json,
}

/// Writes a command's whole output to stdout; a reader that closed the pipe
/// early (`| head`) is not an error worth a panic.
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(error).context("write to stdout"))
        }
        _ => Ok(()),
    }
}
