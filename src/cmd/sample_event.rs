//! `upstack sample-event s3-put --key K [--bucket B] [--env E]`: prints the
//! `ObjectCreated:Put` event S3 would send for that object, built by the
//! same function `invoke --key` uses (the key encoded with the one S3
//! event-key codec), for `invoke --event FILE` or a test fixture. No AWS
//! call: the bucket is the env's upload bucket as its plan names it.

use anyhow::Context;
use upstack_local::invoke::{ObjectFacts, s3_put_event};
use upstack_project::synth;

use crate::context::Ctx;
use crate::exit::{Outcome, UsageError};

/// S3's limit on a key's length, in UTF-8 bytes.
const MAX_KEY_BYTES: usize = 1024;
/// The ETag S3 gives an empty object (its MD5): no object was read.
const EMPTY_ETAG: &str = "d41d8cd98f00b204e9800998ecf8427e";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    /// `ObjectCreated:Put`: an upload, as the handlers receive it.
    S3Put,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which event.
    #[arg(value_enum)]
    pub kind: Kind,
    /// The object's key, as uploaded (`uploads/report 2026.csv`); the event
    /// carries it encoded as S3 encodes it.
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// The bucket (default: the env's upload bucket, which needs --env and the
    /// env file's account_id).
    #[arg(long, value_name = "BUCKET")]
    pub bucket: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Outcome> {
    if args.key.is_empty() || args.key.len() > MAX_KEY_BYTES {
        return Err(UsageError(format!(
            "--key must be 1 to {MAX_KEY_BYTES} bytes (an S3 object key); got {}",
            args.key.len()
        ))
        .into());
    }
    let Kind::S3Put = args.kind;
    // The env's region and account, and its upload bucket, from its plan
    // (synthesized in memory, no AWS call); without --env, a placeholder
    // account and us-east-1.
    let (bucket, region, account) = match &ctx.args.env {
        Some(env) => {
            let manifest = synth::synth_env(ctx.root()?, env)
                .with_context(|| format!("sample-event {env}: synth"))?
                .manifest;
            let account = manifest.account_id.clone();
            let bucket = match (&args.bucket, &account) {
                (Some(bucket), _) => bucket.clone(),
                (None, Some(account)) => manifest
                    .upload_bucket_name(account)
                    .with_context(|| format!("env {env} has no upload bucket; pass --bucket"))?,
                (None, None) => {
                    return Err(UsageError(format!(
                        "envs/{env}.toml sets no account_id, and the upload bucket's name ({}) contains the account: pass --bucket or set account_id",
                        manifest.upload_bucket.as_deref().unwrap_or("unknown")
                    ))
                    .into());
                }
            };
            (bucket, manifest.region, account)
        }
        None => match &args.bucket {
            Some(bucket) => (bucket.clone(), "us-east-1".to_owned(), None),
            None => {
                return Err(UsageError(
                    "`upstack sample-event` needs --env <NAME> (for its upload bucket) or --bucket"
                        .into(),
                )
                .into());
            }
        },
    };
    let object = ObjectFacts {
        bucket,
        key: args.key,
        size: 0,
        etag: EMPTY_ETAG.to_owned(),
        version_id: None,
    };
    let account = account.unwrap_or_else(|| "123456789012".to_owned());
    let event = s3_put_event(&object, &region, &account, ctx.now());
    let mut json = serde_json::to_string_pretty(&event).context("encode the event")?;
    json.push('\n');
    crate::cmd::write_stdout(json.as_bytes())?;
    Ok(Outcome::Success)
}
