//! The machine-readable output; its shape is documented in `diff/SCHEMA.md`.

use super::Sources;
use crate::model::{JsonReport, SCHEMA_VERSION, TemplateDiff};

/// The JSON document as a value, for callers that embed it.
pub fn report(diff: &TemplateDiff, sources: &Sources) -> JsonReport {
    JsonReport {
        schema_version: SCHEMA_VERSION,
        old_source: sources.old.clone(),
        new_source: sources.new.clone(),
        has_changes: !diff.is_empty(),
        summary: diff.summary(),
        resources: diff.resources.clone(),
        security: diff.security.clone(),
        sections: diff.sections.clone(),
        drift: diff.drift.clone(),
    }
}

/// Pretty-printed JSON with a trailing newline.
pub fn json(diff: &TemplateDiff, sources: &Sources) -> String {
    // Serializing plain structs of strings, numbers and serde_json values
    // cannot fail; fall back to an explicit error object rather than panic.
    let mut text = serde_json::to_string_pretty(&report(diff, sources)).unwrap_or_else(|error| {
        format!("{{\"schema_version\": {SCHEMA_VERSION}, \"error\": \"{error}\"}}")
    });
    text.push('\n');
    text
}
