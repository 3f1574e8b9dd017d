//! Running a handler on this machine: `upstack invoke` builds it for the host
//! and feeds it one event through the embedded Runtime API
//! (`upstack-runtime-api`), with the environment the deployed function has.

pub mod invoke;
