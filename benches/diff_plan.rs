//! `upstack diff --plan PLAN.json` as a whole process (start-up, plan load,
//! rendering), for a plan of the prod stack against nothing deployed and for
//! a 500-resource change. Target: <= 100 ms each.
//!
//! cargo bench --bench diff_plan        (the release binary)
//! cargo test --bench diff_plan         (the debug binary `cargo run` uses: an upper bound)

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use upstack_deploy::plan::{FORMAT_VERSION, PlannedChangeSet, PlannedKind, Review, ReviewedPlan};

const RUNS: usize = 20;

fn plan_of(old: &Json, new: &Json, path: &Path) {
    let diff =
        upstack_diff::diff_templates(old, new, upstack_cfn_resources::registry::lookup).unwrap();
    let sources = upstack_diff::render::Sources {
        old: "stack upstack-prod (deployed)".into(),
        new: "change set upstack-bench".into(),
    };
    // The real prod manifest: what a plan of the prod stack carries.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut manifest = upstack_project::manifest::load(root, "prod").unwrap();
    // Rendering needs no asset; a plan must verify one per function.
    manifest.functions.clear();
    ReviewedPlan {
        format_version: FORMAT_VERSION,
        manifest,
        account: "123456789012".into(),
        region: "eu-west-1".into(),
        change_set: PlannedChangeSet {
            arn: "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/upstack-bench/0".into(),
            name: "upstack-bench".into(),
            // A CREATE plan needs no stack snapshot; rendering is the same.
            kind: PlannedKind::Create,
            stack_id: None,
        },
        template_sha256: "a".repeat(64),
        asset_bucket: "upstack-assets-123456789012-eu-west-1".into(),
        assets: vec![],
        stack: None,
        review: Review::default(),
        diff: upstack_diff::render::report(&diff, &sources),
    }
    .save(path)
    .unwrap();
}

fn measure(label: &str, plan: &Path) {
    for format in ["text", "markdown", "json"] {
        let mut times = Vec::with_capacity(RUNS);
        let mut bytes = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_upstack"))
                .args(["diff", "--plan"])
                .arg(plan)
                .args(["--format", format, "--color", "never"])
                .output()
                .unwrap();
            times.push(started.elapsed());
            assert!(matches!(output.status.code(), Some(0 | 2)), "{output:?}");
            bytes = output.stdout.len();
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "diff --plan, {label}, --format {format}: median {:.1} ms (min {:.1}, max {:.1}) over {RUNS} runs; {bytes} bytes out",
            ms(times[RUNS / 2]),
            ms(times[0]),
            ms(times[RUNS - 1]),
        );
    }
}

/// 500 tables; `variant` changes every tenth one's billing and replaces
/// every twentieth (key schema), so the plan has a realistic mix.
fn tables(variant: usize) -> Json {
    let mut resources = serde_json::Map::new();
    for index in 0..500 {
        let changed = variant > 0 && index % 10 == 0;
        let replaced = variant > 0 && index % 20 == 0;
        resources.insert(
            format!("Table{index:03}"),
            json!({"Type": "AWS::DynamoDB::Table", "Properties": {
                "TableName": format!("t{index}"),
                "BillingMode": if changed { "PROVISIONED" } else { "PAY_PER_REQUEST" },
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
                "KeySchema": if replaced {
                    json!([{"AttributeName": "sk", "KeyType": "HASH"}])
                } else {
                    json!([{"AttributeName": "pk", "KeyType": "HASH"}])
                }
            }}),
        );
    }
    json!({"Resources": resources})
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let prod: Json = serde_json::from_str(
        &std::fs::read_to_string(root.join("synth-out/prod/template.json")).unwrap(),
    )
    .unwrap();
    let prod_plan = dir.path().join("prod.json");
    plan_of(&json!({"Resources": {}}), &prod, &prod_plan);
    measure("prod stack (everything added)", &prod_plan);
    let big_plan = dir.path().join("big.json");
    plan_of(&tables(0), &tables(1), &big_plan);
    measure("500 resources, 50 changed, 25 replaced", &big_plan);
}
