//! A reviewed plan: what `deploy --prepare` saw and created, saved to a file
//! so that `deploy --execute` later runs exactly that change set or refuses
//! (Terraform's `plan -out` / `apply PLAN`).
//!
//! The file carries the stack plan synth produced (its [`Manifest`]: the
//! functions, alarms, production rules and stack policy of the reviewed
//! template), the change set (ARN), the template's SHA-256, every asset as
//! it was verified in the bucket (key, SHA-256, object version), the stack's
//! state at that moment, and what the review found (the approval facts and
//! the diff as `upstack_diff`'s JSON report). Execution re-reads the change
//! set, the stack and every asset and compares them with this record; any
//! difference is a [`StaleReason`], and nothing is touched.
//!
//! The format is versioned (`format_version`); [`ReviewedPlan::load`] is the
//! one reader and rejects other versions, unknown fields and malformed
//! values with the file name and what is wrong.

use std::fmt;
use std::path::{Path, PathBuf};

use aws_sdk_cloudformation::types::{ChangeSetStatus, ExecutionStatus};
use serde::{Deserialize, Serialize};

use crate::assets::StoredAsset;
use crate::changeset::ChangeSetKind;
use crate::stack::StackStatus;
use upstack_diff::render::Sources;
use upstack_diff::{JsonReport, TemplateDiff};
use upstack_project::fsutil::write_atomic;
use upstack_stack::Manifest;

/// The plan file format this version reads and writes. Bump it on any change
/// an older reader would misread (a new field is such a change: the reader
/// rejects unknown fields, so an old binary never half-understands a plan).
/// Format 3: the manifest carried whole, assets with SHA-256 and version.
/// Format 4: each manifest function carries its reserved concurrency.
pub const FORMAT_VERSION: u32 = 4;

/// A prepared deploy, ready to be reviewed and executed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewedPlan {
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The stack plan of the reviewed template, as synth made it: its env
    /// and stack name, functions and their asset keys, alarms (checked
    /// before the change set runs and named when one rolls it back),
    /// production rules and the protective stack policy set after it.
    pub manifest: Manifest,
    pub account: String,
    pub region: String,
    pub change_set: PlannedChangeSet,
    /// SHA-256 (hex) of the compact template body sent to CloudFormation.
    pub template_sha256: String,
    /// The asset bucket, and every zip the template names as it was
    /// verified there: the same version holding the same bytes must still
    /// be there when the change set runs, and each function must run them
    /// after it.
    pub asset_bucket: String,
    pub assets: Vec<StoredAsset>,
    /// The stack when the plan was made; `None` when there was none (the
    /// change set is a CREATE and CloudFormation holds the new stack in
    /// REVIEW_IN_PROGRESS until it runs).
    pub stack: Option<StackSnapshot>,
    /// What approval needs to know, decided when the plan was made.
    pub review: Review,
    /// The reviewed change: `upstack_diff`'s JSON report, as `diff
    /// --format json` prints it (its own `schema_version` inside). Read
    /// typed, so a plan whose diff this version cannot read is refused when
    /// loaded, never executed without its diff shown; a diff schema change
    /// older readers would misread needs a new [`FORMAT_VERSION`] too.
    pub diff: JsonReport,
}

/// The change set a plan executes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedChangeSet {
    /// The change set's ARN (CreateChangeSet's `Id`): executed by ARN, so
    /// no other change set of the same name can stand in for it.
    pub arn: String,
    pub name: String,
    pub kind: PlannedKind,
    /// The stack's ARN as CreateChangeSet returned it (for a CREATE, the
    /// REVIEW_IN_PROGRESS stack CloudFormation made for the change set).
    pub stack_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlannedKind {
    Create,
    Update,
}

impl From<ChangeSetKind> for PlannedKind {
    fn from(kind: ChangeSetKind) -> Self {
        match kind {
            ChangeSetKind::Create => PlannedKind::Create,
            ChangeSetKind::Update => PlannedKind::Update,
        }
    }
}

impl From<PlannedKind> for ChangeSetKind {
    fn from(kind: PlannedKind) -> Self {
        match kind {
            PlannedKind::Create => ChangeSetKind::Create,
            PlannedKind::Update => ChangeSetKind::Update,
        }
    }
}

/// The parts of a stack that change whenever anything is done to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackSnapshot {
    pub stack_id: String,
    /// As CloudFormation spells it; one newer than this version is kept
    /// verbatim.
    pub status: StackStatus,
    /// RFC 3339.
    pub creation_time: Option<String>,
    /// RFC 3339; `None` when the stack was never updated.
    pub last_updated_time: Option<String>,
    /// SHA-256 (hex) of the deployed template body (GetTemplate): catches a
    /// change an emulator or a future API does not stamp with a time.
    pub template_sha256: String,
}

/// The approval facts of the reviewed change, one line each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Resource changes in the change set (also the progress total).
    pub changes: usize,
    /// Security changes that grant more.
    pub broadening: Vec<String>,
    /// Removal or (possible) replacement of stateful resources.
    pub destructive: Vec<String>,
}

/// Why a saved plan can no longer be executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaleReason {
    /// DescribeChangeSet no longer finds it (deleted by someone, or removed
    /// by CloudFormation because another change set of the stack ran).
    ChangeSetGone { name: String, stack: String },
    /// It exists but ExecuteChangeSet would not accept it.
    ChangeSetNotExecutable {
        name: String,
        status: ChangeSetStatus,
        execution_status: ExecutionStatus,
        reason: Option<String>,
    },
    /// The stack the plan was made against is gone.
    StackGone {
        stack: String,
        was_status: StackStatus,
    },
    /// A stack of that name exists, but it is not the one in the plan.
    StackReplaced {
        stack: String,
        stack_id: String,
        was_stack_id: String,
    },
    /// The plan expected no stack (a CREATE), and one was made meanwhile.
    StackCreated { stack: String, status: StackStatus },
    /// Status or last-update time differ from the plan's.
    StackUpdated {
        stack: String,
        status: StackStatus,
        last_updated_time: Option<String>,
        was_status: StackStatus,
        was_last_updated_time: Option<String>,
    },
    /// The deployed template differs although the stack metadata did not move.
    TemplateChanged {
        stack: String,
        sha256: String,
        was_sha256: String,
    },
    /// An asset zip the template points at is no longer in the bucket.
    AssetMissing { bucket: String, key: String },
    /// Another object version stands under an asset's key (it was deleted
    /// and written again), even if its bytes are the same.
    AssetReplaced {
        bucket: String,
        key: String,
        version_id: Option<String>,
        was_version_id: Option<String>,
    },
    /// Other bytes stand under an asset's key than were reviewed.
    AssetChanged {
        bucket: String,
        key: String,
        sha256: String,
        was_sha256: String,
    },
}

impl fmt::Display for StaleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StaleReason::ChangeSetGone { name, stack } => write!(
                f,
                "change set {name} no longer exists (deleted, or removed by CloudFormation because another change set of {stack} was executed)"
            ),
            StaleReason::ChangeSetNotExecutable {
                name,
                status,
                execution_status,
                reason,
            } => {
                let what = match execution_status {
                    ExecutionStatus::ExecuteComplete => "was already executed",
                    ExecutionStatus::ExecuteInProgress => "is being executed",
                    ExecutionStatus::ExecuteFailed => "was executed and failed",
                    ExecutionStatus::Obsolete => {
                        "is obsolete (the stack changed after it was created)"
                    }
                    _ => "cannot be executed",
                };
                write!(
                    f,
                    "change set {name} {what} (status {status}, execution status {execution_status}"
                )?;
                if let Some(reason) = reason.as_deref().filter(|reason| !reason.is_empty()) {
                    write!(f, ": {reason}")?;
                }
                f.write_str(")")
            }
            StaleReason::StackGone { stack, was_status } => write!(
                f,
                "stack {stack} was deleted after the plan was made (it was {was_status})"
            ),
            StaleReason::StackReplaced {
                stack,
                stack_id,
                was_stack_id,
            } => write!(
                f,
                "stack {stack} was deleted and created again after the plan was made (stack id {stack_id}, was {was_stack_id})"
            ),
            StaleReason::StackCreated { stack, status } => write!(
                f,
                "stack {stack} was created by someone else after the plan was made ({status}); the plan expected to create it"
            ),
            StaleReason::StackUpdated {
                stack,
                status,
                last_updated_time,
                was_status,
                was_last_updated_time,
            } => write!(
                f,
                "stack {stack} was updated{} after the plan was made ({status}, was {was_status}, last updated {})",
                last_updated_time
                    .as_deref()
                    .map(|time| format!(" at {time}"))
                    .unwrap_or_default(),
                was_last_updated_time.as_deref().unwrap_or("never")
            ),
            StaleReason::TemplateChanged {
                stack,
                sha256,
                was_sha256,
            } => write!(
                f,
                "the deployed template of {stack} changed after the plan was made (sha256 {sha256}, was {was_sha256})"
            ),
            StaleReason::AssetMissing { bucket, key } => {
                write!(f, "asset {key} is no longer in s3://{bucket}")
            }
            StaleReason::AssetReplaced {
                bucket,
                key,
                version_id,
                was_version_id,
            } => write!(
                f,
                "asset s3://{bucket}/{key} was replaced after the plan was made (object version {}, was {})",
                version_id.as_deref().unwrap_or("none"),
                was_version_id.as_deref().unwrap_or("none")
            ),
            StaleReason::AssetChanged {
                bucket,
                key,
                sha256,
                was_sha256,
            } => write!(
                f,
                "asset s3://{bucket}/{key} holds other bytes than were reviewed (sha256 {sha256}, reviewed {was_sha256}): do not deploy it before you know who wrote it"
            ),
        }
    }
}

/// A plan file that cannot be used, naming the file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read plan {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write plan {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plan {path} is not a valid plan file: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "plan {path} has format_version {found}; this upstack reads format_version {FORMAT_VERSION}. Prepare the plan again with this version"
    )]
    Version { path: PathBuf, found: String },
    #[error("plan {path}: `{field}` {problem}")]
    Invalid {
        path: PathBuf,
        field: &'static str,
        problem: String,
    },
    #[error(transparent)]
    WrongTarget(Box<TargetMismatch>),
}

/// A plan made for another env, account or region than this deploy's.
#[derive(Debug, thiserror::Error)]
#[error(
    "the plan was made for env {plan_env} (stack {stack}) in account {plan_account}, {plan_region}; this deploy is env {env} in account {account}, {region}"
)]
pub struct TargetMismatch {
    pub stack: String,
    pub plan_env: String,
    pub plan_account: String,
    pub plan_region: String,
    pub env: String,
    pub account: String,
    pub region: String,
}

impl ReviewedPlan {
    /// Writes the plan as indented JSON, atomically (a reader never sees half
    /// a plan; a failed write leaves the previous file).
    pub fn save(&self, path: &Path) -> Result<(), PlanError> {
        let mut json = serde_json::to_string_pretty(self).map_err(|source| PlanError::Parse {
            path: path.to_owned(),
            source,
        })?;
        json.push('\n');
        write_atomic(path, json.as_bytes()).map_err(|source| PlanError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads and checks a plan file.
    pub fn load(path: &Path) -> Result<ReviewedPlan, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
            path: path.to_owned(),
            source,
        })?;
        ReviewedPlan::parse(&text, path)
    }

    /// [`ReviewedPlan::load`] on text already read; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<ReviewedPlan, PlanError> {
        let parse_error = |source| PlanError::Parse {
            path: path.to_owned(),
            source,
        };
        // The version first, on its own: a plan from another version must be
        // reported as such, not as the first field this version does not know.
        #[derive(Deserialize)]
        struct Versioned {
            format_version: Option<serde_json::Value>,
        }
        let versioned: Versioned = serde_json::from_str(text).map_err(parse_error)?;
        match versioned.format_version {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(FORMAT_VERSION)) => {
            }
            Some(other) => {
                return Err(PlanError::Version {
                    path: path.to_owned(),
                    found: other.to_string(),
                });
            }
            None => {
                return Err(PlanError::Invalid {
                    path: path.to_owned(),
                    field: "format_version",
                    problem: "is missing: this is not an upstack plan file".into(),
                });
            }
        }
        let plan: ReviewedPlan = serde_json::from_str(text).map_err(parse_error)?;
        plan.validate(path)?;
        Ok(plan)
    }

    fn validate(&self, path: &Path) -> Result<(), PlanError> {
        let invalid = |field: &'static str, problem: String| PlanError::Invalid {
            path: path.to_owned(),
            field,
            problem,
        };
        for (field, value) in [
            ("manifest.env", &self.manifest.env),
            ("manifest.stack_name", &self.manifest.stack_name),
            ("account", &self.account),
            ("region", &self.region),
            ("change_set.name", &self.change_set.name),
            ("asset_bucket", &self.asset_bucket),
        ] {
            if value.is_empty() {
                return Err(invalid(field, "is empty".into()));
            }
        }
        if !self.change_set.arn.starts_with("arn:") {
            return Err(invalid(
                "change_set.arn",
                format!(
                    "is `{}`, not a change set ARN (`arn:...:changeSet/...`)",
                    self.change_set.arn
                ),
            ));
        }
        let is_sha256 = |text: &str| {
            text.len() == 64
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !is_sha256(&self.template_sha256) {
            return Err(invalid(
                "template_sha256",
                format!("is `{}`, not 64 lowercase hex digits", self.template_sha256),
            ));
        }
        // Every asset verified, and every function's zip among them: a
        // function whose code was not verified would run unchecked bytes.
        for asset in &self.assets {
            if !is_sha256(&asset.sha256) {
                return Err(invalid(
                    "assets[].sha256",
                    format!(
                        "is `{}` for {}, not 64 lowercase hex digits",
                        asset.sha256, asset.key
                    ),
                ));
            }
        }
        if let Some(function) = self.manifest.functions.iter().find(|function| {
            !self
                .assets
                .iter()
                .any(|asset| asset.key == function.asset_key)
        }) {
            return Err(invalid(
                "assets",
                format!(
                    "has no verified asset for function {} ({})",
                    function.function_name, function.asset_key
                ),
            ));
        }
        match (&self.stack, self.change_set.kind) {
            (Some(stack), PlannedKind::Update) => {
                if !is_sha256(&stack.template_sha256) {
                    return Err(invalid(
                        "stack.template_sha256",
                        format!(
                            "is `{}`, not 64 lowercase hex digits",
                            stack.template_sha256
                        ),
                    ));
                }
                if stack.stack_id.is_empty() || stack.status.as_str().is_empty() {
                    return Err(invalid(
                        "stack",
                        "needs stack_id and status for an UPDATE".into(),
                    ));
                }
            }
            (None, PlannedKind::Create) => {}
            (Some(_), PlannedKind::Create) => {
                return Err(invalid(
                    "stack",
                    "is set, but the change set is a CREATE (no stack existed)".into(),
                ));
            }
            (None, PlannedKind::Update) => {
                return Err(invalid(
                    "stack",
                    "is missing: an UPDATE plan must record the stack it was made against".into(),
                ));
            }
        }
        // The reviewed diff is shown again before the change set runs: one
        // in a layout this version would misread is refused, not shown.
        if self.diff.schema_version != upstack_diff::SCHEMA_VERSION {
            return Err(invalid(
                "diff.schema_version",
                format!(
                    "is {}; this upstack reads diff schema {}. Prepare the plan again with this version",
                    self.diff.schema_version,
                    upstack_diff::SCHEMA_VERSION
                ),
            ));
        }
        // CloudFormation's limit for MonitoringTimeInMinutes, the rule the
        // env file's `rollback_monitoring_minutes` is held to.
        let minutes = self.manifest.alarms.monitoring_minutes;
        if upstack_stack::config::MonitoringMinutes::new(minutes).is_err() {
            return Err(invalid(
                "manifest.alarms.monitoring_minutes",
                format!("is {minutes}, not 0 to 180"),
            ));
        }
        Ok(())
    }

    /// Refuses a plan made for another env, account or region than the one
    /// the credentials and env file point at.
    pub fn check_target(&self, env: &str, account: &str, region: &str) -> Result<(), PlanError> {
        if self.manifest.env == env && self.account == account && self.region == region {
            return Ok(());
        }
        Err(PlanError::WrongTarget(Box::new(TargetMismatch {
            stack: self.manifest.stack_name.clone(),
            plan_env: self.manifest.env.clone(),
            plan_account: self.account.clone(),
            plan_region: self.region.clone(),
            env: env.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
        })))
    }

    /// The reviewed change back as a diff and its sources, ready for any
    /// renderer: what `diff --plan` prints and what `--execute` shows.
    pub fn reviewed_diff(&self) -> (TemplateDiff, Sources) {
        let report = &self.diff;
        (
            TemplateDiff {
                resources: report.resources.clone(),
                security: report.security.clone(),
                sections: report.sections.clone(),
                drift: report.drift.clone(),
            },
            Sources {
                old: report.old_source.clone(),
                new: report.new_source.clone(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upstack_cfn::StatefulResource;
    use upstack_diff::{
        ChangeSetAction, ChangeSetDetail, ChangeSetReplacement, ChangeSetResource, ChangeSetView,
        RequiresRecreation, ResourceAttribute,
    };

    /// A table renamed, with CloudFormation's verdict merged in.
    fn reviewed() -> JsonReport {
        let table = |name: &str| {
            serde_json::json!({"Resources": {"Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {"TableName": name}
            }}})
        };
        let mut diff = upstack_diff::diff_templates(
            &table("a"),
            &table("b"),
            upstack_cfn_resources::registry::lookup,
        )
        .unwrap();
        diff.merge_change_set(vec![ChangeSetResource {
            logical_id: "Table".into(),
            resource_type: Some("AWS::DynamoDB::Table".into()),
            view: ChangeSetView {
                action: ChangeSetAction::Modify,
                replacement: Some(ChangeSetReplacement::True),
                physical_id: Some("a".into()),
                drift_status: None,
                details: vec![ChangeSetDetail {
                    attribute: Some(ResourceAttribute::Properties),
                    name: Some("TableName".into()),
                    requires_recreation: Some(RequiresRecreation::Always),
                    ..ChangeSetDetail::default()
                }],
            },
        }]);
        upstack_diff::render::report(
            &diff,
            &Sources {
                old: "stack upstack-prod (deployed)".into(),
                new: "change set upstack-1".into(),
            },
        )
    }

    fn manifest() -> Manifest {
        let stateful = [StatefulResource {
            logical_id: "Table".into(),
            resource_type: "AWS::DynamoDB::Table".into(),
        }];
        Manifest {
            env: "prod".into(),
            stack_name: "upstack-prod".into(),
            region: "eu-west-1".into(),
            account_id: None,
            termination_protection: true,
            production: true,
            template_sha256: "c".repeat(64),
            tags: Default::default(),
            functions: vec![upstack_stack::ManifestFunction {
                logical_id: "NotifyFunction".into(),
                handler: "notify".into(),
                function_name: "upstack-prod-notify".into(),
                architecture: upstack_contract::Architecture::Arm64,
                asset_key: "assets/notify-arm64-x.zip".into(),
                reserved_concurrency: Some(5),
                build_profile: upstack_contract::BuildProfile::Lambda,
                log_group: "/aws/lambda/upstack-prod-notify".into(),
            }],
            stateful_resources: stateful.to_vec(),
            stack_policy: upstack_cfn::stack_policy::protecting(&stateful),
            alarms: upstack_stack::StackAlarms {
                alarms: vec![upstack_stack::StackAlarm {
                    name: "upstack-prod-notify-errors".into(),
                    kind: upstack_stack::config::AlarmKind::FunctionErrors,
                }],
                deploy_guard: Some("upstack-prod-deploy-guard".into()),
                monitoring_minutes: 10,
            },
            queues: Vec::new(),
            execution_role_arn: None,
            upload_bucket: None,
        }
    }

    fn sample() -> ReviewedPlan {
        ReviewedPlan {
            format_version: FORMAT_VERSION,
            manifest: manifest(),
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            change_set: PlannedChangeSet {
                arn: "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/upstack-1/abc".into(),
                name: "upstack-1".into(),
                kind: PlannedKind::Update,
                stack_id: Some(
                    "arn:aws:cloudformation:eu-west-1:123456789012:stack/upstack-prod/1".into(),
                ),
            },
            template_sha256: "a".repeat(64),
            asset_bucket: "upstack-assets-123456789012-eu-west-1".into(),
            assets: vec![StoredAsset {
                key: "assets/notify-arm64-x.zip".into(),
                sha256: "d".repeat(64),
                version_id: Some("v1".into()),
            }],
            stack: Some(StackSnapshot {
                stack_id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/upstack-prod/1"
                    .into(),
                status: "UPDATE_COMPLETE".into(),
                creation_time: Some("2026-01-01T00:00:00Z".into()),
                last_updated_time: Some("2026-02-01T10:00:00.5Z".into()),
                template_sha256: "b".repeat(64),
            }),
            review: Review {
                changes: 2,
                broadening: vec![],
                destructive: vec!["Table: replaced".into()],
            },
            diff: reviewed(),
        }
    }

    #[test]
    fn round_trips_through_a_file_with_the_version_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan-prod.json");
        sample().save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n  \"format_version\": 4,"), "{text}");
        assert_eq!(ReviewedPlan::load(&path).unwrap(), sample());
    }

    fn load_error(text: &str) -> String {
        ReviewedPlan::parse(text, Path::new("plan-prod.json"))
            .unwrap_err()
            .to_string()
    }

    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut value = serde_json::to_value(sample()).unwrap();
        edit(&mut value);
        value.to_string()
    }

    #[test]
    fn errors_name_the_file_and_what_is_wrong() {
        let message = load_error("{");
        assert!(
            message.starts_with("plan plan-prod.json is not a valid plan file"),
            "{message}"
        );

        let message = load_error(&edited(|v| v["format_version"] = 2.into()));
        assert!(
            message.contains(
                "plan-prod.json has format_version 2; this upstack reads format_version 4"
            ),
            "{message}"
        );

        let message = load_error(r#"{"schema_version": 1}"#);
        assert!(
            message.contains("`format_version` is missing: this is not an upstack plan file"),
            "{message}"
        );

        let message = load_error(&edited(|v| v["surprise"] = true.into()));
        assert!(message.contains("unknown field `surprise`"), "{message}");

        let message = load_error(&edited(|v| v["template_sha256"] = "xyz".into()));
        assert_eq!(
            message,
            "plan plan-prod.json: `template_sha256` is `xyz`, not 64 lowercase hex digits"
        );

        let message = load_error(&edited(|v| v["change_set"]["arn"] = "upstack-1".into()));
        assert!(
            message.contains("`change_set.arn` is `upstack-1`"),
            "{message}"
        );

        let message = load_error(&edited(|v| v["stack"] = serde_json::Value::Null));
        assert!(
            message.contains("`stack` is missing: an UPDATE plan"),
            "{message}"
        );

        let message = load_error(&edited(|v| v["change_set"]["kind"] = "DELETE".into()));
        assert!(message.contains("unknown variant `DELETE`"), "{message}");

        let message = load_error(&edited(|v| v["diff"]["schema_version"] = 1.into()));
        assert!(
            message.contains("`diff.schema_version` is 1; this upstack reads diff schema"),
            "{message}"
        );

        let message = load_error(&edited(|v| {
            v["manifest"]["alarms"]["monitoring_minutes"] = 181.into()
        }));
        assert!(
            message.contains("`manifest.alarms.monitoring_minutes` is 181, not 0 to 180"),
            "{message}"
        );

        let message = load_error(&edited(|v| v["assets"][0]["sha256"] = "xyz".into()));
        assert!(
            message.contains("`assets[].sha256` is `xyz` for assets/notify-arm64-x.zip"),
            "{message}"
        );

        let message = load_error(&edited(|v| v["assets"] = serde_json::json!([])));
        assert!(
            message.contains(
                "`assets` has no verified asset for function upstack-prod-notify (assets/notify-arm64-x.zip)"
            ),
            "{message}"
        );
    }

    #[test]
    fn the_manifest_and_the_diff_are_written_as_their_own_files_write_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan-prod.json");
        let plan = sample();
        plan.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let written: serde_json::Value = serde_json::from_str(&text).unwrap();
        // The manifest as synth-out/<env>/manifest.json holds it.
        let manifest: serde_json::Value = serde_json::from_str(&plan.manifest.to_json()).unwrap();
        assert_eq!(written["manifest"], manifest);
        // The diff as `diff --format json` prints it, field for field.
        assert_eq!(written["diff"], serde_json::to_value(&plan.diff).unwrap());
        assert!(
            text.contains("\"requires_recreation\": \"Always\""),
            "{text}"
        );
    }

    #[test]
    fn a_policy_or_diff_this_version_would_not_write_is_refused() {
        let message = load_error(&edited(|v| {
            v["manifest"]["stack_policy"] = serde_json::json!({})
        }));
        assert!(message.contains("Statement"), "{message}");

        let message = load_error(&edited(|v| {
            v["diff"]["resources"][0]["surprise"] = true.into()
        }));
        assert!(message.contains("unknown field `surprise`"), "{message}");

        // No policy at all stays what it was: none.
        let plan = ReviewedPlan::parse(
            &edited(|v| v["manifest"]["stack_policy"] = serde_json::Value::Null),
            Path::new("plan-prod.json"),
        )
        .unwrap();
        assert_eq!(plan.manifest.stack_policy, None);
    }

    #[test]
    fn a_plan_for_another_target_is_refused() {
        let plan = sample();
        plan.check_target("prod", "123456789012", "eu-west-1")
            .unwrap();
        let message = plan
            .check_target("prod", "999999999999", "eu-west-1")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("made for env prod (stack upstack-prod) in account 123456789012")
                && message.contains("account 999999999999"),
            "{message}"
        );
    }

    #[test]
    fn stale_reasons_say_what_changed() {
        let updated = StaleReason::StackUpdated {
            stack: "upstack-prod".into(),
            status: "UPDATE_COMPLETE".into(),
            last_updated_time: Some("2026-03-01T09:00:00Z".into()),
            was_status: "UPDATE_COMPLETE".into(),
            was_last_updated_time: Some("2026-02-01T10:00:00.5Z".into()),
        };
        assert_eq!(
            updated.to_string(),
            "stack upstack-prod was updated at 2026-03-01T09:00:00Z after the plan was made (UPDATE_COMPLETE, was UPDATE_COMPLETE, last updated 2026-02-01T10:00:00.5Z)"
        );
        let executed = StaleReason::ChangeSetNotExecutable {
            name: "upstack-1".into(),
            status: "CREATE_COMPLETE".into(),
            execution_status: "EXECUTE_COMPLETE".into(),
            reason: None,
        };
        assert_eq!(
            executed.to_string(),
            "change set upstack-1 was already executed (status CREATE_COMPLETE, execution status EXECUTE_COMPLETE)"
        );
    }
}
