//! Every correction the generator makes to a published schema, in one place.
//!
//! Each fix-up names the property it touches, says why, and fails loudly if
//! the schema no longer has the shape it corrects (k8s-openapi style): when
//! AWS or cfn-lint fixes the schema upstream, regeneration stops and the
//! stale fix-up gets deleted instead of silently doing something else.

use anyhow::{Context, Result, bail};
use serde_json::{Value as Json, json};

pub struct Fixup {
    pub type_name: &'static str,
    /// JSON pointer into the schema.
    pub pointer: &'static str,
    pub why: &'static str,
    pub apply: fn(&mut Json) -> Result<()>,
}

pub const FIXUPS: &[Fixup] = &[
    Fixup {
        type_name: "AWS::DynamoDB::Table",
        pointer: "/properties/KeySchema",
        why: "KeySchema is `oneOf` [a list of key elements, a legacy JSON object/string]. \
              The list is the documented form \
              (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html#cfn-dynamodb-table-keyschema); \
              without this the required key schema would be untyped JSON.",
        apply: |schema| {
            let first = schema
                .get("oneOf")
                .and_then(Json::as_array)
                .and_then(|alternatives| alternatives.first())
                .filter(|first| first.get("$ref").is_some())
                .cloned()
                .context("expected `oneOf` whose first alternative is a `$ref`")?;
            let description = schema.get("description").cloned();
            *schema = first;
            if let (Some(object), Some(description)) = (schema.as_object_mut(), description) {
                object.insert("description".to_owned(), description);
            }
            Ok(())
        },
    },
    Fixup {
        type_name: "AWS::DynamoDB::Table",
        pointer: "/definitions/KeySchema/items/properties/KeyType",
        why: "cfn-lint moved the HASH/RANGE enum of a key element's KeyType onto the array \
              (`/definitions/KeySchema/properties/KeyType`); put it back on the element so \
              KeyType is a typed enum.",
        apply: |schema| {
            if schema.get("type") != Some(&json!("string")) || schema.get("enum").is_some() {
                bail!("expected a plain string without `enum`");
            }
            if let Some(object) = schema.as_object_mut() {
                object.insert("enum".to_owned(), json!(["HASH", "RANGE"]));
            }
            Ok(())
        },
    },
    Fixup {
        type_name: "AWS::DynamoDB::Table",
        pointer: "/definitions/GlobalSecondaryIndex/properties/KeySchema",
        why: "a global secondary index's KeySchema is the same list of key elements as the \
              table's (AWS::DynamoDB::Table KeySchema), inlined by cfn-lint; point it at the \
              shared definition so both use one `KeySchema` type.",
        apply: |schema| {
            let inline_item = schema.pointer("/items/properties/KeyType").is_some();
            if schema.get("type") != Some(&json!("array")) || !inline_item {
                bail!("expected an array with an inline key element");
            }
            let description = schema.get("description").cloned();
            *schema = json!({"$ref": "#/definitions/KeySchema"});
            if let (Some(object), Some(description)) = (schema.as_object_mut(), description) {
                object.insert("description".to_owned(), description);
            }
            Ok(())
        },
    },
    Fixup {
        type_name: "AWS::Lambda::Function",
        pointer: "/definitions/Environment/properties/Variables/patternProperties/[a-zA-Z][a-zA-Z0-9_]+",
        why: "cfn-lint widened environment variable values to any JSON type (CloudFormation \
              coerces scalars), but Lambda stores them as strings \
              (https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html: \
              `Variables` is a map of string to string); typing them as strings lets a \
              value be a `Ref`/`GetAtt`/`Fn::Sub` and keeps a stray object out.",
        apply: |schema| {
            if schema
                .get("type")
                .and_then(Json::as_array)
                .is_none_or(|types| types.len() < 2)
            {
                bail!("expected a list of several types");
            }
            if let Some(object) = schema.as_object_mut() {
                object.insert("type".to_owned(), json!("string"));
            }
            Ok(())
        },
    },
    Fixup {
        type_name: "AWS::SQS::Queue",
        pointer: "/properties/RedrivePolicy",
        why: "RedrivePolicy accepts the object or the same object as a JSON string \
              (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html#cfn-sqs-queue-redrivepolicy); \
              generate the object form so the dead-letter ARN can be a typed `GetAtt`.",
        apply: |schema| {
            if schema.get("type") != Some(&json!(["object", "string"]))
                || schema.get("properties").is_none()
            {
                bail!("expected `type: [object, string]` with `properties`");
            }
            if let Some(object) = schema.as_object_mut() {
                object.insert("type".to_owned(), json!("object"));
            }
            Ok(())
        },
    },
];

/// Applies the fix-ups for `type_name`; an error names the fix-up that no
/// longer applies.
pub fn apply(type_name: &str, schema: &mut Json) -> Result<()> {
    for fixup in FIXUPS.iter().filter(|fixup| fixup.type_name == type_name) {
        let target = schema.pointer_mut(fixup.pointer).with_context(|| {
            format!(
                "fix-up for {} {} no longer applies: the path is gone from the schema \
                 (remove it from codegen/src/fixups.rs). It was there because {}",
                fixup.type_name, fixup.pointer, fixup.why
            )
        })?;
        (fixup.apply)(target).with_context(|| {
            format!(
                "fix-up for {} {} no longer applies (remove or update it in \
                 codegen/src/fixups.rs). It was there because {}",
                fixup.type_name, fixup.pointer, fixup.why
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixup_whose_shape_is_gone_is_an_error() {
        let mut fixed_upstream = json!({
            "properties": {"RedrivePolicy": {"type": "object", "properties": {}}}
        });
        let error = apply("AWS::SQS::Queue", &mut fixed_upstream).unwrap_err();
        assert!(
            format!("{error:#}").contains("no longer applies"),
            "{error:#}"
        );

        let mut path_gone = json!({"properties": {}});
        let error = apply("AWS::SQS::Queue", &mut path_gone).unwrap_err();
        assert!(
            format!("{error:#}").contains("the path is gone"),
            "{error:#}"
        );
    }

    #[test]
    fn redrive_policy_becomes_an_object() {
        let mut schema = json!({
            "properties": {"RedrivePolicy": {"type": ["object", "string"], "properties": {}}}
        });
        apply("AWS::SQS::Queue", &mut schema).unwrap();
        assert_eq!(
            schema.pointer("/properties/RedrivePolicy/type"),
            Some(&json!("object"))
        );
    }
}
