//! The upload pipeline stack: env configs, the pipeline as plain data, the
//! synth-time checks on it, and the CloudFormation template built from it.
//! No IO: the toolkit reads the files and passes text and asset keys in.

pub mod checks;
pub mod config;
pub mod model;
