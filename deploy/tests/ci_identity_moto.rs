//! `bootstrap --env dev --github OWNER/REPO` against a moto server on
//! 127.0.0.1: the account's GitHub OIDC provider and the env's CI stack are
//! created, the three roles are read back through the IAM API (trust and
//! permission policies), a second run changes nothing and says so, and a
//! provider configured for something else is refused before anything exists.
//!
//! What moto cannot do shapes the test:
//! - its CloudFormation silently skips `AWS::IAM::OIDCProvider`: bootstrap
//!   makes the provider through the IAM API anyway (it is the account's, not
//!   the env's), so the test reads it there;
//! - the CI roles' permissions are `AWS::IAM::ManagedPolicy` resources
//!   attached with `Roles`: their documents are read back with
//!   GetPolicyVersion and compared as JSON with the template's;
//! - DeleteStack cannot delete a managed policy attached with `Roles`: the
//!   test never deletes the CI stack; each test's moto server is discarded;
//! - Outputs are empty after ExecuteChangeSet: bootstrap prints the role ARNs
//!   from the pure layer, and the ARNs are read from IAM here.
//!
//! Ctrl-C, rollbacks and busy stacks are states moto never produces; the
//! stack states bootstrap shares with deploy are covered by deploy_states.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_iam::Client as Iam;
use serde_json::{Value as Json, json};
use upstack_deploy::aws::Pacing;
use upstack_deploy::bootstrap::ci::{
    self as ci_identity, CiBootstrapError, CiBootstrapOptions, CiClients, CiOutcome,
};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_stack::ci_identity::{CiIdentities, GITHUB_THUMBPRINTS, Repository, RoleKind};
use upstack_test_support::{ACCOUNT_ID as ACCOUNT, MotoServer, REGION};

const DEV: &str = include_str!("../../envs/dev.toml");
const REPOSITORY: &str = "octo-org/octo-repo";
const PROVIDER_ARN: &str =
    "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

fn fast_pacing() -> Pacing {
    Pacing {
        poll_initial: Duration::from_millis(50),
        poll_max: Duration::from_millis(200),
        ..Pacing::default()
    }
}

/// dev's CI identities for [`REPOSITORY`], with `account_id` pinned to
/// moto's account (bootstrap --github requires it).
fn dev_identities() -> CiIdentities {
    let text = DEV.replace(
        "# account_id = \"123456789012\"",
        &format!("account_id = \"{ACCOUNT}\""),
    );
    assert_ne!(text, DEV, "envs/dev.toml no longer has the account_id line");
    let config = upstack_stack::config::parse("envs/dev.toml", &text).unwrap();
    assert_eq!(config.region.as_str(), REGION);
    let assets = upstack_stack::pipeline::handlers()
        .iter()
        .map(|h| ((*h).to_owned(), format!("assets/{h}-arm64-00.zip")))
        .collect();
    let app = upstack_stack::synthesize("dev", &config, &assets)
        .unwrap()
        .template;
    let repository = Repository::parse(REPOSITORY).unwrap();
    upstack_stack::ci_identity::ci_identities("dev", &config, &repository, &app).unwrap()
}

/// The clients, after the asset bucket bootstrap creates before the CI
/// identities (the deploy flow the CI stack goes through checks for it).
async fn clients(moto: &MotoServer) -> CiClients {
    let config = moto.sdk_config().await;
    let clients = CiClients {
        deploy: upstack_deploy::deploy::DeployClients::new(&config),
        iam: Iam::new(&config),
    };
    upstack_deploy::bootstrap::bootstrap(
        &clients.deploy.s3,
        &upstack_deploy::bootstrap::asset_bucket(ACCOUNT, REGION),
        REGION,
        false,
    )
    .await
    .unwrap();
    clients
}

async fn run(
    clients: &CiClients,
    identities: &CiIdentities,
    run_id: &str,
) -> (Result<CiOutcome, CiBootstrapError>, Vec<String>) {
    let mut reporter = RecordingReporter::default();
    let outcome = ci_identity::apply(
        clients,
        identities,
        &CiBootstrapOptions {
            pacing: fast_pacing(),
            run_id: run_id.into(),
            outputs_path: std::env::temp_dir().join(format!("ci-outputs-{run_id}.json")),
        },
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await;
    (outcome, reporter.lines)
}

/// IAM returns policy documents URL-encoded (RFC 3986).
fn document(encoded: &str) -> Json {
    let decoded = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .unwrap();
    serde_json::from_str(&decoded).unwrap_or_else(|error| panic!("{error}: {decoded}"))
}

/// The role's trust policy and its attached policies (name -> document),
/// as IAM has them.
async fn read_role(iam: &Iam, name: &str) -> (String, Json, BTreeMap<String, Json>) {
    let role = iam.get_role().role_name(name).send().await.unwrap();
    let role = role.role().unwrap();
    let trust = document(role.assume_role_policy_document().unwrap());
    let inline = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .unwrap();
    assert!(inline.policy_names().is_empty(), "{name}: {inline:?}");
    let attached = iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .unwrap();
    let mut policies = BTreeMap::new();
    for policy in attached.attached_policies() {
        let arn = policy.policy_arn().unwrap();
        let version = iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .default_version_id()
            .unwrap()
            .to_owned();
        let version = iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .unwrap();
        let text = version.policy_version().unwrap().document().unwrap();
        policies.insert(policy.policy_name().unwrap().to_owned(), document(text));
    }
    (role.arn().to_owned(), trust, policies)
}

/// The permission policies of one role in the CI template, name -> document.
fn template_policies(template: &Json, role_logical_id: &str) -> BTreeMap<String, Json> {
    template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|resource| {
            resource["Type"] == "AWS::IAM::ManagedPolicy"
                && resource["Properties"]["Roles"] == json!([{"Ref": role_logical_id}])
        })
        .map(|resource| {
            (
                resource["Properties"]["ManagedPolicyName"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                resource["Properties"]["PolicyDocument"].clone(),
            )
        })
        .collect()
}

fn web_identity_trust(subject: &str) -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GitHubActions",
            "Effect": "Allow",
            "Principal": {"Federated": [PROVIDER_ARN]},
            "Action": ["sts:AssumeRoleWithWebIdentity"],
            "Condition": {"StringEquals": {
                "token.actions.githubusercontent.com:aud": ["sts.amazonaws.com"],
                "token.actions.githubusercontent.com:sub": [subject],
            }},
        }],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_github_creates_the_provider_and_the_roles_then_changes_nothing() {
    let moto = MotoServer::start();
    let clients = clients(&moto).await;
    let iam = &clients.iam;
    let identities = dev_identities();
    assert!(
        iam.list_open_id_connect_providers()
            .send()
            .await
            .unwrap()
            .open_id_connect_provider_list()
            .is_empty()
    );

    let (outcome, lines) = run(&clients, &identities, "1").await;
    assert_eq!(outcome.unwrap(), CiOutcome::Applied, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with(&format!("OIDC provider {PROVIDER_ARN}: will be CREATED"))),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&format!("OIDC provider {PROVIDER_ARN} created")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("upstack-dev-ci CREATE_COMPLETE in ")),
        "{lines:#?}"
    );

    // The provider, as IAM has it (moto's CloudFormation would have skipped
    // an AWS::IAM::OIDCProvider; bootstrap never puts it in a stack).
    let provider = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(PROVIDER_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(provider.url(), Some("token.actions.githubusercontent.com"));
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);
    assert_eq!(provider.thumbprint_list(), GITHUB_THUMBPRINTS);

    // The three roles, read back through IAM.
    let template = identities.template.to_json();
    let expected_trust = [
        (
            RoleKind::Plan,
            web_identity_trust("repo:octo-org/octo-repo:pull_request"),
        ),
        (
            RoleKind::Deploy,
            web_identity_trust("repo:octo-org/octo-repo:environment:dev"),
        ),
        (
            RoleKind::Execution,
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "CloudFormation",
                    "Effect": "Allow",
                    "Principal": {"Service": ["cloudformation.amazonaws.com"]},
                    "Action": ["sts:AssumeRole"],
                }],
            }),
        ),
    ];
    for (kind, trust) in expected_trust {
        let role = identities.role(kind);
        let name = format!("upstack-dev-ci-{}", kind.word());
        let (arn, read_trust, policies) = read_role(iam, &name).await;
        assert_eq!(
            arn,
            format!("arn:aws:iam::{ACCOUNT}:role/upstack-ci/{name}"),
            "{kind:?}"
        );
        assert_eq!(arn, role.arn, "{kind:?}: the ARN bootstrap prints");
        assert_eq!(read_trust, trust, "{kind:?}");
        let expected = template_policies(&template, &role.logical_id);
        assert!(!expected.is_empty(), "{kind:?}");
        assert_eq!(policies, expected, "{kind:?}");
        // The pure layer's documents are the template's.
        let pure: BTreeMap<String, Json> = role
            .policies
            .iter()
            .map(|policy| {
                (
                    policy.name.clone(),
                    serde_json::to_value(&policy.document).unwrap(),
                )
            })
            .collect();
        assert_eq!(pure, expected, "{kind:?}");
    }

    // A second run: nothing to do, and it says so.
    let before = clients
        .deploy
        .cloudformation
        .describe_stacks()
        .stack_name("upstack-dev-ci")
        .send()
        .await
        .unwrap();
    let (outcome, lines) = run(&clients, &identities, "2").await;
    assert_eq!(outcome.unwrap(), CiOutcome::UpToDate, "{lines:#?}");
    assert_eq!(
        lines,
        vec![
            format!(
                "OIDC provider {PROVIDER_ARN} exists (audiences sts.amazonaws.com): used as it is"
            ),
            "no changes: stack upstack-dev-ci already matches the template (change set deleted)"
                .to_owned(),
        ]
    );
    let after = clients
        .deploy
        .cloudformation
        .describe_stacks()
        .stack_name("upstack-dev-ci")
        .send()
        .await
        .unwrap();
    assert_eq!(before.stacks(), after.stacks());
    let change_sets = clients
        .deploy
        .cloudformation
        .list_change_sets()
        .stack_name("upstack-dev-ci")
        .send()
        .await
        .unwrap();
    // The first run's change set was executed (moto still lists it); the
    // second run's had no changes and was deleted.
    let names: Vec<(Option<&str>, Option<&str>)> = change_sets
        .summaries()
        .iter()
        .map(|summary| {
            (
                summary.change_set_name(),
                summary.execution_status().map(|status| status.as_str()),
            )
        })
        .collect();
    assert!(
        names
            .iter()
            .all(|(name, status)| *name == Some("upstack-ci-1")
                && *status == Some("EXECUTE_COMPLETE")),
        "{names:?}"
    );
    assert_eq!(
        iam.list_open_id_connect_providers()
            .send()
            .await
            .unwrap()
            .open_id_connect_provider_list()
            .len(),
        1
    );
}

/// A provider for GitHub that exists with another audience, or with a
/// thumbprint that is not GitHub's, is refused before anything is created:
/// no change set, no stack, the provider untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_configured_for_something_else_is_refused_before_anything_is_created() {
    let moto = MotoServer::start();
    let clients = clients(&moto).await;
    let iam = &clients.iam;
    let identities = dev_identities();
    let misfits: [(&[&str], &[&str], &str); 2] = [
        (
            &["api://other-tool"],
            &GITHUB_THUMBPRINTS,
            "its audiences (client IDs) are [api://other-tool]; the roles need sts.amazonaws.com",
        ),
        (
            &["sts.amazonaws.com"],
            &["0000000000000000000000000000000000000000"],
            "its thumbprints include 0000000000000000000000000000000000000000, which is not one of GitHub's",
        ),
    ];
    for (index, (audiences, thumbprints, difference)) in misfits.into_iter().enumerate() {
        let created = iam
            .create_open_id_connect_provider()
            .url("https://token.actions.githubusercontent.com")
            .set_client_id_list(Some(audiences.iter().map(|a| (*a).to_owned()).collect()))
            .set_thumbprint_list(Some(thumbprints.iter().map(|t| (*t).to_owned()).collect()))
            .send()
            .await
            .unwrap();
        assert_eq!(created.open_id_connect_provider_arn(), Some(PROVIDER_ARN));

        let (outcome, lines) = run(&clients, &identities, &index.to_string()).await;
        let error = outcome.unwrap_err();
        assert!(
            matches!(error, CiBootstrapError::ProviderMismatch { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(difference), "{message}");
        assert!(message.contains("nothing was created"), "{message}");
        assert!(lines.is_empty(), "{lines:#?}");

        // Nothing exists afterwards: DescribeStacks knows no such stack.
        let described = clients
            .deploy
            .cloudformation
            .describe_stacks()
            .stack_name("upstack-dev-ci")
            .send()
            .await;
        let error = described.unwrap_err();
        assert!(
            format!("{:?}", error.into_service_error()).contains("does not exist"),
            "a stack exists after a refusal"
        );
        let listed = clients
            .deploy
            .cloudformation
            .list_stacks()
            .send()
            .await
            .unwrap();
        assert!(listed.stack_summaries().is_empty(), "{listed:?}");
        for kind in RoleKind::ALL {
            let name = format!("upstack-dev-ci-{}", kind.word());
            assert!(
                iam.get_role().role_name(&name).send().await.is_err(),
                "{name} exists after a refusal"
            );
        }
        // The provider is as it was.
        let provider = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(PROVIDER_ARN)
            .send()
            .await
            .unwrap();
        assert_eq!(provider.client_id_list(), audiences);
        assert_eq!(provider.thumbprint_list(), thumbprints);
        iam.delete_open_id_connect_provider()
            .open_id_connect_provider_arn(PROVIDER_ARN)
            .send()
            .await
            .unwrap();
    }
}
