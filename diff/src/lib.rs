//! Template diff: what a change will do, for a reviewer and for a machine.
//!
//! Pure: takes two templates as `serde_json::Value` (synthesized, read from a
//! file, or returned by GetTemplate) and returns a [`TemplateDiff`] of
//! resource, property, section and IAM statement changes, with replacement
//! predicted offline from the schemas' create-only properties. The
//! renderers turn it into text, Markdown (PR comments) or versioned JSON.

pub mod drift;
mod engine;
pub mod model;
mod opaque;
pub mod render;
mod security;

pub use engine::{DiffContext, DiffError, Side, diff_templates, diff_templates_with, is_stateful};
pub use model::*;
pub use upstack_cfn::{PseudoValues, StackPolicy};

/// Which changes make `diff --fail-on` exit 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// A security change that grants more.
    Broadening,
    /// A resource change with a hazard: a stateful resource removed,
    /// replaced or possibly replaced (whatever its DeletionPolicy or
    /// UpdateReplacePolicy), or a retention policy weakened.
    Destructive,
    /// Any change at all.
    Any,
    /// A resource changed outside CloudFormation (or whose state could not
    /// be read).
    Drift,
}

impl FailOn {
    /// As `--fail-on` spells it.
    pub fn name(self) -> &'static str {
        match self {
            FailOn::Broadening => "broadening",
            FailOn::Destructive => "destructive",
            FailOn::Any => "any",
            FailOn::Drift => "drift",
        }
    }

    /// The reasons this diff is blocked, one line each; empty when it is not.
    pub fn violations(self, diff: &TemplateDiff) -> Vec<String> {
        match self {
            FailOn::Any => {
                if diff.is_empty() {
                    Vec::new()
                } else {
                    let summary = diff.summary();
                    vec![format!(
                        "{} resource change(s), {} security change(s), {} other change(s), {} resource(s) drifted or unreadable",
                        diff.resources.len(),
                        summary.security,
                        summary.other,
                        diff.drift.len()
                    )]
                }
            }
            FailOn::Destructive => diff
                .destructive()
                .flat_map(|change| {
                    change
                        .hazards
                        .iter()
                        .map(move |hazard| format!("{}: {}", change.logical_id, hazard.message))
                })
                .collect(),
            FailOn::Broadening => diff
                .security
                .iter()
                .filter(|change| change.direction == Direction::Broadening)
                .map(|change| {
                    format!(
                        "{} {}: {} ({})",
                        change.logical_id,
                        change.policy,
                        change.details.join("; "),
                        change.resource_type
                    )
                })
                // A value changed outside CloudFormation that weakens security.
                .chain(diff.drift.iter().flat_map(|resource| {
                    resource
                        .properties
                        .iter()
                        .filter(|property| property.broadening)
                        .map(move |property| {
                            format!(
                                "{} {} changed outside CloudFormation: {} ({})",
                                resource.logical_id,
                                property.path,
                                property.details.join("; "),
                                resource.resource_type
                            )
                        })
                }))
                .collect(),
            FailOn::Drift => diff
                .drift
                .iter()
                .map(|resource| match resource.status {
                    drift::DriftStatus::Deleted => format!(
                        "{} ({}) was deleted outside CloudFormation",
                        resource.logical_id, resource.resource_type
                    ),
                    drift::DriftStatus::Unknown => format!(
                        "{} ({}): drift unknown ({})",
                        resource.logical_id,
                        resource.resource_type,
                        resource.reason.as_deref().unwrap_or("no reason given")
                    ),
                    drift::DriftStatus::Modified => format!(
                        "{} ({}) changed outside CloudFormation: {}",
                        resource.logical_id,
                        resource.resource_type,
                        resource
                            .properties
                            .iter()
                            .map(|property| property.path.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
                .collect(),
        }
    }
}

impl TemplateDiff {
    /// Merges what CloudFormation reported in a change set into the offline
    /// diff: its `Replacement` overrides the prediction (a value this
    /// version does not know never lowers it), and resources it
    /// changes that the template diff did not see (e.g. a `Dynamic` change
    /// caused by a replaced resource it references) are added.
    pub fn merge_change_set(&mut self, changes: Vec<ChangeSetResource>) {
        for change in changes {
            // A drift-aware change set lists resources it only re-records
            // (`SyncWithActual`: "the resource will not be changed"): not a
            // change, unless the template diff has one for it.
            let record_only = change.view.action == ChangeSetAction::SyncWithActual;
            if let Some(existing) = self
                .resources
                .iter_mut()
                .find(|resource| resource.logical_id == change.logical_id)
            {
                existing.change_set = Some(change.view);
                continue;
            }
            if record_only {
                continue;
            }
            let action = match change.view.action {
                ChangeSetAction::Add | ChangeSetAction::Import => Action::Add,
                ChangeSetAction::Remove => Action::Remove,
                // An unknown action stays a change to the resource, and the
                // view's unknown value makes it a possible replacement.
                ChangeSetAction::Modify
                | ChangeSetAction::Dynamic
                | ChangeSetAction::SyncWithActual
                | ChangeSetAction::Unknown(_) => Action::Modify,
            };
            let type_name = change.resource_type.clone();
            self.resources.push(ResourceChange {
                logical_id: change.logical_id,
                action,
                old_type: if action == Action::Add {
                    None
                } else {
                    type_name.clone()
                },
                new_type: if action == Action::Remove {
                    None
                } else {
                    type_name.clone()
                },
                replacement: Replacement::None,
                replaced_by: Vec::new(),
                consequences: Vec::new(),
                code_update: false,
                stateful: type_name.as_deref().is_some_and(is_stateful),
                hazards: Vec::new(),
                changes: Vec::new(),
                change_set: Some(change.view),
            });
        }
        self.resources
            .sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
        // CloudFormation's verdict can rule out a predicted replacement of a
        // stateful resource, add one the prediction did not foresee, or hold
        // a value this version cannot read, which is a possible one.
        for resource in &mut self.resources {
            let Some(view) = &resource.change_set else {
                continue;
            };
            if view.rules_out_replacement() {
                resource.hazards.retain(|hazard| {
                    !matches!(
                        hazard.kind,
                        HazardKind::StatefulReplaced | HazardKind::StatefulMayBeReplaced
                    )
                });
                if resource.action == Action::Modify {
                    resource.consequences.clear();
                }
            }
            let effective = resource.effective_replacement();
            let has = |kind| resource.hazards.iter().any(|hazard| hazard.kind == kind);
            let replaced_hazard = has(HazardKind::StatefulReplaced);
            let may_be_replaced_hazard = has(HazardKind::StatefulMayBeReplaced);
            if !resource.stateful || resource.action != Action::Modify || replaced_hazard {
                continue;
            }
            if effective == Replacement::Replace {
                resource
                    .hazards
                    .retain(|hazard| hazard.kind != HazardKind::StatefulMayBeReplaced);
                resource.hazards.push(Hazard {
                    kind: HazardKind::StatefulReplaced,
                    message: format!(
                        "{} is replaced (change set Replacement True): the old one is deleted with its data, or orphaned if UpdateReplacePolicy retains it, and a new, empty one takes its place",
                        resource.type_name()
                    ),
                });
            } else if matches!(effective, Replacement::MayReplace | Replacement::Unknown)
                && !may_be_replaced_hazard
            {
                // A stateful resource CloudFormation may replace is as much
                // a hazard as one the offline prediction flags: without it,
                // `--fail-on destructive` and prod's approval would pass a
                // table or bucket that `Replacement: Conditional` can empty.
                resource.hazards.push(Hazard {
                    kind: HazardKind::StatefulMayBeReplaced,
                    message: format!(
                        "{} may be replaced: the change set says {}, so a replacement cannot be ruled out",
                        resource.type_name(),
                        uncertain_values(view).join(", ")
                    ),
                });
            }
        }
    }
}

/// The values of `view` that leave a replacement open, each with its field
/// and whether this version knows it: `Replacement `Conditional``,
/// `Action `Dynamic``, `Replacement `Maybe` (unknown to this version of
/// upstack)`, `KeySchema RequiresRecreation `Sometimes` (unknown ...)`.
fn uncertain_values(view: &ChangeSetView) -> Vec<String> {
    const UNKNOWN: &str = " (unknown to this version of upstack)";
    let mut found = Vec::new();
    match &view.action {
        ChangeSetAction::Unknown(action) => found.push(format!("Action `{action}`{UNKNOWN}")),
        ChangeSetAction::Dynamic => found.push("Action `Dynamic`".to_owned()),
        _ => {}
    }
    match &view.replacement {
        Some(ChangeSetReplacement::Unknown(replacement)) => {
            found.push(format!("Replacement `{replacement}`{UNKNOWN}"));
        }
        Some(ChangeSetReplacement::Conditional) => {
            found.push("Replacement `Conditional`".to_owned());
        }
        _ => {}
    }
    for detail in &view.details {
        let target = detail.name.as_deref().unwrap_or("a target");
        match &detail.requires_recreation {
            Some(RequiresRecreation::Unknown(recreation)) => {
                found.push(format!(
                    "{target} RequiresRecreation `{recreation}`{UNKNOWN}"
                ));
            }
            Some(RequiresRecreation::Conditionally) => {
                found.push(format!("{target} RequiresRecreation `Conditionally`"));
            }
            _ => {}
        }
    }
    found
}
