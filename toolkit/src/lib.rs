//! Everything that does IO: writing synth output, building and zipping the
//! handlers, talking to AWS. The pure layers (`upstack-cfn`, `upstack-stack`,
//! `upstack-diff`) decide *what*; this crate makes it happen.

pub mod fsutil;

// Synth output (synth-out/<env>/template.json, manifest.json).
pub mod synth;

// Handler fingerprints, bundling, the local Lambda Runtime API and `invoke`.
pub mod bundle;
pub mod fingerprint;
pub mod invoke;
pub mod runtime_api;

// AWS plumbing shared by diff, deploy, bootstrap and destroy.
pub mod aws;
pub mod bootstrap;
pub mod changeset;
pub mod deploy;
pub mod destroy;
pub mod events;
pub mod plan;
// The stack's health (`status`; deploy's alarm pre-flight and rollback triggers).
pub mod status;

// `diff` against the deployed stack or a change set.
pub mod live_diff;

// AWS's own offline template validator.
pub mod validate;
