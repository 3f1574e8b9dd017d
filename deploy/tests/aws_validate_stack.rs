//! The pipeline templates `synth` produces, checked by both validators: ours
//! (with the generated registry) and AWS's. AWS's validator must find nothing
//! it rates as an error; its warnings are listed in the failure message of
//! `aws_warnings_are_the_reviewed_ones` so a new one is noticed and reviewed.

use std::collections::BTreeMap;

use upstack_cfn::validate::{upload_body, validate_json};
use upstack_deploy::validate::{FindingSeverity, aws_validate};

const DEV: &str = include_str!("../../envs/dev.toml");
const PROD: &str = include_str!("../../envs/prod.toml");

fn assets() -> BTreeMap<String, String> {
    upstack_stack::pipeline::handlers()
        .iter()
        .map(|h| {
            (
                (*h).to_owned(),
                format!("assets/{h}-arm64-0000000000000000.zip"),
            )
        })
        .collect()
}

/// Each environment's template as deploy uploads it.
fn bodies() -> Vec<(&'static str, String)> {
    [("dev", DEV), ("prod", PROD)]
        .into_iter()
        .map(|(env, text)| {
            let config = upstack_stack::config::parse(&format!("envs/{env}.toml"), text)
                .unwrap_or_else(|error| panic!("envs/{env}.toml: {error}"));
            let template = upstack_stack::synthesize(env, &config, &assets())
                .unwrap_or_else(|error| panic!("synth {env}: {error}"))
                .template;
            (env, upload_body(&template.to_json()))
        })
        .collect()
}

#[test]
fn aws_finds_no_errors_in_the_pipeline_templates() {
    for (env, body) in bodies() {
        let findings = aws_validate(&body).unwrap();
        let errors: Vec<String> = findings
            .iter()
            .filter(|f| f.severity == FindingSeverity::Error)
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors, Vec::<String>::new(), "{env}");
    }
}

#[test]
fn aws_warnings_are_the_reviewed_ones() {
    // The one list deploy's pre-flight also reads (each entry says why).
    let reviewed: Vec<&str> = upstack_deploy::validate::REVIEWED_WARNINGS
        .iter()
        .map(|(rule, _)| *rule)
        .collect();
    for (env, body) in bodies() {
        let unreviewed: Vec<String> = aws_validate(&body)
            .unwrap()
            .iter()
            .filter(|f| f.severity == FindingSeverity::Warning)
            .filter(|f| {
                let reviewed_rule = reviewed.contains(&f.rule.as_str());
                !(reviewed_rule
                    && f.path
                        .ends_with("UploadBucketPermission.Properties.SourceArn"))
            })
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            unreviewed,
            Vec::<String>::new(),
            "{env}: new warnings from AWS's validator"
        );
    }
}

#[test]
fn our_validator_accepts_the_templates_with_the_generated_registry() {
    for (env, body) in bodies() {
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        let report = validate_json(&json, upstack_cfn_resources::registry::lookup)
            .unwrap_or_else(|errors| panic!("{env}: {errors}"));
        assert_eq!(report.body_bytes, body.len(), "{env}");
    }
}
