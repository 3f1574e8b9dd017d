//! All of this crate's integration tests, as modules of one test binary:
//! each `tests/*.rs` was its own binary linking the AWS SDKs, and linking
//! them dominated CI time and `target/` size.

mod checks;
mod ci_identity;
mod config;
mod declaration;
mod templates;
