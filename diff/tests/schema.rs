//! The JSON output matches the documented shape: it parses back into the
//! model with `deny_unknown_fields` and re-serializes to the same JSON (so
//! no field is dropped or defaulted), and every key it contains is listed
//! in diff/SCHEMA.md (so the document cannot fall behind the code).

// Test helpers outside #[test] fns: a panic here is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};
use upstack_diff::drift::{DriftFate, DriftStatus, PropertyDrift, ResourceDrift};
use upstack_diff::render::{self, Sources};
use upstack_diff::{
    ChangeSetDetail, ChangeSetResource, ChangeSetView, JsonReport, SCHEMA_VERSION, diff_templates,
};

fn reports() -> Vec<Json> {
    let mut reports = Vec::new();
    for case in common::CASES {
        let diff = common::diff_case(case);
        let sources = Sources {
            old: "old".into(),
            new: "new".into(),
        };
        reports.push(serde_json::from_str(&render::json(&diff, &sources)).unwrap());
    }
    // One with change-set data, so those fields are covered too.
    let mut diff = diff_templates(
        &common::load("replacement", "old"),
        &common::load("replacement", "new"),
        common::lookup,
    )
    .unwrap();
    diff.merge_change_set(vec![ChangeSetResource {
        logical_id: "Records".into(),
        resource_type: Some("AWS::DynamoDB::Table".into()),
        view: ChangeSetView {
            action: "Modify".into(),
            replacement: Some("True".into()),
            physical_id: Some("upstack-dev-records".into()),
            drift_status: None,
            details: vec![ChangeSetDetail {
                attribute: Some("Properties".into()),
                name: Some("TableName".into()),
                requires_recreation: Some("Always".into()),
                evaluation: Some("Static".into()),
                change_source: Some("DirectModification".into()),
                causing_entity: None,
                before_value_from: None,
                attribute_change_type: None,
            }],
        },
    }]);
    reports.push(
        serde_json::from_str(&render::json(
            &diff,
            &Sources {
                old: "a".into(),
                new: "b".into(),
            },
        ))
        .unwrap(),
    );
    // And one with drift of every status and fate.
    diff.drift = drift_of_every_kind();
    reports.push(
        serde_json::from_str(&render::json(
            &diff,
            &Sources {
                old: "a".into(),
                new: "b".into(),
            },
        ))
        .unwrap(),
    );
    reports
}

fn drift_of_every_kind() -> Vec<ResourceDrift> {
    let resource = |logical_id: &str, status, reason: Option<&str>, properties| ResourceDrift {
        logical_id: logical_id.into(),
        resource_type: "AWS::Lambda::Function".into(),
        physical_id: Some(format!("upstack-dev-{logical_id}")),
        status,
        reason: reason.map(str::to_owned),
        properties,
    };
    let property = |name: &str, fate| PropertyDrift {
        path: format!("Properties.{name}"),
        declared: true,
        expected: Some(json!(256)),
        actual: Some(json!(1024)),
        broadening: false,
        details: Vec::new(),
        fate: Some(fate),
    };
    vec![
        resource(
            "Notify",
            DriftStatus::Modified,
            None,
            vec![
                property(
                    "MemorySize",
                    DriftFate::Overwritten {
                        value: Some(json!(512)),
                    },
                ),
                property("Timeout", DriftFate::Reverted),
                property("ReservedConcurrentExecutions", DriftFate::Left),
            ],
        ),
        resource("Ingest", DriftStatus::Deleted, None, Vec::new()),
        resource(
            "PhotoCheck",
            DriftStatus::Unknown,
            Some("lambda:GetFunctionConfiguration: AccessDenied"),
            Vec::new(),
        ),
    ]
}

#[test]
fn every_output_round_trips_through_the_documented_types() {
    for report in reports() {
        let parsed: JsonReport = serde_json::from_value(report.clone())
            .unwrap_or_else(|error| panic!("{error}: {report}"));
        assert_eq!(parsed.schema_version, SCHEMA_VERSION);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), report);
    }
}

#[test]
fn a_report_with_an_extra_field_is_rejected() {
    let mut report = reports().remove(1);
    report["resources"][0]["surprise"] = json!(true);
    assert!(serde_json::from_value::<JsonReport>(report).is_err());
}

/// Field names in the first column of SCHEMA.md's `| Field | ... |` tables.
fn documented_fields() -> BTreeSet<String> {
    let schema =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/SCHEMA.md")).unwrap();
    let mut fields = BTreeSet::new();
    let mut in_field_table = false;
    for line in schema.lines() {
        if !line.starts_with('|') {
            in_field_table = false;
        } else if line.starts_with("| Field |") {
            in_field_table = true;
        } else if in_field_table
            && let Some(name) = line
                .strip_prefix("| `")
                .and_then(|rest| rest.split('`').next())
        {
            fields.insert(name.to_owned());
        }
    }
    fields
}

/// Keys of the report's own objects; template fragments (`old`/`new` of a
/// property or section change, `expected`/`actual` of a drifted property,
/// a fate's `value`) are data, not schema.
fn keys(value: &Json, out: &mut BTreeSet<String>) {
    match value {
        Json::Object(map) => {
            let is_fragment_holder = map.contains_key("path") || map.contains_key("section");
            for (key, child) in map {
                out.insert(key.clone());
                let fragment = match key.as_str() {
                    "old" | "new" | "expected" | "actual" => is_fragment_holder,
                    // Only a drift fate has a `value`.
                    "value" => true,
                    _ => false,
                };
                if !fragment {
                    keys(child, out);
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|item| keys(item, out)),
        _ => {}
    }
}

#[test]
fn every_key_in_the_output_is_documented_in_schema_md() {
    let documented = documented_fields();
    let mut seen = BTreeSet::new();
    for report in reports() {
        keys(&report, &mut seen);
    }
    let undocumented: Vec<_> = seen.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "document these in diff/SCHEMA.md: {undocumented:?}"
    );
    // The fixtures exercise every field (none is documented but never produced).
    let never_seen: Vec<_> = documented.difference(&seen).collect();
    assert!(
        never_seen.is_empty(),
        "SCHEMA.md documents fields the output never has: {never_seen:?}"
    );
}
