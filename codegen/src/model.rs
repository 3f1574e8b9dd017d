//! From one resource schema to the types to generate: the resource struct,
//! its nested property types and enums, attributes and registry facts.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use serde_json::Value as Json;

use crate::naming;

/// Properties holding an IAM policy document. Their schemas give no shape
/// (an untyped object, or `object|string`), but CloudFormation expects an
/// IAM policy there, so they take the typed `upstack_cfn::PolicyDocument`.
pub const POLICY_PROPERTIES: &[&str] = &["AssumeRolePolicyDocument", "KeyPolicy", "PolicyDocument"];

/// Names the generated code imports or the prelude provides; a schema
/// definition with one of these names gets a `Property` suffix instead.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "BTreeMap",
    "Box",
    "Default",
    "Deserialize",
    "Json",
    "None",
    "Option",
    "PolicyDocument",
    "Resource",
    "ResourceInfo",
    "ResourceRef",
    "Result",
    "Serialize",
    "Some",
    "String",
    "Value",
    "Vec",
];

/// The Rust type inside a property's `Value<..>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    String,
    Integer,
    Number,
    Boolean,
    Json,
    PolicyDocument,
    List(Box<Ty>),
    Map(Box<Ty>),
    Struct(String),
    Enum(String),
}

#[derive(Clone, Debug)]
pub struct Field {
    pub schema_name: String,
    pub rust_name: String,
    pub ty: Ty,
    pub required: bool,
    /// Boxed because the struct (indirectly) contains itself.
    pub boxed: bool,
    pub doc: String,
    /// `insertionOrder: false`: CloudFormation compares the list as a set.
    pub unordered: bool,
}

#[derive(Clone, Debug)]
pub struct StructDef {
    pub name: String,
    pub doc: String,
    /// Sorted by schema name.
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug)]
pub struct EnumDef {
    pub name: String,
    pub doc: String,
    /// Sorted, deduplicated.
    pub values: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Attribute {
    /// `.`-joined, as `Fn::GetAtt` takes it.
    pub name: String,
    pub method: String,
    pub ty: Ty,
}

#[derive(Clone, Debug)]
pub struct ResourceModel {
    pub type_name: String,
    pub service_module: String,
    pub resource_module: String,
    pub struct_name: String,
    pub ref_name: String,
    pub schema_file: String,
    pub resource: StructDef,
    /// Nested property types, sorted by name.
    pub structs: Vec<StructDef>,
    /// Sorted by name.
    pub enums: Vec<EnumDef>,
    pub attributes: Vec<Attribute>,
    pub required: Vec<String>,
    /// Merged from the schema and the documented update behaviour (see
    /// [`crate::facts`]): paths whose change always replaces the resource.
    pub create_only: Vec<String>,
    /// Paths whose change may replace it.
    pub conditional_create_only: Vec<String>,
    pub primary_identifier: Vec<String>,
    pub taggable: bool,
    /// Listed in `schemas/stateful.txt`.
    pub stateful: bool,
    /// From `schemas/name-properties.txt`.
    pub name_property: Option<String>,
}

/// What a type name in the module is used for, to tell a harmless reuse
/// (the same enum or inline object twice) from a collision.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Claim {
    Reserved,
    Definition(String),
    Inline(String),
    Enum(Vec<String>),
}

struct Builder<'a> {
    type_name: &'a str,
    definitions: &'a serde_json::Map<String, Json>,
    claims: BTreeMap<String, Claim>,
    /// Definition name -> Rust struct name, for definitions that are objects.
    definition_structs: BTreeMap<String, String>,
    structs: BTreeMap<String, StructDef>,
    enums: BTreeMap<String, EnumDef>,
    /// Non-struct definitions being resolved, to reject a `$ref` cycle that
    /// no struct breaks (it would have no finite Rust type).
    resolving: BTreeSet<String>,
}

pub fn build(type_name: &str, schema_file: &str, schema: &Json) -> Result<ResourceModel> {
    let segments: Vec<&str> = type_name.split("::").collect();
    let [_, service, resource] = segments.as_slice() else {
        bail!("{type_name} is not a `AWS::Service::Resource` name");
    };
    if !resource.chars().all(|c| c.is_ascii_alphanumeric())
        || !resource.starts_with(|c: char| c.is_ascii_uppercase())
    {
        bail!("{type_name}: resource name {resource:?} is not a PascalCase identifier");
    }
    let struct_name = (*resource).to_owned();
    let ref_name = format!("{resource}Ref");
    let empty = serde_json::Map::new();
    let definitions = schema
        .get("definitions")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let mut builder = Builder {
        type_name,
        definitions,
        claims: BTreeMap::new(),
        definition_structs: BTreeMap::new(),
        structs: BTreeMap::new(),
        enums: BTreeMap::new(),
        resolving: BTreeSet::new(),
    };
    for reserved in RESERVED_TYPE_NAMES
        .iter()
        .copied()
        .chain([struct_name.as_str(), ref_name.as_str()])
    {
        builder.claims.insert(reserved.to_owned(), Claim::Reserved);
    }
    // Definitions claim their names before any inline type is named, so an
    // inline object never takes a definition's name.
    for (name, definition) in definitions {
        if is_struct_schema(definition) {
            let mut rust = naming::type_name(name);
            if builder.claims.contains_key(&rust) {
                rust = format!("{rust}Property");
            }
            if let Some(existing) = builder.claims.get(&rust) {
                bail!(
                    "{type_name}: definition {name} maps to Rust type {rust}, already used by {existing:?}"
                );
            }
            builder
                .claims
                .insert(rust.clone(), Claim::Definition(name.clone()));
            builder.definition_structs.insert(name.clone(), rust);
        }
    }

    let properties = schema
        .get("properties")
        .and_then(Json::as_object)
        .with_context(|| format!("{type_name}: schema has no `properties`"))?;
    let read_only = paths(schema, "readOnlyProperties")?;
    let required = string_list(schema.get("required"));
    let writable: serde_json::Map<String, Json> = properties
        .iter()
        .filter(|(name, _)| !read_only.contains(&vec![(*name).clone()]))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let description = schema
        .get("description")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let resource_doc = format!(
        "`{type_name}`: {description}\n\nCloudFormation reference: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-{}-{}.html>",
        service.to_lowercase(),
        resource.to_lowercase()
    );
    let fields = builder.fields(&struct_name, &writable, &required)?;
    let mut resource_struct = StructDef {
        name: struct_name.clone(),
        doc: resource_doc,
        fields,
    };

    let mut attributes = Vec::new();
    let mut methods = BTreeSet::new();
    for path in &read_only {
        let name = path.join(".");
        let mut method = naming::method_name(&name);
        if matches!(method.as_str(), "reference" | "logical_id" | "new") {
            method = format!("{method}_attribute");
        }
        if !methods.insert(method.clone()) {
            bail!("{type_name}: two attributes map to the method name {method}");
        }
        let ty = builder.attribute_ty(properties, path)?;
        attributes.push(Attribute { name, method, ty });
    }
    attributes.sort_by(|a, b| a.name.cmp(&b.name));

    let mut structs: Vec<StructDef> = builder.structs.into_values().collect();
    box_recursive_fields(&mut resource_struct, &mut structs);

    Ok(ResourceModel {
        type_name: type_name.to_owned(),
        service_module: service.to_lowercase(),
        resource_module: naming::field_name(resource),
        struct_name,
        ref_name,
        schema_file: schema_file.to_owned(),
        resource: resource_struct,
        structs,
        enums: builder.enums.into_values().collect(),
        attributes,
        required: {
            let mut required = required;
            required.sort();
            required
        },
        // Filled in by `crate::generate` from `crate::facts`, which needs
        // more than this one schema.
        create_only: Vec::new(),
        conditional_create_only: Vec::new(),
        primary_identifier: paths(schema, "primaryIdentifier")?
            .iter()
            .map(|p| p.join("/"))
            .collect(),
        taggable: properties.contains_key("Tags"),
        stateful: false,
        name_property: None,
    })
}

/// `/properties/A/B` entries of a path list, as `["A", "B"]`, in schema order.
fn paths(schema: &Json, key: &str) -> Result<Vec<Vec<String>>> {
    let mut out = Vec::new();
    for path in string_list(schema.get(key)) {
        let rest = path
            .strip_prefix("/properties/")
            .with_context(|| format!("{key} entry {path:?} does not start with /properties/"))?;
        out.push(rest.split('/').map(str::to_owned).collect());
    }
    Ok(out)
}

fn string_list(value: Option<&Json>) -> Vec<String> {
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

/// Whether `oneOf`/`anyOf`/`allOf` offer alternative shapes (not just extra
/// constraints such as `required` or `relationshipRef`, which add nothing
/// to the Rust type).
fn has_shape_alternatives(schema: &Json) -> bool {
    const SHAPE_KEYS: &[&str] = &[
        "type",
        "properties",
        "items",
        "$ref",
        "patternProperties",
        "enum",
        "const",
    ];
    ["oneOf", "anyOf", "allOf"].iter().any(|keyword| {
        schema
            .get(*keyword)
            .and_then(Json::as_array)
            .is_some_and(|alternatives| {
                alternatives
                    .iter()
                    .any(|alternative| SHAPE_KEYS.iter().any(|key| alternative.get(*key).is_some()))
            })
    })
}

/// An object with named properties: becomes a Rust struct.
fn is_struct_schema(schema: &Json) -> bool {
    let object_typed = match schema.get("type") {
        None => true,
        Some(Json::String(kind)) => kind == "object",
        Some(_) => false,
    };
    object_typed
        && schema
            .get("properties")
            .and_then(Json::as_object)
            .is_some_and(|p| !p.is_empty())
        && !has_shape_alternatives(schema)
}

impl Builder<'_> {
    fn fields(
        &mut self,
        parent: &str,
        properties: &serde_json::Map<String, Json>,
        required: &[String],
    ) -> Result<Vec<Field>> {
        let mut fields = Vec::new();
        let mut rust_names = BTreeMap::new();
        for (name, schema) in properties {
            let rust_name = naming::field_name(name);
            if let Some(other) = rust_names.insert(rust_name.clone(), name.clone()) {
                bail!(
                    "{}: {parent} properties {other} and {name} both map to field {rust_name}",
                    self.type_name
                );
            }
            let ty = self
                .resolve(schema, parent, name)
                .with_context(|| format!("{}: property {parent}.{name}", self.type_name))?;
            let unordered = schema.get("insertionOrder") == Some(&Json::Bool(false));
            let mut doc = schema
                .get("description")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned();
            if doc.is_empty() {
                // A `$ref` property often documents itself only on the definition.
                doc = self.ref_description(schema).unwrap_or_default();
            }
            fields.push(Field {
                schema_name: name.clone(),
                rust_name,
                ty,
                required: required.contains(name),
                boxed: false,
                doc,
                unordered,
            });
        }
        for name in required {
            if !properties.contains_key(name) {
                bail!(
                    "{}: {parent} requires {name}, which it does not define",
                    self.type_name
                );
            }
        }
        fields.sort_by(|a, b| a.schema_name.cmp(&b.schema_name));
        Ok(fields)
    }

    fn ref_description(&self, schema: &Json) -> Option<String> {
        let target = schema
            .get("$ref")?
            .as_str()?
            .strip_prefix("#/definitions/")?;
        Some(
            self.definitions
                .get(target)?
                .get("description")?
                .as_str()?
                .to_owned(),
        )
    }

    /// The type of property `property` of `parent` with schema `schema`.
    fn resolve(&mut self, schema: &Json, parent: &str, property: &str) -> Result<Ty> {
        if POLICY_PROPERTIES.contains(&property)
            && schema.get("$ref").is_none()
            && schema.get("properties").is_none()
        {
            return Ok(Ty::PolicyDocument);
        }
        if let Some(reference) = schema.get("$ref") {
            let reference = reference.as_str().context("`$ref` is not a string")?;
            return self.resolve_ref(reference);
        }
        if has_shape_alternatives(schema) {
            return Ok(Ty::Json);
        }
        match schema.get("type") {
            Some(Json::String(kind)) => match kind.as_str() {
                "string" => match schema.get("enum") {
                    Some(values) => self.enum_type(values, parent, property),
                    None => Ok(Ty::String),
                },
                // Integer enums (e.g. RetentionInDays) stay integers: the
                // value is the meaning, a variant name would only rename it.
                "integer" => Ok(Ty::Integer),
                "number" => Ok(Ty::Number),
                "boolean" => Ok(Ty::Boolean),
                "array" => self.array(schema, parent, property),
                "object" => self.object(schema, parent, property),
                other => bail!("unknown JSON schema type {other:?}"),
            },
            // Several types (`["object", "string"]`, ...): no single Rust type.
            Some(Json::Array(_)) => Ok(Ty::Json),
            Some(other) => bail!("`type` is {other}, expected a string or a list"),
            None => {
                if schema.get("enum").is_some_and(|values| {
                    values
                        .as_array()
                        .is_some_and(|v| v.iter().all(Json::is_string))
                }) {
                    let values = schema.get("enum").cloned().unwrap_or_default();
                    self.enum_type(&values, parent, property)
                } else if schema.get("items").is_some() {
                    self.array(schema, parent, property)
                } else {
                    self.object(schema, parent, property)
                }
            }
        }
    }

    fn array(&mut self, schema: &Json, parent: &str, property: &str) -> Result<Ty> {
        let item = match schema.get("items") {
            Some(items) if items.is_object() => self.resolve(items, parent, property)?,
            _ => Ty::Json,
        };
        Ok(Ty::List(Box::new(item)))
    }

    fn object(&mut self, schema: &Json, parent: &str, property: &str) -> Result<Ty> {
        if is_struct_schema(schema) {
            return self.inline_struct(schema, parent, property);
        }
        if let Some(patterns) = schema.get("patternProperties").and_then(Json::as_object) {
            if let [(_, value_schema)] = patterns.iter().collect::<Vec<_>>().as_slice() {
                let value = self.resolve(value_schema, parent, property)?;
                return Ok(Ty::Map(Box::new(value)));
            }
            return Ok(Ty::Json);
        }
        if let Some(value_schema) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            let value = self.resolve(value_schema, parent, property)?;
            return Ok(Ty::Map(Box::new(value)));
        }
        Ok(Ty::Json)
    }

    fn resolve_ref(&mut self, reference: &str) -> Result<Ty> {
        let name = reference
            .strip_prefix("#/definitions/")
            .with_context(|| format!("unsupported `$ref` {reference:?} (only #/definitions/X)"))?;
        let definition = self
            .definitions
            .get(name)
            .with_context(|| format!("`$ref` {reference:?} names a missing definition"))?;
        if let Some(rust) = self.definition_structs.get(name).cloned() {
            if !self.structs.contains_key(&rust) {
                // Inserted before its fields resolve, so a recursive
                // definition finds itself instead of recursing forever.
                self.structs.insert(
                    rust.clone(),
                    StructDef {
                        name: rust.clone(),
                        doc: String::new(),
                        fields: Vec::new(),
                    },
                );
                let def = self.build_struct(definition, &rust)?;
                self.structs.insert(rust.clone(), def);
            }
            return Ok(Ty::Struct(rust));
        }
        // A definition that is a primitive, an enum or an array: inline it.
        if !self.resolving.insert(name.to_owned()) {
            bail!("definition {name} refers to itself without an object in between");
        }
        let ty = self.resolve(definition, name, name);
        self.resolving.remove(name);
        ty
    }

    fn build_struct(&mut self, schema: &Json, rust: &str) -> Result<StructDef> {
        let empty = serde_json::Map::new();
        let properties = schema
            .get("properties")
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        let required = string_list(schema.get("required"));
        let fields = self.fields(rust, properties, &required)?;
        let description = schema
            .get("description")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let doc = if description.is_empty() {
            format!("A property type of `{}`.", self.type_name)
        } else {
            description.to_owned()
        };
        Ok(StructDef {
            name: rust.to_owned(),
            doc,
            fields,
        })
    }

    fn inline_struct(&mut self, schema: &Json, parent: &str, property: &str) -> Result<Ty> {
        // The schema without its description identifies the shape: the same
        // inline object under two properties becomes one type.
        let mut shape = schema.clone();
        if let Some(object) = shape.as_object_mut() {
            object.remove("description");
        }
        let claim = Claim::Inline(shape.to_string());
        let name = self.claim_name(parent, property, claim)?;
        if !self.structs.contains_key(&name) {
            self.structs.insert(
                name.clone(),
                StructDef {
                    name: name.clone(),
                    doc: String::new(),
                    fields: Vec::new(),
                },
            );
            let def = self.build_struct(schema, &name)?;
            self.structs.insert(name.clone(), def);
        }
        Ok(Ty::Struct(name))
    }

    fn enum_type(&mut self, values: &Json, parent: &str, property: &str) -> Result<Ty> {
        let mut values: Vec<String> = values
            .as_array()
            .context("`enum` is not a list")?
            .iter()
            .map(|value| {
                value
                    .as_str()
                    .map(str::to_owned)
                    .context("non-string value in a string `enum`")
            })
            .collect::<Result<_>>()?;
        values.sort();
        values.dedup();
        let name = self.claim_name(parent, property, Claim::Enum(values.clone()))?;
        self.enums.entry(name.clone()).or_insert_with(|| EnumDef {
            name: name.clone(),
            doc: format!("Allowed values of `{property}` in `{}`.", self.type_name),
            values,
        });
        Ok(Ty::Enum(name))
    }

    /// `Property` if free (or already holding the same shape), else
    /// `ParentProperty`; an error if both are taken by something else.
    fn claim_name(&mut self, parent: &str, property: &str, claim: Claim) -> Result<String> {
        let short = naming::type_name(property);
        let qualified = format!("{}{short}", naming::type_name(parent));
        for candidate in [short, qualified] {
            match self.claims.get(&candidate) {
                None => {
                    self.claims.insert(candidate.clone(), claim);
                    return Ok(candidate);
                }
                Some(existing) if *existing == claim => return Ok(candidate),
                Some(_) => {}
            }
        }
        bail!("no free type name for {parent}.{property}: both candidate names are taken")
    }

    /// The type `Fn::GetAtt` returns for a read-only property path: scalars
    /// and lists of strings are typed, anything else is JSON.
    fn attribute_ty(
        &self,
        properties: &serde_json::Map<String, Json>,
        path: &[String],
    ) -> Result<Ty> {
        let mut schema = None;
        let mut current = properties;
        for segment in path {
            let found = current.get(segment).with_context(|| {
                format!(
                    "{}: read-only path segment {segment} not found",
                    self.type_name
                )
            })?;
            let resolved = self.follow_ref(found)?;
            current = resolved
                .get("properties")
                .and_then(Json::as_object)
                .unwrap_or(properties);
            schema = Some(resolved);
        }
        let schema = schema.context("empty read-only property path")?;
        Ok(match schema.get("type").and_then(Json::as_str) {
            Some("string") => Ty::String,
            Some("integer") => Ty::Integer,
            Some("number") => Ty::Number,
            Some("boolean") => Ty::Boolean,
            Some("array") => match schema.get("items").map(|items| self.follow_ref(items)) {
                Some(Ok(items)) if items.get("type").and_then(Json::as_str) == Some("string") => {
                    Ty::List(Box::new(Ty::String))
                }
                _ => Ty::Json,
            },
            _ => Ty::Json,
        })
    }

    fn follow_ref<'s>(&'s self, schema: &'s Json) -> Result<&'s Json> {
        match schema.get("$ref").and_then(Json::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/definitions/")
                    .unwrap_or(reference);
                self.definitions
                    .get(name)
                    .with_context(|| format!("`$ref` {reference:?} names a missing definition"))
            }
            None => Ok(schema),
        }
    }
}

/// Marks fields that make a struct contain itself without a `Vec` or map in
/// between (which would be infinitely large) as boxed.
pub fn box_recursive_fields(resource: &mut StructDef, structs: &mut [StructDef]) {
    let direct_edges: BTreeMap<String, Vec<String>> = structs
        .iter()
        .chain(std::iter::once(&*resource))
        .map(|def| {
            let targets = def
                .fields
                .iter()
                .filter_map(|field| match &field.ty {
                    Ty::Struct(target) => Some(target.clone()),
                    _ => None,
                })
                .collect();
            (def.name.clone(), targets)
        })
        .collect();
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if seen.insert(node.clone()) {
                stack.extend(direct_edges.get(&node).cloned().unwrap_or_default());
            }
        }
        false
    };
    for def in structs.iter_mut().chain(std::iter::once(resource)) {
        for field in &mut def.fields {
            if let Ty::Struct(target) = &field.ty {
                field.boxed = reaches(target, &def.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(schema: Json) -> ResourceModel {
        build("AWS::Test::Thing", "aws-test-thing.json", &schema).unwrap()
    }

    fn field<'m>(def: &'m StructDef, name: &str) -> &'m Field {
        def.fields.iter().find(|f| f.schema_name == name).unwrap()
    }

    #[test]
    fn policy_documents_override_untyped_schemas() {
        let m = model(json!({
            "properties": {
                "PolicyDocument": {"type": ["object", "string"]},
                "KeyPolicy": {"type": "object"},
                "AssumeRolePolicyDocument": {"format": "json"},
                "Other": {"type": "object"}
            },
            "required": ["PolicyDocument"]
        }));
        assert_eq!(field(&m.resource, "PolicyDocument").ty, Ty::PolicyDocument);
        assert_eq!(field(&m.resource, "KeyPolicy").ty, Ty::PolicyDocument);
        assert_eq!(
            field(&m.resource, "AssumeRolePolicyDocument").ty,
            Ty::PolicyDocument
        );
        assert_eq!(field(&m.resource, "Other").ty, Ty::Json);
        assert!(field(&m.resource, "PolicyDocument").required);
    }

    #[test]
    fn a_recursive_definition_is_boxed_only_where_needed() {
        let m = model(json!({
            "definitions": {
                "Node": {"type": "object", "properties": {
                    "Next": {"$ref": "#/definitions/Node"},
                    "Children": {"type": "array", "items": {"$ref": "#/definitions/Node"}},
                    "Name": {"type": "string"}
                }}
            },
            "properties": {"Root": {"$ref": "#/definitions/Node"}}
        }));
        let node = m.structs.iter().find(|s| s.name == "Node").unwrap();
        assert!(field(node, "Next").boxed);
        assert!(
            !field(node, "Children").boxed,
            "a Vec already breaks the cycle"
        );
        assert!(!field(&m.resource, "Root").boxed);
    }

    #[test]
    fn enums_are_shared_when_equal_and_qualified_when_not() {
        let m = model(json!({
            "definitions": {
                "A": {"type": "object", "properties": {"Status": {"type": "string", "enum": ["On", "Off"]}}},
                "B": {"type": "object", "properties": {"Status": {"type": "string", "enum": ["Off", "On"]}}},
                "C": {"type": "object", "properties": {"Status": {"type": "string", "enum": ["Up"]}}}
            },
            "properties": {
                "A": {"$ref": "#/definitions/A"},
                "B": {"$ref": "#/definitions/B"},
                "C": {"$ref": "#/definitions/C"}
            }
        }));
        let names: Vec<&str> = m.enums.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["CStatus", "Status"]);
        let a = m.structs.iter().find(|s| s.name == "A").unwrap();
        assert_eq!(field(a, "Status").ty, Ty::Enum("Status".into()));
    }

    #[test]
    fn shapes_map_to_rust_types() {
        let m = model(json!({
            "definitions": {
                "Arn": {"type": "string"},
                "Arns": {"type": "array", "items": {"$ref": "#/definitions/Arn"}}
            },
            "properties": {
                "Type": {"type": "string"},
                "Count": {"type": "integer", "enum": [1, 3]},
                "Ratio": {"type": "number"},
                "Arns": {"$ref": "#/definitions/Arns"},
                "Vars": {"type": "object", "patternProperties": {"^[a-z]+$": {"type": "string"}}},
                "Either": {"oneOf": [{"type": "string"}, {"type": "object"}]},
                "Kms": {"type": "string", "anyOf": [{"relationshipRef": {"typeName": "AWS::KMS::Key"}}]},
                "Inline": {"type": "object", "properties": {"X": {"type": "boolean"}}},
                "Id": {"type": "string"}
            },
            "readOnlyProperties": ["/properties/Id"]
        }));
        let ty = |name: &str| field(&m.resource, name).ty.clone();
        assert_eq!(field(&m.resource, "Type").rust_name, "r#type");
        assert_eq!(ty("Count"), Ty::Integer);
        assert_eq!(ty("Ratio"), Ty::Number);
        assert_eq!(ty("Arns"), Ty::List(Box::new(Ty::String)));
        assert_eq!(ty("Vars"), Ty::Map(Box::new(Ty::String)));
        assert_eq!(ty("Either"), Ty::Json);
        assert_eq!(ty("Kms"), Ty::String);
        assert_eq!(ty("Inline"), Ty::Struct("Inline".into()));
        assert!(
            m.resource.fields.iter().all(|f| f.schema_name != "Id"),
            "read-only is not settable"
        );
        assert_eq!(m.attributes[0].method, "id");
    }

    #[test]
    fn a_definition_named_like_an_import_is_renamed() {
        let m = model(json!({
            "definitions": {"Value": {"type": "object", "properties": {"X": {"type": "string"}}}},
            "properties": {"V": {"$ref": "#/definitions/Value"}}
        }));
        assert_eq!(
            field(&m.resource, "V").ty,
            Ty::Struct("ValueProperty".into())
        );
    }
}
