//! What every generated resource type provides.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::template::ReadError;
use crate::value::Json;

/// Facts about a resource type taken from its registry schema. The generated
/// crate has one `static` per type and a registry to look them up by name.
#[derive(Debug, Clone, Copy)]
pub struct ResourceInfo {
    /// `AWS::Service::Resource`.
    pub type_name: &'static str,
    /// Top-level properties the schema marks required.
    pub required: &'static [&'static str],
    /// Property paths (without the `/properties/` prefix, `/`-separated, `*`
    /// for list items) whose change replaces the resource: the schema's
    /// `createOnlyProperties` merged with CloudFormation's documented update
    /// behaviour ("Update requires: Replacement"), the stricter winning.
    pub create_only: &'static [&'static str],
    /// Paths whose change may replace the resource: the schema's
    /// `conditionalCreateOnlyProperties` and documented "maybe", unless the
    /// other source says it always replaces.
    pub conditional_create_only: &'static [&'static str],
    /// Property paths that form the primary identifier.
    pub primary_identifier: &'static [&'static str],
    /// Attributes `Fn::GetAtt` can read (from `readOnlyProperties`, `.`-joined).
    pub attributes: &'static [&'static str],
    /// Whether the type takes a `Tags` property.
    pub taggable: bool,
    /// Whether the type holds data (`schemas/stateful.txt`): removing or
    /// replacing one is destructive, and prod's stack policy protects it.
    pub stateful: bool,
    /// The property that gives the resource a custom physical name
    /// (`schemas/name-properties.txt`); CloudFormation cannot replace a
    /// resource while that name stays the same.
    pub name_property: Option<&'static str>,
    /// Reads a resource's `Properties` as the generated type
    /// ([`check_properties`] of it): what validation uses to check a
    /// resource's shape without knowing the generated crate.
    pub check_properties: fn(&Json) -> Result<(), ReadError>,
}

/// Equal when every fact is: `check_properties` is the type's own reader,
/// one per type name, and function pointers do not compare meaningfully.
impl PartialEq for ResourceInfo {
    fn eq(&self, other: &Self) -> bool {
        let ResourceInfo {
            type_name,
            required,
            create_only,
            conditional_create_only,
            primary_identifier,
            attributes,
            taggable,
            stateful,
            name_property,
            check_properties: _,
        } = self;
        *type_name == other.type_name
            && *required == other.required
            && *create_only == other.create_only
            && *conditional_create_only == other.conditional_create_only
            && *primary_identifier == other.primary_identifier
            && *attributes == other.attributes
            && *taggable == other.taggable
            && *stateful == other.stateful
            && *name_property == other.name_property
    }
}

impl Eq for ResourceInfo {}

impl ResourceInfo {
    /// Whether changing the property at `path` (top-level name or
    /// `/`-separated nested path) forces replacement.
    pub fn is_create_only(&self, path: &str) -> bool {
        covers(self.create_only, path)
    }

    /// Whether changing the property at `path` may force replacement.
    pub fn is_conditionally_create_only(&self, path: &str) -> bool {
        covers(self.conditional_create_only, path)
    }

    pub fn has_attribute(&self, attribute: &str) -> bool {
        self.attributes.contains(&attribute)
    }
}

/// Whether `path` is one of `listed` or below one of them.
fn covers(listed: &[&str], path: &str) -> bool {
    listed.iter().any(|listed| {
        path == *listed
            || path
                .strip_prefix(listed)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Looks up a type's facts by its `AWS::...` name; the generated crate supplies one.
pub type TypeLookup = fn(&str) -> Option<&'static ResourceInfo>;

/// Whether `properties` read as `R` (every property known, of the right
/// shape, the required ones present); the error names the property path.
pub fn check_properties<R: DeserializeOwned>(properties: &Json) -> Result<(), ReadError> {
    crate::template::read_properties::<R>(properties).map(drop)
}

/// A typed CloudFormation resource: its properties serialize to the
/// template's `Properties` object and read back from it.
pub trait Resource: Serialize + DeserializeOwned {
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
