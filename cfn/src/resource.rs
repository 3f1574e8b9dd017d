//! What every generated resource type provides.

use serde::Serialize;

/// Facts about a resource type taken from its registry schema. The generated
/// crate has one `static` per type and a registry to look them up by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    /// `AWS::Service::Resource`.
    pub type_name: &'static str,
    /// Top-level properties the schema marks required.
    pub required: &'static [&'static str],
    /// Property paths (from `createOnlyProperties`, without the `/properties/`
    /// prefix, `/`-separated) whose change replaces the resource.
    pub create_only: &'static [&'static str],
    /// Property paths that form the primary identifier.
    pub primary_identifier: &'static [&'static str],
    /// Attributes `Fn::GetAtt` can read (from `readOnlyProperties`, `.`-joined).
    pub attributes: &'static [&'static str],
    /// Whether the type takes a `Tags` property.
    pub taggable: bool,
}

impl ResourceInfo {
    /// Whether changing the property at `path` (top-level name or
    /// `/`-separated nested path) forces replacement.
    pub fn is_create_only(&self, path: &str) -> bool {
        self.create_only.iter().any(|create_only| {
            path == *create_only
                || path
                    .strip_prefix(create_only)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    pub fn has_attribute(&self, attribute: &str) -> bool {
        self.attributes.contains(&attribute)
    }
}

/// Looks up a type's facts by its `AWS::...` name; the generated crate supplies one.
pub type TypeLookup = fn(&str) -> Option<&'static ResourceInfo>;

/// A typed CloudFormation resource: its properties serialize to the
/// template's `Properties` object.
pub trait Resource: Serialize {
    /// `AWS::Service::Resource`.
    const TYPE_NAME: &'static str;
    /// The typed handle `Template::add` returns, with one method per attribute.
    type Ref: ResourceRef;
    /// Schema facts for this type.
    fn info() -> &'static ResourceInfo;
}

/// A handle on a resource already in a template: `Ref` and its attributes.
pub trait ResourceRef {
    /// Made by `Template::add`; stack code receives handles, it does not make them.
    fn new(logical_id: String) -> Self;
    fn logical_id(&self) -> &str;
}
