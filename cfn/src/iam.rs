//! Typed IAM policy documents: key, bucket, topic and queue policies, role
//! trust and permission policies all use [`PolicyDocument`].

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
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

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
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

// Reading a document back. IAM takes a single item wherever a list goes
// (`"Action": "s3:GetObject"`, one statement object); both read the same
// and are written as lists. Only the 2012-10-17 language is read: without
// `Version` IAM applies 2008-10-17, where policy variables are literal text,
// and writing it back as 2012-10-17 would change what it allows.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(rename = "Statement")]
            statements: OneOrMany<Statement>,
            #[serde(rename = "Version")]
            version: Option<String>,
        }
        let raw = Raw::deserialize(deserializer)?;
        if raw.version.as_deref() != Some(POLICY_VERSION) {
            return Err(de::Error::custom(format!(
                "`Version` is {}; upstack reads and writes policy language version {POLICY_VERSION} only",
                raw.version.map_or_else(
                    || "missing (IAM then applies 2008-10-17)".to_owned(),
                    |v| format!("{v:?}")
                )
            )));
        }
        Ok(PolicyDocument {
            statements: raw.statements.0,
        })
    }
}

impl<'de> Deserialize<'de> for Statement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "PascalCase")]
        struct Raw {
            sid: Option<String>,
            effect: Effect,
            principal: Option<Principal>,
            action: OneOrMany<String>,
            #[serde(default)]
            resource: OneOrMany<Value<String>>,
            #[serde(default)]
            condition: BTreeMap<String, BTreeMap<String, OneOrMany<Value<String>>>>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Statement {
            sid: raw.sid,
            effect: raw.effect,
            principal: raw.principal,
            actions: raw.action.0,
            resources: raw.resource.0,
            conditions: raw
                .condition
                .into_iter()
                .map(|(operator, keys)| {
                    let keys = keys.into_iter().map(|(key, values)| (key, values.0));
                    (operator, keys.collect())
                })
                .collect(),
        })
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PrincipalVisitor;

        impl<'de> Visitor<'de> for PrincipalVisitor {
            type Value = Principal;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter
                    .write_str(r#""*", {"AWS": [..]}, {"Service": [..]} or {"Federated": [..]}"#)
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Principal, E> {
                match value {
                    "*" => Ok(Principal::Any),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Principal, A::Error> {
                let principal = match map.next_key::<String>()?.as_deref() {
                    Some("AWS") => Principal::Aws(map.next_value::<OneOrMany<Value<String>>>()?.0),
                    Some("Service") => Principal::Service(map.next_value::<OneOrMany<String>>()?.0),
                    Some("Federated") => {
                        Principal::Federated(map.next_value::<OneOrMany<Value<String>>>()?.0)
                    }
                    Some(other) => {
                        return Err(de::Error::unknown_field(
                            other,
                            &["AWS", "Service", "Federated"],
                        ));
                    }
                    None => return Err(de::Error::invalid_length(0, &self)),
                };
                match map.next_key::<String>()? {
                    None => Ok(principal),
                    Some(other) => Err(de::Error::custom(format!(
                        "a principal of one kind (AWS, Service or Federated), not also `{other}`"
                    ))),
                }
            }
        }

        deserializer.deserialize_any(PrincipalVisitor)
    }
}

/// A list, or a single item standing for a list of one.
struct OneOrMany<T>(Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor<T>(PhantomData<fn() -> T>);

        fn one<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<OneOrMany<T>, D::Error> {
            T::deserialize(deserializer).map(|item| OneOrMany(vec![item]))
        }

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a list or a single item")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(seq)).map(OneOrMany)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                one(MapAccessDeserializer::new(map))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                one(value.into_deserializer())
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
                one(value.into_deserializer())
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                one(value.into_deserializer())
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                one(value.into_deserializer())
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                one(value.into_deserializer())
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
                one(value.into_deserializer())
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor(PhantomData))
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

    #[test]
    fn a_document_reads_back_as_it_was_written() {
        let doc = PolicyDocument::new([
            Statement::allow()
                .sid("Publish")
                .principal(Principal::Aws(vec![sub(
                    "arn:${AWS::Partition}:iam::1:root",
                )]))
                .actions(["kms:Decrypt", "kms:GenerateDataKey"])
                .resource(sub("arn:${AWS::Partition}:kms:::key/x"))
                .condition(
                    "StringEquals",
                    "aws:SourceAccount",
                    [Pseudo::AccountId.value()],
                ),
            Statement::deny()
                .principal(Principal::Any)
                .action("s3:*")
                .resource("*"),
            Statement::allow()
                .principal(Principal::Service(vec!["sns.amazonaws.com".into()]))
                .action("sqs:SendMessage"),
            // Every kind of principal reads back: CI roles trust an OIDC provider.
            Statement::allow()
                .principal(Principal::Federated(vec![sub(
                    "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/x",
                )]))
                .action("sts:AssumeRoleWithWebIdentity"),
        ]);
        let json = serde_json::to_value(&doc).unwrap();
        let read: PolicyDocument = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(read, doc);
        assert_eq!(serde_json::to_value(&read).unwrap(), json);
    }

    #[test]
    fn single_items_read_as_lists_of_one() {
        let read: PolicyDocument = serde_json::from_value(json!({
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::1:root"}},
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}}
            }
        }))
        .unwrap();
        let statement = &read.statements[0];
        assert_eq!(statement.actions, ["s3:GetObject"]);
        assert_eq!(statement.resources, [Value::from("*")]);
        assert_eq!(
            statement.principal,
            Some(Principal::Aws(vec![sub(
                "arn:${AWS::Partition}:iam::1:root"
            )]))
        );
        assert_eq!(
            statement.conditions["Bool"]["aws:SecureTransport"],
            [Value::from("true")]
        );
    }

    #[test]
    fn what_cannot_be_written_back_is_refused() {
        let error = |json: serde_json::Value| {
            serde_json::from_value::<PolicyDocument>(json)
                .unwrap_err()
                .to_string()
        };
        let statement = json!({"Effect": "Allow", "Action": "s3:*"});
        assert!(error(json!({"Statement": [statement]})).contains("IAM then applies 2008-10-17"),);
        assert!(
            error(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "s3:*"}]}))
                .starts_with("unknown field `NotAction`")
        );
        assert!(
            error(json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Principal": {"AWS": "*", "Service": "x"}}
            ]}))
            .contains("a principal of one kind (AWS, Service or Federated), not also `Service`")
        );
    }
}
