//! What validation reports: every problem, located by its JSON path.

use std::fmt;

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
    #[error("does not match {type_name}'s schema: {message}")]
    InvalidProperty { type_name: String, message: String },
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
