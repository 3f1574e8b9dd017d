//! Terminal output. Colour is the caller's decision (terminal and no `NO_COLOR`).

use std::fmt::Write as _;

use owo_colors::OwoColorize;

use super::{
    Mark, Sources, change_set_detail_line, consequence_lines, drift_counts, drift_heading,
    drift_property_lines, property_replacement_label, replacement_label, resource_counts,
    security_counts, value_lines,
};
use crate::drift::ResourceDrift;
use crate::model::{Action, Direction, TemplateDiff, ValueChange};

#[derive(Clone, Copy)]
enum Tone {
    Added,
    Removed,
    Changed,
    Warning,
    Dim,
    Heading,
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, tone: Tone, text: &str) -> String {
        if !self.color {
            return text.to_owned();
        }
        match tone {
            Tone::Added => text.green().to_string(),
            Tone::Removed => text.red().to_string(),
            Tone::Changed => text.yellow().to_string(),
            Tone::Warning => text.red().bold().to_string(),
            Tone::Dim => text.dimmed().to_string(),
            Tone::Heading => text.bold().to_string(),
        }
    }

    fn mark(&self, mark: Mark, text: &str) -> String {
        match mark {
            Mark::Removed => self.paint(Tone::Removed, &format!("- {text}")),
            Mark::Added => self.paint(Tone::Added, &format!("+ {text}")),
            Mark::Context => self.paint(Tone::Dim, &format!("  {text}")),
            Mark::Gap => self.paint(Tone::Dim, &format!("  {text}")),
        }
    }
}

/// Each drifted resource, its properties and their details, indented.
fn drift_entries(drift: &[ResourceDrift], painter: &Painter) -> String {
    let mut out = String::new();
    for resource in drift {
        let _ = writeln!(
            out,
            "  {} {}",
            painter.paint(Tone::Warning, "!"),
            drift_heading(resource)
        );
        for property in &resource.properties {
            let tone = if property.broadening {
                Tone::Warning
            } else {
                Tone::Changed
            };
            let (heading, below) = drift_property_lines(property);
            let _ = writeln!(out, "      {}", painter.paint(tone, &heading));
            for line in below {
                let _ = writeln!(out, "          {line}");
            }
        }
    }
    out
}

/// The drift of a stack as `diff` prints it, without colour: for `status`.
pub fn drift(drift: &[ResourceDrift]) -> String {
    drift_entries(drift, &Painter { color: false })
}

fn action_marker(action: Action) -> (&'static str, Tone) {
    match action {
        Action::Add => ("[+]", Tone::Added),
        Action::Modify => ("[~]", Tone::Changed),
        Action::Remove => ("[-]", Tone::Removed),
    }
}

fn value_marker(kind: ValueChange) -> (&'static str, Tone) {
    match kind {
        ValueChange::Added => ("[+]", Tone::Added),
        ValueChange::Modified => ("[~]", Tone::Changed),
        ValueChange::Removed => ("[-]", Tone::Removed),
    }
}

/// Renders the diff for a terminal; `color` adds ANSI styles.
pub fn text(diff: &TemplateDiff, sources: &Sources, color: bool) -> String {
    let painter = Painter { color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        painter.paint(
            Tone::Dim,
            &format!("diff {} -> {}", sources.old, sources.new)
        )
    );
    if diff.is_empty() {
        let _ = writeln!(out, "No changes.");
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
        "{}",
        painter.paint(
            Tone::Heading,
            &format!(
                "{} · {}{other}{}",
                resource_counts(&summary),
                security_counts(&summary),
                drift_counts(&summary)
            )
        )
    );

    // First: what people changed in the account since the last deploy,
    // which the template diff alone cannot show.
    if !diff.drift.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            painter.paint(Tone::Warning, "Changed outside CloudFormation")
        );
        out.push_str(&drift_entries(&diff.drift, &painter));
    }

    if summary.destructive > 0 {
        let _ = writeln!(
            out,
            "\n{}",
            painter.paint(Tone::Warning, "Destructive changes")
        );
        for change in diff.destructive() {
            for hazard in &change.hazards {
                let _ = writeln!(
                    out,
                    "  {} {} ({}): {}",
                    painter.paint(Tone::Warning, "!"),
                    change.logical_id,
                    change.type_name(),
                    hazard.message
                );
            }
        }
    }

    if !diff.security.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            painter.paint(Tone::Heading, "Security changes")
        );
        for change in &diff.security {
            let (marker, tone) = value_marker(change.kind);
            let direction = match change.direction {
                Direction::Broadening => painter.paint(Tone::Warning, "broadening"),
                Direction::Narrowing => painter.paint(Tone::Added, "narrowing"),
                Direction::Changed => painter.paint(Tone::Changed, "changed"),
            };
            let what = match change.kind {
                ValueChange::Added => "added",
                ValueChange::Removed => "removed",
                ValueChange::Modified => "modified",
            };
            let wildcard = if change.wildcard {
                painter.paint(Tone::Warning, " (adds a wildcard)")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {} {direction} {} ({}) {}: {what}{wildcard}",
                painter.paint(tone, marker),
                change.logical_id,
                change.resource_type,
                change.policy
            );
            for line in &change.details {
                let tone = match line.chars().next() {
                    Some('+') => Tone::Added,
                    Some('-') => Tone::Removed,
                    _ => Tone::Changed,
                };
                let _ = writeln!(out, "        {}", painter.paint(tone, line));
            }
        }
    }

    if !diff.resources.is_empty() {
        let _ = writeln!(out, "\n{}", painter.paint(Tone::Heading, "Resources"));
        for change in &diff.resources {
            let (marker, tone) = action_marker(change.action);
            let replacement = replacement_label(change)
                .map(|label| format!(" {}", painter.paint(Tone::Warning, &format!("({label})"))))
                .unwrap_or_default();
            let code = if change.code_update {
                format!(" {}", painter.paint(Tone::Dim, "(code update)"))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {} {} {}{replacement}{code}",
                painter.paint(tone, marker),
                change.logical_id,
                painter.paint(Tone::Dim, change.type_name())
            );
            for line in consequence_lines(change) {
                let _ = writeln!(out, "      {} {line}", painter.paint(Tone::Warning, "!"));
            }
            for property in &change.changes {
                let (marker, tone) = value_marker(property.kind);
                let note = property_replacement_label(property.replacement)
                    .map(|label| {
                        format!(" {}", painter.paint(Tone::Warning, &format!("({label})")))
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "      {} {}{note}",
                    painter.paint(tone, marker),
                    property.path
                );
                for (mark, line) in value_lines(property.old.as_ref(), property.new.as_ref()) {
                    let _ = writeln!(out, "          {}", painter.mark(mark, &line));
                }
            }
            if let Some(view) = &change.change_set {
                for detail in &view.details {
                    let _ = writeln!(
                        out,
                        "      {} {}",
                        painter.paint(Tone::Dim, "[change set]"),
                        change_set_detail_line(detail)
                    );
                }
            }
        }
    }

    if !diff.sections.is_empty() {
        let _ = writeln!(out, "\n{}", painter.paint(Tone::Heading, "Other changes"));
        for change in &diff.sections {
            let (marker, tone) = value_marker(change.kind);
            let _ = writeln!(
                out,
                "  {} {}.{}",
                painter.paint(tone, marker),
                change.section,
                change.name
            );
            for (mark, line) in value_lines(change.old.as_ref(), change.new.as_ref()) {
                let _ = writeln!(out, "          {}", painter.mark(mark, &line));
            }
        }
    }
    out
}
