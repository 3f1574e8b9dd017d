//! Every fixture pair rendered in every format. Review changed snapshots by
//! eye: they are what reviewers and CI read.

// Test helpers outside #[test] fns: a panic here is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use upstack_diff::diff_templates;
use upstack_diff::render::{self, Sources};

fn render_case(case: &str, format: &str) -> String {
    let old = common::load(case, "old");
    let new = common::load(case, "new");
    let diff = diff_templates(&old, &new, common::lookup)
        .unwrap_or_else(|error| panic!("{case}: {error}"));
    let sources = Sources {
        old: format!("fixtures/{case}/old.json"),
        new: format!("fixtures/{case}/new.json"),
    };
    match format {
        "text" => render::text(&diff, &sources, false),
        "markdown" => render::markdown(&diff, &sources),
        "json" => render::json(&diff, &sources),
        other => panic!("unknown format {other}"),
    }
}

macro_rules! snapshot_case {
    ($name:ident) => {
        mod $name {
            #[test]
            fn text() {
                insta::assert_snapshot!(super::render_case(stringify!($name), "text"));
            }
            #[test]
            fn markdown() {
                insta::assert_snapshot!(super::render_case(stringify!($name), "markdown"));
            }
            #[test]
            fn json() {
                insta::assert_snapshot!(super::render_case(stringify!($name), "json"));
            }
        }
    };
}

snapshot_case!(no_change);
snapshot_case!(property_change);
snapshot_case!(replacement);
snapshot_case!(stateful_removed);
snapshot_case!(iam_added);
snapshot_case!(iam_widened);
snapshot_case!(iam_narrowed);
snapshot_case!(key_policy);
snapshot_case!(resource_added);

#[test]
fn every_fixture_has_a_snapshot_case() {
    let mut on_disk: Vec<String> = std::fs::read_dir(common::fixture_dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    on_disk.sort();
    let mut listed: Vec<String> = common::CASES.iter().map(|case| case.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}
