//! A pull-request comment: summary line, tables, collapsed property diffs.

use std::fmt::Write as _;

use super::{
    Mark, Sources, change_set_detail_line, consequence_lines, drift_counts, drift_heading,
    drift_property_lines, property_replacement_label, replacement_label, resource_counts,
    security_counts, value_lines,
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

/// A comment on a code-hosting site is capped near 65,536 characters
/// (GitHub: 65,536); stay well under it, room left for a bot's own header.
pub const MAX_MARKDOWN_CHARS: usize = 60_000;

/// Room kept for the closing `</details>` and the line saying what was cut.
const TAIL_RESERVE: usize = 400;

/// The comment being written: once one entry does not fit, it and every
/// later entry are counted instead of written, so what is shown is a prefix
/// in priority order.
struct Capped {
    out: String,
    /// Characters in `out` (the cap counts characters, not bytes).
    chars: usize,
    limit: usize,
    cut: usize,
}

impl Capped {
    fn push(&mut self, text: &str) {
        self.out.push_str(text);
        self.chars += text.chars().count();
    }

    fn fits(&self, text: &str) -> bool {
        self.cut == 0 && self.chars + text.chars().count() + TAIL_RESERVE <= self.limit
    }

    /// Headings and table headers: written only while entries still fit.
    fn frame(&mut self, text: &str) -> bool {
        let fits = self.fits(text);
        if fits {
            self.push(text);
        }
        fits
    }

    /// One change: written, or counted as not shown.
    fn entry(&mut self, text: &str) {
        if self.fits(text) {
            self.push(text);
        } else {
            self.cut += 1;
        }
    }
}

/// The pull-request comment: summary first, then every destructive change
/// and every broadening security change, then the rest; never longer than
/// [`MAX_MARKDOWN_CHARS`] characters. What does not fit is cut with a line
/// pointing to the JSON output.
pub fn markdown(diff: &TemplateDiff, sources: &Sources) -> String {
    markdown_capped(diff, sources, MAX_MARKDOWN_CHARS)
}

/// [`markdown`] with another cap, for callers that embed it in a longer text.
pub fn markdown_capped(diff: &TemplateDiff, sources: &Sources, limit: usize) -> String {
    let mut head = String::new();
    let _ = writeln!(
        head,
        "#### upstack diff: {} → {}\n",
        code(&sources.old),
        code(&sources.new)
    );
    if diff.is_empty() {
        let _ = writeln!(head, "**No changes.**");
        return head;
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
        head,
        "**{}** · {}{other}{}",
        resource_counts(&summary),
        security_counts(&summary),
        drift_counts(&summary)
    );
    let mut doc = Capped {
        chars: head.chars().count(),
        out: head,
        limit,
        cut: 0,
    };

    // First: what people changed in the account since the last deploy.
    if !diff.drift.is_empty() {
        doc.frame("\n### ⚠️ Changed outside CloudFormation\n\n");
        for resource in &diff.drift {
            let mut entry = format!("- **{}**\n", cell(&drift_heading(resource)));
            for property in &resource.properties {
                let (heading, below) = drift_property_lines(property);
                entry.push_str(&format!("  - {}\n", cell(&heading)));
                for line in below {
                    entry.push_str(&format!("    - {}\n", code(&line)));
                }
            }
            doc.entry(&entry);
        }
    }

    if summary.destructive > 0 {
        doc.frame("\n### ⚠️ Destructive changes\n\n");
        for change in diff.destructive() {
            for hazard in &change.hazards {
                doc.entry(&format!(
                    "- **{}** ({}): {}\n",
                    cell(&change.logical_id),
                    code(change.type_name()),
                    cell(&hazard.message)
                ));
            }
        }
    }

    if !diff.security.is_empty() {
        doc.frame("\n### Security changes\n\n| Direction | Resource | Policy | Statement | Details |\n|---|---|---|---|---|\n");
        // Broadening first: what a reviewer must not miss comes before the cut.
        let (broadening, narrowing): (Vec<_>, Vec<_>) = diff
            .security
            .iter()
            .partition(|change| change.direction == Direction::Broadening);
        for change in broadening.into_iter().chain(narrowing) {
            let direction = match change.direction {
                Direction::Broadening if change.wildcard => "**broadening** (wildcard)",
                Direction::Broadening => "**broadening**",
                Direction::Narrowing => "narrowing",
                Direction::Changed => "changed (same shape)",
            };
            let details: Vec<String> = change.details.iter().map(|line| code(line)).collect();
            doc.entry(&format!(
                "| {direction} | {} ({}) | {} | {} | {} |\n",
                code(&change.logical_id),
                code(&change.resource_type),
                code(&change.policy),
                kind_word(change.kind),
                details.join("<br>")
            ));
        }
    }

    if !diff.resources.is_empty() {
        doc.frame("\n### Resources\n\n| Action | Logical ID | Type | Replacement | What happens |\n|---|---|---|---|---|\n");
        for change in &diff.resources {
            let action = match change.action {
                Action::Add => "add",
                Action::Modify if change.code_update => "modify (code update)",
                Action::Modify => "modify",
                Action::Remove => "**destroy**",
            };
            let replacement = replacement_label(change)
                .map(|label| format!("**{}**", cell(&label)))
                .unwrap_or_default();
            let happens: Vec<String> = consequence_lines(change).map(|line| cell(&line)).collect();
            doc.entry(&format!(
                "| {action} | {} | {} | {replacement} | {} |\n",
                code(&change.logical_id),
                code(change.type_name()),
                happens.join("<br>")
            ));
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
            let opened = doc.frame(&format!(
                "\n<details><summary>Property changes ({count})</summary>\n\n"
            ));
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
                doc.entry(&format!(
                    "**{}** ({})\n\n{fence}diff\n{body}{fence}\n\n",
                    cell(&change.logical_id),
                    code(change.type_name())
                ));
            }
            if opened {
                // Reserved in TAIL_RESERVE, so always written.
                doc.push("</details>\n");
            }
        }
    }

    if !diff.sections.is_empty() {
        doc.frame("\n### Other changes\n\n| Change | Section | Name |\n|---|---|---|\n");
        for change in &diff.sections {
            doc.entry(&format!(
                "| {} | {} | {} |\n",
                kind_word(change.kind),
                cell(&change.section),
                code(&change.name)
            ));
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
        doc.entry(&format!(
            "\n<details><summary>Values</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n"
        ));
    }
    if doc.cut > 0 {
        let _ = writeln!(
            doc.out,
            "\n… {} more {} not shown (this comment stops at {limit} characters); run `upstack diff --format json` or see the attached plan JSON for the full diff.",
            doc.cut,
            if doc.cut == 1 { "entry" } else { "entries" }
        );
    }
    doc.out
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
