//! All of this crate's integration tests, as modules of one test binary:
//! each `tests/*.rs` was its own binary linking the AWS SDKs, and linking
//! them dominated CI time and `target/` size.

mod common;
mod engine;
mod schema;
mod security;
mod snapshots;
