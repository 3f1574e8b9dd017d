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

mod check;
mod cycles;
mod problem;
mod references;

use check::check_json;

use crate::resource::TypeLookup;
use crate::template::Template;
use crate::value::Json;

pub use problem::{Problem, ValidationError, ValidationErrors};

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
    errors.extend(check_json(&json, lookup, body_bytes));
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

pub(crate) fn join_key(path: &str, key: &str) -> String {
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

pub(super) fn kind_of(value: &Json) -> &'static str {
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
    fn paths_quote_keys_that_are_not_identifiers() {
        assert_eq!(join_key("Resources", "Key"), "Resources.Key");
        assert_eq!(
            join_key("Condition", "aws:SourceArn"),
            "Condition.aws:SourceArn"
        );
        assert_eq!(join_key("Tags", "a b"), "Tags[\"a b\"]");
    }
}
