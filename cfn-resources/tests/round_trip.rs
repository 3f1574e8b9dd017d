//! Typed both ways: every resource of both envs' synthesized templates and
//! of the every-type template reads back as its generated type and writes
//! back byte for byte; malformed input names the resource and the property.

// Test helpers outside #[test] fns: a panic here is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::json;
use upstack_cfn::{Json, Template};
use upstack_cfn_resources::{AnyResource, lambda, read_resources, registry, s3};

fn synthesized(env: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../synth-out")
        .join(env)
        .join("template.json");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Reads `text` typed, writes it back, and checks that the text and the
/// typed values survive: text -> typed -> text is byte-identical, and the
/// typed values read from that text equal the first ones. Returns the
/// types it read typed.
fn round_trip(name: &str, text: &str) -> BTreeSet<String> {
    let template = Template::from_json_str(text).unwrap_or_else(|error| panic!("{name}: {error}"));
    let resources = read_resources(&template).unwrap_or_else(|error| panic!("{name}: {error}"));

    let mut written = template.clone();
    for (logical_id, resource) in &resources {
        let entry = written.resources.get_mut(logical_id).unwrap();
        assert_eq!(
            resource.type_name(),
            entry.type_name,
            "{name}: {logical_id}"
        );
        entry.properties = resource.to_properties();
    }
    let text_again = written.to_pretty_string();
    assert!(
        text_again == text,
        "{name}: written back differently:\n{}",
        first_difference(text, &text_again)
    );

    let reread = Template::from_json_str(&text_again).unwrap();
    assert_eq!(reread, template, "{name}: the template reads back equal");
    assert_eq!(
        read_resources(&reread).unwrap(),
        resources,
        "{name}: every resource reads back equal"
    );

    resources
        .values()
        .map(|resource| match resource {
            AnyResource::Other { type_name, .. } => {
                panic!("{name}: {type_name} read as raw JSON, but it is generated")
            }
            typed => typed.type_name().to_owned(),
        })
        .collect()
}

fn first_difference(expected: &str, actual: &str) -> String {
    expected
        .lines()
        .zip(actual.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(line, (a, b))| format!("line {}:\n  was: {a}\n  now: {b}", line + 1))
        .unwrap_or_else(|| "one text is a prefix of the other".to_owned())
}

#[test]
fn both_envs_templates_read_typed_and_write_back_byte_identical() {
    for env in ["dev", "prod"] {
        let types = round_trip(env, &synthesized(env));
        // The pipeline's own types: the bucket, the functions, the queues...
        for expected in [
            "AWS::S3::Bucket",
            "AWS::Lambda::Function",
            "AWS::SQS::Queue",
        ] {
            assert!(types.contains(expected), "{env}: no {expected}");
        }
    }
}

#[test]
fn every_generated_type_reads_typed_and_writes_back_byte_identical() {
    let text = crate::every_type::build().to_pretty_string();
    let types = round_trip("every type", &text);
    let generated: BTreeSet<String> = registry::ALL
        .iter()
        .map(|info| info.type_name.to_owned())
        .collect();
    assert_eq!(types, generated);
}

#[test]
fn a_type_not_generated_stays_raw_json() {
    let properties = json!({"ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]}, "b": 1});
    let resource = AnyResource::read("Custom::Thing", &properties).unwrap();
    assert_eq!(
        resource,
        AnyResource::Other {
            type_name: "Custom::Thing".to_owned(),
            properties: properties.clone()
        }
    );
    assert_eq!(resource.to_properties(), properties);
}

/// The dev template with one resource's properties replaced.
fn dev_with(logical_id: &str, edit: impl FnOnce(&mut Json)) -> Template {
    let mut template = Template::from_json_str(&synthesized("dev")).unwrap();
    edit(&mut template.resources.get_mut(logical_id).unwrap().properties);
    template
}

#[test]
fn malformed_properties_name_the_resource_and_the_property_path() {
    type Edit = Box<dyn FnOnce(&mut Json)>;
    let cases: [(&str, Edit, &str); 4] = [
        (
            "IngestFunction",
            Box::new(|p| p["Timeout"] = json!("soon")),
            "Resources.IngestFunction.Properties.Timeout: invalid type: string \"soon\", expected i64 (reading AWS::Lambda::Function)",
        ),
        (
            "IngestFunction",
            Box::new(|p| p["Environment"]["Variables"]["APP_ENV"] = json!(["dev"])),
            "Resources.IngestFunction.Properties.Environment.Variables.APP_ENV: invalid type: sequence, expected a string (reading AWS::Lambda::Function)",
        ),
        (
            "UploadBucket",
            Box::new(|p| p["VersioningConfiguration"]["Status"] = json!("Sometimes")),
            "Resources.UploadBucket.Properties.VersioningConfiguration.Status: unknown variant `Sometimes`, expected `Enabled` or `Suspended` (reading AWS::S3::Bucket)",
        ),
        (
            "IngestFunction",
            Box::new(|p| p["Handlr"] = json!("bootstrap")),
            "Resources.IngestFunction.Properties.Handlr: unknown field `Handlr`, expected one of",
        ),
    ];
    for (logical_id, edit, expected) in cases {
        let template = dev_with(logical_id, edit);
        let error = read_resources(&template).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{error}");
    }
}

#[test]
fn a_reader_takes_one_type_by_logical_id() {
    let template = Template::from_json_str(&synthesized("dev")).unwrap();
    let functions: Vec<&str> = template.logical_ids_of::<lambda::Function>().collect();
    assert_eq!(
        functions,
        ["IngestFunction", "NotifyFunction", "PhotoCheckFunction"]
    );
    let ingest = template
        .read::<lambda::Function>("IngestFunction")
        .unwrap()
        .unwrap();
    assert!(ingest.environment.is_some());
    // Another type, or no such resource: nothing to read.
    assert!(template.read::<s3::Bucket>("IngestFunction").is_none());
    assert!(template.read::<lambda::Function>("Nope").is_none());

    let broken = dev_with("IngestFunction", |p| p["MemorySize"] = json!(true));
    let error = broken
        .read::<lambda::Function>("IngestFunction")
        .unwrap()
        .unwrap_err();
    assert_eq!(error.path, "Resources.IngestFunction.Properties.MemorySize");
}

/// Reading is strict so that writing back is faithful: a value the typed
/// model would write differently is refused, not normalised.
#[test]
fn typed_values_equal_the_ones_read_and_nothing_is_dropped() {
    let template = Template::from_json_str(&synthesized("prod")).unwrap();
    let typed: BTreeMap<String, AnyResource> = read_resources(&template).unwrap();
    for (logical_id, resource) in &typed {
        assert_eq!(
            resource.to_properties(),
            template.resources[logical_id].properties,
            "{logical_id}"
        );
    }
}
