//! Snapshots of both environments' templates (with fixed asset keys, so a
//! handler edit does not churn them) and determinism.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::Value as Json;
use upstack_stack::config;

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

fn synth(env: &str, text: &str) -> String {
    let config = config::parse(&format!("envs/{env}.toml"), text).unwrap();
    upstack_stack::synthesize(env, &config, &assets())
        .unwrap()
        .template
        .to_pretty_string()
}

const DEV: &str = include_str!("../../envs/dev.toml");
const PROD: &str = include_str!("../../envs/prod.toml");

#[test]
fn dev_template() {
    insta::assert_snapshot!("dev_template", synth("dev", DEV));
}

#[test]
fn prod_template() {
    insta::assert_snapshot!("prod_template", synth("prod", PROD));
}

#[test]
fn synth_is_byte_identical_across_runs() {
    assert_eq!(synth("dev", DEV), synth("dev", DEV));
    assert_eq!(synth("prod", PROD), synth("prod", PROD));
}

fn resources(text: &str) -> serde_json::Map<String, Json> {
    let json: Json = serde_json::from_str(text).unwrap();
    json["Resources"].as_object().unwrap().clone()
}

#[test]
fn prod_retains_stateful_resources_and_dev_does_not() {
    let prod = resources(&synth("prod", PROD));
    for id in ["Key", "UploadBucket", "AccessLogsBucket", "Table"] {
        assert_eq!(prod[id]["DeletionPolicy"], "Retain", "{id}");
        assert_eq!(prod[id]["UpdateReplacePolicy"], "Retain", "{id}");
    }
    assert_eq!(
        prod["Table"]["Properties"]["DeletionProtectionEnabled"],
        true
    );
    let dev = resources(&synth("dev", DEV));
    assert_eq!(dev["Table"]["DeletionPolicy"], "Delete");
    assert!(
        dev["Table"]["Properties"]
            .get("DeletionProtectionEnabled")
            .is_none()
    );
}

#[test]
fn no_account_id_literal_and_no_wildcard_actions_in_roles() {
    for text in [synth("dev", DEV), synth("prod", PROD)] {
        assert!(!text.contains("123456789012"));
        for (id, resource) in resources(&text) {
            if resource["Type"] != "AWS::IAM::Role" {
                continue;
            }
            for policy in resource["Properties"]["Policies"].as_array().unwrap() {
                for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                    for action in statement["Action"].as_array().unwrap() {
                        let action = action.as_str().unwrap();
                        assert!(!action.contains('*'), "{id}: {action}");
                    }
                    let star = statement["Resource"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|r| r == "*");
                    if star {
                        // Only actions without resource-level permissions.
                        let allowed = [
                            serde_json::json!(["rekognition:DetectFaces"]),
                            serde_json::json!([
                                "xray:PutTelemetryRecords",
                                "xray:PutTraceSegments"
                            ]),
                        ];
                        assert!(
                            allowed.contains(&statement["Action"]),
                            "{id}: {}",
                            statement["Action"]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn every_taggable_resource_carries_the_env_tags() {
    let text = synth("dev", DEV);
    for (id, resource) in resources(&text) {
        let info =
            upstack_cfn_resources::registry::lookup(resource["Type"].as_str().unwrap()).unwrap();
        if info.taggable {
            let tags = resource["Properties"]["Tags"]
                .as_array()
                .unwrap_or_else(|| panic!("{id} has no Tags"));
            assert!(
                tags.iter()
                    .any(|t| t["Key"] == "environment" && t["Value"] == "dev"),
                "{id}"
            );
        }
    }
}

#[test]
fn a_new_env_is_just_a_new_file() {
    let staging = DEV
        .replace("upstack-dev", "upstack-staging")
        .replace("region = \"eu-west-1\"", "region = \"us-east-2\"");
    let text = synth("staging", &staging);
    assert!(text.contains("upstack-staging-uploads-${AWS::AccountId}-${AWS::Region}"));
    assert!(text.contains("logs.us-east-2.amazonaws.com"));
}

#[test]
fn tracing_follows_the_env_config() {
    let prod = resources(&synth("prod", PROD));
    let dev = resources(&synth("dev", DEV));
    for handler in ["Notify", "Ingest", "PhotoCheck"] {
        let function = format!("{handler}Function");
        assert_eq!(
            prod[&function]["Properties"]["TracingConfig"]["Mode"],
            "Active"
        );
        assert!(dev[&function]["Properties"].get("TracingConfig").is_none());
        let role = format!("{handler}Role");
        assert!(
            serde_json::to_string(&prod[&role])
                .unwrap()
                .contains("xray:PutTraceSegments")
        );
        assert!(
            !serde_json::to_string(&dev[&role])
                .unwrap()
                .contains("xray:")
        );
    }
}

/// The monitoring parts of prod in a reviewable form: one line per alarm and
/// the dashboard body pretty-printed.
#[test]
fn prod_monitoring() {
    let text = synth("prod", PROD);
    let mut out = String::new();
    for (id, resource) in resources(&text) {
        if resource["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let p = &resource["Properties"];
        let dimensions: Vec<String> = p["Dimensions"]
            .as_array()
            .map(|dims| {
                dims.iter()
                    .map(|d| {
                        format!(
                            "{}={}",
                            d["Name"].as_str().unwrap(),
                            d["Value"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "{id}: {} | {} {} [{}] | {} >= {} | {} s x {} | missing: {} | actions {}\n",
            p["AlarmName"].as_str().unwrap(),
            p["Namespace"].as_str().unwrap(),
            p["MetricName"].as_str().unwrap(),
            dimensions.join(","),
            p["Statistic"].as_str().unwrap(),
            p["Threshold"],
            p["Period"],
            p["EvaluationPeriods"],
            p["TreatMissingData"].as_str().unwrap(),
            p["ActionsEnabled"],
        ));
    }
    let body = resources(&text)["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let body: Json = serde_json::from_str(&body).expect("the dashboard body is JSON");
    // In the canonical key order, as every other JSON in the snapshots.
    out.push('\n');
    out.push_str(&serde_json::to_string_pretty(&upstack_cfn::json::Canonical(&body)).unwrap());
    insta::assert_snapshot!("prod_monitoring", out);
}

#[test]
fn every_alarm_notifies_the_alerts_topic_on_alarm_and_ok() {
    for (env, text) in [("dev", synth("dev", DEV)), ("prod", synth("prod", PROD))] {
        let alarms: Vec<(String, Json)> = resources(&text)
            .into_iter()
            .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
            .collect();
        // 3 per function, 3 queues, rejected rows.
        assert_eq!(alarms.len(), 13, "{env}");
        let alerts = serde_json::json!([{"Fn::GetAtt": ["AlertsTopic", "TopicArn"]}]);
        for (id, alarm) in alarms {
            let p = &alarm["Properties"];
            assert_eq!(p["AlarmActions"], alerts, "{id}");
            assert_eq!(p["OKActions"], alerts, "{id}");
            assert_eq!(p["TreatMissingData"], "notBreaching", "{id}");
            assert!(
                p["AlarmName"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("upstack-{env}-")),
                "{id}"
            );
        }
    }
}

#[test]
fn the_deploy_guard_is_any_alarm_of_the_stack_and_sends_nothing() {
    for (env, text) in [("dev", synth("dev", DEV)), ("prod", synth("prod", PROD))] {
        let resources = resources(&text);
        let members: Vec<(&String, &str)> = resources
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
            .map(|(id, r)| (id, r["Properties"]["AlarmName"].as_str().unwrap()))
            .collect();
        let guard = &resources["DeployGuardAlarm"];
        assert_eq!(guard["Type"], "AWS::CloudWatch::CompositeAlarm");
        let p = &guard["Properties"];
        assert_eq!(p["AlarmName"], format!("upstack-{env}-deploy-guard"));
        let rule = p["AlarmRule"].as_str().unwrap();
        let terms: Vec<&str> = rule.split(" OR ").collect();
        assert_eq!(terms.len(), members.len(), "{env}");
        let depends: Vec<&str> = guard["DependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap())
            .collect();
        for (id, name) in &members {
            assert!(
                terms.contains(&format!("ALARM(\"{name}\")").as_str()),
                "{env}: {name}"
            );
            assert!(depends.contains(&id.as_str()), "{env}: {id}");
        }
        for actions in ["AlarmActions", "OKActions", "InsufficientDataActions"] {
            assert!(p.get(actions).is_none(), "{env}: {actions}");
        }
    }
}

#[test]
fn key_policy_service_statements_name_exact_actions() {
    for text in [synth("dev", DEV), synth("prod", PROD)] {
        let key = &resources(&text)["Key"];
        let statements = key["Properties"]["KeyPolicy"]["Statement"]
            .as_array()
            .unwrap();
        let mut services = Vec::new();
        for statement in statements {
            let Some(service) = statement["Principal"].get("Service") else {
                continue; // the account-root administration statement
            };
            services.push(service[0].as_str().unwrap().to_owned());
            for action in statement["Action"].as_array().unwrap() {
                assert!(!action.as_str().unwrap().contains('*'), "{statement}");
            }
        }
        assert_eq!(
            services,
            [
                "sns.amazonaws.com",
                "logs.eu-west-1.amazonaws.com",
                "cloudwatch.amazonaws.com"
            ]
        );
        let cloudwatch = statements.last().unwrap();
        assert_eq!(
            cloudwatch["Action"],
            serde_json::json!(["kms:Decrypt", "kms:GenerateDataKey"])
        );
        assert_eq!(
            cloudwatch["Condition"],
            serde_json::json!({"StringEquals": {"aws:SourceAccount": [{"Ref": "AWS::AccountId"}]}})
        );
    }
}

#[test]
fn every_function_gets_its_env_metrics_namespace() {
    let prod = resources(&synth("prod", PROD));
    for handler in ["Notify", "Ingest", "PhotoCheck"] {
        assert_eq!(
            prod[&format!("{handler}Function")]["Properties"]["Environment"]["Variables"]["METRICS_NAMESPACE"],
            "upstack/prod"
        );
    }
}

#[test]
fn prod_fits_the_inline_template_limit() {
    let config = config::parse("envs/prod.toml", PROD).unwrap();
    let template = upstack_stack::synthesize("prod", &config, &assets())
        .unwrap()
        .template;
    let compact = upstack_cfn::validate::upload_body(&template.to_json());
    assert!(compact.len() < 51_200, "{} bytes", compact.len());
}
