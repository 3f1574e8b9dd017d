//! Text, Markdown and JSON renderings of a [`TemplateDiff`].

mod json;
mod markdown;
mod text;

pub use json::{json, report};
pub use markdown::{MAX_MARKDOWN_CHARS, markdown, markdown_capped};
pub use text::{drift, text};

use serde_json::Value as Json;
use similar::{ChangeTag, TextDiff};

use crate::drift::{DriftFate, DriftStatus, PropertyDrift, ResourceDrift};
use crate::model::{
    AttributeChangeType, BeforeValueFrom, ChangeSetDetail, ChangeSource, Evaluation, Replacement,
    RequiresRecreation, ResourceChange, Summary,
};

/// What was compared, for headers: e.g. `stack upstack-dev (deployed)` and
/// `synth-out/dev/template.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sources {
    pub old: String,
    pub new: String,
}

/// Values longer than this (compact JSON) are shown as a line diff of their
/// pretty-printed form instead of `- old` / `+ new`.
const INLINE_LIMIT: usize = 72;

/// Lines of context kept around each changed line of a long value.
const CONTEXT_LINES: usize = 3;

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `3 to add, 2 to change (1 replacement), 1 to destroy`.
pub(crate) fn resource_counts(summary: &Summary) -> String {
    let mut change = format!("{} to change", summary.change);
    let mut notes = Vec::new();
    if summary.replace > 0 {
        notes.push(plural(summary.replace, "replacement", "replacements"));
    }
    if summary.may_replace > 0 {
        notes.push(format!("{} may be replaced", summary.may_replace));
    }
    if summary.code_updates > 0 {
        notes.push(plural(summary.code_updates, "code update", "code updates"));
    }
    if !notes.is_empty() {
        change.push_str(&format!(" ({})", notes.join(", ")));
    }
    format!(
        "{} to add, {change}, {} to destroy",
        summary.add, summary.destroy
    )
}

/// `2 security changes (1 broadening)`.
pub(crate) fn security_counts(summary: &Summary) -> String {
    format!(
        "{} ({} broadening)",
        plural(summary.security, "security change", "security changes"),
        summary.broadening
    )
}

/// ` · 2 changed outside CloudFormation (1 broadening, 1 unknown)`, or
/// nothing when the account was not read or nothing drifted.
pub(crate) fn drift_counts(summary: &Summary) -> String {
    let mut counts = String::new();
    if summary.drifted > 0 {
        counts.push_str(&format!(
            " · {} changed outside CloudFormation",
            summary.drifted
        ));
        if summary.drift_broadening > 0 {
            counts.push_str(&format!(" ({} broadening)", summary.drift_broadening));
        }
    }
    if summary.drift_unknown > 0 {
        counts.push_str(&format!(
            " · {} whose drift is unknown",
            summary.drift_unknown
        ));
    }
    counts
}

/// The heading line of one drifted resource.
pub(crate) fn drift_heading(resource: &ResourceDrift) -> String {
    let what = match resource.status {
        DriftStatus::Modified => "changed outside CloudFormation",
        DriftStatus::Deleted => "DELETED outside CloudFormation",
        DriftStatus::Unknown => "drift unknown",
    };
    let physical = resource
        .physical_id
        .as_deref()
        .map(|id| format!(" {id}"))
        .unwrap_or_default();
    let mut line = format!(
        "{} ({}){physical}: {what}",
        resource.logical_id, resource.resource_type
    );
    if let Some(reason) = &resource.reason {
        line.push_str(&format!(": {reason}"));
    }
    line
}

/// A value short enough to print inline, or `None`.
fn inline(value: Option<&Json>) -> Option<String> {
    match value {
        None => Some("not set".to_owned()),
        Some(value) => {
            let text = value.to_string();
            (text.chars().count() <= INLINE_LIMIT).then_some(text)
        }
    }
}

/// The members of two objects that differ, down to the smallest part:
/// `(BlockPublicPolicy, true, false)`. Lists and scalars are compared whole.
fn member_changes(
    prefix: &str,
    want: Option<&Json>,
    have: Option<&Json>,
    out: &mut Vec<(String, Option<Json>, Option<Json>)>,
) {
    match (want, have) {
        (Some(Json::Object(a)), Some(Json::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                member_changes(&path, a.get(key), b.get(key), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push((prefix.to_owned(), a.cloned(), b.cloned())),
    }
}

/// One drifted property as a heading and the lines under it:
/// `MemorySize: the template says 256, the account has 1024; this deploy
/// sets it to 512`. A value too long to read inline is shown as the members
/// that differ, and a policy as its statement changes.
pub(crate) fn drift_property_lines(property: &PropertyDrift) -> (String, Vec<String>) {
    let name = property
        .path
        .strip_prefix("Properties.")
        .unwrap_or(&property.path);
    let expected = property.expected.as_ref();
    let actual = property.actual.as_ref();
    let mut below = Vec::new();
    let mut line = match (inline(expected), inline(actual)) {
        (Some(want), Some(have)) if property.details.is_empty() => {
            let expected = if property.declared {
                format!("the template says {want}")
            } else if expected.is_some() {
                format!("not in the template (AWS's default {want})")
            } else {
                "not in the template".to_owned()
            };
            format!("{name}: {expected}, the account has {have}")
        }
        _ => {
            let is_policy =
                |value: Option<&Json>| value.is_some_and(|value| value.get("Statement").is_some());
            // A policy's statement changes are in its details already.
            if !is_policy(expected) && !is_policy(actual) {
                let mut members = Vec::new();
                member_changes("", expected, actual, &mut members);
                for (path, want, have) in members {
                    let show = |value: Option<Json>| {
                        inline(value.as_ref()).unwrap_or_else(|| "(a long value)".to_owned())
                    };
                    below.push(format!("{path}: {} -> {}", show(want), show(have)));
                }
            }
            if property.declared {
                format!("{name}: differs from the template")
            } else {
                format!("{name}: not in the template, set in the account")
            }
        }
    };
    below.extend(property.details.iter().cloned());
    if property.broadening {
        line.push_str(" (broadening)");
    }
    let revertible = if property.declared {
        " (deploy --revert-drift sets it back)"
    } else {
        ""
    };
    match &property.fate {
        None => {}
        Some(DriftFate::Overwritten { value: Some(value) }) => match inline(Some(value)) {
            Some(value) => line.push_str(&format!("; this deploy sets it to {value}")),
            None => line.push_str("; this deploy sets it to the new template's value"),
        },
        Some(DriftFate::Overwritten { value: None }) => {
            line.push_str("; this deploy overwrites it")
        }
        Some(DriftFate::Reverted) => {
            line.push_str("; this deploy sets it back to the template's value")
        }
        Some(DriftFate::Left) => {
            line.push_str(&format!("; this deploy leaves it as it is{revertible}"))
        }
    }
    (line, below)
}

pub(crate) fn replacement_label(change: &ResourceChange) -> Option<String> {
    let label = match change.effective_replacement() {
        Replacement::None => return None,
        Replacement::Replace => "replace",
        Replacement::MayReplace => "may be replaced",
        Replacement::Unknown => "replacement unknown (type not in the vendored schemas)",
    };
    let forced_by = if change.replaced_by.is_empty()
        || change.effective_replacement() == Replacement::Unknown
    {
        String::new()
    } else {
        format!(" by {}", change.replaced_by.join(", "))
    };
    Some(
        match change
            .change_set
            .as_ref()
            .and_then(|view| view.replacement.as_ref())
        {
            Some(from_aws) => {
                format!("{label}{forced_by} (change set: Replacement {from_aws})")
            }
            None => format!("{label}{forced_by}"),
        },
    )
}

/// What happens to the old resource, when it is replaced or removed. The
/// first applies; later ones are what would follow if it were lifted.
pub(crate) fn consequence_lines(change: &ResourceChange) -> impl Iterator<Item = String> + '_ {
    let shown = change.action == crate::model::Action::Remove
        || change.effective_replacement() != Replacement::None;
    change
        .consequences
        .iter()
        .filter(move |_| shown)
        .enumerate()
        .map(|(index, consequence)| {
            if index == 0 {
                consequence.message.clone()
            } else {
                format!("if allowed: {}", consequence.message)
            }
        })
}

pub(crate) fn property_replacement_label(replacement: Replacement) -> Option<&'static str> {
    match replacement {
        Replacement::None => None,
        Replacement::Replace => Some("create-only: replace"),
        Replacement::MayReplace => Some("create-only, intrinsic value: may be replaced"),
        Replacement::Unknown => Some("replacement unknown"),
    }
}

/// How a line of a value diff is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    Removed,
    Added,
    Context,
    /// A gap between hunks of a long value.
    Gap,
}

/// The lines showing how a value changed: `- old` / `+ new` for short
/// values, a line diff of the pretty-printed JSON (or of a multi-line
/// string's own lines) for long ones.
pub(crate) fn value_lines(old: Option<&Json>, new: Option<&Json>) -> Vec<(Mark, String)> {
    let short = |value: Option<&Json>| {
        value.is_none_or(|value| {
            !matches!(value, Json::String(text) if text.contains('\n'))
                && value.to_string().len() <= INLINE_LIMIT
        })
    };
    if short(old) && short(new) {
        let mut lines = Vec::new();
        lines.extend(old.map(|value| (Mark::Removed, value.to_string())));
        lines.extend(new.map(|value| (Mark::Added, value.to_string())));
        return lines;
    }
    let old_text = old.map(long_form).unwrap_or_default();
    let new_text = new.map(long_form).unwrap_or_default();
    let diff = TextDiff::from_lines(&old_text, &new_text);
    let mut lines = Vec::new();
    for (index, group) in diff.grouped_ops(CONTEXT_LINES).iter().enumerate() {
        if index > 0 {
            lines.push((Mark::Gap, "...".to_owned()));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let mark = match change.tag() {
                    ChangeTag::Delete => Mark::Removed,
                    ChangeTag::Insert => Mark::Added,
                    ChangeTag::Equal => Mark::Context,
                };
                lines.push((mark, change.value().trim_end_matches('\n').to_owned()));
            }
        }
    }
    lines
}

fn long_form(value: &Json) -> String {
    let mut text = match json_in_text(value) {
        // JSON carried in a string (a dashboard body, a policy passed as
        // text): expanded, so the line diff shows the members that changed,
        // not the whole string twice.
        Some((label, parsed)) => format!(
            "{label}\n{}",
            serde_json::to_string_pretty(&parsed).unwrap_or_else(|_| parsed.to_string())
        ),
        None => match value {
            Json::String(text) if text.contains('\n') => text.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
        },
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The JSON document a value carries as text, and how it was carried: a
/// string holding a JSON object or array, or a `Fn::Sub` of one (its
/// `${...}` placeholders sit inside JSON strings, so the text still parses).
fn json_in_text(value: &Json) -> Option<(&'static str, Json)> {
    let parse = |text: &str| {
        serde_json::from_str::<Json>(text)
            .ok()
            .filter(|parsed| parsed.is_object() || parsed.is_array())
    };
    match value {
        Json::String(text) => parse(text).map(|parsed| ("(JSON text)", parsed)),
        Json::Object(map) if map.len() == 1 => {
            let template = match map.get("Fn::Sub")? {
                Json::String(text) => text,
                Json::Array(items) => items.first()?.as_str()?,
                _ => return None,
            };
            parse(template).map(|parsed| ("Fn::Sub of JSON text:", parsed))
        }
        _ => None,
    }
}

/// `Properties.Environment: recreation Never (ResourceReference Records)`.
pub(crate) fn change_set_detail_line(detail: &ChangeSetDetail) -> String {
    let target = match (&detail.attribute, &detail.name) {
        (Some(attribute), Some(name)) => format!("{attribute}.{name}"),
        (Some(attribute), None) => attribute.as_str().to_owned(),
        (None, Some(name)) => name.clone(),
        (None, None) => "(no target)".to_owned(),
    };
    let mut line = format!(
        "{target}: recreation {}",
        detail
            .requires_recreation
            .as_ref()
            .map_or("not reported", RequiresRecreation::as_str)
    );
    let cause: Vec<&str> = [
        detail.evaluation.as_ref().map(Evaluation::as_str),
        detail.change_source.as_ref().map(ChangeSource::as_str),
        detail.causing_entity.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !cause.is_empty() {
        line.push_str(&format!(" ({})", cause.join(" ")));
    }
    // A drift-aware change set (deploy --revert-drift) says where the value
    // it changes comes from, and when it changes only its own record.
    match &detail.attribute_change_type {
        Some(AttributeChangeType::SyncWithActual) => {
            line.push_str("; the account's value is kept, only CloudFormation's record changes")
        }
        Some(kind) if detail.before_value_from == Some(BeforeValueFrom::ActualState) => {
            line.push_str(&format!(
                "; {} from the account's actual value",
                kind.as_str().to_lowercase()
            ));
        }
        _ => {}
    }
    line
}

#[cfg(test)]
mod json_text_tests {
    use super::*;

    #[test]
    fn json_carried_in_text_is_diffed_by_member_not_as_one_line_twice() {
        let widget = |title: &str| {
            serde_json::json!({"widgets": [
                {"type": "metric", "properties": {"title": title, "region": "${AWS::Region}", "stat": "Sum"}},
                {"type": "alarm", "properties": {"title": "Alarms", "alarms": ["a", "b", "c", "d", "e", "f"]}}
            ]})
            .to_string()
        };
        for wrap in [
            |text: String| Json::String(text),
            |text: String| serde_json::json!({ "Fn::Sub": text }),
        ] {
            let lines = value_lines(
                Some(&wrap(widget("ingest rows"))),
                Some(&wrap(widget("ingest rows (sum)"))),
            );
            let changed: Vec<&str> = lines
                .iter()
                .filter(|(mark, _)| matches!(mark, Mark::Removed | Mark::Added))
                .map(|(_, line)| line.trim())
                .collect();
            assert_eq!(
                changed,
                [
                    "\"title\": \"ingest rows\",",
                    "\"title\": \"ingest rows (sum)\","
                ],
                "{lines:#?}"
            );
        }
    }
}
