//! A pull-request comment: summary line, tables, collapsed property diffs.

use std::fmt::Write as _;

use super::{
    Mark, Sources, change_set_detail_line, property_replacement_label, replacement_label,
    resource_counts, security_counts, value_lines,
};
use crate::model::{Action, Direction, TemplateDiff, ValueChange};

/// Inline code that survives a table cell: backticks would end the span
/// and `|` would end the cell.
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'").replace('|', "\\|"))
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A fence longer than any run of backticks in the content.
fn fence(content: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for character in content.chars() {
        if character == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn kind_word(kind: ValueChange) -> &'static str {
    match kind {
        ValueChange::Added => "added",
        ValueChange::Removed => "removed",
        ValueChange::Modified => "modified",
    }
}

pub fn markdown(diff: &TemplateDiff, sources: &Sources) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#### upstack diff: {} → {}\n",
        code(&sources.old),
        code(&sources.new)
    );
    if diff.is_empty() {
        let _ = writeln!(out, "**No changes.**");
        return out;
    }
    let summary = diff.summary();
    let other = if summary.other > 0 {
        format!(
            " · {} other change{}",
            summary.other,
            if summary.other == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "**{}** · {}{other}",
        resource_counts(&summary),
        security_counts(&summary)
    );

    if summary.destructive > 0 {
        let _ = writeln!(out, "\n### ⚠️ Destructive changes\n");
        for change in diff.destructive() {
            for hazard in &change.hazards {
                let _ = writeln!(
                    out,
                    "- **{}** ({}): {}",
                    cell(&change.logical_id),
                    code(change.type_name()),
                    cell(&hazard.message)
                );
            }
        }
    }

    if !diff.security.is_empty() {
        let _ = writeln!(out, "\n### Security changes\n");
        let _ = writeln!(
            out,
            "| Direction | Resource | Policy | Statement | Details |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        for change in &diff.security {
            let direction = match change.direction {
                Direction::Broadening if change.wildcard => "**broadening** (wildcard)",
                Direction::Broadening => "**broadening**",
                Direction::Narrowing => "narrowing",
            };
            let details: Vec<String> = change.details.iter().map(|line| code(line)).collect();
            let _ = writeln!(
                out,
                "| {direction} | {} ({}) | {} | {} | {} |",
                code(&change.logical_id),
                code(&change.resource_type),
                code(&change.policy),
                kind_word(change.kind),
                details.join("<br>")
            );
        }
    }

    if !diff.resources.is_empty() {
        let _ = writeln!(out, "\n### Resources\n");
        let _ = writeln!(out, "| Action | Logical ID | Type | Replacement |");
        let _ = writeln!(out, "|---|---|---|---|");
        for change in &diff.resources {
            let action = match change.action {
                Action::Add => "add",
                Action::Modify => "modify",
                Action::Remove => "**destroy**",
            };
            let replacement = replacement_label(change)
                .map(|label| format!("**{}**", cell(&label)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {action} | {} | {} | {replacement} |",
                code(&change.logical_id),
                code(change.type_name())
            );
        }
        let change_set_details = |change: &crate::model::ResourceChange| {
            change
                .change_set
                .as_ref()
                .map_or(0, |view| view.details.len())
        };
        let modified: Vec<_> = diff
            .resources
            .iter()
            .filter(|change| !change.changes.is_empty() || change_set_details(change) > 0)
            .collect();
        if !modified.is_empty() {
            let count: usize = modified
                .iter()
                .map(|change| change.changes.len() + change_set_details(change))
                .sum();
            let _ = writeln!(
                out,
                "\n<details><summary>Property changes ({count})</summary>\n"
            );
            for change in modified {
                let mut body = String::new();
                for property in &change.changes {
                    let note = property_replacement_label(property.replacement)
                        .map(|label| format!(" ({label})"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        body,
                        "@@ {} {}{note} @@",
                        kind_word(property.kind),
                        property.path
                    );
                    push_value_lines(&mut body, property.old.as_ref(), property.new.as_ref());
                }
                for detail in change.change_set.iter().flat_map(|view| &view.details) {
                    let _ = writeln!(body, "@@ change set: {} @@", change_set_detail_line(detail));
                }
                let fence = fence(&body);
                let _ = writeln!(
                    out,
                    "**{}** ({})\n",
                    cell(&change.logical_id),
                    code(change.type_name())
                );
                let _ = writeln!(out, "{fence}diff\n{body}{fence}\n");
            }
            let _ = writeln!(out, "</details>");
        }
    }

    if !diff.sections.is_empty() {
        let _ = writeln!(out, "\n### Other changes\n");
        let _ = writeln!(out, "| Change | Section | Name |");
        let _ = writeln!(out, "|---|---|---|");
        for change in &diff.sections {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                kind_word(change.kind),
                cell(&change.section),
                code(&change.name)
            );
        }
        let mut body = String::new();
        for change in &diff.sections {
            let _ = writeln!(
                body,
                "@@ {} {}.{} @@",
                kind_word(change.kind),
                change.section,
                change.name
            );
            push_value_lines(&mut body, change.old.as_ref(), change.new.as_ref());
        }
        let fence = fence(&body);
        let _ = writeln!(
            out,
            "\n<details><summary>Values</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>"
        );
    }
    out
}

fn push_value_lines(
    body: &mut String,
    old: Option<&serde_json::Value>,
    new: Option<&serde_json::Value>,
) {
    for (mark, line) in value_lines(old, new) {
        let prefix = match mark {
            Mark::Removed => "- ",
            Mark::Added => "+ ",
            Mark::Context | Mark::Gap => "  ",
        };
        let _ = writeln!(body, "{prefix}{line}");
    }
}
