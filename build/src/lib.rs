//! Building the handlers for Lambda: one `cargo zigbuild` per handler and
//! architecture, the ELF checks, and the reproducible zips named by their
//! fingerprints.

pub mod bundle;
