//! The template model: what `synth` serializes, deterministically, and what
//! a template file reads back as ([`read`]).

mod read;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::resource::{Resource, ResourceRef};
use crate::value::{ConditionName, Expr, Json, Value};

pub(crate) use read::join_path;
pub use read::{ReadError, read_properties};

pub const FORMAT_VERSION: &str = "2010-09-09";

/// A CloudFormation template under construction, or read back from its
/// JSON (`Template::from_json_str`).
///
/// Adding never fails: mistakes such as a duplicate logical ID are recorded
/// and reported by [`Template::validate`](crate::validate), together with
/// everything else that is wrong, so the user sees all problems at once.
///
/// Every section CloudFormation defines has a field; `Mappings`, `Rules` and
/// `Transform`, which upstack does not write, are kept as JSON so a template
/// another tool wrote still reads and writes back whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Template {
    pub description: Option<String>,
    pub metadata: BTreeMap<String, Json>,
    pub parameters: BTreeMap<String, Parameter>,
    pub mappings: BTreeMap<String, Json>,
    pub rules: BTreeMap<String, Json>,
    pub conditions: BTreeMap<String, Condition>,
    pub transform: Option<Json>,
    pub resources: BTreeMap<String, ResourceEntry>,
    pub outputs: BTreeMap<String, Output>,
    /// Logical IDs added twice, in the order they were re-added.
    pub(crate) duplicates: Vec<String>,
}

/// One entry of the `Resources` section, with its properties in JSON (in
/// the canonical key order, [`crate::json`]); read them typed with
/// [`Template::read`] or [`ResourceEntry::read`].
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceEntry {
    pub type_name: String,
    pub properties: Json,
    pub options: ResourceOptions,
}

/// The resource attributes CloudFormation defines next to `Properties`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceOptions {
    pub depends_on: BTreeSet<String>,
    pub deletion_policy: Option<DeletionPolicy>,
    pub update_replace_policy: Option<DeletionPolicy>,
    pub condition: Option<String>,
    pub metadata: BTreeMap<String, Json>,
    /// `CreationPolicy`, which upstack does not write: kept as read.
    pub creation_policy: Option<Json>,
    /// `UpdatePolicy`, which upstack does not write: kept as read.
    pub update_policy: Option<Json>,
}

impl ResourceOptions {
    pub fn depends_on(mut self, resource: &impl ResourceRef) -> Self {
        self.depends_on.insert(resource.logical_id().to_owned());
        self
    }

    /// Sets both `DeletionPolicy` and `UpdateReplacePolicy`: a resource kept on
    /// delete should also be kept when an update replaces it.
    pub fn retain_as(mut self, policy: DeletionPolicy) -> Self {
        self.deletion_policy = Some(policy);
        self.update_replace_policy = Some(policy);
        self
    }

    pub fn condition(mut self, condition: &ConditionName) -> Self {
        self.condition = Some(condition.as_str().to_owned());
        self
    }

    pub fn metadata(mut self, key: impl Into<String>, value: Json) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum DeletionPolicy {
    Delete,
    Retain,
    RetainExceptOnCreate,
    Snapshot,
}

/// A template parameter: every attribute CloudFormation defines, declared
/// in key order (the order they serialize in).
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html>
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Parameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A number; CloudFormation also takes it as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<Json>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_echo: bool,
    #[serde(rename = "Type")]
    pub type_name: String,
}

impl Parameter {
    pub fn string() -> Self {
        Parameter {
            allowed_pattern: None,
            allowed_values: Vec::new(),
            constraint_description: None,
            default: None,
            description: None,
            max_length: None,
            max_value: None,
            min_length: None,
            min_value: None,
            no_echo: false,
            type_name: "String".to_owned(),
        }
    }
}

/// A condition expression for the `Conditions` section.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Equals(Expr, Expr),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    /// `{"Condition": name}`: another condition.
    Named(String),
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Condition::Equals(left, right) => map.serialize_entry("Fn::Equals", &(left, right))?,
            Condition::And(all) => map.serialize_entry("Fn::And", all)?,
            Condition::Or(any) => map.serialize_entry("Fn::Or", any)?,
            Condition::Not(inner) => map.serialize_entry("Fn::Not", &[inner])?,
            Condition::Named(name) => map.serialize_entry("Condition", name)?,
        }
        map.end()
    }
}

/// An entry of the `Outputs` section.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub value: Expr,
    pub description: Option<String>,
    /// The export name, for `Fn::ImportValue` in other stacks.
    pub export: Option<Expr>,
    pub condition: Option<String>,
}

impl Output {
    pub fn new<T: Serialize>(value: Value<T>) -> Self {
        Output {
            value: value.to_expr(),
            description: None,
            export: None,
            condition: None,
        }
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    pub fn export(mut self, name: Value<String>) -> Self {
        self.export = Some(name.to_expr());
        self
    }
}

impl Template {
    pub fn new() -> Self {
        Template::default()
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a resource and returns its typed handle.
    pub fn add<R: Resource>(&mut self, logical_id: impl Into<String>, resource: R) -> R::Ref {
        self.add_with(logical_id, resource, ResourceOptions::default())
    }

    /// Adds a resource with `DependsOn`, deletion policies, a condition or metadata.
    pub fn add_with<R: Resource>(
        &mut self,
        logical_id: impl Into<String>,
        resource: R,
        options: ResourceOptions,
    ) -> R::Ref {
        let logical_id = logical_id.into();
        let properties = crate::json::to_canonical(&resource);
        let entry = ResourceEntry {
            type_name: R::TYPE_NAME.to_owned(),
            properties,
            options,
        };
        if self.resources.insert(logical_id.clone(), entry).is_some() {
            self.duplicates.push(logical_id.clone());
        }
        R::Ref::new(logical_id)
    }

    /// Mutable access to a resource's attributes after it was added, e.g. to
    /// add a `DependsOn` once the dependency exists.
    pub fn options_mut(&mut self, resource: &impl ResourceRef) -> Option<&mut ResourceOptions> {
        self.resources
            .get_mut(resource.logical_id())
            .map(|entry| &mut entry.options)
    }

    /// Adds a parameter and returns `{"Ref": name}` to it.
    pub fn add_parameter(
        &mut self,
        name: impl Into<String>,
        parameter: Parameter,
    ) -> Value<String> {
        let name = name.into();
        let reference = crate::value::reference(&name);
        if self.parameters.insert(name.clone(), parameter).is_some() {
            self.duplicates.push(name);
        }
        reference
    }

    /// Adds a condition; only the returned name can be used in `Fn::If`.
    pub fn add_condition(
        &mut self,
        name: impl Into<String>,
        condition: Condition,
    ) -> ConditionName {
        let name = name.into();
        if self.conditions.insert(name.clone(), condition).is_some() {
            self.duplicates.push(name.clone());
        }
        ConditionName(name)
    }

    pub fn add_output(&mut self, name: impl Into<String>, output: Output) {
        let name = name.into();
        if self.outputs.insert(name.clone(), output).is_some() {
            self.duplicates.push(name);
        }
    }

    /// The template as JSON, in CloudFormation's layout and the canonical
    /// key order ([`crate::json`]).
    pub fn to_json(&self) -> Json {
        crate::json::to_canonical(self)
    }

    /// Pretty JSON with a trailing newline: byte-identical for equal templates
    /// on any machine and in any build (every map in the canonical key order,
    /// the top-level sections too; no timestamps, no hashes of paths).
    pub fn to_pretty_string(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Sections and attributes are written in key order; free-form JSON in them
/// (metadata, parameter defaults) is put in order by [`Template::to_json`].
impl Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("AWSTemplateFormatVersion", FORMAT_VERSION)?;
        if !self.conditions.is_empty() {
            map.serialize_entry("Conditions", &self.conditions)?;
        }
        if let Some(description) = &self.description {
            map.serialize_entry("Description", description)?;
        }
        if !self.mappings.is_empty() {
            map.serialize_entry("Mappings", &self.mappings)?;
        }
        if !self.metadata.is_empty() {
            map.serialize_entry("Metadata", &self.metadata)?;
        }
        if !self.outputs.is_empty() {
            map.serialize_entry("Outputs", &self.outputs)?;
        }
        if !self.parameters.is_empty() {
            map.serialize_entry("Parameters", &self.parameters)?;
        }
        map.serialize_entry("Resources", &self.resources)?;
        if !self.rules.is_empty() {
            map.serialize_entry("Rules", &self.rules)?;
        }
        if let Some(transform) = &self.transform {
            map.serialize_entry("Transform", transform)?;
        }
        map.end()
    }
}

impl Serialize for ResourceEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let options = &self.options;
        let mut map = serializer.serialize_map(None)?;
        if let Some(condition) = &options.condition {
            map.serialize_entry("Condition", condition)?;
        }
        if let Some(policy) = &options.creation_policy {
            map.serialize_entry("CreationPolicy", policy)?;
        }
        if let Some(policy) = &options.deletion_policy {
            map.serialize_entry("DeletionPolicy", policy)?;
        }
        if !options.depends_on.is_empty() {
            map.serialize_entry("DependsOn", &options.depends_on)?;
        }
        if !options.metadata.is_empty() {
            map.serialize_entry("Metadata", &options.metadata)?;
        }
        let has_properties = self
            .properties
            .as_object()
            .is_some_and(|props| !props.is_empty());
        if has_properties {
            map.serialize_entry("Properties", &self.properties)?;
        }
        map.serialize_entry("Type", &self.type_name)?;
        if let Some(policy) = &options.update_policy {
            map.serialize_entry("UpdatePolicy", policy)?;
        }
        if let Some(policy) = &options.update_replace_policy {
            map.serialize_entry("UpdateReplacePolicy", policy)?;
        }
        map.end()
    }
}

impl Serialize for Output {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(condition) = &self.condition {
            map.serialize_entry("Condition", condition)?;
        }
        if let Some(description) = &self.description {
            map.serialize_entry("Description", description)?;
        }
        if let Some(export) = &self.export {
            map.serialize_entry("Export", &BTreeMap::from([("Name", export)]))?;
        }
        map.serialize_entry("Value", &self.value)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_out_sorted_whatever_order_they_were_added_in() {
        let mut template = Template::new().description("d");
        template.metadata.insert(
            "Zeta".into(),
            serde_json::json!({"b": 1, "a": [{"y": 2, "x": 1}]}),
        );
        template
            .metadata
            .insert("Alpha".into(), serde_json::json!(true));
        let text = template.to_pretty_string();
        let order = |needle: &str| text.find(needle).unwrap_or(usize::MAX);
        assert!(order("\"AWSTemplateFormatVersion\"") < order("\"Description\""));
        assert!(order("\"Description\"") < order("\"Metadata\""));
        assert!(order("\"Metadata\"") < order("\"Resources\""));
        assert!(order("\"Alpha\"") < order("\"Zeta\""));
        assert!(order("\"a\"") < order("\"b\""));
        assert!(order("\"x\"") < order("\"y\""));
        assert!(text.ends_with("}\n"));
    }
}
