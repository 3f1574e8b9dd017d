//! `synth-out/<env>/manifest.json`: the env's stack plan (functions, stateful
//! resources, stack policy, alarms, queues), written once by synth and read
//! back, typed, by the commands that work from synth's output (`bundle`,
//! `invoke`); `diff`, `deploy` and `status` get the same `Manifest` from an
//! in-memory synth. None of them re-derives a logical ID, an asset key or an
//! alarm name.

use std::path::{Path, PathBuf};

/// The manifest is the stack plan's record, defined with it; its functions,
/// alarms and queues are listed as the stack planned them.
pub use upstack_stack::plan::{
    Manifest, ManifestFunction, QueueName, StackAlarms, template_sha256,
};

/// Where synth writes, relative to the workspace root.
pub const OUT_DIR: &str = "synth-out";
pub const TEMPLATE_FILE: &str = "template.json";
pub const MANIFEST_FILE: &str = "manifest.json";

/// Reads the `template.json` synth wrote beside `manifest`, refusing one
/// that is not the template the manifest was written with.
pub fn read_template(manifest: &Manifest, workspace_root: &Path) -> Result<String, ManifestError> {
    let shown = output_file(&manifest.env, TEMPLATE_FILE);
    let text = read(workspace_root, &shown, &manifest.env)?;
    let found = template_sha256(&text);
    if found != manifest.template_sha256 {
        return Err(ManifestError::TemplateMismatch {
            template: shown,
            manifest: output_file(&manifest.env, MANIFEST_FILE),
            env: manifest.env.clone(),
            expected: manifest.template_sha256.clone(),
            found,
        });
    }
    Ok(text)
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {shown}: {source}; run `upstack synth --env {env}` first")]
    Read {
        shown: String,
        env: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{shown}: {message} (at `{at}`); it is written by synth: run `upstack synth --env {env}` instead of editing it"
    )]
    Invalid {
        shown: String,
        env: String,
        at: String,
        message: String,
    },
    #[error(
        "{template} is not the template {manifest} was written with (sha256 {found}, the manifest says {expected}); run `upstack synth --env {env}`"
    )]
    TemplateMismatch {
        template: String,
        manifest: String,
        env: String,
        expected: String,
        found: String,
    },
}

/// `synth-out/<env>/<file>`: where synth writes `file` for `env`, relative
/// to the workspace root, which is also how messages name it.
pub fn output_file(env: &str, file: &str) -> String {
    format!("{OUT_DIR}/{env}/{file}")
}

fn read(workspace_root: &Path, shown: &str, env: &str) -> Result<String, ManifestError> {
    let path = workspace_root.join(shown);
    std::fs::read_to_string(&path).map_err(|source| ManifestError::Read {
        shown: shown.to_owned(),
        env: env.to_owned(),
        path,
        source,
    })
}

/// Reads `synth-out/<env>/manifest.json`: the one loader every command uses.
pub fn load(workspace_root: &Path, env: &str) -> Result<Manifest, ManifestError> {
    let shown = output_file(env, MANIFEST_FILE);
    let text = read(workspace_root, &shown, env)?;
    parse(&text, &shown, env)
}

/// Parses a manifest's text; errors name `shown` and the JSON path at fault.
pub fn parse(text: &str, shown: &str, env: &str) -> Result<Manifest, ManifestError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let at = error.path().to_string();
        ManifestError::Invalid {
            shown: shown.to_owned(),
            env: env.to_owned(),
            at: if at.is_empty() || at == "." {
                "the top level".to_owned()
            } else {
                at
            },
            message: strip_position(&error.into_inner().to_string()),
        }
    })
}

/// serde_json appends " at line L column C"; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upstack_cfn::StatefulResource;
    use upstack_contract::Architecture;

    fn manifest() -> Manifest {
        Manifest {
            env: "dev".to_owned(),
            stack_name: "upstack-dev".to_owned(),
            region: "eu-west-1".to_owned(),
            account_id: None,
            termination_protection: false,
            production: true,
            template_sha256: "ab".repeat(32),
            tags: Default::default(),
            functions: vec![ManifestFunction {
                logical_id: "PhotoCheckFunction".to_owned(),
                handler: "photo-check".to_owned(),
                function_name: "upstack-dev-photo-check".to_owned(),
                architecture: Architecture::Arm64,
                build_profile: upstack_contract::BuildProfile::Fast,
                asset_key: "assets/photo-check-arm64-00.zip".to_owned(),
                log_group: "/aws/lambda/upstack-dev-photo-check".to_owned(),
                reserved_concurrency: None,
            }],
            stateful_resources: vec![StatefulResource {
                logical_id: "Table".to_owned(),
                resource_type: "AWS::DynamoDB::Table".to_owned(),
            }],
            stack_policy: upstack_cfn::stack_policy::protecting(&[StatefulResource {
                logical_id: "Table".to_owned(),
                resource_type: "AWS::DynamoDB::Table".to_owned(),
            }]),
            alarms: StackAlarms {
                alarms: vec![upstack_stack::StackAlarm {
                    name: "upstack-dev-photo-check-errors".to_owned(),
                    kind: upstack_stack::config::AlarmKind::FunctionErrors,
                }],
                deploy_guard: Some("upstack-dev-deploy-guard".to_owned()),
                monitoring_minutes: 10,
            },
            queues: vec![QueueName {
                id: "failures".to_owned(),
                name: "upstack-dev-failures".to_owned(),
            }],
            execution_role_arn: None,
            upload_bucket: None,
        }
    }

    /// Moved from deploy, which used to compute the policy itself: the
    /// registry decides what is stateful, and the policy denies replacing or
    /// deleting exactly those resources.
    #[test]
    fn stack_policy_denies_replace_and_delete_on_stateful_resources_only() {
        let lookup = upstack_cfn_resources::registry::lookup;
        let template = serde_json::json!({"Resources": {
            "Uploads": {"Type": "AWS::S3::Bucket"},
            "Table": {"Type": "AWS::DynamoDB::Table"},
            "Fn": {"Type": "AWS::Lambda::Function"}
        }});
        let stateful = upstack_cfn::stack_policy::stateful_resources(&template, lookup);
        let ids: Vec<&str> = stateful.iter().map(|r| r.logical_id.as_str()).collect();
        assert_eq!(ids, ["Table", "Uploads"]);
        let policy = upstack_cfn::stack_policy::protecting(&stateful).unwrap();
        let deny = &policy.as_json()["Statement"][1];
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(
            deny["Action"],
            serde_json::json!(["Update:Replace", "Update:Delete"])
        );
        assert_eq!(
            deny["Resource"],
            serde_json::json!(["LogicalResourceId/Table", "LogicalResourceId/Uploads"])
        );
        let stateless = serde_json::json!({"Resources": {"Fn": {"Type": "AWS::SNS::Topic"}}});
        assert_eq!(
            upstack_cfn::stack_policy::stateful_resources(&stateless, lookup),
            vec![]
        );
        assert_eq!(
            upstack_cfn::stack_policy::protective(&stateless, lookup),
            None
        );
    }

    #[test]
    fn round_trips_through_its_json() {
        let manifest = manifest();
        let json = manifest.to_json();
        assert!(json.contains("\"handler\": \"photo-check\""), "{json}");
        assert!(json.contains("\"architecture\": \"arm64\""), "{json}");
        assert!(json.contains("\"LogicalResourceId/Table\""), "{json}");
        assert_eq!(parse(&json, "m.json", "dev").unwrap(), manifest);
        assert_eq!(
            manifest
                .function("photo-check")
                .map(|f| f.logical_id.as_str()),
            Some("PhotoCheckFunction")
        );
        assert!(manifest.function("notify").is_none());
    }

    #[test]
    fn errors_name_the_file_the_path_and_the_fix() {
        let json = manifest().to_json().replace("\"arm64\"", "\"arm\"");
        let error = parse(&json, "synth-out/dev/manifest.json", "dev")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "synth-out/dev/manifest.json: `arm` is not a Lambda architecture (x86_64 or arm64) \
             (at `functions[0].architecture`); it is written by synth: run `upstack synth --env dev` instead of editing it"
        );
        let error = parse("{}", "m.json", "dev").unwrap_err().to_string();
        assert_eq!(
            error,
            "m.json: missing field `env` (at `the top level`); it is written by synth: run `upstack synth --env dev` instead of editing it"
        );
        let error = parse("{", "m.json", "dev").unwrap_err().to_string();
        assert!(
            error.starts_with("m.json: EOF while parsing an object"),
            "{error}"
        );
    }

    #[test]
    fn the_template_must_be_the_one_the_manifest_was_written_with() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = manifest();
        let template = "{\"Resources\": {}}\n";
        manifest.template_sha256 = template_sha256(template);
        std::fs::create_dir_all(dir.path().join("synth-out/dev")).unwrap();
        let path = dir.path().join("synth-out/dev/template.json");
        std::fs::write(&path, template).unwrap();
        assert_eq!(read_template(&manifest, dir.path()).unwrap(), template);
        std::fs::write(&path, "{}\n").unwrap();
        let error = read_template(&manifest, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "synth-out/dev/template.json is not the template synth-out/dev/manifest.json was written with"
            ),
            "{error}"
        );
        assert!(error.ends_with("run `upstack synth --env dev`"), "{error}");
    }

    #[test]
    fn a_missing_manifest_says_to_synth() {
        let dir = tempfile::tempdir().unwrap();
        let error = load(dir.path(), "dev").unwrap_err().to_string();
        assert!(
            error.starts_with("cannot read synth-out/dev/manifest.json: "),
            "{error}"
        );
        assert!(
            error.ends_with("run `upstack synth --env dev` first"),
            "{error}"
        );
    }
}
