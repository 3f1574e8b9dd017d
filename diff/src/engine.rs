//! Compares two templates given as JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json};
use upstack_cfn::intrinsic::{contains_intrinsic, resolve};
use upstack_cfn::json::{Canonical, canonicalize};
use upstack_cfn::{PseudoValues, ResourceInfo, StackPolicy, TypeLookup, UpdateAction};

use crate::model::{
    Action, Consequence, ConsequenceKind, Hazard, HazardKind, PropertyChange, Replacement,
    ResourceChange, SectionChange, TemplateDiff, ValueChange,
};
use crate::opaque::is_opaque;
use crate::security;

/// Which of the two templates a problem was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Old,
    New,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Old => "old (deployed/base)",
            Side::New => "new (proposed)",
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiffError {
    #[error("the {side} template is not a CloudFormation template: {reason}")]
    NotATemplate { side: Side, reason: String },
}

/// Keyed sections compared entry by entry. Everything else at the top level
/// (Description, Transform, Metadata, AWSTemplateFormatVersion) is compared as
/// one value and reported under the `Template` section.
const KEYED_SECTIONS: [&str; 5] = ["Parameters", "Outputs", "Conditions", "Mappings", "Rules"];

/// Whether a type holds data: the registry's `stateful` fact
/// (`schemas/stateful.txt`), the same list prod's stack policy protects.
/// A type outside the registry is not known to be stateful.
pub fn is_stateful(type_name: &str) -> bool {
    upstack_cfn::stack_policy::is_stateful(type_name, upstack_cfn_resources::registry::lookup)
}

/// What the diff knows about where the new template goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffContext {
    /// Pseudo parameters known for the target (region from the env file,
    /// account from the env file or STS, stack name): create-only values
    /// are compared after resolving them.
    pub pseudo: PseudoValues,
    /// The stack policy in force for the deploy (prod's protective policy,
    /// `upstack_cfn::stack_policy::protective`, or the live stack's): a
    /// replacement or removal it denies is predicted as refused.
    pub stack_policy: Option<StackPolicy>,
}

/// Diffs `old` (deployed or base) against `new` (proposed). `lookup` supplies
/// each type's registry facts for replacement prediction. Nothing is known
/// about the target: see [`diff_templates_with`].
pub fn diff_templates(
    old: &Json,
    new: &Json,
    lookup: TypeLookup,
) -> Result<TemplateDiff, DiffError> {
    diff_templates_with(old, new, lookup, &DiffContext::default())
}

/// [`diff_templates`] with what is known about the target: pseudo
/// parameters to resolve and the stack policy in force.
pub fn diff_templates_with(
    old: &Json,
    new: &Json,
    lookup: TypeLookup,
    context: &DiffContext,
) -> Result<TemplateDiff, DiffError> {
    // Whatever order the two templates' maps are in: every walk below goes
    // through sorted key sets, `==` between maps ignores order, and the
    // values a change keeps are put in the canonical order (`owned`).
    let old_template = TemplateView::parse(old, Side::Old)?;
    let new_template = TemplateView::parse(new, Side::New)?;

    let mut resources = Vec::new();
    let ids: BTreeSet<&String> = old_template
        .resources
        .keys()
        .chain(new_template.resources.keys())
        .collect();
    for id in ids {
        let change = match (
            old_template.resources.get(id),
            new_template.resources.get(id),
        ) {
            (None, Some(new)) => Some(added(id, new, lookup)),
            (Some(old), None) => Some(removed(id, old, lookup, context)),
            (Some(old), Some(new)) => modified(id, old, new, lookup, context),
            (None, None) => None,
        };
        resources.extend(change);
    }

    let mut security = Vec::new();
    for id in old_template
        .resources
        .keys()
        .chain(new_template.resources.keys())
        .collect::<BTreeSet<_>>()
    {
        security.extend(security::diff_resource(
            id,
            old_template
                .resources
                .get(id)
                .map(|r| (r.type_name, r.properties)),
            new_template
                .resources
                .get(id)
                .map(|r| (r.type_name, r.properties)),
        ));
    }

    let mut sections = Vec::new();
    for section in KEYED_SECTIONS {
        let old_entries = old_template.keyed_section(section);
        let new_entries = new_template.keyed_section(section);
        let names: BTreeSet<&String> = old_entries.keys().chain(new_entries.keys()).collect();
        for name in names {
            sections.extend(section_change(
                section,
                name,
                old_entries.get(name).copied(),
                new_entries.get(name).copied(),
            ));
        }
    }
    let top_keys: BTreeSet<&String> = old_template
        .root
        .keys()
        .chain(new_template.root.keys())
        .filter(|key| key.as_str() != "Resources" && !KEYED_SECTIONS.contains(&key.as_str()))
        .collect();
    for key in top_keys {
        sections.extend(section_change(
            "Template",
            key,
            old_template.root.get(key),
            new_template.root.get(key),
        ));
    }

    Ok(TemplateDiff {
        resources,
        security,
        sections,
        drift: Vec::new(),
    })
}

/// Changes inside one entry of a section, down to the changed field
/// (`AssetKey.Description`), like resource properties.
fn section_change(
    section: &str,
    name: &str,
    old: Option<&Json>,
    new: Option<&Json>,
) -> Vec<SectionChange> {
    let mut leaves = Vec::new();
    diff_value(
        &mut vec![Segment::Key(name.to_owned())],
        old,
        new,
        &mut leaves,
    );
    leaves
        .into_iter()
        .map(|leaf| {
            let change = leaf_change(
                render_path(&leaf.path),
                leaf.old,
                leaf.new,
                Replacement::None,
            );
            SectionChange {
                section: section.to_owned(),
                name: change.path,
                kind: change.kind,
                old: change.old,
                new: change.new,
            }
        })
        .collect()
}

struct TemplateView<'a> {
    root: &'a Map<String, Json>,
    resources: BTreeMap<String, ResourceView<'a>>,
}

struct ResourceView<'a> {
    type_name: &'a str,
    properties: Option<&'a Json>,
    entry: &'a Map<String, Json>,
}

impl<'a> TemplateView<'a> {
    fn parse(template: &'a Json, side: Side) -> Result<Self, DiffError> {
        let not_a_template = |reason: String| DiffError::NotATemplate { side, reason };
        let root = template.as_object().ok_or_else(|| {
            not_a_template(format!(
                "expected a JSON object at the top, found {}",
                kind_of(template)
            ))
        })?;
        let mut resources = BTreeMap::new();
        // A missing Resources section is accepted: it is how a stack that does
        // not exist yet is represented (everything shows as added).
        if let Some(section) = root.get("Resources") {
            let section = section.as_object().ok_or_else(|| {
                not_a_template(format!(
                    "`Resources` must be an object, found {}",
                    kind_of(section)
                ))
            })?;
            for (id, entry) in section {
                let entry = entry.as_object().ok_or_else(|| {
                    not_a_template(format!(
                        "resource `{id}` must be an object, found {}",
                        kind_of(entry)
                    ))
                })?;
                let type_name = entry.get("Type").and_then(Json::as_str).ok_or_else(|| {
                    not_a_template(format!("resource `{id}` has no string `Type`"))
                })?;
                resources.insert(
                    id.clone(),
                    ResourceView {
                        type_name,
                        properties: entry.get("Properties"),
                        entry,
                    },
                );
            }
        }
        for section in KEYED_SECTIONS {
            if let Some(value) = root.get(section)
                && !value.is_object()
            {
                return Err(not_a_template(format!(
                    "`{section}` must be an object, found {}",
                    kind_of(value)
                )));
            }
        }
        Ok(TemplateView { root, resources })
    }

    fn keyed_section(&self, section: &str) -> BTreeMap<String, &'a Json> {
        self.root
            .get(section)
            .and_then(Json::as_object)
            .map(|entries| {
                entries
                    .iter()
                    .map(|(name, value)| (name.clone(), value))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn kind_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn stateful_in(type_name: &str, lookup: TypeLookup) -> bool {
    lookup(type_name).is_some_and(|info| info.stateful)
}

fn added(id: &str, new: &ResourceView<'_>, lookup: TypeLookup) -> ResourceChange {
    ResourceChange {
        logical_id: id.to_owned(),
        action: Action::Add,
        old_type: None,
        new_type: Some(new.type_name.to_owned()),
        replacement: Replacement::None,
        replaced_by: Vec::new(),
        consequences: Vec::new(),
        code_update: false,
        stateful: stateful_in(new.type_name, lookup),
        hazards: Vec::new(),
        changes: Vec::new(),
        change_set: None,
    }
}

fn removed(
    id: &str,
    old: &ResourceView<'_>,
    lookup: TypeLookup,
    context: &DiffContext,
) -> ResourceChange {
    let stateful = stateful_in(old.type_name, lookup);
    let deletion_policy = old.entry.get("DeletionPolicy").and_then(Json::as_str);
    let mut hazards = Vec::new();
    let mut consequences = Vec::new();
    if stateful {
        if let Some(policy) = &context.stack_policy
            && policy.denies(UpdateAction::Delete, id, old.type_name)
        {
            consequences.push(Consequence {
                kind: ConsequenceKind::RefusedStackPolicy,
                message: format!(
                    "refused: the stack policy denies Update:Delete on {id}, so the deploy fails and rolls back"
                ),
            });
        }
        consequences.push(policy_consequence(
            deletion_policy,
            "DeletionPolicy",
            false,
            true,
        ));
        // Destructive whatever the DeletionPolicy: under Retain the data
        // survives but leaves the stack (orphaned), which a reviewer must see.
        hazards.push(Hazard {
            kind: HazardKind::StatefulRemoved,
            message: format!("{} is removed: {}", old.type_name, consequences[0].message),
        });
    }
    ResourceChange {
        logical_id: id.to_owned(),
        action: Action::Remove,
        old_type: Some(old.type_name.to_owned()),
        new_type: None,
        replacement: Replacement::None,
        replaced_by: Vec::new(),
        consequences,
        code_update: false,
        stateful,
        hazards,
        changes: Vec::new(),
        change_set: None,
    }
}

/// What a DeletionPolicy (removal) or UpdateReplacePolicy (replacement)
/// does to the old resource.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatereplacepolicy.html>
fn policy_consequence(
    policy: Option<&str>,
    attribute: &str,
    replacement: bool,
    stateful: bool,
) -> Consequence {
    let successor = if replacement {
        " while a new, empty one takes its place"
    } else {
        ""
    };
    match policy {
        Some("Retain" | "RetainExceptOnCreate") => Consequence {
            kind: ConsequenceKind::Retained,
            message: format!(
                "the old one is retained and orphaned ({attribute} {}): it stays in the account, outside the stack{successor}",
                policy.unwrap_or_default()
            ),
        },
        Some("Snapshot") => Consequence {
            kind: ConsequenceKind::Snapshot,
            message: format!(
                "the old one is deleted after a snapshot ({attribute} Snapshot){successor}"
            ),
        },
        other => Consequence {
            kind: ConsequenceKind::Deleted,
            message: format!(
                "the old one is deleted{} ({attribute} {}){successor}",
                if stateful { " with its data" } else { "" },
                other.unwrap_or("Delete, the default")
            ),
        },
    }
}

fn modified(
    id: &str,
    old: &ResourceView<'_>,
    new: &ResourceView<'_>,
    lookup: TypeLookup,
    context: &DiffContext,
) -> Option<ResourceChange> {
    let info = lookup(new.type_name);
    let type_changed = old.type_name != new.type_name;
    let mut changes = Vec::new();

    let keys: BTreeSet<&String> = old.entry.keys().chain(new.entry.keys()).collect();
    for key in keys {
        let old_value = old.entry.get(key);
        let new_value = new.entry.get(key);
        match key.as_str() {
            "Type" => {
                if type_changed {
                    changes.push(PropertyChange {
                        path: "Type".to_owned(),
                        kind: ValueChange::Modified,
                        old: owned(old_value),
                        new: owned(new_value),
                        replacement: Replacement::Replace,
                    });
                }
            }
            "DependsOn" => {
                // A single string and a one-element list mean the same; order is irrelevant.
                let old_set = depends_on_set(old_value);
                let new_set = depends_on_set(new_value);
                if old_set != new_set {
                    changes.push(leaf_change(
                        "DependsOn".to_owned(),
                        old_value,
                        new_value,
                        Replacement::None,
                    ));
                }
            }
            "Properties" | "Metadata" | "UpdatePolicy" | "CreationPolicy" => {
                let mut leaves = Vec::new();
                let mut path = vec![Segment::Key(key.clone())];
                diff_value(&mut path, old_value, new_value, &mut leaves);
                for leaf in leaves {
                    let replacement = if key == "Properties" && !type_changed {
                        property_replacement(
                            &leaf,
                            old.properties,
                            new.properties,
                            info,
                            &context.pseudo,
                        )
                    } else {
                        Replacement::None
                    };
                    changes.push(leaf_change(
                        render_path(&leaf.path),
                        leaf.old,
                        leaf.new,
                        replacement,
                    ));
                }
            }
            _ => {
                if old_value != new_value {
                    changes.push(leaf_change(
                        key.clone(),
                        old_value,
                        new_value,
                        Replacement::None,
                    ));
                }
            }
        }
    }
    if changes.is_empty() {
        return None;
    }

    let replacement = if type_changed {
        Replacement::Replace
    } else {
        changes
            .iter()
            .map(|change| change.replacement)
            .max()
            .unwrap_or_default()
    };
    let stateful = stateful_in(old.type_name, lookup) || stateful_in(new.type_name, lookup);
    let replaced_by: Vec<String> = changes
        .iter()
        .filter(|change| change.replacement != Replacement::None)
        .map(|change| change.path.clone())
        .collect();
    let consequences = if replacement == Replacement::None {
        Vec::new()
    } else {
        replacement_consequences(id, old, new, info, stateful, context)
    };
    let mut hazards = Vec::new();
    // Destructive whatever the UpdateReplacePolicy: under Retain the old
    // resource is orphaned and the stack points at a new, empty one.
    if stateful && replacement != Replacement::None {
        let forced_by = if replaced_by.is_empty() {
            String::new()
        } else {
            format!(" by {}", replaced_by.join(", "))
        };
        let (kind, verb, prefix) = match replacement {
            Replacement::Replace => (HazardKind::StatefulReplaced, "is replaced", ""),
            Replacement::MayReplace => (
                HazardKind::StatefulMayBeReplaced,
                "may be replaced",
                "if it is, ",
            ),
            _ => (
                HazardKind::StatefulMayBeReplaced,
                "may be replaced (its type is not in the vendored schemas)",
                "if it is, ",
            ),
        };
        let what = consequences
            .first()
            .map(|consequence| consequence.message.as_str())
            .unwrap_or_default();
        hazards.push(Hazard {
            kind,
            message: format!("{} {verb}{forced_by}: {prefix}{what}", old.type_name),
        });
    }
    for attribute in ["DeletionPolicy", "UpdateReplacePolicy"] {
        let before = old.entry.get(attribute).and_then(Json::as_str);
        let after = new.entry.get(attribute).and_then(Json::as_str);
        if weakens(before, after) {
            hazards.push(Hazard {
                kind: HazardKind::RetentionRemoved,
                message: format!(
                    "{attribute} changes from {} to {}: a later {} will delete the resource",
                    before.unwrap_or("Delete"),
                    after.unwrap_or("Delete (the default)"),
                    if attribute == "DeletionPolicy" {
                        "removal or stack deletion"
                    } else {
                        "replacement"
                    }
                ),
            });
        }
    }

    let code_update = new.type_name == "AWS::Lambda::Function"
        && !type_changed
        && changes
            .iter()
            .all(|change| CODE_PATHS.contains(&change.path.as_str()));
    Some(ResourceChange {
        logical_id: id.to_owned(),
        action: Action::Modify,
        old_type: Some(old.type_name.to_owned()),
        new_type: Some(new.type_name.to_owned()),
        replacement,
        replaced_by,
        consequences,
        code_update,
        stateful,
        hazards,
        changes,
        change_set: None,
    })
}

/// A function's asset: a new bundle is a new key (content addressed) or a
/// new object version; Lambda updates the code in place.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-code.html>
const CODE_PATHS: [&str; 2] = ["Properties.Code.S3Key", "Properties.Code.S3ObjectVersion"];

/// What CloudFormation does when it replaces this resource, in the order it
/// meets the obstacles: the stack policy is checked before any update, a
/// kept custom name fails the replacement itself, and only then does the
/// UpdateReplacePolicy decide the old resource's fate.
fn replacement_consequences(
    id: &str,
    old: &ResourceView<'_>,
    new: &ResourceView<'_>,
    info: Option<&'static ResourceInfo>,
    stateful: bool,
    context: &DiffContext,
) -> Vec<Consequence> {
    let mut consequences = Vec::new();
    if let Some(policy) = &context.stack_policy
        && policy.denies(UpdateAction::Replace, id, new.type_name)
    {
        consequences.push(Consequence {
            kind: ConsequenceKind::RefusedStackPolicy,
            message: format!(
                "refused: the stack policy denies Update:Replace on {id}, so the deploy fails and rolls back (`deploy --allow-replace` lifts it for one deploy)"
            ),
        });
    }
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html:
    // "If you specify a name, you cannot perform updates that require
    // replacement of this resource." A replacement that also changes the
    // name works: the new one is created under the new name.
    if let Some(name_property) = info.and_then(|info| info.name_property)
        && old.type_name == new.type_name
    {
        let old_name = old.properties.and_then(|p| p.get(name_property));
        let new_name = new.properties.and_then(|p| p.get(name_property));
        if let (Some(old_name), Some(new_name)) = (old_name, new_name)
            && resolve(old_name, &context.pseudo) == resolve(new_name, &context.pseudo)
        {
            let shown = new_name
                .as_str()
                .map_or_else(|| Canonical(new_name).to_string(), str::to_owned);
            consequences.push(Consequence {
                kind: ConsequenceKind::RefusedCustomName,
                message: format!(
                    "refused: it keeps its custom name {shown} ({name_property}), and CloudFormation cannot replace a custom-named resource, so the deploy fails and rolls back; change {name_property} too, or remove it"
                ),
            });
        }
    }
    consequences.push(policy_consequence(
        new.entry.get("UpdateReplacePolicy").and_then(Json::as_str),
        "UpdateReplacePolicy",
        true,
        stateful,
    ));
    consequences
}

/// Whether a deletion or replace policy loses protection: Retain to
/// Snapshot/Delete, or Snapshot to Delete.
fn weakens(before: Option<&str>, after: Option<&str>) -> bool {
    fn strength(policy: Option<&str>) -> u8 {
        match policy {
            Some("Retain" | "RetainExceptOnCreate") => 2,
            Some("Snapshot") => 1,
            _ => 0,
        }
    }
    strength(after) < strength(before)
}

fn depends_on_set(value: Option<&Json>) -> BTreeSet<String> {
    match value {
        Some(Json::String(one)) => BTreeSet::from([one.clone()]),
        Some(Json::Array(many)) => many
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| Canonical(item).to_string(), str::to_owned)
            })
            .collect(),
        Some(other) => BTreeSet::from([Canonical(other).to_string()]),
        None => BTreeSet::new(),
    }
}

fn leaf_change(
    path: String,
    old: Option<&Json>,
    new: Option<&Json>,
    replacement: Replacement,
) -> PropertyChange {
    let kind = match (old, new) {
        (None, _) => ValueChange::Added,
        (_, None) => ValueChange::Removed,
        _ => ValueChange::Modified,
    };
    PropertyChange {
        path,
        kind,
        old: owned(old),
        new: owned(new),
        replacement,
    }
}

/// A value a change keeps: the diff outlives the templates it compares, so
/// it owns a copy, put in the canonical key order as it is made, so every
/// report (text, markdown, JSON, a saved plan) shows it the same way
/// whatever order the template it came from was in.
fn owned(value: Option<&Json>) -> Option<Json> {
    value.map(|value| {
        let mut owned = value.clone();
        canonicalize(&mut owned);
        owned
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

struct Leaf<'a> {
    path: Vec<Segment>,
    old: Option<&'a Json>,
    new: Option<&'a Json>,
}

fn render_path(path: &[Segment]) -> String {
    let mut rendered = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !rendered.is_empty() {
                    rendered.push('.');
                }
                rendered.push_str(key);
            }
            Segment::Index(index) => {
                rendered.push('[');
                rendered.push_str(&index.to_string());
                rendered.push(']');
            }
        }
    }
    rendered
}

/// Collects the smallest differing subtrees: objects are compared key by key,
/// arrays of equal length element by element; a length change or an
/// intrinsic is reported as a whole (a positional diff of a shifted list
/// would be noise).
fn diff_value<'a>(
    path: &mut Vec<Segment>,
    old: Option<&'a Json>,
    new: Option<&'a Json>,
    out: &mut Vec<Leaf<'a>>,
) {
    match (old, new) {
        (None, None) => {}
        (Some(a), Some(b)) if a == b => {}
        (Some(Json::Object(a)), Some(Json::Object(b)))
            if !is_opaque(&Json::Object(a.clone())) && !is_opaque(&Json::Object(b.clone())) =>
        {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                path.push(Segment::Key(key.clone()));
                diff_value(path, a.get(key), b.get(key), out);
                path.pop();
            }
        }
        // Element by element only while positions still line up; a reordered
        // or mostly rewritten list reads better as one line diff.
        (Some(Json::Array(a)), Some(Json::Array(b)))
            if a.len() == b.len()
                && 2 * a.iter().zip(b).filter(|(x, y)| x != y).count() <= a.len().max(2) =>
        {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(Segment::Index(index));
                diff_value(path, Some(x), Some(y), out);
                path.pop();
            }
        }
        _ => out.push(Leaf {
            path: path.clone(),
            old,
            new,
        }),
    }
}

/// Predicts whether one property change replaces the resource, from the
/// registry facts: `create_only` (the schema's `createOnlyProperties` and
/// documented "Update requires: Replacement") replaces, and
/// `conditional_create_only` may replace.
/// https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html
///
/// Values are compared after resolving the pseudo parameters the caller
/// knows: equal after resolution is no replacement; a value that still
/// depends on a resource, a parameter or an unknown pseudo parameter is
/// "may be replaced".
fn property_replacement(
    leaf: &Leaf<'_>,
    old_properties: Option<&Json>,
    new_properties: Option<&Json>,
    info: Option<&'static ResourceInfo>,
    pseudo: &PseudoValues,
) -> Replacement {
    // Not in the vendored schemas (a custom resource, or a type we do not
    // vendor): its provider decides, so say we cannot tell.
    let Some(info) = info else {
        return Replacement::Unknown;
    };
    // Schema paths use `/` and `*` for array items; drop the leading `Properties`.
    let joined = leaf.path[1..]
        .iter()
        .map(|segment| match segment {
            Segment::Key(key) => key.as_str(),
            Segment::Index(_) => "*",
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut strongest = Replacement::None;
    for (listed, level) in [
        (info.create_only, Replacement::Replace),
        (info.conditional_create_only, Replacement::MayReplace),
    ] {
        for create_only in listed {
            let verdict = if joined == *create_only
                || joined
                    .strip_prefix(create_only)
                    .is_some_and(|rest| rest.starts_with('/'))
            {
                // The change is at or below a create-only path.
                compare(leaf.old, leaf.new, level, pseudo)
            } else if create_only
                .strip_prefix(joined.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
            {
                // The change is an ancestor: compare the create-only part below it.
                match (
                    value_at(old_properties, create_only),
                    value_at(new_properties, create_only),
                ) {
                    (Ok(old), Ok(new)) => compare(old, new, level, pseudo),
                    // Through a list (`*`): assume the item differs.
                    _ => compare(leaf.old, leaf.new, level, pseudo),
                }
            } else {
                Replacement::None
            };
            strongest = strongest.max(verdict);
        }
    }
    strongest
}

/// The verdict for a create-only value that changed in the template.
fn compare(
    old: Option<&Json>,
    new: Option<&Json>,
    level: Replacement,
    pseudo: &PseudoValues,
) -> Replacement {
    let old = old.map(|value| resolve(value, pseudo));
    let new = new.map(|value| resolve(value, pseudo));
    if old == new {
        // The same value once written out (or the identical expression).
        return Replacement::None;
    }
    if old.as_ref().is_some_and(contains_intrinsic) || new.as_ref().is_some_and(contains_intrinsic)
    {
        Replacement::MayReplace
    } else {
        level
    }
}

/// The value at a create-only path; `Err` for a path through a list.
fn value_at<'a>(root: Option<&'a Json>, path: &str) -> Result<Option<&'a Json>, ()> {
    let mut current = root;
    for part in path.split('/') {
        if part == "*" {
            return Err(());
        }
        current = current.and_then(|value| value.get(part));
    }
    Ok(current)
}
