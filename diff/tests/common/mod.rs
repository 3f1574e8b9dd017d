//! Fixture loading and the registry lookup the tests diff with.

#![allow(dead_code)]

use std::path::PathBuf;

use upstack_cfn::ResourceInfo;

/// The generated registry: fixtures are diffed with the facts prod uses.
pub fn lookup(type_name: &str) -> Option<&'static ResourceInfo> {
    upstack_resources::registry::lookup(type_name)
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

pub const CASES: [&str; 9] = [
    "no_change",
    "property_change",
    "replacement",
    "stateful_removed",
    "iam_added",
    "iam_widened",
    "iam_narrowed",
    "key_policy",
    "resource_added",
];
