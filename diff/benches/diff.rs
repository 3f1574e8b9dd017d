//! Diff time for the prod stack and for two synthetic 500-resource
//! templates with ~10% of resources changed. Target: < 100 ms each.
//!
//! cargo bench -p upstack-diff --bench diff

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use upstack_diff::diff_templates;
use upstack_diff::render::{self, Sources};

const ITERATIONS: usize = 50;

fn measure(label: &str, old: &Json, new: &Json) {
    let mut engine = Vec::with_capacity(ITERATIONS);
    let mut with_rendering = Vec::with_capacity(ITERATIONS);
    let sources = Sources {
        old: "old".into(),
        new: "new".into(),
    };
    let mut last = None;
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        let diff = diff_templates(old, new, upstack_cfn_resources::registry::lookup).unwrap();
        engine.push(started.elapsed());
        let text = render::text(&diff, &sources, false);
        let markdown = render::markdown(&diff, &sources);
        let json = render::json(&diff, &sources);
        with_rendering.push(started.elapsed());
        last = Some((diff.summary(), text.len() + markdown.len() + json.len()));
    }
    let (summary, bytes) = last.unwrap();
    engine.sort();
    with_rendering.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label}: engine median {:.2} ms (max {:.2}); engine + text/markdown/json median {:.2} ms (max {:.2}); {} add, {} change, {} destroy, {} security; {} bytes rendered",
        ms(engine[ITERATIONS / 2]),
        ms(engine[ITERATIONS - 1]),
        ms(with_rendering[ITERATIONS / 2]),
        ms(with_rendering[ITERATIONS - 1]),
        summary.add,
        summary.change,
        summary.destroy,
        summary.security,
        bytes
    );
}

/// A role, a bucket, a queue, a table or a function, cycling.
fn synthetic_resource(index: usize, variant: usize) -> (String, Json) {
    let name = format!("Resource{index:04}");
    let resource = match index % 5 {
        0 => json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": if variant == 0 { json!(["s3:GetObject"]) } else { json!(["s3:GetObject", "s3:PutObject"]) },
                 "Resource": {"Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::bucket-{index}/*")}}]}}]}}),
        1 => json!({"Type": "AWS::S3::Bucket", "Properties": {
            "BucketName": format!("bucket-{index}-{variant}"),
            "VersioningConfiguration": {"Status": "Enabled"},
            "Tags": [{"Key": "index", "Value": index.to_string()}]}}),
        2 => {
            json!({"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30 + variant * 30, "MessageRetentionPeriod": 345600}})
        }
        3 => json!({"Type": "AWS::DynamoDB::Table", "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": variant == 0}}}),
        _ => json!({"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "provided.al2023", "Handler": "bootstrap", "MemorySize": 256 + variant * 256,
            "Role": {"Fn::GetAtt": [format!("Resource{:04}", index - index % 5), "Arn"]},
            "Code": {"S3Bucket": "assets", "S3Key": format!("fn-{index}.zip")},
            "Environment": {"Variables": {"INDEX": index.to_string(), "LONG": "x".repeat(200)}}}}),
    };
    (name, resource)
}

/// 500 resources; in `new`, every 10th is changed, and 1% are removed or added.
fn synthetic_pair() -> (Json, Json) {
    let mut old = serde_json::Map::new();
    let mut new = serde_json::Map::new();
    for index in 0..500 {
        let (name, resource) = synthetic_resource(index, 0);
        old.insert(name.clone(), resource);
        if index % 100 == 7 {
            continue; // removed
        }
        let variant = usize::from(index % 10 == 3);
        new.insert(name, synthetic_resource(index, variant).1);
    }
    for index in 500..505 {
        let (name, resource) = synthetic_resource(index, 0);
        new.insert(name, resource);
    }
    (json!({"Resources": old}), json!({"Resources": new}))
}

/// Every 10th resource gets a changed property or tag, so ~10% change.
fn tweak(template: &Json) -> Json {
    let mut changed = template.clone();
    if let Some(resources) = changed.get_mut("Resources").and_then(Json::as_object_mut) {
        for (index, (_, resource)) in resources.iter_mut().enumerate() {
            if index % 10 == 0
                && let Some(properties) =
                    resource.get_mut("Properties").and_then(Json::as_object_mut)
            {
                properties.insert("BenchmarkMarker".into(), json!({"changed": index}));
            }
        }
    }
    changed
}

fn main() {
    let prod = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../synth-out/prod/template.json");
    match std::fs::read_to_string(&prod) {
        Ok(text) => {
            let template: Json = serde_json::from_str(&text).unwrap();
            let count = template["Resources"]
                .as_object()
                .map_or(0, |resources| resources.len());
            measure(
                &format!("prod stack ({count} resources) vs itself"),
                &template,
                &template,
            );
            measure(
                &format!("prod stack ({count} resources), ~10% changed"),
                &template,
                &tweak(&template),
            );
            measure(
                &format!("prod stack ({count} resources) vs nothing deployed"),
                &json!({}),
                &template,
            );
        }
        Err(error) => println!(
            "prod stack: skipped, cannot read {}: {error} (run `upstack synth`)",
            prod.display()
        ),
    }
    let (old, new) = synthetic_pair();
    measure("synthetic 500 resources, ~10% changed", &old, &new);
    let (old_b, new_b) = synthetic_pair();
    measure(
        "synthetic 500 resources vs 500 (b, tweaked again)",
        &old_b,
        &tweak(&new_b),
    );
}
