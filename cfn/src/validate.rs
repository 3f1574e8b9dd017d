//! Template validation (being written).
