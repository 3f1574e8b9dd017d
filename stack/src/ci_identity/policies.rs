//! What each role may do: the execution role's handler permissions of the
//! app template's types, the plan role's reviews and reads, the deploy
//! role's execution of reviewed change sets.

use std::collections::BTreeSet;

use upstack_cfn_resources::permissions::{handler_permissions, iam_action};

use super::grants::Grants;
use super::target::{Target, scope_of};
use super::{ASSET_PREFIX, CiIdentityError, RoleKind, Withheld};

/// Bucket actions that let a role give itself object actions on the same
/// bucket: a role that may rewrite a bucket's policy or ACL can grant itself
/// any access to its objects, and one that may set its lifecycle can expire
/// (delete) them. Withholding those object actions from such a role protects
/// nothing and only makes its policy claim a limit that does not exist, so
/// the execution role, which may reconfigure the env's buckets, is granted
/// them on exactly those buckets' objects (parliament's
/// RESOURCE_POLICY_PRIVILEGE_ESCALATION check asks for the same pairs).
pub const BUCKET_CONTROL_IMPLIES: [(&str, &[&str]); 3] = [
    (
        "s3:PutBucketAcl",
        &["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
    ),
    (
        "s3:PutBucketPolicy",
        &["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
    ),
    ("s3:PutLifecycleConfiguration", &["s3:DeleteObject"]),
];

/// The object actions a role with `granted` can give itself
/// ([`BUCKET_CONTROL_IMPLIES`]), sorted.
pub fn implied_object_actions<'a>(
    granted: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<&'static str> {
    let granted: BTreeSet<&str> = granted.into_iter().collect();
    BUCKET_CONTROL_IMPLIES
        .iter()
        .filter(|(bucket_action, _)| granted.contains(bucket_action))
        .flat_map(|(_, object_actions)| object_actions.iter().copied())
        .collect()
}

/// The three roles' permissions, and what was left out of them.
pub(super) struct RolePermissions {
    pub(super) plan: Grants,
    pub(super) deploy: Grants,
    pub(super) execution: Grants,
    pub(super) withheld: Vec<Withheld>,
}

/// The permissions of the plan, deploy and execution roles of the env
/// `target` describes, whose app template has the resource `types`.
pub(super) fn role_permissions(
    target: &Target,
    types: &[String],
    execution_role_arn: &str,
    production: bool,
) -> Result<RolePermissions, CiIdentityError> {
    let mut withheld = Vec::new();

    // The execution role: every handler permission of the template's types.
    let mut execution = Grants::default();
    let mut live_reads = Grants::default();
    let mut exec_actions = BTreeSet::new();
    let mut read_actions = BTreeSet::new();
    for type_name in types {
        let permissions =
            handler_permissions(type_name).ok_or_else(|| CiIdentityError::UnknownType {
                resource_type: type_name.clone(),
            })?;
        exec_actions.extend(permissions.all());
        read_actions.extend(permissions.read.iter().copied());
    }
    let mut exec_granted = BTreeSet::new();
    for name in &exec_actions {
        let action = iam_action(name).ok_or_else(|| CiIdentityError::UnknownAction {
            action: (*name).to_owned(),
        })?;
        let mut scope = match scope_of(target, action) {
            Ok(scope) => scope,
            Err(reason) => {
                withheld.push(Withheld {
                    role: RoleKind::Execution,
                    action: (*name).to_owned(),
                    reason,
                });
                continue;
            }
        };
        exec_granted.insert(*name);
        match *name {
            // Lambda reads a function's zip with the caller's credentials
            // (CreateFunction, UpdateFunctionCode): the assets, read only.
            "s3:GetObject" | "s3:GetObjectVersion" => {
                scope.resources.push(format!(
                    "arn:{}:s3:::{}/{}*",
                    target.partition, target.asset_bucket, ASSET_PREFIX
                ));
                scope.resources.sort();
                scope.label.push_str("AndAssets");
            }
            // The app's roles are Lambda execution roles; CloudFormation
            // passes them to Lambda only.
            "iam:PassRole" => {
                scope.conditions.push((
                    "StringEquals".into(),
                    "iam:PassedToService".into(),
                    vec!["lambda.amazonaws.com".into()],
                ));
                scope.label.push_str("ToLambda");
            }
            _ => {}
        }
        execution.grant(name, scope);
    }
    // What the granted bucket actions give anyway, said in the policy: on
    // the objects of the same (the env's own) buckets.
    for name in implied_object_actions(exec_granted.iter().copied()) {
        if exec_actions.contains(name) {
            continue;
        }
        let action = iam_action(name).ok_or_else(|| CiIdentityError::UnknownAction {
            action: name.to_owned(),
        })?;
        match scope_of(target, action) {
            Ok(scope) => execution.grant(name, scope),
            Err(reason) => withheld.push(Withheld {
                role: RoleKind::Execution,
                action: name.to_owned(),
                reason,
            }),
        }
    }
    for name in &read_actions {
        let Some(action) = iam_action(name) else {
            continue;
        };
        // What a diff compares is configuration; `Write` reads such as
        // kms:Decrypt (the Lambda read handler's, for encrypted environment
        // variables) would hand any pull request's code a decryption oracle.
        if !matches!(action.access_level, "Read" | "List") {
            withheld.push(Withheld {
                role: RoleKind::Plan,
                action: (*name).to_owned(),
                reason: format!(
                    "a read handler permission, but its access level is {}: not for code any branch can run",
                    action.access_level
                ),
            });
            continue;
        }
        match scope_of(target, action) {
            Ok(scope) => live_reads.grant(name, scope),
            Err(reason) => withheld.push(Withheld {
                role: RoleKind::Plan,
                action: (*name).to_owned(),
                reason,
            }),
        }
    }

    let stack = target.stack_arn();
    let alarms = target.arn("cloudwatch", true, &format!("alarm:{}-*", target.prefix));
    let pass_to_cloudformation = |grants: &mut Grants| {
        grants.grant_when(
            &["iam:PassRole"],
            "PassExecutionRoleToCloudFormation",
            vec![execution_role_arn.to_owned()],
            vec![(
                "StringEquals",
                "iam:PassedToService",
                vec!["cloudformation.amazonaws.com".into()],
            )],
        );
    };
    let asset_reads = |grants: &mut Grants| {
        grants.grant_on(
            &["s3:ListBucket"],
            "AssetBucket",
            vec![target.asset_bucket_arn()],
        );
        grants.grant_on(
            &[
                "s3:GetObject",
                "s3:GetObjectAttributes",
                "s3:GetObjectVersion",
                "s3:GetObjectVersionAttributes",
            ],
            "ReadAssets",
            target.asset_objects(),
        );
        grants.grant_on(
            &["cloudwatch:DescribeAlarms"],
            "EnvAlarms",
            vec![alarms.clone()],
        );
    };

    // The plan role.
    let mut plan = Grants::default();
    plan.grant_on(
        &[
            "cloudformation:DescribeStackEvents",
            "cloudformation:DescribeStackResources",
            "cloudformation:DescribeStacks",
            "cloudformation:GetStackPolicy",
            "cloudformation:GetTemplate",
        ],
        "ReadAppStack",
        vec![stack.clone()],
    );
    plan.grant_on(
        &[
            "cloudformation:DeleteChangeSet",
            "cloudformation:DescribeChangeSet",
        ],
        "ReviewChangeSets",
        vec![stack.clone()],
    );
    // Only change sets CloudFormation will run as the execution role (a
    // change set without RoleARN would run with whoever executes it), and
    // only for the resource types the execution role was made for.
    plan.grant_when(
        &["cloudformation:CreateChangeSet"],
        "CreateChangeSets",
        vec![stack.clone()],
        vec![
            (
                "ArnEquals",
                "cloudformation:RoleArn",
                vec![execution_role_arn.to_owned()],
            ),
            (
                "ForAllValues:StringEquals",
                "cloudformation:ResourceTypes",
                types.to_vec(),
            ),
        ],
    );
    // Uploads only where no object exists (If-None-Match: *): an asset key,
    // once written, is never overwritten by a pull request.
    plan.grant_when(
        &["s3:PutObject"],
        "UploadNewAssets",
        target.asset_objects(),
        vec![("Null", "s3:if-none-match", vec!["false".into()])],
    );
    asset_reads(&mut plan);
    pass_to_cloudformation(&mut plan);
    plan.extend(&live_reads);
    // deploy --prepare's account pre-flight: the account's Lambda quotas
    // (an account-wide read; the action takes no resource).
    plan.grant_on(
        &["lambda:GetAccountSettings"],
        "LambdaAnyResource",
        vec!["*".into()],
    );
    let env_functions = target.arn("lambda", true, &format!("function:{}-*", target.prefix));
    // `diff --env` reads each function's hotswap record (a tag), which
    // GetFunction returns only to a caller allowed lambda:ListTags.
    plan.grant_on(
        &["lambda:GetFunction", "lambda:ListTags"],
        "HotswapRecords",
        vec![env_functions.clone()],
    );

    // The deploy role.
    let mut deploy = Grants::default();
    deploy.grant_on(
        &[
            "cloudformation:DescribeChangeSet",
            "cloudformation:DescribeStackEvents",
            "cloudformation:DescribeStackResources",
            "cloudformation:DescribeStacks",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:GetStackPolicy",
            "cloudformation:GetTemplate",
            "cloudformation:SetStackPolicy",
            "cloudformation:UpdateTerminationProtection",
        ],
        "ExecuteReviewedChangeSets",
        vec![stack.clone()],
    );
    asset_reads(&mut deploy);
    // The code check after a deploy (GetFunction) and the hotswap records it
    // reads and, where a hotswap can happen (not production), removes.
    let mut function_actions = vec!["lambda:GetFunction", "lambda:ListTags"];
    if !production {
        function_actions.push("lambda:UntagResource");
    }
    deploy.grant_on(&function_actions, "EnvFunctions", vec![env_functions]);
    deploy.grant_on(
        &["sqs:GetQueueAttributes"],
        "EnvQueues",
        vec![target.arn("sqs", true, &format!("{}-*", target.prefix))],
    );
    deploy.grant_on(
        &["cloudwatch:GetMetricData"],
        "MetricsAnyResource",
        vec!["*".into()],
    );
    pass_to_cloudformation(&mut deploy);
    if !production {
        deploy.extend(&plan);
    }

    // Every action must be one the vendored data knows (so a linter can
    // check it) and `*` only where the action takes no resource.
    for grants in [&plan, &deploy, &execution] {
        for ((resources, _), (_, actions)) in &grants.by_scope {
            for name in actions {
                let action = iam_action(name).ok_or_else(|| CiIdentityError::UnknownAction {
                    action: name.clone(),
                })?;
                debug_assert!(resources != &["*"] || !action.supports_resources());
            }
        }
    }

    Ok(RolePermissions {
        plan,
        deploy,
        execution,
        withheld,
    })
}
