//! Fixture loading and the registry lookup the tests diff with.

#![allow(dead_code)]

use std::path::PathBuf;

use upstack_cfn::ResourceInfo;

/// The generated registry: fixtures are diffed with the facts prod uses.
pub fn lookup(type_name: &str) -> Option<&'static ResourceInfo> {
    upstack_cfn_resources::registry::lookup(type_name)
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

pub fn load(case: &str, side: &str) -> serde_json::Value {
    let path = fixture_dir().join(case).join(format!("{side}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("parse {}: {error}", path.display()))
}

pub const CASES: [&str; 16] = [
    "no_change",
    "property_change",
    "replacement",
    "stateful_removed",
    "iam_added",
    "iam_widened",
    "iam_narrowed",
    "key_policy",
    "resource_added",
    "key_schema_change",
    "retained_replacement",
    "custom_name_replacement",
    "stack_policy_refusal",
    "code_only",
    "pseudo_no_replacement",
    "drift",
];

/// What the diff knows about the target, per case: most cases know
/// nothing; two show what a known region or a stack policy decides.
pub fn context(case: &str, new: &serde_json::Value) -> upstack_diff::DiffContext {
    match case {
        "pseudo_no_replacement" => upstack_diff::DiffContext {
            pseudo: upstack_diff::PseudoValues::for_region("eu-west-1")
                .with_account_id("123456789012"),
            stack_policy: None,
        },
        "stack_policy_refusal" => upstack_diff::DiffContext {
            pseudo: upstack_diff::PseudoValues::default(),
            stack_policy: upstack_cfn::stack_policy::protective(new, lookup),
        },
        _ => upstack_diff::DiffContext::default(),
    }
}

/// Diffs a fixture pair with its case's context; where the case has an
/// `observed.json` (what the account holds, per logical ID), its drift
/// against the old (deployed) template too, with each value's fate.
pub fn diff_case(case: &str) -> upstack_diff::TemplateDiff {
    let old = load(case, "old");
    let new = load(case, "new");
    let mut diff = upstack_diff::diff_templates_with(&old, &new, lookup, &context(case, &new))
        .unwrap_or_else(|error| panic!("{case}: {error}"));
    if fixture_dir().join(case).join("observed.json").exists() {
        let mut found = drift(&old, &load(case, "observed"));
        upstack_diff::drift::assign_fates(&mut found, &diff, false);
        diff.drift = found;
    }
    diff
}

fn drift(
    deployed: &serde_json::Value,
    observed: &serde_json::Value,
) -> Vec<upstack_diff::drift::ResourceDrift> {
    use upstack_diff::drift::{Observed, resource_drift};
    let names = |value: &serde_json::Value| -> Vec<&'static str> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|name| name.as_str())
            .map(|name| &*Box::leak(name.to_owned().into_boxed_str()))
            .collect()
    };
    let map = |value: &serde_json::Value| value.as_object().cloned().unwrap_or_default();
    let mut found = Vec::new();
    for (logical_id, seen) in observed.as_object().into_iter().flatten() {
        let resource = &deployed["Resources"][logical_id];
        let observed = if seen == "deleted" {
            Observed::Deleted
        } else if let Some(reason) = seen.get("unknown").and_then(|reason| reason.as_str()) {
            Observed::Unknown(reason.to_owned())
        } else {
            Observed::Read {
                properties: map(&seen["properties"]),
                covered: names(&seen["covered"]),
                defaults: map(&seen["defaults"]),
                unordered: Vec::new(),
            }
        };
        found.extend(resource_drift(
            logical_id,
            resource["Type"].as_str().unwrap_or_default(),
            Some(&format!("physical-{logical_id}")),
            &map(&resource["Properties"]),
            &observed,
        ));
    }
    found.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    found
}
