//! The CI identities of both envs (`bootstrap --github`): the template as a
//! snapshot, the trust policies exactly, least privilege by construction
//! (no `*` action, every execution-role action a handler permission of the
//! template's types, `*` only for actions without resource-level
//! permissions, every env resource covered), what the plan role must never
//! do, and the errors for bad input.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};
use upstack_stack::ci_identity::{self, CiIdentities, CiIdentityError, Repository, RoleKind};
use upstack_stack::config::{self, EnvConfig};

const DEV: &str = include_str!("../../envs/dev.toml");
const PROD: &str = include_str!("../../envs/prod.toml");
const ACCOUNT: &str = "123456789012";

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

/// The env file with `account_id` pinned (bootstrap --github requires it).
fn pinned(env: &str, text: &str) -> EnvConfig {
    let text = text.replace(
        "# account_id = \"123456789012\"",
        &format!("account_id = \"{ACCOUNT}\""),
    );
    config::parse(&format!("envs/{env}.toml"), &text).unwrap()
}

fn identities(env: &str, text: &str) -> (CiIdentities, upstack_cfn::Template) {
    let config = pinned(env, text);
    let app = upstack_stack::synthesize(env, &config, &assets())
        .unwrap()
        .template;
    let repository = Repository::parse("octo-org/octo-repo").unwrap();
    (
        ci_identity::ci_identities(env, &config, &repository, &app).unwrap(),
        app,
    )
}

fn both() -> [(&'static str, CiIdentities, upstack_cfn::Template); 2] {
    let (dev, dev_app) = identities("dev", DEV);
    let (prod, prod_app) = identities("prod", PROD);
    [("dev", dev, dev_app), ("prod", prod, prod_app)]
}

/// Every statement of a role's permission policies, as JSON.
fn statements(identities: &CiIdentities, kind: RoleKind) -> Vec<Json> {
    identities
        .role(kind)
        .policies
        .iter()
        .flat_map(|policy| {
            serde_json::to_value(&policy.document).unwrap()["Statement"]
                .as_array()
                .cloned()
                .unwrap()
        })
        .collect()
}

fn strings(value: &Json) -> Vec<String> {
    match value {
        Json::String(text) => vec![text.clone()],
        Json::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Every action a role is allowed, with the resources it is allowed on.
fn allowed(identities: &CiIdentities, kind: RoleKind) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in statements(identities, kind) {
        assert_eq!(statement["Effect"], "Allow");
        for action in strings(&statement["Action"]) {
            out.entry(action)
                .or_default()
                .extend(strings(&statement["Resource"]));
        }
    }
    out
}

/// IAM's wildcard match (`*` any run of characters, `?` one).
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

#[test]
fn dev_template() {
    let (identities, _) = identities("dev", DEV);
    insta::assert_snapshot!(identities.template.to_pretty_string());
}

#[test]
fn prod_template() {
    let (identities, _) = identities("prod", PROD);
    insta::assert_snapshot!(identities.template.to_pretty_string());
}

#[test]
fn the_templates_are_valid_and_deterministic() {
    for (env, built, _) in both() {
        built
            .template
            .validate(upstack_cfn_resources::registry::lookup)
            .unwrap_or_else(|errors| panic!("{env}: {errors}"));
        let again = if env == "dev" {
            identities("dev", DEV).0
        } else {
            identities("prod", PROD).0
        };
        assert_eq!(
            built.template.to_pretty_string(),
            again.template.to_pretty_string()
        );
    }
}

#[test]
fn trust_policies_name_exactly_the_provider_audience_and_subjects() {
    let provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
    let github = |subject: &str| {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "GitHubActions",
                "Effect": "Allow",
                "Principal": {"Federated": [provider]},
                "Action": ["sts:AssumeRoleWithWebIdentity"],
                "Condition": {"StringEquals": {
                    "token.actions.githubusercontent.com:aud": ["sts.amazonaws.com"],
                    "token.actions.githubusercontent.com:sub": [subject],
                }},
            }],
        })
    };
    for (env, identities, _) in both() {
        assert_eq!(identities.provider.arn, provider);
        assert_eq!(
            serde_json::to_value(&identities.role(RoleKind::Plan).trust).unwrap(),
            github("repo:octo-org/octo-repo:pull_request"),
            "{env}"
        );
        assert_eq!(
            serde_json::to_value(&identities.role(RoleKind::Deploy).trust).unwrap(),
            github(&format!("repo:octo-org/octo-repo:environment:{env}")),
            "{env}"
        );
        assert_eq!(
            serde_json::to_value(&identities.role(RoleKind::Execution).trust).unwrap(),
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "CloudFormation",
                    "Effect": "Allow",
                    "Principal": {"Service": ["cloudformation.amazonaws.com"]},
                    "Action": ["sts:AssumeRole"],
                }],
            }),
            "{env}"
        );
        // The template carries the same documents.
        let template = identities.template.to_json();
        for role in &identities.roles {
            assert_eq!(
                template["Resources"][&role.logical_id]["Properties"]["AssumeRolePolicyDocument"],
                serde_json::to_value(&role.trust).unwrap()
            );
        }
    }
}

#[test]
fn no_wildcard_action_and_star_resources_only_where_iam_has_no_resource_level_permission() {
    for (env, identities, _) in both() {
        for kind in RoleKind::ALL {
            for (action, resources) in allowed(&identities, kind) {
                assert!(
                    !action.contains('*') && !action.contains('?'),
                    "{env} {kind:?}: {action}"
                );
                let facts = upstack_cfn_resources::permissions::iam_action(&action)
                    .unwrap_or_else(|| panic!("{env} {kind:?}: {action} has no IAM facts"));
                if resources.contains("*") {
                    assert!(
                        !facts.supports_resources(),
                        "{env} {kind:?}: {action} supports resource-level permissions but is granted on *"
                    );
                    assert_eq!(resources.len(), 1, "{env} {kind:?}: {action}");
                }
                for resource in &resources {
                    assert!(
                        resource == "*"
                            || resource.contains(ACCOUNT)
                            || resource.starts_with("arn:aws:s3:::"),
                        "{env} {kind:?}: {action} on {resource}, outside the env's account"
                    );
                }
            }
        }
    }
}

#[test]
fn every_execution_role_action_is_a_handler_permission_of_a_type_of_the_stack() {
    for (env, identities, app) in both() {
        let mut needed = BTreeSet::new();
        for type_name in ci_identity::resource_types(&app) {
            let permissions =
                upstack_cfn_resources::permissions::handler_permissions(&type_name).unwrap();
            needed.extend(permissions.all().into_iter().map(str::to_owned));
        }
        let granted: BTreeSet<String> = allowed(&identities, RoleKind::Execution)
            .into_keys()
            .collect();
        let withheld: BTreeSet<String> = identities
            .withheld
            .iter()
            .filter(|withheld| withheld.role == RoleKind::Execution)
            .map(|withheld| withheld.action.clone())
            .collect();
        // Beyond the handler permissions only what their bucket actions
        // give anyway (ci_identity::BUCKET_CONTROL_IMPLIES).
        let implied: BTreeSet<String> =
            ci_identity::implied_object_actions(granted.iter().map(String::as_str))
                .into_iter()
                .map(str::to_owned)
                .collect();
        let beyond: BTreeSet<&String> = granted.difference(&needed).collect();
        assert!(
            beyond.iter().all(|action| implied.contains(*action)),
            "{env}: granted beyond the handler permissions: {beyond:?}"
        );
        assert_eq!(
            beyond,
            BTreeSet::from([&"s3:PutObject".to_owned()]),
            "{env}"
        );
        // Nothing is lost silently: every handler permission is granted or
        // withheld with its reason.
        let accounted: BTreeSet<String> = granted
            .union(&withheld)
            .filter(|action| needed.contains(*action))
            .cloned()
            .collect();
        assert_eq!(accounted, needed, "{env}");
        // Withheld only what acts on resources this stack never has.
        for withheld in &identities.withheld {
            assert!(
                withheld.reason.contains("of which the stack has none")
                    || (withheld.role == RoleKind::Plan && withheld.action == "kms:Decrypt"),
                "{env}: {withheld:?}"
            );
        }
    }
}

#[test]
fn the_plan_role_can_never_execute_update_delete_or_overwrite() {
    const FORBIDDEN: [&str; 8] = [
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DeleteStack",
        "cloudformation:UpdateStack",
        "cloudformation:CreateStack",
        "cloudformation:SetStackPolicy",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "kms:Decrypt",
    ];
    for (env, identities, _) in both() {
        let plan = allowed(&identities, RoleKind::Plan);
        for action in FORBIDDEN {
            assert!(
                !plan.contains_key(action),
                "{env}: the plan role may {action}"
            );
        }
        // Every write the plan role has, and exactly its conditions.
        let writes: BTreeSet<&str> = plan
            .keys()
            .map(String::as_str)
            .filter(|action| {
                upstack_cfn_resources::permissions::iam_action(action)
                    .is_some_and(|facts| !matches!(facts.access_level, "Read" | "List"))
            })
            .collect();
        assert_eq!(
            writes,
            BTreeSet::from([
                "cloudformation:CreateChangeSet",
                "cloudformation:DeleteChangeSet",
                "iam:PassRole",
                "s3:PutObject",
            ]),
            "{env}"
        );
        let statements = statements(&identities, RoleKind::Plan);
        let only = |action: &str| {
            let found: Vec<&Json> = statements
                .iter()
                .filter(|statement| strings(&statement["Action"]).iter().any(|a| a == action))
                .collect();
            assert_eq!(found.len(), 1, "{env}: {action} in several statements");
            found[0].clone()
        };
        let put = only("s3:PutObject");
        assert_eq!(
            put["Condition"],
            json!({"Null": {"s3:if-none-match": ["false"]}})
        );
        assert_eq!(
            strings(&put["Resource"]),
            vec![
                "arn:aws:s3:::upstack-assets-123456789012-eu-west-1/assets/*",
                "arn:aws:s3:::upstack-assets-123456789012-eu-west-1/templates/*",
            ]
        );
        let pass = only("iam:PassRole");
        assert_eq!(
            pass["Condition"],
            json!({"StringEquals": {"iam:PassedToService": ["cloudformation.amazonaws.com"]}})
        );
        assert_eq!(
            strings(&pass["Resource"]),
            vec![identities.role(RoleKind::Execution).arn.clone()]
        );
        let create = only("cloudformation:CreateChangeSet");
        assert_eq!(
            create["Condition"]["ArnEquals"]["cloudformation:RoleArn"],
            json!([identities.role(RoleKind::Execution).arn])
        );
        assert_eq!(
            strings(&create["Resource"]),
            vec![format!(
                "arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/upstack-{env}/*"
            )]
        );
    }
}

#[test]
fn only_a_non_production_deploy_role_can_prepare() {
    for (env, identities, _) in both() {
        let deploy = allowed(&identities, RoleKind::Deploy);
        let plan = allowed(&identities, RoleKind::Plan);
        assert!(
            deploy.contains_key("cloudformation:ExecuteChangeSet"),
            "{env}"
        );
        for needed in [
            "cloudformation:DescribeChangeSet",
            "cloudformation:SetStackPolicy",
            "cloudformation:UpdateTerminationProtection",
            "lambda:GetFunction",
            "cloudwatch:GetMetricData",
            "sqs:GetQueueAttributes",
            "s3:GetObjectAttributes",
            "iam:PassRole",
        ] {
            assert!(
                deploy.contains_key(needed),
                "{env}: the deploy role lacks {needed}"
            );
        }
        if identities.production {
            assert_eq!(env, "prod");
            for prepare in ["cloudformation:CreateChangeSet", "s3:PutObject"] {
                assert!(
                    !deploy.contains_key(prepare),
                    "prod's deploy role may {prepare}"
                );
            }
        } else {
            for (action, resources) in &plan {
                assert!(
                    deploy
                        .get(action)
                        .is_some_and(|granted| granted.is_superset(resources)),
                    "{env}: the deploy role lacks the plan role's {action}"
                );
            }
        }
        for action in [
            "cloudformation:DeleteStack",
            "cloudformation:UpdateStack",
            "s3:DeleteObject",
        ] {
            assert!(
                !deploy.contains_key(action),
                "{env}: the deploy role may {action}"
            );
        }
    }
}

/// Each named resource of the app template, as an ARN, with an action that
/// must cover it.
fn named_resources(app: &upstack_cfn::Template, region: &str) -> Vec<(String, &'static str)> {
    let json = app.to_json();
    let resolve = |value: &Json| -> Option<String> {
        let text = value
            .as_str()
            .map(str::to_owned)
            .or_else(|| value["Fn::Sub"].as_str().map(str::to_owned))?;
        Some(
            text.replace("${AWS::AccountId}", ACCOUNT)
                .replace("${AWS::Region}", region),
        )
    };
    let mut out = Vec::new();
    for resource in json["Resources"].as_object().unwrap().values() {
        let properties = &resource["Properties"];
        let named = |key: &str| resolve(&properties[key]);
        let arn =
            |service: &str, rest: String| format!("arn:aws:{service}:{region}:{ACCOUNT}:{rest}");
        match resource["Type"].as_str().unwrap() {
            "AWS::Lambda::Function" => out.push((
                arn(
                    "lambda",
                    format!("function:{}", named("FunctionName").unwrap()),
                ),
                "lambda:CreateFunction",
            )),
            "AWS::Logs::LogGroup" => out.push((
                arn(
                    "logs",
                    format!("log-group:{}", named("LogGroupName").unwrap()),
                ),
                "logs:CreateLogGroup",
            )),
            "AWS::DynamoDB::Table" => out.push((
                arn("dynamodb", format!("table/{}", named("TableName").unwrap())),
                "dynamodb:CreateTable",
            )),
            "AWS::SNS::Topic" => {
                out.push((arn("sns", named("TopicName").unwrap()), "sns:CreateTopic"))
            }
            "AWS::SQS::Queue" => {
                out.push((arn("sqs", named("QueueName").unwrap()), "sqs:CreateQueue"))
            }
            "AWS::CloudWatch::Alarm" => out.push((
                arn(
                    "cloudwatch",
                    format!("alarm:{}", named("AlarmName").unwrap()),
                ),
                "cloudwatch:PutMetricAlarm",
            )),
            "AWS::CloudWatch::CompositeAlarm" => out.push((
                arn(
                    "cloudwatch",
                    format!("alarm:{}", named("AlarmName").unwrap()),
                ),
                "cloudwatch:PutCompositeAlarm",
            )),
            "AWS::CloudWatch::Dashboard" => out.push((
                format!(
                    "arn:aws:cloudwatch::{ACCOUNT}:dashboard/{}",
                    named("DashboardName").unwrap()
                ),
                "cloudwatch:PutDashboard",
            )),
            "AWS::S3::Bucket" => out.push((
                format!("arn:aws:s3:::{}", named("BucketName").unwrap()),
                "s3:CreateBucket",
            )),
            "AWS::KMS::Alias" => {
                out.push((arn("kms", named("AliasName").unwrap()), "kms:CreateAlias"))
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_execution_role_covers_every_named_resource_of_its_env_and_none_of_the_other() {
    let [(_, dev, dev_app), (_, prod, prod_app)] = both();
    for (identities, app, other) in [(&dev, &dev_app, &prod), (&prod, &prod_app, &dev)] {
        let own = allowed(identities, RoleKind::Execution);
        let theirs = allowed(other, RoleKind::Execution);
        let resources = named_resources(app, "eu-west-1");
        assert!(resources.len() > 20, "{resources:?}");
        for (arn, action) in resources {
            assert!(
                own[action].iter().any(|pattern| glob(pattern, &arn)),
                "{}: {action} does not cover {arn}",
                identities.env
            );
            assert!(
                !theirs[action].iter().any(|pattern| glob(pattern, &arn)),
                "{}'s {action} covers {arn}",
                other.env
            );
        }
        // CloudFormation names the app's roles <stack_name>-<LogicalId>-<suffix>.
        let role = format!(
            "arn:aws:iam::{ACCOUNT}:role/{}-NotifyRole-ABC123",
            identities.app_stack_name
        );
        assert!(
            own["iam:CreateRole"]
                .iter()
                .any(|pattern| glob(pattern, &role))
        );
        // The CI roles themselves are out of the execution role's reach.
        for ci_role in &identities.roles {
            for action in [
                "iam:PutRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:AttachRolePolicy",
            ] {
                assert!(
                    !own[action]
                        .iter()
                        .any(|pattern| glob(pattern, &ci_role.arn)),
                    "{}: {action} reaches {}",
                    identities.env,
                    ci_role.arn
                );
            }
        }
    }
}

/// A role that may rewrite a bucket's policy or ACL can give itself any
/// object access there: the execution role's policy says so, on exactly the
/// env's buckets, in the same managed policy as the bucket actions (where
/// parliament looks for them).
#[test]
fn the_execution_role_may_use_the_objects_of_exactly_the_buckets_it_may_reconfigure() {
    for (env, identities, _) in both() {
        let own = allowed(&identities, RoleKind::Execution);
        let buckets = format!("arn:aws:s3:::upstack-{env}-*");
        let objects = format!("{buckets}/*");
        let assets = "arn:aws:s3:::upstack-assets-123456789012-eu-west-1/assets/*";
        for (bucket_action, object_actions) in ci_identity::BUCKET_CONTROL_IMPLIES {
            assert_eq!(
                own[bucket_action],
                BTreeSet::from([buckets.clone()]),
                "{env}"
            );
            for object_action in object_actions {
                let expected = if *object_action == "s3:GetObject" {
                    // Lambda also reads the handler zips with it.
                    BTreeSet::from([assets.to_owned(), objects.clone()])
                } else {
                    BTreeSet::from([objects.clone()])
                };
                assert_eq!(own[*object_action], expected, "{env} {object_action}");
            }
        }
        let policy = identities
            .role(RoleKind::Execution)
            .policies
            .iter()
            .find(|policy| {
                serde_json::to_string(&policy.document)
                    .unwrap()
                    .contains("s3:PutBucketPolicy")
            })
            .unwrap();
        let text = serde_json::to_string(&policy.document).unwrap();
        for action in ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"] {
            assert!(
                text.contains(action),
                "{env}: {action} not beside s3:PutBucketPolicy"
            );
        }
    }
}

#[test]
fn an_env_whose_names_match_the_asset_bucket_is_refused() {
    let config = pinned("assets", &DEV.replace("upstack-dev", "upstack-assets"));
    let app = upstack_stack::synthesize("assets", &config, &assets())
        .unwrap()
        .template;
    let repository = Repository::parse("octo-org/octo-repo").unwrap();
    let error = ci_identity::ci_identities("assets", &config, &repository, &app).unwrap_err();
    assert_eq!(
        error,
        CiIdentityError::ReachesAssetBucket {
            env: "assets".into(),
            prefix: "upstack-assets".into(),
            bucket: "upstack-assets-123456789012-eu-west-1".into(),
        }
    );
    assert!(error.to_string().contains("rename the env"), "{error}");
}

#[test]
fn every_policy_fits_iams_limits() {
    for (env, identities, _) in both() {
        for role in &identities.roles {
            assert!(role.name.len() <= 64);
            assert!(
                !role.policies.is_empty()
                    && role.policies.len() <= ci_identity::MAX_POLICIES_PER_ROLE
            );
            for policy in &role.policies {
                let chars = serde_json::to_string(&policy.document).unwrap().len();
                assert!(
                    chars <= ci_identity::MAX_MANAGED_POLICY_CHARS,
                    "{env} {}: {chars}",
                    policy.name
                );
            }
        }
    }
}

#[test]
fn repository_variables_and_env_key() {
    let (identities, _) = identities("prod", PROD);
    assert_eq!(
        identities.repository_variables(),
        vec![
            (
                "UPSTACK_PROD_PLAN_ROLE_ARN".to_owned(),
                format!("arn:aws:iam::{ACCOUNT}:role/upstack-ci/upstack-prod-ci-plan")
            ),
            (
                "UPSTACK_PROD_DEPLOY_ROLE_ARN".to_owned(),
                format!("arn:aws:iam::{ACCOUNT}:role/upstack-ci/upstack-prod-ci-deploy")
            ),
            ("UPSTACK_PROD_REGION".to_owned(), "eu-west-1".to_owned()),
        ]
    );
    assert_eq!(
        identities.env_file_line(),
        format!(
            "execution_role_arn = \"arn:aws:iam::{ACCOUNT}:role/upstack-ci/upstack-prod-ci-cfn-exec\""
        )
    );
    // The line bootstrap prints is one the env file accepts.
    let text = PROD.replace(
        "# account_id = \"123456789012\"",
        &format!("account_id = \"{ACCOUNT}\"\n{}", identities.env_file_line()),
    );
    let config = config::parse("envs/prod.toml", &text).unwrap();
    assert_eq!(
        config.execution_role_arn.unwrap().get_ref().as_str(),
        identities.role(RoleKind::Execution).arn
    );
}

#[test]
fn bad_repositories_are_refused_with_the_reason() {
    for (value, why) in [
        (
            "octo-org",
            "there is no `/` between the owner and the repository",
        ),
        ("octo-org/repo/extra", "it has more than one `/`"),
        ("/repo", "the owner must be 1-39 characters"),
        (
            "-octo/repo",
            "the owner may only have letters, digits and single hyphens, not at either end",
        ),
        (
            "octo--org/repo",
            "the owner may only have letters, digits and single hyphens, not at either end",
        ),
        (
            "octo_org/repo",
            "the owner may only have letters, digits and single hyphens, not at either end",
        ),
        ("octo-org/", "the repository name must be 1-100 characters"),
        (
            "octo-org/re po",
            "the repository name may only have letters, digits, `-`, `_` and `.`",
        ),
        (
            "octo-org/..",
            "the repository name may only have letters, digits, `-`, `_` and `.`",
        ),
        (
            "octo-org/repo:pull_request",
            "the repository name may only have letters, digits, `-`, `_` and `.`",
        ),
    ] {
        let error = Repository::parse(value).unwrap_err();
        assert_eq!(
            error,
            CiIdentityError::Repository {
                value: value.to_owned(),
                why: why.to_owned()
            }
        );
        assert!(
            error.to_string().contains("pass it as OWNER/REPO"),
            "{error}"
        );
    }
    assert_eq!(
        Repository::parse("Octo-Org/my.repo_2").unwrap().to_string(),
        "Octo-Org/my.repo_2"
    );
}

#[test]
fn an_env_without_account_id_is_refused() {
    let config = config::parse("envs/dev.toml", DEV).unwrap();
    let app = upstack_stack::synthesize("dev", &config, &assets())
        .unwrap()
        .template;
    let repository = Repository::parse("octo-org/octo-repo").unwrap();
    let error = ci_identity::ci_identities("dev", &config, &repository, &app).unwrap_err();
    assert_eq!(error, CiIdentityError::NoAccount { env: "dev".into() });
    assert!(
        error
            .to_string()
            .contains("add `account_id = \"<12 digits>\"` to envs/dev.toml"),
        "{error}"
    );
}

#[test]
fn a_stack_name_too_long_for_the_role_names_is_refused() {
    let long = "s".repeat(53);
    let text = DEV.replace(
        "stack_name = \"upstack-dev\"",
        &format!("stack_name = \"{long}\""),
    );
    let config = pinned("dev", &text);
    let app = upstack_stack::synthesize("dev", &config, &assets())
        .unwrap()
        .template;
    let repository = Repository::parse("octo-org/octo-repo").unwrap();
    let error = ci_identity::ci_identities("dev", &config, &repository, &app).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the CI role name `{long}-ci-cfn-exec` is 65 characters and IAM allows 64: shorten `stack_name` in envs/dev.toml"
        )
    );
}
