//! Compares two templates given as JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json};
use upstack_cfn::{ResourceInfo, TypeLookup};

use crate::model::{
    Action, Hazard, HazardKind, PropertyChange, Replacement, ResourceChange, SectionChange,
    TemplateDiff, ValueChange,
};
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

/// Types whose removal or replacement loses data. CloudFormation deletes the
/// physical resource unless `DeletionPolicy`/`UpdateReplacePolicy` says otherwise:
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
const STATEFUL_TYPES: [&str; 12] = [
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::KMS::Key",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::EFS::FileSystem",
    "AWS::ECR::Repository",
    "AWS::Kinesis::Stream",
    "AWS::Cognito::UserPool",
    "AWS::SecretsManager::Secret",
    "AWS::Backup::BackupVault",
];

pub fn is_stateful(type_name: &str) -> bool {
    STATEFUL_TYPES.contains(&type_name)
}

/// Policies that keep the physical resource (or a snapshot of it).
fn is_protective(policy: Option<&str>) -> bool {
    matches!(policy, Some("Retain" | "RetainExceptOnCreate" | "Snapshot"))
}

/// Diffs `old` (deployed or base) against `new` (proposed). `lookup` supplies
/// each type's create-only properties for replacement prediction.
pub fn diff_templates(
    old: &Json,
    new: &Json,
    lookup: TypeLookup,
) -> Result<TemplateDiff, DiffError> {
    // Changes are listed in key order: serde_json keeps insertion order when a
    // crate in the build enables `preserve_order`, so compare sorted copies.
    let (mut old, mut new) = (old.clone(), new.clone());
    upstack_cfn::template::sort_keys(&mut old);
    upstack_cfn::template::sort_keys(&mut new);
    let old_template = TemplateView::parse(&old, Side::Old)?;
    let new_template = TemplateView::parse(&new, Side::New)?;

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
            (None, Some(new)) => Some(added(id, new)),
            (Some(old), None) => Some(removed(id, old)),
            (Some(old), Some(new)) => modified(id, old, new, lookup),
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

fn added(id: &str, new: &ResourceView<'_>) -> ResourceChange {
    ResourceChange {
        logical_id: id.to_owned(),
        action: Action::Add,
        old_type: None,
        new_type: Some(new.type_name.to_owned()),
        replacement: Replacement::None,
        stateful: is_stateful(new.type_name),
        hazards: Vec::new(),
        changes: Vec::new(),
        change_set: None,
    }
}

fn removed(id: &str, old: &ResourceView<'_>) -> ResourceChange {
    let stateful = is_stateful(old.type_name);
    let deletion_policy = old.entry.get("DeletionPolicy").and_then(Json::as_str);
    let mut hazards = Vec::new();
    if stateful && !is_protective(deletion_policy) {
        hazards.push(Hazard {
            kind: HazardKind::StatefulRemoved,
            message: format!(
                "{} is removed and deleted with its data (DeletionPolicy {})",
                old.type_name,
                deletion_policy.unwrap_or("Delete, the default")
            ),
        });
    }
    ResourceChange {
        logical_id: id.to_owned(),
        action: Action::Remove,
        old_type: Some(old.type_name.to_owned()),
        new_type: None,
        replacement: Replacement::None,
        stateful,
        hazards,
        changes: Vec::new(),
        change_set: None,
    }
}

fn modified(
    id: &str,
    old: &ResourceView<'_>,
    new: &ResourceView<'_>,
    lookup: TypeLookup,
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
                        old: old_value.cloned(),
                        new: new_value.cloned(),
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
                        property_replacement(&leaf, old.properties, new.properties, info)
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
    let stateful = is_stateful(old.type_name) || is_stateful(new.type_name);
    let mut hazards = Vec::new();
    if stateful {
        let update_replace = new.entry.get("UpdateReplacePolicy").and_then(Json::as_str);
        match replacement {
            Replacement::Replace if !is_protective(update_replace) => hazards.push(Hazard {
                kind: HazardKind::StatefulReplaced,
                message: format!(
                    "{} is replaced: a new, empty one is created and the old one deleted with its data (UpdateReplacePolicy {})",
                    old.type_name,
                    update_replace.unwrap_or("Delete, the default")
                ),
            }),
            Replacement::MayReplace | Replacement::Unknown if !is_protective(update_replace) => {
                hazards.push(Hazard {
                    kind: HazardKind::StatefulMayBeReplaced,
                    message: format!(
                        "{} may be replaced (depends on deploy-time values); the old one would be deleted with its data",
                        old.type_name
                    ),
                })
            }
            _ => {}
        }
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

    Some(ResourceChange {
        logical_id: id.to_owned(),
        action: Action::Modify,
        old_type: Some(old.type_name.to_owned()),
        new_type: Some(new.type_name.to_owned()),
        replacement,
        stateful,
        hazards,
        changes,
        change_set: None,
    })
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
                    .map_or_else(|| item.to_string(), str::to_owned)
            })
            .collect(),
        Some(other) => BTreeSet::from([other.to_string()]),
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
        old: old.cloned(),
        new: new.cloned(),
        replacement,
    }
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

/// An object whose only key is `Ref`, `Condition` or `Fn::...`: its value is
/// computed at deploy time, so it is compared as a whole, never descended into.
pub(crate) fn is_intrinsic(value: &Json) -> bool {
    match value.as_object() {
        Some(map) if map.len() == 1 => map
            .keys()
            .next()
            .is_some_and(|key| key == "Ref" || key == "Condition" || key.starts_with("Fn::")),
        _ => false,
    }
}

fn contains_intrinsic(value: &Json) -> bool {
    if is_intrinsic(value) {
        return true;
    }
    match value {
        Json::Array(items) => items.iter().any(contains_intrinsic),
        Json::Object(map) => map.values().any(contains_intrinsic),
        _ => false,
    }
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
            if !is_intrinsic(&Json::Object(a.clone()))
                && !is_intrinsic(&Json::Object(b.clone())) =>
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
/// schema's `createOnlyProperties`:
/// https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html
fn property_replacement(
    leaf: &Leaf<'_>,
    old_properties: Option<&Json>,
    new_properties: Option<&Json>,
    info: Option<&'static ResourceInfo>,
) -> Replacement {
    // Not in the vendored schemas (a custom resource, or a type we do not
    // vendor): its provider decides, so say we cannot tell.
    let Some(info) = info else {
        return Replacement::Unknown;
    };
    // Schema paths use `/` and `*` for array items; drop the leading `Properties`.
    let schema_path: Vec<String> = leaf.path[1..]
        .iter()
        .map(|segment| match segment {
            Segment::Key(key) => key.clone(),
            Segment::Index(_) => "*".to_owned(),
        })
        .collect();
    let joined = schema_path.join("/");
    let touches_create_only = info.is_create_only(&joined)
        || info.create_only.iter().any(|create_only| {
            create_only
                .strip_prefix(joined.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
                && sub_value_differs(create_only, old_properties, new_properties)
        });
    if !touches_create_only {
        return Replacement::None;
    }
    if leaf.old.is_some_and(contains_intrinsic) || leaf.new.is_some_and(contains_intrinsic) {
        Replacement::MayReplace
    } else {
        Replacement::Replace
    }
}

/// Whether the value at a create-only path (below the changed subtree)
/// differs. A path through an array (`*`) is assumed to differ.
fn sub_value_differs(create_only: &str, old: Option<&Json>, new: Option<&Json>) -> bool {
    fn at<'a>(root: Option<&'a Json>, path: &str) -> Result<Option<&'a Json>, ()> {
        let mut current = root;
        for part in path.split('/') {
            if part == "*" {
                return Err(());
            }
            current = current.and_then(|value| value.get(part));
        }
        Ok(current)
    }
    match (at(old, create_only), at(new, create_only)) {
        (Ok(a), Ok(b)) => a != b,
        _ => true,
    }
}
