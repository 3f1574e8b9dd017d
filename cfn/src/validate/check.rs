//! The walk over a template's sections: declared names, quotas, logical
//! IDs, and each resource's and output's own attributes. References inside
//! values are checked in [`super::references`], cycles in [`super::cycles`].

use std::collections::{BTreeMap, BTreeSet};

use super::{
    MAX_DESCRIPTION_BYTES, MAX_LOGICAL_ID_CHARS, MAX_MAPPINGS, MAX_OUTPUTS, MAX_PARAMETERS,
    MAX_RESOURCES, MAX_S3_BODY_BYTES, Problem, ValidationError, join_key, kind_of,
};
use crate::json;
use crate::resource::{ResourceInfo, TypeLookup};
use crate::template::join_path;
use crate::value::Json;

/// Declared names, to resolve references against.
pub(super) struct Names<'a> {
    pub(super) resources: BTreeMap<&'a str, Option<&'a str>>,
    pub(super) parameters: BTreeSet<&'a str>,
    pub(super) conditions: BTreeSet<&'a str>,
    pub(super) mappings: BTreeSet<&'a str>,
    pub(super) lookup: TypeLookup,
}

impl Names<'_> {
    pub(super) fn resource_info(&self, resource: &str) -> Option<&'static ResourceInfo> {
        let type_name = self.resources.get(resource).copied().flatten()?;
        (self.lookup)(type_name)
    }
}

/// Where in the template a walk is, which decides what a reference may name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    Resource,
    Output,
    Conditions,
}

pub(super) struct Checker<'a> {
    pub(super) names: Names<'a>,
    pub(super) errors: Vec<ValidationError>,
    /// Resource -> resources it needs first (Ref, GetAtt, Sub, DependsOn).
    pub(super) edges: BTreeMap<&'a str, BTreeSet<String>>,
}

/// Every problem in a template's JSON, reported in the canonical key order
/// ([`crate::json::entries`]) however its maps are ordered.
pub(super) fn check_json(
    json: &Json,
    lookup: TypeLookup,
    body_bytes: usize,
) -> Vec<ValidationError> {
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
        for (id, _) in entries.into_iter().flat_map(json::entries) {
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

    for (name, condition) in conditions.into_iter().flat_map(json::entries) {
        let path = join_key("Conditions", name);
        checker.walk(condition, &path, name, Context::Conditions);
    }
    match resources {
        Some(resources) if !resources.is_empty() => {
            for (id, entry) in json::entries(resources) {
                checker.check_resource(id, entry, template.get("Transform"));
            }
        }
        _ => checker.errors.push(ValidationError {
            logical_id: None,
            path: "Resources".to_owned(),
            problem: Problem::NoResources,
        }),
    }
    for (id, output) in outputs.into_iter().flat_map(json::entries) {
        checker.check_output(id, output);
    }
    checker.check_cycles();
    checker.errors
}

impl<'a> Checker<'a> {
    pub(super) fn error(&mut self, owner: &str, path: String, problem: Problem) {
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
            self.check_properties(id, &path, entry.get("Properties"), info);
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

    /// The required properties by name, then the whole set read as the
    /// generated type (`info.check_properties`): unknown properties, values
    /// of the wrong shape and nested required ones. A missing required
    /// property is reported once, by name, not again by the typed read.
    fn check_properties(
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
        let mut missing = info
            .required
            .iter()
            .filter(|required| !present.contains(*required))
            .peekable();
        if missing.peek().is_none() {
            let empty = Json::Object(serde_json::Map::new());
            if let Err(error) = (info.check_properties)(properties.unwrap_or(&empty)) {
                let problem = Problem::InvalidProperty {
                    type_name: info.type_name.to_owned(),
                    message: error.message,
                };
                let at = join_path(&format!("{path}.Properties"), &error.path);
                self.error(id, at, problem);
            }
            return;
        }
        for property in missing {
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

    pub(super) fn check_condition_name(
        &mut self,
        owner: &str,
        path: &str,
        name: &Json,
        via: &'static str,
    ) {
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
}

pub(super) fn is_intrinsic(map: &serde_json::Map<String, Json>) -> bool {
    crate::intrinsic::is_intrinsic_map(map)
}
