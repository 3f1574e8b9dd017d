//! The diff result. Every type here serializes to the `--format json` output
//! documented in `diff/SCHEMA.md`; changing a field name or meaning is a
//! breaking change and needs a new [`SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Version of the JSON output. Bumped on any incompatible change to the shape.
/// 3: `drift` (changes made outside CloudFormation) and the security
/// direction `changed`.
pub const SCHEMA_VERSION: u32 = 3;

/// Everything that differs between two templates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateDiff {
    /// Resource changes, ordered by logical ID.
    pub resources: Vec<ResourceChange>,
    /// IAM statement changes across every policy-bearing resource.
    pub security: Vec<SecurityChange>,
    /// Parameters, Outputs, Conditions, Mappings, Rules and top-level keys
    /// (Description, Transform, Metadata...), ordered by section then name.
    pub sections: Vec<SectionChange>,
    /// Resources whose actual state differs from the deployed template
    /// (changed outside CloudFormation), or could not be read; ordered by
    /// logical ID. Empty when the diff did not read the account.
    pub drift: Vec<crate::drift::ResourceDrift>,
}

impl TemplateDiff {
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
            && self.security.is_empty()
            && self.sections.is_empty()
            && self.drift.is_empty()
    }

    /// Resource changes with at least one hazard, in resource order.
    pub fn destructive(&self) -> impl Iterator<Item = &ResourceChange> {
        self.resources
            .iter()
            .filter(|change| !change.hazards.is_empty())
    }

    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.resources {
            match change.action {
                Action::Add => summary.add += 1,
                Action::Remove => summary.destroy += 1,
                Action::Modify => {
                    summary.change += 1;
                    match change.effective_replacement() {
                        Replacement::Replace => summary.replace += 1,
                        Replacement::MayReplace | Replacement::Unknown => summary.may_replace += 1,
                        Replacement::None => {}
                    }
                }
            }
            if !change.hazards.is_empty() {
                summary.destructive += 1;
            }
            if change.code_update {
                summary.code_updates += 1;
            }
        }
        summary.security = self.security.len();
        summary.broadening = self
            .security
            .iter()
            .filter(|change| change.direction == Direction::Broadening)
            .count();
        summary.other = self.sections.len();
        for resource in &self.drift {
            match resource.status {
                crate::drift::DriftStatus::Unknown => summary.drift_unknown += 1,
                _ => summary.drifted += 1,
            }
            if resource.broadening() {
                summary.drift_broadening += 1;
            }
        }
        summary
    }
}

/// Counts shown on the first line of every format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    /// Modified resources that will be replaced.
    pub replace: usize,
    /// Modified resources that may be replaced (intrinsic or unknown type).
    pub may_replace: usize,
    pub destroy: usize,
    /// Resources with at least one hazard.
    pub destructive: usize,
    /// Modified resources whose only change is a function's code (asset key).
    pub code_updates: usize,
    pub security: usize,
    pub broadening: usize,
    /// Parameter, Output, Condition and other section changes.
    pub other: usize,
    /// Resources changed (or deleted) outside CloudFormation.
    pub drifted: usize,
    /// Resources whose drift weakens security.
    pub drift_broadening: usize,
    /// Resources whose actual state could not be read.
    pub drift_unknown: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Add,
    Modify,
    Remove,
}

/// Whether an update replaces a resource (a new physical resource is created
/// and the old one deleted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    /// Updated in place.
    #[default]
    None,
    /// Outcome depends on values known only at deploy time (intrinsics).
    MayReplace,
    /// The type is not in the vendored schemas, so it cannot be predicted.
    Unknown,
    /// A create-only property or the type changed.
    Replace,
}

/// One resource that differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceChange {
    pub logical_id: String,
    pub action: Action,
    /// `Type` before (absent for `add`).
    pub old_type: Option<String>,
    /// `Type` after (absent for `remove`).
    pub new_type: Option<String>,
    /// Offline prediction from the registry facts (create-only and
    /// documented update behaviour), after resolving known pseudo parameters.
    pub replacement: Replacement,
    /// The paths whose change forces (or may force) the replacement, e.g.
    /// `Properties.KeySchema` or `Type`; empty when not replaced.
    pub replaced_by: Vec<String>,
    /// What CloudFormation will do to the old resource when this change is
    /// replaced or removed, in the order it meets them (the first applies).
    pub consequences: Vec<Consequence>,
    /// Only a Lambda function's code changed (`Code.S3Key`/`Code.S3ObjectVersion`,
    /// a new asset): an in-place code update, never destructive or broadening.
    pub code_update: bool,
    /// Whether the type holds data (buckets, tables, keys, queues, log groups...).
    pub stateful: bool,
    /// Why the change can lose data or protection; listed first by renderers.
    pub hazards: Vec<Hazard>,
    /// Property and attribute changes (empty for add/remove).
    pub changes: Vec<PropertyChange>,
    /// What CloudFormation itself said, when diffed with `--change-set`.
    pub change_set: Option<ChangeSetView>,
}

impl ResourceChange {
    pub fn type_name(&self) -> &str {
        self.new_type
            .as_deref()
            .or(self.old_type.as_deref())
            .unwrap_or("?")
    }

    /// CloudFormation's answer when there is one, else the offline prediction.
    /// An answer this version cannot read, or a `Dynamic` action, is at least "may be replaced"
    /// (the prediction when that says more): reading it as "no
    /// replacement" could hide the loss of a table or a bucket.
    pub fn effective_replacement(&self) -> Replacement {
        match &self.change_set {
            // The strictest of the prediction, what CloudFormation did say
            // (`True` stays a replacement) and "may be replaced".
            Some(view) if view.is_indeterminate() => {
                let answered = view
                    .replacement
                    .as_ref()
                    .map_or(Replacement::None, ChangeSetReplacement::verdict);
                self.replacement.max(answered).max(Replacement::MayReplace)
            }
            Some(ChangeSetView {
                replacement: Some(answer),
                ..
            }) => answer.verdict(),
            // Absent (CloudFormation reports none for add and remove): the prediction.
            Some(_) | None => self.replacement,
        }
    }
}

/// What happens to a resource that is replaced or removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consequence {
    pub kind: ConsequenceKind,
    /// One sentence for humans.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsequenceKind {
    /// The stack policy denies `Update:Replace`/`Update:Delete` on it: the
    /// update fails and rolls back.
    RefusedStackPolicy,
    /// It keeps its custom physical name through a replacement, which
    /// CloudFormation cannot do: the update fails and rolls back.
    RefusedCustomName,
    /// `Retain`: the old one stays in the account, orphaned (no longer in
    /// the stack); on replacement a new, empty one takes its place.
    Retained,
    /// `Snapshot`: a snapshot is kept, the old one is deleted.
    Snapshot,
    /// The old one is deleted, with its data.
    Deleted,
}

/// A reason a change is destructive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hazard {
    pub kind: HazardKind,
    /// One sentence for humans.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HazardKind {
    /// A stateful resource is removed (whatever its DeletionPolicy).
    StatefulRemoved,
    /// A stateful resource is replaced (whatever its UpdateReplacePolicy).
    StatefulReplaced,
    /// A stateful resource may be replaced (conditional create-only,
    /// deploy-time value, or unknown type).
    StatefulMayBeReplaced,
    /// `DeletionPolicy`/`UpdateReplacePolicy` `Retain` (or `Snapshot`) removed or weakened.
    RetentionRemoved,
}

/// One property or attribute change inside a modified resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyChange {
    /// `Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault`,
    /// or an attribute: `DependsOn`, `DeletionPolicy`, `UpdateReplacePolicy`,
    /// `Metadata.<key>`, `Condition`, `Type`...
    pub path: String,
    pub kind: ValueChange,
    /// JSON value before (absent when added).
    pub old: Option<Json>,
    /// JSON value after (absent when removed).
    pub new: Option<Json>,
    /// Whether this change alone replaces the resource.
    pub replacement: Replacement,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueChange {
    Added,
    Removed,
    Modified,
}

/// A change in Parameters, Outputs, Conditions, Mappings, Rules, or a top-level key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionChange {
    /// `Parameters`, `Outputs`, `Conditions`, `Mappings`, `Rules` or `Template`
    /// (for top-level keys such as `Description` and `Transform`).
    pub section: String,
    pub name: String,
    pub kind: ValueChange,
    pub old: Option<Json>,
    pub new: Option<Json>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Grants more: an allow added or widened (more principals, actions,
    /// resources or accounts, a wildcard, a condition removed), a deny
    /// removed or narrowed.
    Broadening,
    /// Grants less: an allow removed or narrowed, a deny added or widened.
    Narrowing,
    /// Grants as much, to other names: an ARN or a condition value swapped
    /// for another of the same shape (same partition, service, region,
    /// account and resource type; no new wildcard), such as a dev name for a
    /// prod name.
    Changed,
}

/// One IAM statement added, removed or modified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityChange {
    pub logical_id: String,
    pub resource_type: String,
    /// Which document: `AssumeRolePolicyDocument`, `Policies[ReadUploads]`,
    /// `PolicyDocument`, `KeyPolicy`, `ManagedPolicyArns`, `Permission`.
    pub policy: String,
    pub kind: ValueChange,
    pub direction: Direction,
    /// The statement before (absent when added).
    pub old: Option<StatementView>,
    /// The statement after (absent when removed).
    pub new: Option<StatementView>,
    /// What differs, one line each: `+ action s3:PutObject`, `- condition StringEquals aws:SourceAccount`.
    pub details: Vec<String>,
    /// Whether a `*` appears in an added action, resource or principal.
    pub wildcard: bool,
}

/// A normalised statement: lists sorted and deduplicated, single strings
/// turned into lists, intrinsics rendered as compact JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementView {
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// `kind:value` (`AWS:arn:...`, `Service:sns.amazonaws.com`, `*`).
    pub principals: Vec<String>,
    pub not_principals: Vec<String>,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    /// `Operator key value` lines, e.g. `StringEquals aws:SourceAccount 123456789012`.
    pub conditions: Vec<String>,
}

/// CloudFormation's view of one resource from DescribeChangeSet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSetView {
    pub action: ChangeSetAction,
    /// Absent for add and remove.
    pub replacement: Option<ChangeSetReplacement>,
    pub physical_id: Option<String>,
    /// A drift-aware change set's (`deploy --revert-drift`) view of the
    /// resource's actual state (`ResourceDriftStatus`); absent otherwise.
    pub drift_status: Option<ResourceDriftStatus>,
    pub details: Vec<ChangeSetDetail>,
}

impl ChangeSetView {
    /// Whether CloudFormation said something about this resource that this
    /// version cannot read: an action, a `Replacement` or a detail's
    /// `RequiresRecreation` newer than it. Any of them could stand for a
    /// replacement or a removal.
    pub fn has_unknown_values(&self) -> bool {
        matches!(self.action, ChangeSetAction::Unknown(_))
            || matches!(self.replacement, Some(ChangeSetReplacement::Unknown(_)))
            || self.details.iter().any(|detail| {
                matches!(
                    detail.requires_recreation,
                    Some(RequiresRecreation::Unknown(_))
                )
            })
    }

    /// Whether CloudFormation could not say what it will do: a value this
    /// version cannot read, or the `Dynamic` action ("the exact action for
    /// the resource can't be determined"), which could be a replacement too.
    pub fn is_indeterminate(&self) -> bool {
        self.has_unknown_values() || self.action == ChangeSetAction::Dynamic
    }

    /// CloudFormation said `Replacement: False` and nothing indeterminate:
    /// the one answer that lifts a predicted replacement.
    pub fn rules_out_replacement(&self) -> bool {
        self.replacement == Some(ChangeSetReplacement::False) && !self.is_indeterminate()
    }
}

/// One `ResourceChangeDetail` from DescribeChangeSet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSetDetail {
    /// The target attribute.
    pub attribute: Option<ResourceAttribute>,
    /// The property name, when the attribute is `Properties`.
    pub name: Option<String>,
    pub requires_recreation: Option<RequiresRecreation>,
    pub evaluation: Option<Evaluation>,
    pub change_source: Option<ChangeSource>,
    pub causing_entity: Option<String>,
    /// In a drift-aware change set: where the value before the change comes
    /// from (`ACTUAL_STATE`: the account, drift included).
    pub before_value_from: Option<BeforeValueFrom>,
    /// In a drift-aware change set: `Add`, `Remove`, `Modify`, or
    /// `SyncWithActual` (only CloudFormation's record of the drift is reset;
    /// the resource is not changed).
    pub attribute_change_type: Option<AttributeChangeType>,
}

upstack_cfn::aws_enum! {
    /// A resource's drift as a drift-aware change set reports it
    /// (`ResourceChange.ResourceDriftStatus`).
    ResourceDriftStatus {
        InSync = "IN_SYNC",
        Modified = "MODIFIED",
        Deleted = "DELETED",
        NotChecked = "NOT_CHECKED",
        /// CloudFormation could not tell.
        Indeterminate = "UNKNOWN",
        Unsupported = "UNSUPPORTED",
    }
}

upstack_cfn::aws_enum! {
    /// Where a drift-aware change set's before value comes from
    /// (`ResourceTargetDefinition.BeforeValueFrom`).
    BeforeValueFrom {
        ActualState = "ACTUAL_STATE",
        PreviousDeploymentState = "PREVIOUS_DEPLOYMENT_STATE",
    }
}

upstack_cfn::aws_enum! {
    /// What a drift-aware change set does to one target
    /// (`ResourceTargetDefinition.AttributeChangeType`).
    AttributeChangeType {
        Add = "Add",
        Remove = "Remove",
        Modify = "Modify",
        /// Only the drift record is reset; the resource is not modified.
        SyncWithActual = "SyncWithActual",
    }
}

upstack_cfn::aws_enum! {
    /// What a change set does to a resource (`ResourceChange.Action`).
    ChangeSetAction {
        Add = "Add",
        Modify = "Modify",
        Remove = "Remove",
        Import = "Import",
        /// The exact action cannot be determined before the change set runs.
        Dynamic = "Dynamic",
        /// Only CloudFormation's record changes, to resolve drift.
        SyncWithActual = "SyncWithActual",
    }
}

/// What an entry without an action is read as: a value no version knows,
/// so it is treated like any unknown one.
impl Default for ChangeSetAction {
    fn default() -> Self {
        ChangeSetAction::Unknown(String::new())
    }
}

upstack_cfn::aws_enum! {
    /// Whether CloudFormation will replace a resource (`ResourceChange.Replacement`).
    ChangeSetReplacement {
        True = "True",
        False = "False",
        /// Depends on a value known only during the update.
        Conditional = "Conditional",
    }
}

impl ChangeSetReplacement {
    /// The answer as a [`Replacement`]. An unknown value could be a
    /// replacement, so it never reads as [`Replacement::None`].
    pub fn verdict(&self) -> Replacement {
        match self {
            ChangeSetReplacement::True => Replacement::Replace,
            ChangeSetReplacement::False => Replacement::None,
            ChangeSetReplacement::Conditional | ChangeSetReplacement::Unknown(_) => {
                Replacement::MayReplace
            }
        }
    }
}

upstack_cfn::aws_enum! {
    /// Whether changing one target recreates the resource
    /// (`ResourceTargetDefinition.RequiresRecreation`).
    RequiresRecreation {
        Never = "Never",
        Conditionally = "Conditionally",
        Always = "Always",
    }
}

upstack_cfn::aws_enum! {
    /// The part of a resource a change targets (`ResourceTargetDefinition.Attribute`).
    ResourceAttribute {
        Properties = "Properties",
        Metadata = "Metadata",
        CreationPolicy = "CreationPolicy",
        UpdatePolicy = "UpdatePolicy",
        DeletionPolicy = "DeletionPolicy",
        UpdateReplacePolicy = "UpdateReplacePolicy",
        Tags = "Tags",
    }
}

upstack_cfn::aws_enum! {
    /// When the new value is known (`ResourceChangeDetail.Evaluation`).
    Evaluation {
        /// Before the update.
        Static = "Static",
        /// Only during it, e.g. from a resource that is itself replaced.
        Dynamic = "Dynamic",
    }
}

upstack_cfn::aws_enum! {
    /// What causes a change (`ResourceChangeDetail.ChangeSource`).
    ChangeSource {
        ResourceReference = "ResourceReference",
        ParameterReference = "ParameterReference",
        ResourceAttribute = "ResourceAttribute",
        DirectModification = "DirectModification",
        Automatic = "Automatic",
        NoModification = "NoModification",
    }
}

/// One resource entry of a change set, as the toolkit reads it from
/// DescribeChangeSet (kept free of SDK types so the engine stays pure).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSetResource {
    pub logical_id: String,
    pub resource_type: Option<String>,
    pub view: ChangeSetView,
}

/// The `--format json` document (see `diff/SCHEMA.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonReport {
    /// Always [`SCHEMA_VERSION`] for this shape.
    pub schema_version: u32,
    /// Where the two templates came from, e.g. `synth-out/dev/template.json`
    /// and `stack upstack-dev (deployed)`.
    pub old_source: String,
    pub new_source: String,
    /// Whether anything differs (the exit code is 2 when true).
    pub has_changes: bool,
    pub summary: Summary,
    pub resources: Vec<ResourceChange>,
    pub security: Vec<SecurityChange>,
    pub sections: Vec<SectionChange>,
    pub drift: Vec<crate::drift::ResourceDrift>,
}
