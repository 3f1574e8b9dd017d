//! The toolkit layer: everything that talks to AWS, and the commands built
//! on it. The session and credential checks, the one reader of a deployed
//! stack, assets in the asset bucket, change sets and stack events, the
//! deploy flow (prepare, execute, stale checks, rollback triggers),
//! reviewed plans, bootstrap, destroy, the live diff, the stack's health
//! (`status`) and AWS's own offline template validator.

// What the account's Lambda quotas must allow (deploy's pre-flight).
pub mod account;
// AWS plumbing: the session, errors, polling.
pub mod aws;
// Handler zips and large templates in the asset bucket, verified by SHA-256.
pub mod assets;
// `bootstrap` (the asset bucket) and `bootstrap --github` (the OIDC
// provider and the env's CI stack).
pub mod bootstrap;
pub mod changeset;
// The deploy flow: prepare, execute, stale checks, verified code.
pub mod deploy;
pub mod destroy;
// `diff`: what deploying would change.
pub mod diff;
// What changed outside CloudFormation: every resource read from its service.
pub mod drift;
pub mod events;
// Talking to a person: lines out, yes/no in.
pub mod interact;
// `list`: every env, and whether its stack is deployed.
pub mod list;
// `diff` against the deployed stack or a change set.
pub mod live_diff;
// The stack's function logs, merged (`logs`).
pub mod logs;
pub mod plan;
// Which alarms guard a deploy (pure).
pub mod rollback;
// The one reader of a deployed stack.
pub mod stack;
// The stack's health (`status`; deploy's alarm pre-flight reads its alarm half).
pub mod status;
// AWS's own offline template validator.
pub mod validate;
// `watch`: the dev loop (synth, build, hotswap, logs, on every change).
pub mod watch;
