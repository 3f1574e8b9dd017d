//! All of this crate's integration tests, as modules of one test binary:
//! each `tests/*.rs` was its own binary linking the AWS SDKs, and linking
//! them dominated CI time and `target/` size.

mod ci_identity_lint;
mod cli_conveniences;
mod cli_diff;
mod cli_diff_moto;
mod cli_logs;
mod customizing_recipe;
mod deploy_cli;
mod faults_cli;
mod least_privilege;
mod quickstart;
mod synth_cli;
mod synth_lint;
