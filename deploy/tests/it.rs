//! All of this crate's integration tests, as modules of one test binary:
//! each `tests/*.rs` was its own binary linking the AWS SDKs, and linking
//! them dominated CI time and `target/` size.

mod assets_recorded;
mod aws_validate;
mod aws_validate_stack;
mod ci_identity_moto;
mod deploy_changeset;
mod deploy_destroy;
mod deploy_moto;
mod deploy_states;
mod drift_moto;
mod drift_recorded;
mod hotswap_moto;
mod hotswap_recorded;
mod live_diff_changeset;
mod live_diff_moto;
mod logs_moto;
mod watch_moto;
