//! The CI identities of both envs (`bootstrap --github`) pass the linters:
//! parliament reports no finding on any role's permission policies (run on
//! IAM data refreshed from schemas/iam-actions.json, scripts/lint-iam-policies.py
//! says why), and cfn-lint nothing on the identity templates. Trust policies
//! are asserted exactly in stack/tests/ci_identity.rs (parliament cannot lint
//! them). The tools come from `.venv`; without them this test fails.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use upstack_stack::ci_identity::{self, CiIdentities, Repository};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn tool(name: &str) -> PathBuf {
    let path = Path::new(REPO).join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/setup-test-tools.sh",
        path.display()
    );
    path
}

/// Both envs' identities, with `account_id` pinned as bootstrap requires.
fn identities() -> Vec<CiIdentities> {
    let assets = upstack_stack::pipeline::handlers()
        .iter()
        .map(|h| ((*h).to_owned(), format!("assets/{h}-arm64-00.zip")))
        .collect();
    ["dev", "prod"]
        .iter()
        .map(|env| {
            let text = std::fs::read_to_string(Path::new(REPO).join(format!("envs/{env}.toml")))
                .unwrap()
                .replace(
                    "# account_id = \"123456789012\"",
                    "account_id = \"123456789012\"",
                );
            let config = upstack_stack::config::parse(&format!("envs/{env}.toml"), &text).unwrap();
            let app = upstack_stack::synthesize(env, &config, &assets)
                .unwrap()
                .template;
            let repository = Repository::parse("octo-org/octo-repo").unwrap();
            ci_identity::ci_identities(env, &config, &repository, &app).unwrap()
        })
        .collect()
}

#[test]
fn parliament_finds_nothing_in_the_roles_policies() {
    let python = tool("python");
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for identities in identities() {
        for role in &identities.roles {
            for policy in &role.policies {
                let path = out.path().join(format!("{}.json", policy.name));
                std::fs::write(
                    &path,
                    serde_json::to_string_pretty(&policy.document).unwrap(),
                )
                .unwrap();
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 8, "{files:?}");
    let run = Command::new(python)
        .arg(Path::new(REPO).join("scripts/lint-iam-policies.py"))
        .args(&files)
        .output()
        .unwrap();
    assert!(
        run.status.success() && run.stdout.is_empty(),
        "parliament found problems (exit {:?}):\n{}{}",
        run.status.code(),
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

fn lint(policy: &str) -> (Option<i32>, String) {
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("policy.json");
    std::fs::write(&path, policy).unwrap();
    let run = Command::new(tool("python"))
        .arg(Path::new(REPO).join("scripts/lint-iam-policies.py"))
        .arg(&path)
        .output()
        .unwrap();
    (
        run.status.code(),
        String::from_utf8_lossy(&run.stdout).into_owned(),
    )
}

/// The refreshed data lists s3:GetObject's `accesspointobject` and `object`
/// with neither required; the wrapper keeps parliament's `object*`, so
/// parliament still matches object resources: `*` on object actions is
/// reported, and so is a bucket policy grant without the object actions it
/// implies, while the same grant with them on the bucket's objects passes.
#[test]
fn parliament_still_matches_object_resources_on_the_refreshed_data() {
    let (code, stdout) = lint(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}]}"#,
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("RESOURCE_STAR") && stdout.contains("s3:GetObject"),
        "{stdout}"
    );

    let bucket = r#"{"Effect":"Allow","Action":["s3:PutBucketPolicy","s3:PutBucketAcl","s3:PutLifecycleConfiguration"],"Resource":"arn:aws:s3:::app-dev-*"}"#;
    let (code, stdout) = lint(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{bucket},
            {{"Effect":"Allow","Action":["s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::app-dev-*/*"}}]}}"#
    ));
    assert_eq!(code, Some(1), "{stdout}");
    let escalations: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains("RESOURCE_POLICY_PRIVILEGE_ESCALATION"))
        .collect();
    assert_eq!(escalations.len(), 2, "{stdout}");
    assert!(
        escalations
            .iter()
            .all(|line| line.contains("s3:PutObject not being allowed")),
        "{stdout}"
    );

    let (code, stdout) = lint(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{bucket},
            {{"Effect":"Allow","Action":["s3:GetObject","s3:DeleteObject","s3:PutObject"],"Resource":"arn:aws:s3:::app-dev-*/*"}}]}}"#
    ));
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
}

/// The wrapper does report: a policy with `*` on an action that supports
/// resource-level permissions, and an action the refreshed data lacks.
#[test]
fn parliament_reports_a_resource_star_and_an_unknown_action() {
    let python = tool("python");
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["lambda:PutFunctionScalingConfig"],"Resource":"*"},
            {"Effect":"Allow","Action":["s3:REST.PUT.OBJECT"],"Resource":"arn:aws:s3:::b/*"}]}"#,
    )
    .unwrap();
    let run = Command::new(python)
        .arg(Path::new(REPO).join("scripts/lint-iam-policies.py"))
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("RESOURCE_STAR"), "{stdout}");
    assert!(stdout.contains("UNKNOWN_ACTION"), "{stdout}");
}

#[test]
fn cfn_lint_reports_nothing_on_the_identity_templates() {
    let cfn_lint = tool("cfn-lint");
    let out = tempfile::tempdir().unwrap();
    let mut templates = Vec::new();
    for identities in identities() {
        let path = out.path().join(format!("{}.json", identities.stack_name));
        std::fs::write(&path, identities.template.to_pretty_string()).unwrap();
        templates.push(path);
    }
    let run = Command::new(cfn_lint).args(&templates).output().unwrap();
    assert!(
        run.status.success() && run.stdout.is_empty(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}
