//! Typed IAM policy documents: key, bucket, topic and queue policies, role
//! trust and permission policies all use [`PolicyDocument`].

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::value::Value;

/// The only policy language version AWS documents as current.
pub const POLICY_VERSION: &str = "2012-10-17";

/// `{"Version": "2012-10-17", "Statement": [...]}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyDocument {
    pub statements: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statements: impl IntoIterator<Item = Statement>) -> Self {
        PolicyDocument {
            statements: statements.into_iter().collect(),
        }
    }

    pub fn push(&mut self, statement: Statement) {
        self.statements.push(statement);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// Who a resource policy applies to.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// `"*"`: everyone (use only with `Deny`, or with conditions that narrow it).
    Any,
    /// `{"AWS": [...]}`: accounts, roles, users (ARNs, often built with `Fn::Sub`).
    Aws(Vec<Value<String>>),
    /// `{"Service": [...]}`: AWS service principals such as `sns.amazonaws.com`.
    Service(Vec<String>),
    /// `{"Federated": [...]}`: identity providers (an OIDC provider's ARN),
    /// for `sts:AssumeRoleWithWebIdentity` trust.
    Federated(Vec<Value<String>>),
}

/// One policy statement. Build with [`Statement::allow`] / [`Statement::deny`].
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<Principal>,
    pub actions: Vec<String>,
    pub resources: Vec<Value<String>>,
    /// operator -> condition key -> values, e.g. `StringEquals` -> `aws:SourceAccount` -> [...].
    pub conditions: BTreeMap<String, BTreeMap<String, Vec<Value<String>>>>,
}

impl Statement {
    pub fn allow() -> Self {
        Statement::new(Effect::Allow)
    }

    pub fn deny() -> Self {
        Statement::new(Effect::Deny)
    }

    fn new(effect: Effect) -> Self {
        Statement {
            sid: None,
            effect,
            principal: None,
            actions: Vec::new(),
            resources: Vec::new(),
            conditions: BTreeMap::new(),
        }
    }

    pub fn sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    pub fn principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.actions.push(action.into());
        self
    }

    pub fn actions<I: IntoIterator<Item = S>, S: Into<String>>(mut self, actions: I) -> Self {
        self.actions.extend(actions.into_iter().map(Into::into));
        self
    }

    pub fn resource(mut self, resource: impl Into<Value<String>>) -> Self {
        self.resources.push(resource.into());
        self
    }

    pub fn resources<I: IntoIterator<Item = V>, V: Into<Value<String>>>(
        mut self,
        resources: I,
    ) -> Self {
        self.resources.extend(resources.into_iter().map(Into::into));
        self
    }

    pub fn condition(
        mut self,
        operator: impl Into<String>,
        key: impl Into<String>,
        values: impl IntoIterator<Item = Value<String>>,
    ) -> Self {
        self.conditions
            .entry(operator.into())
            .or_default()
            .entry(key.into())
            .or_default()
            .extend(values);
        self
    }
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("Statement", &self.statements)?;
        map.serialize_entry("Version", POLICY_VERSION)?;
        map.end()
    }
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Principal::Any => serializer.serialize_str("*"),
            Principal::Aws(arns) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("AWS", arns)?;
                map.end()
            }
            Principal::Service(services) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("Service", services)?;
                map.end()
            }
            Principal::Federated(providers) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("Federated", providers)?;
                map.end()
            }
        }
    }
}

impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Keys in sorted order so the JSON matches what serde_json's sorted
        // maps produce everywhere else in the template.
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("Action", &self.actions)?;
        if !self.conditions.is_empty() {
            map.serialize_entry("Condition", &self.conditions)?;
        }
        map.serialize_entry("Effect", &self.effect)?;
        if let Some(principal) = &self.principal {
            map.serialize_entry("Principal", principal)?;
        }
        if !self.resources.is_empty() {
            map.serialize_entry("Resource", &self.resources)?;
        }
        if let Some(sid) = &self.sid {
            map.serialize_entry("Sid", sid)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Pseudo, sub};
    use serde_json::json;

    #[test]
    fn a_statement_serializes_to_the_iam_grammar() {
        let doc = PolicyDocument::new([Statement::allow()
            .sid("Publish")
            .principal(Principal::Service(vec!["sns.amazonaws.com".into()]))
            .actions(["kms:Decrypt", "kms:GenerateDataKey"])
            .resource(sub("arn:${AWS::Partition}:kms:::key/x"))
            .condition(
                "StringEquals",
                "aws:SourceAccount",
                [Pseudo::AccountId.value()],
            )]);
        let json = serde_json::to_value(&doc).unwrap_or_default();
        assert_eq!(
            json,
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "Publish",
                    "Effect": "Allow",
                    "Principal": {"Service": ["sns.amazonaws.com"]},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:kms:::key/x"}],
                    "Condition": {"StringEquals": {"aws:SourceAccount": [{"Ref": "AWS::AccountId"}]}}
                }]
            })
        );
    }
}
