//! What every subcommand shares: the global options, resolved once in `main`
//! (workspace root, env, its config, the AWS session, the clocks), so no
//! subcommand looks them up its own way.

use std::cell::OnceCell;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use upstack_deploy::aws::{AwsSession, ExpectedTarget, Pacing, ProfileChoice};
use upstack_project::synth;
use upstack_stack::EnvConfig;

use crate::exit::UsageError;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set (<https://no-color.org>).
    Auto,
    /// Always, even when piped (e.g. into `less -R`).
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal; the one
    /// rule for stdout (diff) and stderr (logs).
    pub fn enabled(self, stream_is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                    && stream_is_terminal
            }
        }
    }
}

/// Options every subcommand takes, with the same meaning everywhere.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// The environment: a file stem of envs/*.toml (e.g. dev, prod). Required
    /// by every command that acts on one env; `synth` without it does every env.
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// AWS profile for credentials (default: AWS_PROFILE, else the standard chain:
    /// environment variables, the `default` profile, SSO, container or instance role).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Workspace root (default: the current directory or its nearest parent
    /// holding Cargo.toml and envs/).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// When to colour output; NO_COLOR turns `auto` off.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print debug logs (tracing) to stderr; -vv for the AWS SDK's too.
    /// RUST_LOG, when set, decides instead.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The resolved global options; each fact is worked out once, on first use.
#[derive(Debug)]
pub struct Ctx {
    pub args: GlobalArgs,
    root: OnceCell<PathBuf>,
    /// How AWS waits are paced, and the clock they run on (the system's).
    pacing: Pacing,
}

impl Ctx {
    pub fn new(args: GlobalArgs) -> Self {
        Ctx {
            args,
            root: OnceCell::new(),
            pacing: Pacing::default(),
        }
    }

    /// The pacing (and monotonic clock) every AWS wait of this run uses.
    pub fn pacing(&self) -> &Pacing {
        &self.pacing
    }

    /// The wall clock: timestamps and the ids made from them.
    pub fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    /// Whole seconds since the Unix epoch, for change set names and tokens.
    pub fn epoch_seconds(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default()
    }

    /// `--root`, or the nearest directory up from here with Cargo.toml and envs/.
    pub fn root(&self) -> anyhow::Result<&Path> {
        if let Some(root) = self.root.get() {
            return Ok(root);
        }
        let start = match &self.args.root {
            Some(root) => root.clone(),
            None => std::env::current_dir().context("cannot read the current directory")?,
        };
        let root = synth::find_workspace_root(&start)?;
        Ok(self.root.get_or_init(|| root))
    }

    /// The env named by `--env`, or a usage error naming the known envs.
    pub fn env(&self, command: &str) -> anyhow::Result<&str> {
        match &self.args.env {
            Some(env) => Ok(env),
            None => {
                let known = self
                    .root()
                    .ok()
                    .and_then(|root| synth::list_envs(root).ok())
                    .map(|envs| format!(" (one of: {})", envs.join(", ")))
                    .unwrap_or_default();
                Err(UsageError(format!("`upstack {command}` needs --env <NAME>{known}")).into())
            }
        }
    }

    /// The env's parsed config (`envs/<env>.toml`).
    pub fn env_config(&self, command: &str) -> anyhow::Result<EnvConfig> {
        let env = self.env(command)?;
        Ok(synth::load_env(self.root()?, env)?)
    }

    /// The profile choice: `--profile`, else AWS_PROFILE, else none.
    pub fn profile(&self) -> ProfileChoice {
        match &self.args.profile {
            Some(name) => ProfileChoice {
                name: Some(name.clone()),
                from_flag: true,
            },
            None => ProfileChoice {
                name: std::env::var("AWS_PROFILE")
                    .ok()
                    .filter(|name| !name.is_empty()),
                from_flag: false,
            },
        }
    }

    /// Credentials and clients for `env`'s account and region; refuses a
    /// wrong account before any other call. Prints the region note, if any.
    pub async fn session(&self, env: &str, config: &EnvConfig) -> anyhow::Result<AwsSession> {
        let session =
            AwsSession::connect(&ExpectedTarget::of(env, config), &self.profile()).await?;
        if let Some(note) = &session.region_note {
            eprintln!("{note}");
        }
        Ok(session)
    }

    /// Whether to colour stdout.
    pub fn color(&self) -> bool {
        self.args.color.enabled(std::io::stdout().is_terminal())
    }
}
