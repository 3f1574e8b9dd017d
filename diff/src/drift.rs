//! Drift: what the account holds against what the deployed template says,
//! for every resource of a stack: declared properties whose actual value
//! differs, and properties the template does not declare that were set by
//! hand (a CORS rule, reserved concurrency, an extra policy statement).
//!
//! Pure: the toolkit reads each resource with its service's own read APIs
//! and hands it here as an [`Observed`] value already in CloudFormation's
//! property names and shapes; this module compares, says what weakens
//! security (broadening), and, once a deploy is planned, what the deploy
//! does with each drifted value ([`DriftFate`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::model::{Direction, TemplateDiff};

/// One resource whose actual state differs from the deployed template, or
/// could not be read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    pub status: DriftStatus,
    /// Why the drift is unknown (`status: unknown`): the read that failed and
    /// AWS's answer.
    pub reason: Option<String>,
    /// The properties that differ, by path.
    pub properties: Vec<PropertyDrift>,
}

impl ResourceDrift {
    /// Whether any drifted value weakens security.
    pub fn broadening(&self) -> bool {
        self.properties.iter().any(|property| property.broadening)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    /// Properties differ from the deployed template.
    Modified,
    /// The resource is gone from the account.
    Deleted,
    /// It could not be read: never taken for "no drift".
    Unknown,
}

/// One property whose actual value differs from what the deployed template
/// says (or, undeclared, from AWS's default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyDrift {
    /// `Properties.MemorySize`, `Properties.CorsConfiguration`.
    pub path: String,
    /// Whether the deployed template declares the property.
    pub declared: bool,
    /// The deployed template's value; for an undeclared property, AWS's
    /// default (absent: none).
    pub expected: Option<Json>,
    /// What the account holds (absent: not set).
    pub actual: Option<Json>,
    /// Whether the actual value weakens security: a policy that grants more,
    /// encryption removed, public access allowed, key rotation off.
    pub broadening: bool,
    /// What differs inside a policy, one line each (`+ principal AWS:*`), or
    /// why the value weakens security.
    pub details: Vec<String>,
    /// What the planned deploy does with it; absent outside a plan.
    pub fate: Option<DriftFate>,
}

/// What a deploy does with one drifted value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DriftFate {
    /// The new template sets the property: the drifted value is overwritten
    /// with `value` (absent: the property is removed, AWS's default applies).
    Overwritten { value: Option<Json> },
    /// `deploy --revert-drift`: set back to the deployed template's value.
    Reverted,
    /// The drifted value stays as it is.
    Left,
}

/// One resource as the account's read APIs show it.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed {
    /// Read: `properties` holds every property in `covered` that is set, in
    /// CloudFormation's names and shapes, with intrinsics resolved;
    /// `defaults` holds what AWS reports for a covered property nobody set
    /// (Lambda's `MemorySize` 128, say), so an undeclared one at its default
    /// is not drift.
    Read {
        properties: Map<String, Json>,
        covered: Vec<&'static str>,
        defaults: Map<String, Json>,
        /// Covered properties whose lists AWS returns in an order of its own.
        unordered: Vec<&'static str>,
    },
    /// The resource is gone.
    Deleted,
    /// It could not be read; the reason names the call and AWS's answer.
    Unknown(String),
}

/// The drift of one resource: `expected` is its `Properties` in the
/// deployed template with intrinsics resolved where they can be (an
/// unresolvable intrinsic is never compared: it cannot be known to differ).
/// `None` when it does not drift.
pub fn resource_drift(
    logical_id: &str,
    resource_type: &str,
    physical_id: Option<&str>,
    expected: &Map<String, Json>,
    observed: &Observed,
) -> Option<ResourceDrift> {
    let drift = |status, reason, properties| ResourceDrift {
        logical_id: logical_id.to_owned(),
        resource_type: resource_type.to_owned(),
        physical_id: physical_id.map(str::to_owned),
        status,
        reason,
        properties,
    };
    let (actual, covered, defaults, unordered) = match observed {
        Observed::Deleted => return Some(drift(DriftStatus::Deleted, None, Vec::new())),
        Observed::Unknown(reason) => {
            return Some(drift(
                DriftStatus::Unknown,
                Some(reason.clone()),
                Vec::new(),
            ));
        }
        Observed::Read {
            properties,
            covered,
            defaults,
            unordered,
        } => (properties, covered, defaults, unordered),
    };
    let mut properties = Vec::new();
    for name in covered {
        let declared = expected.get(*name);
        let baseline = declared.or_else(|| defaults.get(*name));
        let found = actual.get(*name);
        let ordered = !unordered.contains(name);
        let same = match (baseline, found) {
            (None, None) => true,
            (Some(want), Some(have)) => equivalent(want, have, ordered),
            // A declared empty list or map is the same as none set.
            (Some(value), None) | (None, Some(value)) => is_empty(value),
        };
        if same {
            continue;
        }
        let (broadening, details) = security_of(resource_type, name, baseline, found);
        // Policies are compared by what they grant, as in a template diff:
        // one written another way (a list for a string, statements in
        // another order, the account ID for its root ARN) is the same.
        if details.is_empty() && holds_policy(baseline) && holds_policy(found) {
            continue;
        }
        properties.push(PropertyDrift {
            path: format!("Properties.{name}"),
            declared: declared.is_some(),
            expected: baseline.cloned(),
            actual: found.cloned(),
            broadening,
            details,
            fate: None,
        });
    }
    (!properties.is_empty()).then(|| drift(DriftStatus::Modified, None, properties))
}

/// Whether a value is, or holds, a policy document.
fn holds_policy(value: Option<&Json>) -> bool {
    match value {
        Some(Json::Object(map)) => {
            map.contains_key("Statement") || map.values().any(|child| holds_policy(Some(child)))
        }
        Some(Json::Array(items)) => items.iter().any(|item| holds_policy(Some(item))),
        _ => false,
    }
}

fn is_empty(value: &Json) -> bool {
    match value {
        Json::Array(items) => items.is_empty(),
        Json::Object(map) => map.is_empty(),
        Json::Null => true,
        _ => false,
    }
}

/// Whether a value the template holds is what AWS holds: objects by key,
/// lists in order (or as multisets when `ordered` is false), and the
/// spellings CloudFormation accepts for one value (`"256"` for 256,
/// `"true"` for true). An intrinsic left unresolved matches anything.
pub fn equivalent(want: &Json, have: &Json, ordered: bool) -> bool {
    if is_intrinsic(want) {
        return true;
    }
    match (want, have) {
        (Json::Object(a), Json::Object(b)) => {
            a.iter().all(|(key, value)| match b.get(key) {
                Some(other) => equivalent(value, other, ordered),
                None => is_empty(value),
            }) && b
                .iter()
                .all(|(key, value)| a.contains_key(key) || is_empty(value))
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            if ordered {
                a.iter().zip(b).all(|(x, y)| equivalent(x, y, ordered))
            } else {
                let mut left: Vec<&Json> = b.iter().collect();
                a.iter().all(
                    |x| match left.iter().position(|y| equivalent(x, y, ordered)) {
                        Some(index) => {
                            left.remove(index);
                            true
                        }
                        None => false,
                    },
                )
            }
        }
        (Json::String(text), other) | (other, Json::String(text))
            if matches!(other, Json::Number(_) | Json::Bool(_)) =>
        {
            text == &other.to_string()
        }
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// `{"Ref": ..}`, `{"Fn::...": ..}`: a value only CloudFormation knows.
fn is_intrinsic(value: &Json) -> bool {
    value.as_object().is_some_and(|map| {
        map.len() == 1
            && map
                .keys()
                .next()
                .is_some_and(|key| key == "Ref" || key.starts_with("Fn::"))
    })
}

/// Properties whose drift weakens security by their value alone, and why.
fn weakened(
    resource_type: &str,
    name: &str,
    want: Option<&Json>,
    have: Option<&Json>,
) -> Option<String> {
    let set = |value: Option<&Json>| value.is_some_and(|value| !is_empty(value));
    let truthy = |value: Option<&Json>| {
        value.is_some_and(|value| value == &Json::Bool(true) || value == "true")
    };
    match (resource_type, name) {
        ("AWS::S3::Bucket", "PublicAccessBlockConfiguration") => {
            let lifted: Vec<&str> = [
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            ]
            .into_iter()
            .filter(|flag| {
                truthy(want.and_then(|value| value.get(flag)))
                    && !truthy(have.and_then(|value| value.get(flag)))
            })
            .collect();
            (!lifted.is_empty())
                .then(|| format!("public access allowed: {} no longer on", lifted.join(", ")))
        }
        ("AWS::S3::Bucket", "BucketEncryption")
        | ("AWS::SQS::Queue", "KmsMasterKeyId")
        | ("AWS::SNS::Topic", "KmsMasterKeyId")
        | ("AWS::Logs::LogGroup", "KmsKeyId")
        | ("AWS::DynamoDB::Table", "SSESpecification") => {
            let removed = set(want) && !set(have);
            let disabled = name == "SSESpecification"
                && truthy(want.and_then(|value| value.get("SSEEnabled")))
                && !truthy(have.and_then(|value| value.get("SSEEnabled")));
            (removed || disabled).then(|| "encryption removed".to_owned())
        }
        ("AWS::KMS::Key", "EnableKeyRotation") => {
            (truthy(want) && !truthy(have)).then(|| "key rotation turned off".to_owned())
        }
        _ => None,
    }
}

/// Whether a drifted value weakens security, and the lines saying how: for
/// a policy the statement changes (the template's security engine, so a
/// statement granting more principals, actions or resources is broadening
/// exactly as in a template diff), else the value rules of [`weakened`].
fn security_of(
    resource_type: &str,
    name: &str,
    want: Option<&Json>,
    have: Option<&Json>,
) -> (bool, Vec<String>) {
    let as_properties = |value: Option<&Json>| {
        let mut map = Map::new();
        if let Some(value) = value {
            map.insert(name.to_owned(), value.clone());
        }
        Json::Object(map)
    };
    let (before, after) = (as_properties(want), as_properties(have));
    let mut changes = crate::security::diff_resource(
        "drift",
        Some((resource_type, Some(&before))),
        Some((resource_type, Some(&after))),
    );
    // A policy that is not a template property of its own (a function's
    // resource policy statements added by hand) is read as the resource
    // policy it is.
    let is_document =
        |value: Option<&Json>| value.is_some_and(|value| value.get("Statement").is_some());
    if changes.is_empty() && (is_document(want) || is_document(have)) {
        let document = |value: Option<&Json>| {
            let mut map = Map::new();
            if let Some(value) = value {
                map.insert("PolicyDocument".to_owned(), value.clone());
            }
            Json::Object(map)
        };
        let (before, after) = (document(want), document(have));
        changes = crate::security::diff_resource(
            "drift",
            Some(("AWS::S3::BucketPolicy", Some(&before))),
            Some(("AWS::S3::BucketPolicy", Some(&after))),
        );
    }
    if !changes.is_empty() {
        let broadening = changes
            .iter()
            .any(|change| change.direction == Direction::Broadening);
        let details = changes
            .iter()
            .flat_map(|change| change.details.iter().cloned())
            .collect();
        return (broadening, details);
    }
    match weakened(resource_type, name, want, have) {
        Some(why) => (true, vec![why]),
        None => (false, Vec::new()),
    }
}

/// Says, for each drifted value, what the deploy planned as `diff` does
/// with it: a property the new template changes is overwritten with the
/// new value (and a resource removed or replaced takes its drift with it);
/// with `revert`, every other declared property is set back; the rest is
/// left as it is.
pub fn assign_fates(drift: &mut [ResourceDrift], diff: &TemplateDiff, revert: bool) {
    for resource in drift {
        let change = diff
            .resources
            .iter()
            .find(|change| change.logical_id == resource.logical_id);
        let gone = change.is_some_and(|change| {
            change.action == crate::model::Action::Remove
                || change.effective_replacement() == crate::model::Replacement::Replace
        });
        for property in &mut resource.properties {
            let rewritten = change.and_then(|change| {
                change.changes.iter().find(|changed| {
                    changed.path == property.path
                        || changed.path.starts_with(&format!("{}.", property.path))
                        || changed.path.starts_with(&format!("{}[", property.path))
                })
            });
            property.fate = Some(if gone {
                DriftFate::Overwritten { value: None }
            } else if let Some(changed) = rewritten {
                DriftFate::Overwritten {
                    value: (changed.path == property.path)
                        .then(|| changed.new.clone())
                        .flatten(),
                }
            } else if revert && property.declared {
                DriftFate::Reverted
            } else {
                DriftFate::Left
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(properties: Json, covered: &[&'static str], defaults: Json) -> Observed {
        Observed::Read {
            properties: properties.as_object().cloned().unwrap_or_default(),
            covered: covered.to_vec(),
            defaults: defaults.as_object().cloned().unwrap_or_default(),
            unordered: Vec::new(),
        }
    }

    fn expected(properties: Json) -> Map<String, Json> {
        properties.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn declared_and_undeclared_properties_drift_and_defaults_do_not() {
        let template = expected(
            json!({"MemorySize": 256, "Timeout": "30", "Role": {"Fn::GetAtt": ["Role", "Arn"]}}),
        );
        let covered = [
            "MemorySize",
            "Timeout",
            "Role",
            "ReservedConcurrentExecutions",
            "EphemeralStorage",
        ];
        let defaults = json!({"EphemeralStorage": {"Size": 512}});
        // Fresh: the template's values, AWS's defaults, an ARN the template only references.
        let fresh = read(
            json!({"MemorySize": 256, "Timeout": 30, "Role": "arn:aws:iam::1:role/r", "EphemeralStorage": {"Size": 512}}),
            &covered,
            defaults.clone(),
        );
        assert_eq!(
            resource_drift("Fn", "AWS::Lambda::Function", None, &template, &fresh),
            None
        );
        // Memory raised and reserved concurrency set by hand.
        let changed = read(
            json!({"MemorySize": 1024, "Timeout": 30, "Role": "arn:aws:iam::1:role/r", "ReservedConcurrentExecutions": 2, "EphemeralStorage": {"Size": 512}}),
            &covered,
            defaults,
        );
        let drift = resource_drift(
            "Fn",
            "AWS::Lambda::Function",
            Some("fn"),
            &template,
            &changed,
        )
        .unwrap();
        assert_eq!(drift.status, DriftStatus::Modified);
        let paths: Vec<(&str, bool)> = drift
            .properties
            .iter()
            .map(|property| (property.path.as_str(), property.declared))
            .collect();
        assert_eq!(
            paths,
            [
                ("Properties.MemorySize", true),
                ("Properties.ReservedConcurrentExecutions", false)
            ]
        );
        assert_eq!(drift.properties[0].expected, Some(json!(256)));
        assert_eq!(drift.properties[0].actual, Some(json!(1024)));
        assert!(!drift.broadening());
    }

    #[test]
    fn deleted_and_unreadable_resources_are_never_no_drift() {
        let template = expected(json!({}));
        let gone = resource_drift(
            "Q",
            "AWS::SQS::Queue",
            Some("q"),
            &template,
            &Observed::Deleted,
        )
        .unwrap();
        assert_eq!(gone.status, DriftStatus::Deleted);
        let unknown = resource_drift(
            "Q",
            "AWS::SQS::Queue",
            Some("q"),
            &template,
            &Observed::Unknown("sqs:GetQueueAttributes: AccessDenied".into()),
        )
        .unwrap();
        assert_eq!(unknown.status, DriftStatus::Unknown);
        assert_eq!(
            unknown.reason.as_deref(),
            Some("sqs:GetQueueAttributes: AccessDenied")
        );
    }

    #[test]
    fn a_policy_opened_to_everyone_is_broadening_with_its_statement() {
        let policy = |principal: Json| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sns:Publish", "Resource": "arn:aws:sns:eu-west-1:1:t"}]});
        let template =
            expected(json!({"PolicyDocument": policy(json!({"Service": "s3.amazonaws.com"}))}));
        let mut opened = policy(json!({"Service": "s3.amazonaws.com"}));
        opened["Statement"].as_array_mut().unwrap().push(
            json!({"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": "*"}),
        );
        let drift = resource_drift(
            "TopicPolicy",
            "AWS::SNS::TopicPolicy",
            None,
            &template,
            &read(
                json!({"PolicyDocument": opened}),
                &["PolicyDocument"],
                json!({}),
            ),
        )
        .unwrap();
        let property = &drift.properties[0];
        assert!(property.broadening, "{property:#?}");
        assert!(
            property.details.iter().any(|line| line == "+ principal *"),
            "{property:#?}"
        );
    }

    #[test]
    fn statements_added_to_a_functions_resource_policy_are_broadening() {
        let added = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "anyone", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:eu-west-1:1:function:f"}]});
        let drift = resource_drift(
            "Fn",
            "AWS::Lambda::Function",
            None,
            &expected(json!({})),
            &read(
                json!({"ResourcePolicy": added}),
                &["ResourcePolicy"],
                json!({}),
            ),
        )
        .unwrap();
        assert!(drift.broadening(), "{drift:#?}");
        assert!(!drift.properties[0].declared);
    }

    #[test]
    fn a_policy_written_another_way_is_not_drift() {
        let template = expected(
            json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-west-1:1:q"}]}}),
        );
        let rewritten = json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["s3.amazonaws.com"]}, "Action": ["sqs:SendMessage"], "Resource": ["arn:aws:sqs:eu-west-1:1:q"]}]}});
        let observed = read(rewritten, &["PolicyDocument"], json!({}));
        assert_eq!(
            resource_drift("P", "AWS::SQS::QueuePolicy", None, &template, &observed),
            None
        );
    }

    #[test]
    fn encryption_removed_and_public_access_allowed_are_broadening() {
        let bucket = expected(json!({
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}
        }));
        let drift = resource_drift(
            "Uploads",
            "AWS::S3::Bucket",
            None,
            &bucket,
            &read(
                json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": false, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}}),
                &["PublicAccessBlockConfiguration", "BucketEncryption"],
                json!({}),
            ),
        )
        .unwrap();
        let why: Vec<&str> = drift
            .properties
            .iter()
            .filter(|property| property.broadening)
            .flat_map(|property| property.details.iter().map(String::as_str))
            .collect();
        assert_eq!(
            why,
            [
                "public access allowed: BlockPublicPolicy no longer on",
                "encryption removed"
            ]
        );
    }

    /// The one property `name` of `resource_type` drifted from `want` to
    /// `have` (`None`: absent); `None` when it does not drift.
    fn one_property(
        resource_type: &str,
        name: &'static str,
        want: Option<Json>,
        have: Option<Json>,
    ) -> Option<PropertyDrift> {
        let side = |value: Option<Json>| {
            Json::Object(
                value
                    .into_iter()
                    .map(|value| (name.to_owned(), value))
                    .collect(),
            )
        };
        resource_drift(
            "R",
            resource_type,
            None,
            &expected(side(want)),
            &read(side(have), &[name], json!({})),
        )
        .map(|drift| drift.properties.into_iter().next().unwrap())
    }

    #[test]
    fn lists_aws_orders_its_own_way_compare_as_sets_and_the_others_in_order() {
        let observed = Observed::Read {
            properties: expected(json!({"Subscribers": ["b", "a"], "Layers": ["y", "x"]})),
            covered: vec!["Subscribers", "Layers"],
            defaults: Map::new(),
            unordered: vec!["Subscribers"],
        };
        let drift = resource_drift(
            "R",
            "AWS::Lambda::Function",
            None,
            &expected(json!({"Subscribers": ["a", "b"], "Layers": ["x", "y"]})),
            &observed,
        )
        .unwrap();
        let paths: Vec<&str> = drift.properties.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["Properties.Layers"]);
    }

    #[test]
    fn an_inline_policy_in_a_list_written_another_way_is_not_drift() {
        let policies = |action: Json| {
            json!([{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": action, "Resource": "arn:aws:sqs:eu-west-1:1:q"}]}}])
        };
        assert_eq!(
            one_property(
                "AWS::IAM::Role",
                "Policies",
                Some(policies(json!("sqs:SendMessage"))),
                Some(policies(json!(["sqs:SendMessage"]))),
            ),
            None
        );
    }

    #[test]
    fn an_empty_map_or_null_is_the_same_as_nothing_set() {
        let tags = "Tags";
        assert_eq!(
            one_property("AWS::SQS::Queue", tags, Some(json!({})), None),
            None
        );
        assert_eq!(
            one_property("AWS::SQS::Queue", tags, None, Some(json!({}))),
            None
        );
        assert_eq!(
            one_property("AWS::SQS::Queue", tags, None, Some(Json::Null)),
            None
        );
        assert!(one_property("AWS::SQS::Queue", tags, None, Some(json!({"a": "b"}))).is_some());
    }

    #[test]
    fn encryption_changed_or_added_is_drift_but_only_removing_it_is_broadening() {
        let key = "KmsMasterKeyId";
        let other_key = one_property(
            "AWS::SQS::Queue",
            key,
            Some(json!("alias/a")),
            Some(json!("alias/b")),
        )
        .unwrap();
        assert!(!other_key.broadening, "{other_key:#?}");
        let added = one_property("AWS::SQS::Queue", key, None, Some(json!("alias/a"))).unwrap();
        assert!(!added.broadening, "{added:#?}");
        let removed = one_property("AWS::SQS::Queue", key, Some(json!("alias/a")), None).unwrap();
        assert_eq!(removed.details, ["encryption removed"]);
        assert!(removed.broadening);

        // DynamoDB keeps the specification and turns SSEEnabled off.
        let sse = "SSESpecification";
        let disabled = one_property(
            "AWS::DynamoDB::Table",
            sse,
            Some(json!({"SSEEnabled": true, "SSEType": "KMS"})),
            Some(json!({"SSEEnabled": false, "SSEType": "KMS"})),
        )
        .unwrap();
        assert_eq!(disabled.details, ["encryption removed"]);
        assert!(disabled.broadening);
        let other_table_key = one_property(
            "AWS::DynamoDB::Table",
            sse,
            Some(json!({"SSEEnabled": true, "SSEType": "KMS"})),
            Some(json!({"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": "alias/b"})),
        )
        .unwrap();
        assert!(!other_table_key.broadening, "{other_table_key:#?}");
        let enabled = one_property(
            "AWS::DynamoDB::Table",
            sse,
            Some(json!({"SSEEnabled": false})),
            Some(json!({"SSEEnabled": "true"})),
        )
        .unwrap();
        assert!(!enabled.broadening, "{enabled:#?}");
    }

    #[test]
    fn key_rotation_turned_off_is_broadening_and_turned_on_or_unseen_is_not() {
        let rotation = "EnableKeyRotation";
        let off = one_property(
            "AWS::KMS::Key",
            rotation,
            Some(json!(true)),
            Some(json!(false)),
        )
        .unwrap();
        assert_eq!(off.details, ["key rotation turned off"]);
        assert!(off.broadening);
        let on = one_property(
            "AWS::KMS::Key",
            rotation,
            Some(json!(false)),
            Some(json!(true)),
        )
        .unwrap();
        assert!(!on.broadening, "{on:#?}");
        let unseen = one_property("AWS::KMS::Key", rotation, Some(json!(false)), None).unwrap();
        assert!(!unseen.broadening, "{unseen:#?}");
    }

    #[test]
    fn the_deploy_decides_each_drifted_values_fate() {
        let template = |queue: Json, topic: Json| {
            json!({"Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": queue},
                "Topic": {"Type": "AWS::SNS::Topic", "Properties": topic},
            }})
        };
        let deployed = template(
            json!({"RedrivePolicy": {"maxReceiveCount": 3}, "Tags": [{"Key": "a", "Value": "1"}], "DelaySeconds": 1}),
            json!({"DisplayName": "t"}),
        );
        let lookup = upstack_cfn_resources::registry::lookup;
        let drifted = |id: &str, type_name: &str, names: &[&'static str], have: Json| {
            let deployed_properties = deployed["Resources"][id]["Properties"].clone();
            resource_drift(
                id,
                type_name,
                None,
                &expected(deployed_properties),
                &read(have, names, json!({})),
            )
            .unwrap()
        };
        let mut drift = vec![
            drifted(
                "Queue",
                "AWS::SQS::Queue",
                &["RedrivePolicy", "Tags", "DelaySeconds"],
                json!({"RedrivePolicy": {"maxReceiveCount": 9}, "Tags": [{"Key": "a", "Value": "2"}], "DelaySeconds": 5}),
            ),
            drifted(
                "Topic",
                "AWS::SNS::Topic",
                &["DisplayName"],
                json!({"DisplayName": "hand"}),
            ),
        ];
        // The new template changes a value inside RedrivePolicy and inside
        // the tag list, and removes the topic.
        let mut proposed = template(
            json!({"RedrivePolicy": {"maxReceiveCount": 4}, "Tags": [{"Key": "a", "Value": "3"}], "DelaySeconds": 1}),
            json!({}),
        );
        proposed["Resources"]
            .as_object_mut()
            .unwrap()
            .remove("Topic");
        let diff = crate::diff_templates(&deployed, &proposed, lookup).unwrap();
        assign_fates(&mut drift, &diff, false);
        let fates: Vec<(&str, &str, Option<DriftFate>)> = drift
            .iter()
            .flat_map(|resource| {
                resource.properties.iter().map(|property| {
                    (
                        resource.logical_id.as_str(),
                        property.path.as_str(),
                        property.fate.clone(),
                    )
                })
            })
            .collect();
        let overwritten = Some(DriftFate::Overwritten { value: None });
        assert_eq!(
            fates,
            [
                ("Queue", "Properties.RedrivePolicy", overwritten.clone()),
                ("Queue", "Properties.Tags", overwritten.clone()),
                ("Queue", "Properties.DelaySeconds", Some(DriftFate::Left)),
                ("Topic", "Properties.DisplayName", overwritten),
            ]
        );
    }

    #[test]
    fn spellings_cloudformation_accepts_and_unordered_lists_are_equal() {
        assert!(equivalent(&json!("256"), &json!(256), true));
        assert!(equivalent(
            &json!({"Enabled": "true"}),
            &json!({"Enabled": true}),
            true
        ));
        assert!(equivalent(&json!({"Ref": "X"}), &json!("anything"), true));
        assert!(!equivalent(&json!(["a", "b"]), &json!(["b", "a"]), true));
        assert!(equivalent(&json!(["a", "b"]), &json!(["b", "a"]), false));
        assert!(!equivalent(
            &json!({"A": 1}),
            &json!({"A": 1, "B": 2}),
            true
        ));
        assert!(equivalent(
            &json!({"A": 1}),
            &json!({"A": 1, "B": []}),
            true
        ));
    }
}
