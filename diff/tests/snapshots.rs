//! Every fixture pair rendered in every format. Review changed snapshots by
//! eye: they are what reviewers and CI read.

// Test helpers outside #[test] fns: a panic here is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use upstack_diff::render::{self, Sources};

fn render_case(case: &str, format: &str) -> String {
    let diff = common::diff_case(case);
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

/// One module of three snapshot tests per case, and the list of the cases
/// that have them: the fixture directories are checked against this list,
/// so a fixture without snapshots fails (`every_fixture_has_a_snapshot_case`).
macro_rules! snapshot_cases {
    ($($name:ident),* $(,)?) => {
        $(
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
        )*
        /// Every case with snapshots, as the macro generated them.
        const SNAPSHOT_CASES: &[&str] = &[$(stringify!($name)),*];
    };
}

snapshot_cases!(
    no_change,
    property_change,
    replacement,
    stateful_removed,
    iam_added,
    iam_widened,
    iam_narrowed,
    key_policy,
    resource_added,
    key_schema_change,
    retained_replacement,
    custom_name_replacement,
    stack_policy_refusal,
    code_only,
    pseudo_no_replacement,
    drift,
);

/// What a reviewer must be able to rely on in each new case, beyond the
/// snapshot's text.
#[test]
fn each_case_predicts_what_cloudformation_will_do() {
    use upstack_diff::{ConsequenceKind, FailOn, Replacement};
    let resource = |case: &str, id: &str| {
        common::diff_case(case)
            .resources
            .into_iter()
            .find(|change| change.logical_id == id)
            .unwrap_or_else(|| panic!("{case}: no {id}"))
    };
    let first = |case: &str, id: &str| resource(case, id).consequences[0].kind;
    assert_eq!(
        first("key_schema_change", "Records"),
        ConsequenceKind::RefusedCustomName
    );
    assert_eq!(
        first("retained_replacement", "Records"),
        ConsequenceKind::Retained
    );
    assert_eq!(
        first("custom_name_replacement", "Uploads"),
        ConsequenceKind::RefusedCustomName
    );
    assert_eq!(
        first("stack_policy_refusal", "Records"),
        ConsequenceKind::RefusedStackPolicy
    );
    assert!(resource("code_only", "Ingest").code_update);
    assert_eq!(
        resource("pseudo_no_replacement", "Records").replacement,
        Replacement::None
    );
    for case in [
        "key_schema_change",
        "retained_replacement",
        "custom_name_replacement",
        "stack_policy_refusal",
        "stateful_removed",
    ] {
        assert!(
            !FailOn::Destructive
                .violations(&common::diff_case(case))
                .is_empty(),
            "{case} must fail --fail-on destructive"
        );
    }
    for case in ["code_only", "pseudo_no_replacement"] {
        let diff = common::diff_case(case);
        assert!(FailOn::Destructive.violations(&diff).is_empty(), "{case}");
        assert!(FailOn::Broadening.violations(&diff).is_empty(), "{case}");
    }
}

/// 500 resources changed at once: the comment stays under the cap, keeps
/// every destructive change, and says what it cut.
#[test]
fn markdown_of_a_500_resource_change_fits_a_pull_request_comment() {
    use serde_json::json;
    let mut old = serde_json::Map::new();
    let mut new = serde_json::Map::new();
    for index in 0..500 {
        let id = format!("Table{index:03}");
        let table = |name: String, billing: &str| {
            json!({"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                   "Properties": {"TableName": name, "BillingMode": billing,
                                  "Description": "x".repeat(150)}})
        };
        old.insert(id.clone(), table(format!("t-{index}"), "PROVISIONED"));
        // Every 25th table is renamed (replaced, destructive); the rest change billing.
        let name = if index % 25 == 0 {
            format!("t-{index}-v2")
        } else {
            format!("t-{index}")
        };
        new.insert(id, table(name, "PAY_PER_REQUEST"));
    }
    let diff = upstack_diff::diff_templates(
        &json!({"Resources": old}),
        &json!({"Resources": new}),
        common::lookup,
    )
    .unwrap();
    assert_eq!(diff.summary().destructive, 20);
    let sources = Sources {
        old: "old".into(),
        new: "new".into(),
    };
    let text = render::markdown(&diff, &sources);
    assert!(
        text.chars().count() <= render::MAX_MARKDOWN_CHARS,
        "{} characters",
        text.chars().count()
    );
    for index in (0..500).step_by(25) {
        assert!(
            text.contains(&format!("- **Table{index:03}**")),
            "destructive Table{index:03} is missing"
        );
    }
    let last = text.lines().last().unwrap();
    assert!(
        last.contains("more entries not shown") && last.contains("--format json"),
        "{last}"
    );
    // Summary first.
    assert!(
        text.lines()
            .nth(2)
            .unwrap()
            .starts_with("**0 to add, 500 to change")
    );
    // A small cap still keeps the summary and says what it cut.
    let tiny = render::markdown_capped(&diff, &sources, 2_000);
    assert!(tiny.chars().count() <= 2_000, "{}", tiny.chars().count());
    assert!(tiny.contains("not shown"));
}

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
    // The cases the snapshot macro generated tests for, not a second list.
    let mut with_snapshots: Vec<String> =
        SNAPSHOT_CASES.iter().map(|case| case.to_string()).collect();
    with_snapshots.sort();
    assert_eq!(
        on_disk, with_snapshots,
        "every fixture needs snapshot tests"
    );
    // The schema tests go through the shared list: it must be the same.
    let mut shared: Vec<String> = common::CASES.iter().map(|case| case.to_string()).collect();
    shared.sort();
    assert_eq!(shared, with_snapshots);
}
