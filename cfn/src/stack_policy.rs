//! Stack policies: the one deploy sets on production stacks, computed from
//! the template, and an evaluator so the diff can predict which updates the
//! policy (that one, or one read from a live stack) will refuse.
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/protect-stack-resources.html>

use serde_json::{Value as Json, json};

use crate::resource::TypeLookup;

/// The update actions a stack policy governs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateAction {
    Modify,
    Replace,
    Delete,
}

impl UpdateAction {
    pub fn name(self) -> &'static str {
        match self {
            UpdateAction::Modify => "Update:Modify",
            UpdateAction::Replace => "Update:Replace",
            UpdateAction::Delete => "Update:Delete",
        }
    }
}

/// What a stack policy says about one update of one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// A `Deny` statement matches.
    Denied,
    /// No statement allows it: with a policy set, everything not allowed is denied.
    NotAllowed,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StackPolicyError {
    #[error("the stack policy is not JSON: {0}")]
    NotJson(String),
    #[error("the stack policy has no `Statement` list")]
    NoStatements,
}

/// A stack policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackPolicy {
    document: Json,
}

/// Whether `type_name` holds data, by the registry's `stateful` fact.
pub fn is_stateful(type_name: &str, lookup: TypeLookup) -> bool {
    lookup(type_name).is_some_and(|info| info.stateful)
}

/// A resource whose type holds data (the registry's `stateful` fact): what
/// the production stack policy protects and what diff calls destructive to
/// replace or delete.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatefulResource {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
}

/// The template's stateful resources, sorted by logical ID so the result does
/// not depend on map order. Pass `upstack_cfn_resources::registry::lookup`.
pub fn stateful_resources(template: &Json, lookup: TypeLookup) -> Vec<StatefulResource> {
    stateful_among(
        template
            .get("Resources")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(logical_id, resource)| {
                Some((logical_id.as_str(), resource.get("Type")?.as_str()?))
            }),
        lookup,
    )
}

/// [`stateful_resources`] of `(logical ID, type)` pairs, for a typed
/// template that need not be turned into JSON first.
pub fn stateful_among<'a>(
    resources: impl IntoIterator<Item = (&'a str, &'a str)>,
    lookup: TypeLookup,
) -> Vec<StatefulResource> {
    let mut stateful: Vec<StatefulResource> = resources
        .into_iter()
        .filter(|(_, kind)| is_stateful(kind, lookup))
        .map(|(logical_id, kind)| StatefulResource {
            logical_id: logical_id.to_owned(),
            resource_type: kind.to_owned(),
        })
        .collect();
    stateful.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    stateful
}

/// The stack policy for production: everything may be updated, except that
/// stateful resources (`ResourceInfo::stateful`, from `schemas/stateful.txt`)
/// may not be replaced or deleted by an update. `None` when the template has
/// no stateful resource. Pass `upstack_cfn_resources::registry::lookup`.
pub fn protective(template: &Json, lookup: TypeLookup) -> Option<StackPolicy> {
    protecting(&stateful_resources(template, lookup))
}

/// [`protective`] for a list [`stateful_resources`] already gave.
pub fn protecting(stateful: &[StatefulResource]) -> Option<StackPolicy> {
    if stateful.is_empty() {
        return None;
    }
    let mut resources: Vec<String> = stateful
        .iter()
        .map(|resource| format!("LogicalResourceId/{}", resource.logical_id))
        .collect();
    resources.sort();
    StackPolicy::from_json(json!({
        "Statement": [
            {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*", "Resource": resources}
        ]
    }))
    .ok()
}

/// Written in the canonical key order the document was put in when it was
/// made ([`StackPolicy::from_json`]), so a file holding a policy is the same
/// for the same policy; read back through [`StackPolicy::from_json`]'s check.
impl serde::Serialize for StackPolicy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.document.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for StackPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        StackPolicy::from_json(Json::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl StackPolicy {
    /// A policy as `GetStackPolicy` returns it or as written in a file.
    pub fn parse(text: &str) -> Result<StackPolicy, StackPolicyError> {
        let document: Json = serde_json::from_str(text)
            .map_err(|error| StackPolicyError::NotJson(error.to_string()))?;
        StackPolicy::from_json(document)
    }

    pub fn from_json(mut document: Json) -> Result<StackPolicy, StackPolicyError> {
        if !document.get("Statement").is_some_and(Json::is_array) {
            return Err(StackPolicyError::NoStatements);
        }
        // The text deploy sends and a plan records must be the same for the
        // same policy, however the document was built or parsed.
        crate::json::canonicalize(&mut document);
        Ok(StackPolicy { document })
    }

    pub fn as_json(&self) -> &Json {
        &self.document
    }

    /// Compact JSON, as `SetStackPolicy` takes it.
    pub fn to_json_string(&self) -> String {
        self.document.to_string()
    }

    /// What the policy says about `action` on the resource. An explicit
    /// deny wins; without a matching allow the update is denied too. A
    /// condition this evaluator does not understand is assumed to match a
    /// `Deny` and not to match an `Allow`, so it errs towards "refused".
    pub fn verdict(&self, action: UpdateAction, logical_id: &str, resource_type: &str) -> Verdict {
        let resource = format!("LogicalResourceId/{logical_id}");
        let mut allowed = false;
        for statement in self
            .document
            .get("Statement")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let deny = match statement.get("Effect").and_then(Json::as_str) {
                Some("Deny") => true,
                Some("Allow") => false,
                _ => continue,
            };
            let actions_match = matches_field(statement, "Action", "NotAction", action.name());
            let resources_match = matches_field(statement, "Resource", "NotResource", &resource);
            if !(actions_match && resources_match) {
                continue;
            }
            match condition_matches(statement.get("Condition"), resource_type) {
                Some(true) => {}
                Some(false) => continue,
                None if deny => {}
                None => continue,
            }
            if deny {
                return Verdict::Denied;
            }
            allowed = true;
        }
        if allowed {
            Verdict::Allowed
        } else {
            Verdict::NotAllowed
        }
    }

    pub fn denies(&self, action: UpdateAction, logical_id: &str, resource_type: &str) -> bool {
        self.verdict(action, logical_id, resource_type) != Verdict::Allowed
    }
}

fn strings(value: Option<&Json>) -> Vec<&str> {
    match value {
        Some(Json::String(one)) => vec![one.as_str()],
        Some(Json::Array(many)) => many.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// `Action`/`Resource` lists match when a pattern matches; `NotAction`/
/// `NotResource` when none does. A statement with neither matches nothing.
fn matches_field(statement: &Json, field: &str, not_field: &str, value: &str) -> bool {
    if let Some(patterns) = statement.get(field) {
        strings(Some(patterns))
            .iter()
            .any(|pattern| glob(pattern, value))
    } else if let Some(patterns) = statement.get(not_field) {
        !strings(Some(patterns))
            .iter()
            .any(|pattern| glob(pattern, value))
    } else {
        false
    }
}

/// Only `ResourceType` conditions exist in stack policies; `None` for an
/// operator this evaluator does not know.
fn condition_matches(condition: Option<&Json>, resource_type: &str) -> Option<bool> {
    let Some(condition) = condition.and_then(Json::as_object) else {
        return Some(true);
    };
    for (operator, tests) in condition {
        let tests = tests.as_object()?;
        for (key, values) in tests {
            if key != "ResourceType" {
                return None;
            }
            let values = strings(Some(values));
            let matched = match operator.as_str() {
                "StringEquals" => values.contains(&resource_type),
                "StringNotEquals" => !values.contains(&resource_type),
                "StringLike" => values.iter().any(|pattern| glob(pattern, resource_type)),
                "StringNotLike" => !values.iter().any(|pattern| glob(pattern, resource_type)),
                _ => return None,
            };
            if !matched {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// `*` matches any run of characters, `?` one character.
fn glob(pattern: &str, value: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let value: Vec<char> = value.chars().collect();
    let (mut p, mut v) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some(p);
                mark = v;
                p += 1;
            }
            Some(&c) if c == '?' || c == value[v] => {
                p += 1;
                v += 1;
            }
            _ => match star {
                Some(star_at) => {
                    p = star_at + 1;
                    mark += 1;
                    v = mark;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ResourceInfo;

    static BUCKET: ResourceInfo = ResourceInfo {
        type_name: "AWS::S3::Bucket",
        required: &[],
        create_only: &["BucketName"],
        conditional_create_only: &[],
        primary_identifier: &["BucketName"],
        attributes: &[],
        taggable: true,
        stateful: true,
        name_property: Some("BucketName"),
        check_properties: |_| Ok(()),
    };

    fn lookup(type_name: &str) -> Option<&'static ResourceInfo> {
        (type_name == "AWS::S3::Bucket").then_some(&BUCKET)
    }

    fn template() -> Json {
        json!({"Resources": {
            "Uploads": {"Type": "AWS::S3::Bucket"},
            "Logs": {"Type": "AWS::S3::Bucket"},
            "Topic": {"Type": "AWS::SNS::Topic"},
        }})
    }

    #[test]
    fn the_protective_policy_denies_replace_and_delete_on_stateful_resources_only() {
        let policy = protective(&template(), lookup).unwrap();
        assert_eq!(
            policy.to_json_string(),
            r#"{"Statement":[{"Action":"Update:*","Effect":"Allow","Principal":"*","Resource":"*"},{"Action":["Update:Replace","Update:Delete"],"Effect":"Deny","Principal":"*","Resource":["LogicalResourceId/Logs","LogicalResourceId/Uploads"]}]}"#
        );
        let bucket = "AWS::S3::Bucket";
        assert!(policy.denies(UpdateAction::Replace, "Uploads", bucket));
        assert!(policy.denies(UpdateAction::Delete, "Logs", bucket));
        assert!(!policy.denies(UpdateAction::Modify, "Uploads", bucket));
        assert!(!policy.denies(UpdateAction::Replace, "Topic", "AWS::SNS::Topic"));
        assert_eq!(
            protective(
                &json!({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}),
                lookup
            ),
            None
        );
    }

    #[test]
    fn a_policy_denies_what_it_does_not_allow_and_reads_conditions() {
        let policy = StackPolicy::parse(
            r#"{"Statement":[
                {"Effect":"Allow","Action":"Update:Modify","Principal":"*","Resource":"*"},
                {"Effect":"Allow","NotAction":"Update:Delete","Principal":"*","Resource":"LogicalResourceId/Topic*"},
                {"Effect":"Deny","Action":"Update:*","Principal":"*","Resource":"*",
                 "Condition":{"StringEquals":{"ResourceType":["AWS::DynamoDB::Table"]}}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            policy.verdict(UpdateAction::Replace, "Queue", "AWS::SQS::Queue"),
            Verdict::NotAllowed
        );
        assert_eq!(
            policy.verdict(UpdateAction::Replace, "TopicA", "AWS::SNS::Topic"),
            Verdict::Allowed
        );
        assert_eq!(
            policy.verdict(UpdateAction::Modify, "Table", "AWS::DynamoDB::Table"),
            Verdict::Denied
        );
        assert!(StackPolicy::parse("{}").is_err());
        assert!(StackPolicy::parse("nope").is_err());
    }

    #[test]
    fn glob_matches_like_a_stack_policy_resource() {
        assert!(glob("LogicalResourceId/*", "LogicalResourceId/X"));
        assert!(glob("Update:*", "Update:Replace"));
        assert!(glob("a?c*", "abcdef"));
        assert!(!glob("LogicalResourceId/Up", "LogicalResourceId/Uploads"));
    }
}
