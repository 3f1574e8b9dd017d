//! The project on disk: the workspace root, `envs/<env>.toml`, handler
//! fingerprints, and what synth writes to `synth-out/<env>/` (and every other
//! command reads back through [`manifest`]).

pub mod fingerprint;
pub mod fsutil;
pub mod manifest;
pub mod new_handler;
pub mod synth;
