//! Template validation before anything is written or uploaded.
//!
//! The checks run on the template's JSON, so a template read back from a file
//! gets exactly the same treatment as one built with [`Template`]. Every
//! problem is collected and reported at once, each naming the JSON path (which
//! starts with the section and logical ID, e.g.
//! `Resources.Queue.Properties.RedrivePolicy.deadLetterTargetArn`).
//!
//! What is checked:
//! - references: `Ref`, `Fn::GetAtt` (resource and, when the type is known,
//!   attribute), `${Name}` / `${Name.Attr}` in `Fn::Sub`, `DependsOn`,
//!   `Condition` and `Fn::If`, `Fn::FindInMap` map names;
//! - resource types unknown to the registry (other than `Custom::`), and
//!   top-level properties the type's schema marks required;
//! - dependency cycles between resources;
//! - logical ID syntax and duplicates;
//! - CloudFormation's template quotas, including the body size.
//!
//! The body is measured as compact JSON ([`upload_body`]): that is the text
//! deploy uploads, because it is the smallest faithful form and so keeps a
//! template inline (`TemplateBody`) for as long as possible. A caller that
//! uploads some other text measures that text with [`validate_body`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::resource::{ResourceInfo, TypeLookup};
use crate::template::Template;
use crate::value::{Json, is_pseudo};

// Quotas from "Understand CloudFormation quotas":
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
// (cfn-lint's `LIMITS` table in cfnlint/helpers.py carries the same numbers.)

/// Maximum resources declared in one template.
pub const MAX_RESOURCES: usize = 500;
/// Maximum outputs declared in one template.
pub const MAX_OUTPUTS: usize = 200;
/// Maximum parameters declared in one template.
pub const MAX_PARAMETERS: usize = 200;
/// Maximum mappings declared in one template.
pub const MAX_MAPPINGS: usize = 200;
/// Maximum length of a logical ID (resource, parameter, output, mapping name).
pub const MAX_LOGICAL_ID_CHARS: usize = 255;
/// Maximum size of the template `Description`.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
/// "Template body size in a request": the most `CreateStack`, `UpdateStack`,
/// `CreateChangeSet` and `ValidateTemplate` accept inline as `TemplateBody`.
pub const MAX_INLINE_BODY_BYTES: usize = 51_200;
/// "Template body size in an Amazon S3 object": the most a `TemplateURL` may
/// point at. The quota page says "1 MB"; cfn-lint (E1002) enforces it as
/// 1,000,000 bytes, the stricter reading, which we follow.
pub const MAX_S3_BODY_BYTES: usize = 1_000_000;

/// What a template that passed validation needs from deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidationReport {
    /// Size of the body that was measured (see [`upload_body`]).
    pub body_bytes: usize,
    /// The body is over [`MAX_INLINE_BODY_BYTES`]: deploy must upload it to S3
    /// and pass `TemplateURL` instead of `TemplateBody`.
    pub needs_s3_upload: bool,
}

/// Everything wrong with a template, in a deterministic order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        write!(f, "the template has {count} {noun}:")?;
        for error in &self.0 {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

impl ValidationErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One problem, located by its JSON path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ValidationError {
    /// The resource, parameter, output, condition or mapping the problem is
    /// in; `None` for template-wide problems (size, counts, `Description`).
    pub logical_id: Option<String>,
    /// Dotted JSON path, `[n]` for list items, `["key"]` for keys that are
    /// not plain identifiers.
    pub path: String,
    pub problem: Problem,
}

/// What is wrong. Messages say what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("the template is not valid JSON: {0}")]
    NotJson(String),
    #[error("expected {expected}, found {found}")]
    WrongShape {
        expected: &'static str,
        found: &'static str,
    },
    #[error("the template declares no resources; CloudFormation requires at least one")]
    NoResources,
    #[error(
        "`{via}` refers to `{name}`, which is not a resource, a parameter or a pseudo parameter"
    )]
    DanglingRef { via: &'static str, name: String },
    #[error("`{via}` reads `{attribute}` of `{resource}`, {reason}")]
    GetAttMissingResource {
        via: &'static str,
        resource: String,
        attribute: String,
        reason: &'static str,
    },
    #[error(
        "`{via}` reads `{attribute}` of `{resource}` ({type_name}), which has no such attribute; known attributes: {known}"
    )]
    UnknownAttribute {
        via: &'static str,
        resource: String,
        type_name: String,
        attribute: String,
        known: String,
    },
    #[error("`DependsOn` names `{target}`, which is not a resource in this template")]
    DependsOnMissing { target: String },
    #[error("`{via}` names condition `{name}`, which is not declared under `Conditions`")]
    UnknownCondition { via: &'static str, name: String },
    #[error("`Fn::FindInMap` names mapping `{name}`, which is not declared under `Mappings`")]
    UnknownMapping { name: String },
    #[error(
        "`Conditions` may only `Ref` parameters and pseudo parameters, but this refers to resource `{name}`"
    )]
    ResourceRefInCondition { name: String },
    #[error(
        "resource type `{type_name}` is unknown (not in the vendored registry schemas and not `Custom::`)"
    )]
    UnknownResourceType { type_name: String },
    #[error("required property `{property}` of {type_name} is missing")]
    MissingRequiredProperty { type_name: String, property: String },
    #[error("dependency cycle: {}", cycle.join(" -> "))]
    Cycle {
        /// The cycle in edge order, starting and ending with the smallest
        /// logical ID in it: `["Key", "EventsTopic", "Key"]`.
        cycle: Vec<String>,
    },
    #[error("logical ID `{id}` {reason}")]
    InvalidLogicalId { id: String, reason: String },
    #[error("`{id}` is declared more than once")]
    DuplicateLogicalId { id: String },
    #[error("`{id}` is both a parameter and a resource; `Ref` to it would be ambiguous")]
    ParameterResourceClash { id: String },
    #[error("{count} {section} declared; CloudFormation allows at most {limit}")]
    TooMany {
        section: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("`Description` is {bytes} bytes; CloudFormation allows at most {limit}")]
    DescriptionTooLong { bytes: usize, limit: usize },
    #[error(
        "the template body is {bytes} bytes; CloudFormation accepts at most {limit} even through S3: split it into nested stacks"
    )]
    BodyTooLarge { bytes: usize, limit: usize },
}

/// The text deploy sends to CloudFormation (inline or through S3): compact
/// JSON. [`validate`] and [`validate_json`] measure exactly this text.
pub fn upload_body(template_json: &Json) -> String {
    // Serializing a `serde_json::Value` cannot fail: every key is a string.
    serde_json::to_string(template_json).unwrap_or_default()
}

impl Template {
    /// Validates this template; see the [module docs](crate::validate).
    pub fn validate(&self, lookup: TypeLookup) -> Result<ValidationReport, ValidationErrors> {
        validate(self, lookup)
    }
}

/// Validates a template built in code. Duplicate names recorded by
/// [`Template::add`] are reported along with everything in its JSON.
pub fn validate(
    template: &Template,
    lookup: TypeLookup,
) -> Result<ValidationReport, ValidationErrors> {
    let json = template.to_json();
    let body_bytes = upload_body(&json).len();
    let mut errors = Vec::new();
    for id in &template.duplicates {
        let section = section_of(&json, id);
        errors.push(ValidationError {
            logical_id: Some(id.clone()),
            path: join_key(section, id),
            problem: Problem::DuplicateLogicalId { id: id.clone() },
        });
    }
    // `to_json` sorted every object already.
    errors.extend(check_sorted_json(&json, lookup, body_bytes));
    finish(errors, body_bytes)
}

/// Validates a template's JSON, measured as [`upload_body`] would send it.
pub fn validate_json(
    json: &Json,
    lookup: TypeLookup,
) -> Result<ValidationReport, ValidationErrors> {
    let body_bytes = upload_body(json).len();
    finish(check_json(json, lookup, body_bytes), body_bytes)
}

/// Validates template text exactly as it will be uploaded (for a caller that
/// uploads a file as it is on disk, e.g. pretty-printed).
pub fn validate_body(body: &str, lookup: TypeLookup) -> Result<ValidationReport, ValidationErrors> {
    let json: Json = match serde_json::from_str(body) {
        Ok(json) => json,
        Err(error) => {
            return Err(ValidationErrors(vec![ValidationError {
                logical_id: None,
                path: "$".to_owned(),
                problem: Problem::NotJson(error.to_string()),
            }]));
        }
    };
    finish(check_json(&json, lookup, body.len()), body.len())
}

fn finish(
    errors: Vec<ValidationError>,
    body_bytes: usize,
) -> Result<ValidationReport, ValidationErrors> {
    if errors.is_empty() {
        Ok(ValidationReport {
            body_bytes,
            needs_s3_upload: body_bytes > MAX_INLINE_BODY_BYTES,
        })
    } else {
        Err(ValidationErrors(errors))
    }
}

/// The section a name recorded as duplicate lives in (resources first, as
/// `Template::add` is where duplicates usually come from).
fn section_of(json: &Json, id: &str) -> &'static str {
    const SECTIONS: [&str; 4] = ["Resources", "Parameters", "Conditions", "Outputs"];
    SECTIONS
        .into_iter()
        .find(|section| {
            json.get(section)
                .and_then(|entries| entries.get(id))
                .is_some()
        })
        .unwrap_or("Resources")
}

/// Declared names, to resolve references against.
struct Names<'a> {
    resources: BTreeMap<&'a str, Option<&'a str>>,
    parameters: BTreeSet<&'a str>,
    conditions: BTreeSet<&'a str>,
    mappings: BTreeSet<&'a str>,
    lookup: TypeLookup,
}

impl Names<'_> {
    fn resource_info(&self, resource: &str) -> Option<&'static ResourceInfo> {
        let type_name = self.resources.get(resource).copied().flatten()?;
        (self.lookup)(type_name)
    }
}

/// Where in the template a walk is, which decides what a reference may name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Resource,
    Output,
    Conditions,
}

struct Checker<'a> {
    names: Names<'a>,
    errors: Vec<ValidationError>,
    /// Resource -> resources it needs first (Ref, GetAtt, Sub, DependsOn).
    edges: BTreeMap<&'a str, BTreeSet<String>>,
}

fn check_json(json: &Json, lookup: TypeLookup, body_bytes: usize) -> Vec<ValidationError> {
    // Problems are reported in key order: serde_json keeps insertion order
    // when a crate in the build enables `preserve_order`, so walk a sorted copy.
    let mut sorted = json.clone();
    crate::template::sort_keys(&mut sorted);
    check_sorted_json(&sorted, lookup, body_bytes)
}

/// [`check_json`] of JSON whose objects are sorted by key.
fn check_sorted_json(json: &Json, lookup: TypeLookup, body_bytes: usize) -> Vec<ValidationError> {
    let Some(template) = json.as_object() else {
        return vec![ValidationError {
            logical_id: None,
            path: "$".to_owned(),
            problem: Problem::WrongShape {
                expected: "a JSON object",
                found: kind_of(json),
            },
        }];
    };
    let mut errors = Vec::new();
    let section = |name: &str, errors: &mut Vec<ValidationError>| match template.get(name) {
        None => None,
        Some(Json::Object(entries)) => Some(entries),
        Some(other) => {
            errors.push(ValidationError {
                logical_id: None,
                path: name.to_owned(),
                problem: Problem::WrongShape {
                    expected: "an object",
                    found: kind_of(other),
                },
            });
            None
        }
    };
    let resources = section("Resources", &mut errors);
    let parameters = section("Parameters", &mut errors);
    let conditions = section("Conditions", &mut errors);
    let mappings = section("Mappings", &mut errors);
    let outputs = section("Outputs", &mut errors);

    let names = Names {
        resources: resources
            .into_iter()
            .flatten()
            .map(|(id, entry)| (id.as_str(), entry.get("Type").and_then(Json::as_str)))
            .collect(),
        parameters: parameters
            .into_iter()
            .flatten()
            .map(|(id, _)| id.as_str())
            .collect(),
        conditions: conditions
            .into_iter()
            .flatten()
            .map(|(id, _)| id.as_str())
            .collect(),
        mappings: mappings
            .into_iter()
            .flatten()
            .map(|(id, _)| id.as_str())
            .collect(),
        lookup,
    };
    let mut checker = Checker {
        names,
        errors,
        edges: BTreeMap::new(),
    };

    checker.check_limits(template, body_bytes);
    for (section_name, entries) in [
        ("Parameters", parameters),
        ("Conditions", conditions),
        ("Mappings", mappings),
        ("Resources", resources),
        ("Outputs", outputs),
    ] {
        for id in entries.into_iter().flat_map(|entries| entries.keys()) {
            checker.check_logical_id(section_name, id);
        }
    }
    for id in checker
        .names
        .parameters
        .intersection(&checker.names.resources.keys().copied().collect())
    {
        checker.errors.push(ValidationError {
            logical_id: Some((*id).to_owned()),
            path: join_key("Resources", id),
            problem: Problem::ParameterResourceClash {
                id: (*id).to_owned(),
            },
        });
    }

    for (name, condition) in conditions.into_iter().flatten() {
        let path = join_key("Conditions", name);
        checker.walk(condition, &path, name, Context::Conditions);
    }
    match resources {
        Some(resources) if !resources.is_empty() => {
            for (id, entry) in resources {
                checker.check_resource(id, entry, template.get("Transform"));
            }
        }
        _ => checker.errors.push(ValidationError {
            logical_id: None,
            path: "Resources".to_owned(),
            problem: Problem::NoResources,
        }),
    }
    for (id, output) in outputs.into_iter().flatten() {
        checker.check_output(id, output);
    }
    checker.check_cycles();
    checker.errors
}

impl<'a> Checker<'a> {
    fn error(&mut self, owner: &str, path: String, problem: Problem) {
        self.errors.push(ValidationError {
            logical_id: Some(owner.to_owned()),
            path,
            problem,
        });
    }

    fn template_error(&mut self, path: &str, problem: Problem) {
        self.errors.push(ValidationError {
            logical_id: None,
            path: path.to_owned(),
            problem,
        });
    }

    fn check_limits(&mut self, template: &serde_json::Map<String, Json>, body_bytes: usize) {
        for (key, section, limit) in [
            ("Resources", "resources", MAX_RESOURCES),
            ("Outputs", "outputs", MAX_OUTPUTS),
            ("Parameters", "parameters", MAX_PARAMETERS),
            ("Mappings", "mappings", MAX_MAPPINGS),
        ] {
            let count = template
                .get(key)
                .and_then(Json::as_object)
                .map_or(0, |s| s.len());
            if count > limit {
                self.template_error(
                    key,
                    Problem::TooMany {
                        section,
                        count,
                        limit,
                    },
                );
            }
        }
        if let Some(description) = template.get("Description").and_then(Json::as_str)
            && description.len() > MAX_DESCRIPTION_BYTES
        {
            self.template_error(
                "Description",
                Problem::DescriptionTooLong {
                    bytes: description.len(),
                    limit: MAX_DESCRIPTION_BYTES,
                },
            );
        }
        if body_bytes > MAX_S3_BODY_BYTES {
            self.template_error(
                "$",
                Problem::BodyTooLarge {
                    bytes: body_bytes,
                    limit: MAX_S3_BODY_BYTES,
                },
            );
        }
    }

    // "The logical ID must be alphanumeric (A-Za-z0-9) and unique within the
    // template": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html
    fn check_logical_id(&mut self, section: &str, id: &str) {
        let reason = if id.is_empty() {
            Some("is empty".to_owned())
        } else if let Some(bad) = id.chars().find(|c| !c.is_ascii_alphanumeric()) {
            Some(format!(
                "contains `{bad}`; only A-Z, a-z and 0-9 are allowed"
            ))
        } else if id.chars().count() > MAX_LOGICAL_ID_CHARS {
            Some(format!(
                "is {} characters long; at most {MAX_LOGICAL_ID_CHARS} are allowed",
                id.chars().count()
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            self.error(
                id,
                join_key(section, id),
                Problem::InvalidLogicalId {
                    id: id.to_owned(),
                    reason,
                },
            );
        }
    }

    fn check_resource(&mut self, id: &'a str, entry: &'a Json, transform: Option<&Json>) {
        let path = join_key("Resources", id);
        let Some(entry) = entry.as_object() else {
            self.error(
                id,
                path,
                Problem::WrongShape {
                    expected: "an object",
                    found: kind_of(entry),
                },
            );
            return;
        };
        self.edges.entry(id).or_default();
        let info = match entry.get("Type") {
            Some(Json::String(type_name)) => self.check_type(id, &path, type_name, transform),
            Some(other) => {
                let problem = Problem::WrongShape {
                    expected: "a type name string",
                    found: kind_of(other),
                };
                self.error(id, format!("{path}.Type"), problem);
                None
            }
            None => {
                let problem = Problem::WrongShape {
                    expected: "a `Type`",
                    found: "none",
                };
                self.error(id, format!("{path}.Type"), problem);
                None
            }
        };
        if let Some(info) = info {
            self.check_required(id, &path, entry.get("Properties"), info);
        }
        if let Some(condition) = entry.get("Condition") {
            self.check_condition_name(id, &format!("{path}.Condition"), condition, "Condition");
        }
        match entry.get("DependsOn") {
            None => {}
            Some(Json::String(target)) => {
                self.check_depends_on(id, &format!("{path}.DependsOn"), target)
            }
            Some(Json::Array(targets)) => {
                for (index, target) in targets.iter().enumerate() {
                    let item_path = format!("{path}.DependsOn[{index}]");
                    match target {
                        Json::String(target) => self.check_depends_on(id, &item_path, target),
                        other => {
                            let problem = Problem::WrongShape {
                                expected: "a logical ID",
                                found: kind_of(other),
                            };
                            self.error(id, item_path, problem);
                        }
                    }
                }
            }
            Some(other) => {
                let problem = Problem::WrongShape {
                    expected: "a logical ID or a list of them",
                    found: kind_of(other),
                };
                self.error(id, format!("{path}.DependsOn"), problem);
            }
        }
        // Intrinsics are resolved in these attributes too, so their references
        // are dependencies as much as those in `Properties`.
        for key in ["Properties", "Metadata", "CreationPolicy", "UpdatePolicy"] {
            if let Some(value) = entry.get(key) {
                self.walk(value, &format!("{path}.{key}"), id, Context::Resource);
            }
        }
    }

    fn check_type(
        &mut self,
        id: &str,
        path: &str,
        type_name: &str,
        transform: Option<&Json>,
    ) -> Option<&'static ResourceInfo> {
        if let Some(info) = (self.names.lookup)(type_name) {
            return Some(info);
        }
        // Custom resources take any type name after `Custom::`; SAM types are
        // expanded by the transform before CloudFormation sees them.
        let expanded_by_transform =
            type_name.starts_with("AWS::Serverless::") && transform.is_some();
        if !type_name.starts_with("Custom::") && !expanded_by_transform {
            self.error(
                id,
                format!("{path}.Type"),
                Problem::UnknownResourceType {
                    type_name: type_name.to_owned(),
                },
            );
        }
        None
    }

    fn check_required(
        &mut self,
        id: &str,
        path: &str,
        properties: Option<&Json>,
        info: &ResourceInfo,
    ) {
        let present: BTreeSet<&str> = match properties {
            None => BTreeSet::new(),
            Some(Json::Object(properties)) => {
                // `{"Properties": {"Fn::If": ...}}` decides the whole set at deploy time.
                if is_intrinsic(properties) {
                    return;
                }
                properties.keys().map(String::as_str).collect()
            }
            Some(other) => {
                let problem = Problem::WrongShape {
                    expected: "an object",
                    found: kind_of(other),
                };
                self.error(id, format!("{path}.Properties"), problem);
                return;
            }
        };
        for property in info
            .required
            .iter()
            .filter(|required| !present.contains(*required))
        {
            let problem = Problem::MissingRequiredProperty {
                type_name: info.type_name.to_owned(),
                property: (*property).to_owned(),
            };
            self.error(id, format!("{path}.Properties"), problem);
        }
    }

    fn check_depends_on(&mut self, id: &'a str, path: &str, target: &str) {
        if self.names.resources.contains_key(target) {
            self.edges.entry(id).or_default().insert(target.to_owned());
        } else {
            self.error(
                id,
                path.to_owned(),
                Problem::DependsOnMissing {
                    target: target.to_owned(),
                },
            );
        }
    }

    fn check_condition_name(&mut self, owner: &str, path: &str, name: &Json, via: &'static str) {
        match name {
            Json::String(name) if self.names.conditions.contains(name.as_str()) => {}
            Json::String(name) => {
                self.error(
                    owner,
                    path.to_owned(),
                    Problem::UnknownCondition {
                        via,
                        name: name.clone(),
                    },
                );
            }
            other => {
                let problem = Problem::WrongShape {
                    expected: "a condition name",
                    found: kind_of(other),
                };
                self.error(owner, path.to_owned(), problem);
            }
        }
    }

    fn check_output(&mut self, id: &'a str, output: &'a Json) {
        let path = join_key("Outputs", id);
        let Some(output) = output.as_object() else {
            self.error(
                id,
                path,
                Problem::WrongShape {
                    expected: "an object",
                    found: kind_of(output),
                },
            );
            return;
        };
        if let Some(condition) = output.get("Condition") {
            self.check_condition_name(id, &format!("{path}.Condition"), condition, "Condition");
        }
        match output.get("Value") {
            Some(value) => self.walk(value, &format!("{path}.Value"), id, Context::Output),
            None => {
                let problem = Problem::WrongShape {
                    expected: "a `Value`",
                    found: "none",
                };
                self.error(id, format!("{path}.Value"), problem);
            }
        }
        if let Some(export) = output.get("Export") {
            self.walk(export, &format!("{path}.Export"), id, Context::Output);
        }
    }

    /// Visits every intrinsic under `value`, checking what it names.
    fn walk(&mut self, value: &'a Json, path: &str, owner: &'a str, context: Context) {
        match value {
            Json::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.walk(item, &format!("{path}[{index}]"), owner, context);
                }
            }
            Json::Object(map) if context == Context::Conditions && is_condition_reference(map) => {
                if let Some(name) = map.get("Condition") {
                    self.check_condition_name(
                        owner,
                        &join_key(path, "Condition"),
                        name,
                        "Condition",
                    );
                }
            }
            Json::Object(map) if is_intrinsic(map) => {
                // `is_intrinsic` guarantees exactly one entry.
                if let Some((function, argument)) = map.iter().next() {
                    let inner_path = join_key(path, function);
                    self.intrinsic(function, argument, &inner_path, owner, context);
                }
            }
            Json::Object(map) => {
                for (key, item) in map {
                    self.walk(item, &join_key(path, key), owner, context);
                }
            }
            _ => {}
        }
    }

    fn intrinsic(
        &mut self,
        function: &str,
        argument: &'a Json,
        path: &str,
        owner: &'a str,
        context: Context,
    ) {
        match function {
            "Ref" => match argument {
                Json::String(name) => self.check_ref(owner, path, name, "Ref", context),
                other => self.walk(other, path, owner, context),
            },
            "Fn::GetAtt" => self.get_att(argument, path, owner, context),
            "Fn::Sub" => self.sub(argument, path, owner, context),
            "Fn::If" => {
                if let Json::Array(items) = argument
                    && let Some(condition) = items.first()
                {
                    self.check_condition_name(owner, &format!("{path}[0]"), condition, "Fn::If");
                    for (index, branch) in items.iter().enumerate().skip(1) {
                        self.walk(branch, &format!("{path}[{index}]"), owner, context);
                    }
                } else {
                    let problem = Problem::WrongShape {
                        expected: "[condition, then, else]",
                        found: kind_of(argument),
                    };
                    self.error(owner, path.to_owned(), problem);
                }
            }
            "Fn::FindInMap" => {
                if let Json::Array(items) = argument
                    && let Some(Json::String(map_name)) = items.first()
                    && !self.names.mappings.contains(map_name.as_str())
                {
                    let problem = Problem::UnknownMapping {
                        name: map_name.clone(),
                    };
                    self.error(owner, format!("{path}[0]"), problem);
                }
                self.walk(argument, path, owner, context);
            }
            _ => self.walk(argument, path, owner, context),
        }
    }

    fn check_ref(
        &mut self,
        owner: &'a str,
        path: &str,
        name: &str,
        via: &'static str,
        context: Context,
    ) {
        if is_pseudo(name) || self.names.parameters.contains(name) {
            return;
        }
        if self.names.resources.contains_key(name) {
            if context == Context::Conditions {
                let problem = Problem::ResourceRefInCondition {
                    name: name.to_owned(),
                };
                self.error(owner, path.to_owned(), problem);
            } else if context == Context::Resource {
                self.edges.entry(owner).or_default().insert(name.to_owned());
            }
            return;
        }
        self.error(
            owner,
            path.to_owned(),
            Problem::DanglingRef {
                via,
                name: name.to_owned(),
            },
        );
    }

    fn get_att(&mut self, argument: &'a Json, path: &str, owner: &'a str, context: Context) {
        match argument {
            // The short form `"Resource.Attribute"`: logical IDs hold no dots,
            // so the first dot separates them.
            Json::String(target) => match target.split_once('.') {
                Some((resource, attribute)) => {
                    self.check_get_att(
                        owner,
                        path,
                        resource,
                        Some(attribute),
                        "Fn::GetAtt",
                        context,
                    );
                }
                None => {
                    let problem = Problem::WrongShape {
                        expected: "[resource, attribute]",
                        found: "a string without a dot",
                    };
                    self.error(owner, path.to_owned(), problem);
                }
            },
            Json::Array(items) if items.len() == 2 => {
                let Json::String(resource) = &items[0] else {
                    let problem = Problem::WrongShape {
                        expected: "a logical ID",
                        found: kind_of(&items[0]),
                    };
                    self.error(owner, format!("{path}[0]"), problem);
                    return;
                };
                match &items[1] {
                    Json::String(attribute) => {
                        self.check_get_att(
                            owner,
                            path,
                            resource,
                            Some(attribute),
                            "Fn::GetAtt",
                            context,
                        );
                    }
                    // An attribute chosen by `Ref` can only be checked at deploy time.
                    dynamic => {
                        self.check_get_att(owner, path, resource, None, "Fn::GetAtt", context);
                        self.walk(dynamic, &format!("{path}[1]"), owner, context);
                    }
                }
            }
            other => {
                let problem = Problem::WrongShape {
                    expected: "[resource, attribute]",
                    found: kind_of(other),
                };
                self.error(owner, path.to_owned(), problem);
            }
        }
    }

    fn check_get_att(
        &mut self,
        owner: &'a str,
        path: &str,
        resource: &str,
        attribute: Option<&str>,
        via: &'static str,
        context: Context,
    ) {
        let shown_attribute = attribute.unwrap_or("(computed)").to_owned();
        if !self.names.resources.contains_key(resource) {
            let reason = if self.names.parameters.contains(resource) {
                "which is a parameter; only resources have attributes"
            } else {
                "which is not a resource in this template"
            };
            let problem = Problem::GetAttMissingResource {
                via,
                resource: resource.to_owned(),
                attribute: shown_attribute,
                reason,
            };
            self.error(owner, path.to_owned(), problem);
            return;
        }
        match context {
            Context::Resource => {
                self.edges
                    .entry(owner)
                    .or_default()
                    .insert(resource.to_owned());
            }
            Context::Conditions => {
                let problem = Problem::ResourceRefInCondition {
                    name: resource.to_owned(),
                };
                self.error(owner, path.to_owned(), problem);
                return;
            }
            Context::Output => {}
        }
        let (Some(attribute), Some(info)) = (attribute, self.names.resource_info(resource)) else {
            return;
        };
        if !has_attribute(info, attribute) {
            let known = if info.attributes.is_empty() {
                "none".to_owned()
            } else {
                info.attributes.join(", ")
            };
            let problem = Problem::UnknownAttribute {
                via,
                resource: resource.to_owned(),
                type_name: info.type_name.to_owned(),
                attribute: attribute.to_owned(),
                known,
            };
            self.error(owner, path.to_owned(), problem);
        }
    }

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-sub.html
    fn sub(&mut self, argument: &'a Json, path: &str, owner: &'a str, context: Context) {
        let (text, variables) = match argument {
            Json::String(text) => (text.as_str(), None),
            Json::Array(items) if items.len() == 2 => {
                let Json::String(text) = &items[0] else {
                    let problem = Problem::WrongShape {
                        expected: "a string template",
                        found: kind_of(&items[0]),
                    };
                    self.error(owner, format!("{path}[0]"), problem);
                    return;
                };
                let Json::Object(variables) = &items[1] else {
                    let problem = Problem::WrongShape {
                        expected: "a variable map",
                        found: kind_of(&items[1]),
                    };
                    self.error(owner, format!("{path}[1]"), problem);
                    return;
                };
                for (name, value) in variables {
                    self.walk(
                        value,
                        &join_key(&format!("{path}[1]"), name),
                        owner,
                        context,
                    );
                }
                (text.as_str(), Some(variables))
            }
            other => {
                let problem = Problem::WrongShape {
                    expected: "a string or [string, {variables}]",
                    found: kind_of(other),
                };
                self.error(owner, path.to_owned(), problem);
                return;
            }
        };
        let text_path = if variables.is_some() {
            format!("{path}[0]")
        } else {
            path.to_owned()
        };
        for name in sub_placeholders(text) {
            if variables.is_some_and(|variables| variables.contains_key(name)) {
                continue;
            }
            match name.split_once('.') {
                Some((resource, attribute)) => {
                    self.check_get_att(
                        owner,
                        &text_path,
                        resource,
                        Some(attribute),
                        "Fn::Sub",
                        context,
                    );
                }
                None => self.check_ref(owner, &text_path, name, "Fn::Sub", context),
            }
        }
    }

    /// Reports each strongly connected group of resources once, as the
    /// shortest cycle through its smallest logical ID.
    fn check_cycles(&mut self) {
        let edges: BTreeMap<&str, Vec<&str>> = self
            .edges
            .iter()
            .map(|(from, targets)| (*from, targets.iter().map(String::as_str).collect()))
            .collect();
        let mut cycles = Vec::new();
        for component in strongly_connected(&edges) {
            let Some(start) = component.iter().min().copied() else {
                continue;
            };
            let self_loop = edges
                .get(start)
                .is_some_and(|targets| targets.contains(&start));
            if component.len() < 2 && !self_loop {
                continue;
            }
            if let Some(cycle) = shortest_cycle(&edges, start, &component) {
                cycles.push(cycle);
            }
        }
        cycles.sort();
        for cycle in cycles {
            let start = cycle.first().cloned().unwrap_or_default();
            self.error(
                &start,
                join_key("Resources", &start),
                Problem::Cycle { cycle },
            );
        }
    }
}

fn has_attribute(info: &ResourceInfo, attribute: &str) -> bool {
    // Nested stacks expose each of the child template's outputs as
    // `Outputs.<Name>`, which no schema can list.
    info.has_attribute(attribute)
        || (info.type_name == "AWS::CloudFormation::Stack" && attribute.starts_with("Outputs."))
}

/// Tarjan's algorithm, iterative so a deep chain of resources cannot exhaust
/// the stack. Components come out in a deterministic order for sorted input.
fn strongly_connected<'g>(edges: &BTreeMap<&'g str, Vec<&'g str>>) -> Vec<Vec<&'g str>> {
    struct NodeState {
        index: usize,
        low_link: usize,
        on_stack: bool,
    }
    let mut state: BTreeMap<&str, NodeState> = BTreeMap::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut components = Vec::new();
    let mut next_index = 0;
    let no_targets: Vec<&str> = Vec::new();

    for &root in edges.keys() {
        if state.contains_key(root) {
            continue;
        }
        // (node, position of the next successor to visit)
        let mut work: Vec<(&str, usize)> = vec![(root, 0)];
        while let Some((node, position)) = work.pop() {
            if position == 0 {
                state.insert(
                    node,
                    NodeState {
                        index: next_index,
                        low_link: next_index,
                        on_stack: true,
                    },
                );
                next_index += 1;
                stack.push(node);
            }
            let targets = edges.get(node).unwrap_or(&no_targets);
            if let Some(&target) = targets.get(position) {
                work.push((node, position + 1));
                match state.get(target) {
                    None => work.push((target, 0)),
                    Some(target_state) if target_state.on_stack => {
                        let target_index = target_state.index;
                        if let Some(node_state) = state.get_mut(node) {
                            node_state.low_link = node_state.low_link.min(target_index);
                        }
                    }
                    Some(_) => {}
                }
                continue;
            }
            // All successors done: close the component if `node` is its root,
            // then pass the low link up to the caller.
            let (index, low_link) = state.get(node).map_or((0, 0), |s| (s.index, s.low_link));
            if low_link == index {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    if let Some(member_state) = state.get_mut(member) {
                        member_state.on_stack = false;
                    }
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
            if let Some(&(parent, _)) = work.last()
                && let Some(parent_state) = state.get_mut(parent)
            {
                parent_state.low_link = parent_state.low_link.min(low_link);
            }
        }
    }
    components
}

/// Breadth-first search from `start` back to itself inside `component`,
/// visiting successors in sorted order so the result is deterministic.
fn shortest_cycle(
    edges: &BTreeMap<&str, Vec<&str>>,
    start: &str,
    component: &[&str],
) -> Option<Vec<String>> {
    let members: BTreeSet<&str> = component.iter().copied().collect();
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &target in edges.get(node).map(Vec::as_slice).unwrap_or_default() {
            if !members.contains(target) {
                continue;
            }
            if target == start {
                // Walk back from the last hop to `start`, then read it forwards.
                let mut backwards = vec![start.to_owned()];
                let mut current = node;
                while current != start {
                    backwards.push(current.to_owned());
                    current = came_from.get(current).copied()?;
                }
                backwards.push(start.to_owned());
                backwards.reverse();
                return Some(backwards);
            }
            if target != start && !came_from.contains_key(target) {
                came_from.insert(target, node);
                queue.push_back(target);
            }
        }
    }
    None
}

/// The names inside `${...}` of an `Fn::Sub` string (one parser, in
/// [`crate::intrinsic`]).
fn sub_placeholders(text: &str) -> Vec<&str> {
    crate::intrinsic::sub_variables(text)
}

fn is_intrinsic(map: &serde_json::Map<String, Json>) -> bool {
    crate::intrinsic::is_intrinsic_map(map)
}

/// `{"Condition": name}` names another condition, but only inside the
/// `Conditions` section: elsewhere a `Condition` key is ordinary data (an IAM
/// statement's `Condition` block, for one).
fn is_condition_reference(map: &serde_json::Map<String, Json>) -> bool {
    map.len() == 1 && map.contains_key("Condition")
}

fn join_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{key:?}]")
    }
}

fn kind_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_skip_literal_escapes() {
        assert_eq!(
            sub_placeholders("${A}-${!Literal}-${B.Arn}${AWS::Region}"),
            vec!["A", "B.Arn", "AWS::Region"]
        );
        assert_eq!(sub_placeholders("no placeholders"), Vec::<&str>::new());
        assert_eq!(sub_placeholders("${Unclosed"), Vec::<&str>::new());
    }

    #[test]
    fn cycle_starts_at_the_smallest_member() {
        let edges = BTreeMap::from([
            ("B", vec!["C"]),
            ("C", vec!["A"]),
            ("A", vec!["B"]),
            ("D", vec!["A"]),
        ]);
        let components = strongly_connected(&edges);
        let cyclic: Vec<_> = components.iter().filter(|c| c.len() > 1).collect();
        assert_eq!(cyclic.len(), 1);
        let cycle = shortest_cycle(&edges, "A", cyclic[0]).unwrap();
        assert_eq!(cycle, vec!["A", "B", "C", "A"]);
    }

    #[test]
    fn paths_quote_keys_that_are_not_identifiers() {
        assert_eq!(join_key("Resources", "Key"), "Resources.Key");
        assert_eq!(
            join_key("Condition", "aws:SourceArn"),
            "Condition.aws:SourceArn"
        );
        assert_eq!(join_key("Tags", "a b"), "Tags[\"a b\"]");
    }
}
