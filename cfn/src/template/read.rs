//! Reading a template back: the same model `synth` writes, so a reader works
//! on the types the writer used ("typed both ways").
//!
//! A template reads in two steps. [`Template::from_json_str`] reads the
//! sections and each resource's attributes (`Type`, `DependsOn`,
//! `DeletionPolicy`, ...) typed, and keeps its `Properties` as JSON, because
//! this crate does not know the generated resource types. A reader then
//! takes the properties of a type it knows as that type
//! ([`Template::read`], or `upstack_cfn_resources::AnyResource` for every
//! type at once); a type nobody generates stays JSON. Errors name the
//! resource and the property path:
//! `Resources.Handler.Properties.Timeout: invalid type: string "x", expected i64`.
//!
//! Reading is strict where writing back must be faithful: a key the model
//! has no field for is an error, never silently dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};

use super::{
    Condition, DeletionPolicy, FORMAT_VERSION, Output, Parameter, ResourceEntry, ResourceOptions,
    Template,
};
use crate::resource::Resource;
use crate::value::{Expr, Json};

/// What does not read, and where: the path in validate's syntax (dots,
/// `[n]` for list items, `["key"]` for keys that are not identifiers),
/// starting at the template's top (`Resources.Queue.Properties.DelaySeconds`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

impl ReadError {
    /// Reads `T` from `deserializer`, recording the path of the first error.
    fn catch<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, ReadError>
    where
        D::Error: fmt::Display,
    {
        serde_path_to_error::deserialize(deserializer).map_err(|error| ReadError {
            path: render_path(error.path()),
            message: error.inner().to_string(),
        })
    }

    /// This error, found inside the value at `prefix`.
    pub fn within(mut self, prefix: &str) -> ReadError {
        self.path = join_path(prefix, &self.path);
        self
    }

    /// This error, found reading the properties of resource `logical_id` as
    /// `type_name`: the path from the template's top, the type in the message.
    pub fn in_resource(self, logical_id: &str, type_name: &str) -> ReadError {
        let properties = crate::validate::join_key(
            &crate::validate::join_key("Resources", logical_id),
            "Properties",
        );
        ReadError {
            message: format!("{} (reading {type_name})", self.message),
            ..self.within(&properties)
        }
    }
}

/// `path` (as [`ReadError`] writes it) below `prefix`.
pub(crate) fn join_path(prefix: &str, path: &str) -> String {
    if path.is_empty() {
        prefix.to_owned()
    } else if path.starts_with('[') {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}.{path}")
    }
}

/// A path as validate writes it; empty for the top.
fn render_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out = if out.is_empty() && is_identifier(key) {
                    key.clone()
                } else {
                    crate::validate::join_key(&out, key)
                };
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

fn is_identifier(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Reads a resource's `Properties` as the type `R`; the error's path starts
/// at the properties (`Code.S3Key`; empty for the object itself).
pub fn read_properties<R: DeserializeOwned>(properties: &Json) -> Result<R, ReadError> {
    // Tracking the path costs an allocation per key, and validation reads
    // every resource of every synth: it is paid only once something is wrong.
    R::deserialize(properties).or_else(|_| ReadError::catch(properties))
}

impl Template {
    /// Reads a template's JSON text; see the [module docs](self).
    pub fn from_json_str(text: &str) -> Result<Template, ReadError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let template = ReadError::catch(&mut deserializer)?;
        // Trailing text after the object is as wrong as a missing brace.
        deserializer.end().map_err(|error| ReadError {
            path: String::new(),
            message: error.to_string(),
        })?;
        Ok(template)
    }

    /// [`Template::from_json_str`] for JSON already parsed.
    pub fn from_json(json: &Json) -> Result<Template, ReadError> {
        ReadError::catch(json)
    }

    /// The logical IDs of the resources of `R`'s type, in order.
    pub fn logical_ids_of<R: Resource>(&self) -> impl Iterator<Item = &str> {
        self.resources
            .iter()
            .filter(|(_, entry)| entry.is::<R>())
            .map(|(id, _)| id.as_str())
    }

    /// Resource `logical_id` read as `R`: `None` when there is no such
    /// resource or it has another type.
    pub fn read<R: Resource>(&self, logical_id: &str) -> Option<Result<R, ReadError>> {
        let entry = self
            .resources
            .get(logical_id)
            .filter(|entry| entry.is::<R>())?;
        Some(
            entry
                .read()
                .map_err(|error| error.in_resource(logical_id, R::TYPE_NAME)),
        )
    }
}

impl ResourceEntry {
    /// Whether this resource has `R`'s type.
    pub fn is<R: Resource>(&self) -> bool {
        self.type_name == R::TYPE_NAME
    }

    /// The properties read as `R` (whatever the entry's type; check with
    /// [`ResourceEntry::is`]). The error's path starts inside the properties;
    /// [`ReadError::in_resource`] places it in the template.
    pub fn read<R: Resource>(&self) -> Result<R, ReadError> {
        read_properties(&self.properties)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "PascalCase")]
        struct Raw {
            #[serde(rename = "AWSTemplateFormatVersion")]
            format_version: Option<String>,
            #[serde(default)]
            conditions: BTreeMap<String, Condition>,
            description: Option<String>,
            #[serde(default)]
            mappings: BTreeMap<String, Json>,
            #[serde(default)]
            metadata: BTreeMap<String, Json>,
            #[serde(default)]
            outputs: BTreeMap<String, Output>,
            #[serde(default)]
            parameters: BTreeMap<String, Parameter>,
            // Absent for a stack that does not exist yet (`{}`).
            #[serde(default)]
            resources: BTreeMap<String, ResourceEntry>,
            #[serde(default)]
            rules: BTreeMap<String, Json>,
            transform: Option<Json>,
        }
        let raw = Raw::deserialize(deserializer)?;
        if let Some(version) = raw.format_version
            && version != FORMAT_VERSION
        {
            return Err(de::Error::custom(format!(
                "`AWSTemplateFormatVersion` is {version:?}; the only version is {FORMAT_VERSION:?}"
            )));
        }
        Ok(Template {
            description: raw.description,
            metadata: raw.metadata,
            parameters: raw.parameters,
            mappings: raw.mappings,
            rules: raw.rules,
            conditions: raw.conditions,
            transform: raw.transform,
            resources: raw.resources,
            outputs: raw.outputs,
            duplicates: Vec::new(),
        })
    }
}

impl<'de> Deserialize<'de> for ResourceEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "PascalCase")]
        struct Raw {
            condition: Option<String>,
            creation_policy: Option<Json>,
            deletion_policy: Option<DeletionPolicy>,
            #[serde(default)]
            depends_on: DependsOn,
            #[serde(default)]
            metadata: BTreeMap<String, Json>,
            properties: Option<Json>,
            #[serde(rename = "Type")]
            type_name: String,
            update_policy: Option<Json>,
            update_replace_policy: Option<DeletionPolicy>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(ResourceEntry {
            type_name: raw.type_name,
            properties: raw
                .properties
                .unwrap_or_else(|| Json::Object(serde_json::Map::new())),
            options: ResourceOptions {
                depends_on: raw.depends_on.0,
                deletion_policy: raw.deletion_policy,
                update_replace_policy: raw.update_replace_policy,
                condition: raw.condition,
                metadata: raw.metadata,
                creation_policy: raw.creation_policy,
                update_policy: raw.update_policy,
            },
        })
    }
}

/// `DependsOn`: one logical ID or a list of them (written as a list).
#[derive(Default)]
struct DependsOn(BTreeSet<String>);

impl<'de> Deserialize<'de> for DependsOn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a logical ID or a list of them")]
        enum OneOrMany {
            One(String),
            Many(BTreeSet<String>),
        }
        Ok(DependsOn(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(id) => BTreeSet::from([id]),
            OneOrMany::Many(ids) => ids,
        }))
    }
}

/// `{"Fn::Equals": [a, b]}`, `Fn::And`, `Fn::Or`, `{"Fn::Not": [c]}` or
/// `{"Condition": name}`.
impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ConditionVisitor;

        impl<'de> Visitor<'de> for ConditionVisitor {
            type Value = Condition;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(
                    "a one-entry object: Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition",
                )
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Condition, A::Error> {
                let Some(function) = map.next_key::<String>()? else {
                    return Err(de::Error::invalid_length(0, &self));
                };
                let condition = match function.as_str() {
                    "Fn::Equals" => {
                        let (left, right) = map.next_value::<(Expr, Expr)>()?;
                        Condition::Equals(left, right)
                    }
                    "Fn::And" => Condition::And(map.next_value()?),
                    "Fn::Or" => Condition::Or(map.next_value()?),
                    "Fn::Not" => {
                        let [inner] = map.next_value::<[Condition; 1]>()?;
                        Condition::Not(Box::new(inner))
                    }
                    "Condition" => Condition::Named(map.next_value()?),
                    other => {
                        return Err(de::Error::unknown_variant(
                            other,
                            &["Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition"],
                        ));
                    }
                };
                match map.next_key::<String>()? {
                    None => Ok(condition),
                    Some(_) => Err(de::Error::invalid_length(2, &self)),
                }
            }
        }

        deserializer.deserialize_map(ConditionVisitor)
    }
}

impl<'de> Deserialize<'de> for Output {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "PascalCase")]
        struct Export {
            name: Expr,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "PascalCase")]
        struct Raw {
            condition: Option<String>,
            description: Option<String>,
            export: Option<Export>,
            value: Expr,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Output {
            value: raw.value,
            description: raw.description,
            export: raw.export.map(|export| export.name),
            condition: raw.condition,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(json: Json) -> Template {
        let template = Template::from_json(&json).unwrap();
        assert_eq!(template.to_json(), json, "writes back what it read");
        assert_eq!(
            Template::from_json_str(&template.to_pretty_string()).unwrap(),
            template
        );
        template
    }

    #[test]
    fn every_section_and_attribute_reads_back() {
        let template = round_trip(json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Not": [{"Condition": "IsProd"}]}]},
                "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "Both"}]}
            },
            "Description": "d",
            "Mappings": {"Regions": {"eu-west-1": {"Ami": "x"}}},
            "Metadata": {"Note": {"b": 1, "a": 2}},
            "Outputs": {
                "Name": {
                    "Condition": "IsProd",
                    "Description": "the queue",
                    "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-queue"}},
                    "Value": {"Fn::GetAtt": ["Queue", "Arn"]}
                }
            },
            "Parameters": {"Env": {"AllowedValues": ["dev", "prod"], "Default": "dev", "MaxLength": 4, "Type": "String"}},
            "Resources": {
                "Queue": {
                    "Condition": "IsProd",
                    "CreationPolicy": {"ResourceSignal": {"Count": 1}},
                    "DeletionPolicy": "Retain",
                    "DependsOn": ["Other"],
                    "Metadata": {"checkov": {"skip": []}},
                    "Properties": {"DelaySeconds": 5},
                    "Type": "AWS::SQS::Queue",
                    "UpdatePolicy": {"AutoScalingReplacingUpdate": {"WillReplace": true}},
                    "UpdateReplacePolicy": "Snapshot"
                },
                "Other": {"Type": "Custom::Thing"}
            },
            "Rules": {"Only": {"Assertions": []}},
            "Transform": "AWS::LanguageExtensions"
        }));
        let queue = &template.resources["Queue"];
        assert_eq!(queue.options.deletion_policy, Some(DeletionPolicy::Retain));
        assert_eq!(
            queue.options.update_replace_policy,
            Some(DeletionPolicy::Snapshot)
        );
        assert_eq!(template.resources["Other"].properties, json!({}));
    }

    #[test]
    fn a_single_depends_on_reads_as_a_list_of_one() {
        let template = Template::from_json(&json!({
            "Resources": {"A": {"Type": "Custom::A", "DependsOn": "B"}, "B": {"Type": "Custom::B"}}
        }))
        .unwrap();
        assert_eq!(
            template.resources["A"].options.depends_on,
            BTreeSet::from(["B".to_owned()])
        );
    }

    #[test]
    fn errors_name_the_path_and_what_is_wrong() {
        let error = |json: Json| Template::from_json(&json).unwrap_err().to_string();
        assert_eq!(
            error(json!({"Resources": {"Fn": {"Type": "Custom::X", "DeletionPolicy": "Keep"}}})),
            "Resources.Fn.DeletionPolicy: unknown variant `Keep`, expected one of `Delete`, `Retain`, `RetainExceptOnCreate`, `Snapshot`"
        );
        assert!(
            error(json!({"Resources": {"Fn": {"Type": "Custom::X", "Propertes": {}}}}))
                .starts_with("Resources.Fn.Propertes: unknown field `Propertes`, expected one of `Condition`,"),
        );
        assert!(
            error(json!({"Resources": {"Fn": {"Properties": {}}}}))
                .starts_with("Resources.Fn: missing field `Type`")
        );
        assert_eq!(
            error(json!({"Conditions": {"C": {"Fn::Maybe": []}}, "Resources": {}})),
            "Conditions.C: unknown variant `Fn::Maybe`, expected one of `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition`"
        );
        assert!(
            error(json!({"AWSTemplateFormatVersion": "2011-01-01", "Resources": {}}))
                .contains("the only version is \"2010-09-09\"")
        );
        let text = Template::from_json_str("{\"Resources\": {\"A\": {\"Type\": 1}}}")
            .unwrap_err()
            .to_string();
        assert_eq!(
            text,
            "Resources.A.Type: invalid type: integer `1`, expected a string at line 1 column 30"
        );
    }

    #[test]
    fn paths_quote_keys_that_are_not_identifiers() {
        let error = Template::from_json(&json!({
            "Resources": {"A": {"Type": "Custom::A", "Metadata": {"a b": 1}, "DependsOn": [1]}}
        }))
        .unwrap_err();
        assert_eq!(error.path, "Resources.A.DependsOn");
        let inner =
            read_properties::<BTreeMap<String, Vec<u8>>>(&json!({"a b": [1, "x"]})).unwrap_err();
        assert_eq!(inner.path, "[\"a b\"][1]");
        assert_eq!(inner.within("Properties").path, "Properties[\"a b\"][1]");
    }
}
