//! Everything that talks to CloudFormation: the session, bootstrap, change
//! sets, events, deploy and destroy, reviewed plans, the live diff, the
//! stack's health (`status`) and AWS's own offline template validator.

// AWS plumbing shared by diff, deploy, bootstrap and destroy.
pub mod aws;
pub mod bootstrap;
pub mod changeset;
// `bootstrap --github`: the OIDC provider and the env's CI stack.
pub mod ci_identity;
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
