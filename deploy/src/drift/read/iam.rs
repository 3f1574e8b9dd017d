//! `AWS::IAM::Role` (GetRole, its inline policies, its attached managed
//! policies) and `AWS::IAM::ManagedPolicy` (its default version and the
//! entities it is attached to). IAM returns documents URL-encoded.

use serde_json::{Map, Value as Json, json};

use super::{Outcome, Reader, Reading, boxed, url_encoded_json};
use crate::aws::{CallError, call};
use crate::drift::{DriftClients, Target};

pub(super) const READERS: &[Reader] = &[
    Reader {
        resource_type: "AWS::IAM::Role",
        always: &[
            "AssumeRolePolicyDocument",
            "Policies",
            "ManagedPolicyArns",
            "MaxSessionDuration",
            "PermissionsBoundary",
        ],
        when_declared: &["Description", "Path"],
        unordered: &["Policies", "ManagedPolicyArns"],
        defaults: &[("MaxSessionDuration", "3600")],
        actions: &[
            "iam:GetRole",
            "iam:ListRolePolicies",
            "iam:GetRolePolicy",
            "iam:ListAttachedRolePolicies",
        ],
        read: boxed!(read_role),
    },
    Reader {
        resource_type: "AWS::IAM::ManagedPolicy",
        always: &["PolicyDocument", "Roles", "Users", "Groups"],
        when_declared: &["Description", "Path"],
        unordered: &["Roles", "Users", "Groups"],
        defaults: &[],
        actions: &[
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:ListEntitiesForPolicy",
        ],
        read: boxed!(read_managed_policy),
    },
];

async fn read_role(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let iam = &clients.iam;
    let name = target.physical_id;
    let role = match call("iam:GetRole", iam.get_role().role_name(name).send()).await {
        Ok(output) => output,
        Err(error) if error.is_not_found() => return Ok(Outcome::Gone),
        Err(error) => return Err(error),
    };
    let mut properties = Map::new();
    if let Some(role) = role.role() {
        if let Some(document) = role.assume_role_policy_document() {
            properties.insert(
                "AssumeRolePolicyDocument".into(),
                url_encoded_json(document),
            );
        }
        if let Some(description) = role.description() {
            properties.insert("Description".into(), json!(description));
        }
        if let Some(duration) = role.max_session_duration() {
            properties.insert("MaxSessionDuration".into(), json!(duration));
        }
        properties.insert("Path".into(), json!(role.path()));
        if let Some(boundary) = role
            .permissions_boundary()
            .and_then(|boundary| boundary.permissions_boundary_arn())
        {
            properties.insert("PermissionsBoundary".into(), json!(boundary));
        }
    }

    let names: Vec<String> = call(
        "iam:ListRolePolicies",
        iam.list_role_policies()
            .role_name(name)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>(),
    )
    .await?
    .iter()
    .flat_map(|page| page.policy_names().iter().cloned())
    .collect();
    let mut policies = Vec::new();
    for policy_name in names {
        let policy = call(
            "iam:GetRolePolicy",
            iam.get_role_policy()
                .role_name(name)
                .policy_name(&policy_name)
                .send(),
        )
        .await?;
        policies.push(json!({
            "PolicyName": policy_name,
            "PolicyDocument": url_encoded_json(policy.policy_document()),
        }));
    }
    if !policies.is_empty() {
        properties.insert("Policies".into(), Json::Array(policies));
    }

    // The stack's own managed policies attach themselves (their `Roles`):
    // an attachment they declare is theirs, not the role's.
    let attached_by_stack: Vec<String> = target
        .stack
        .of_type("AWS::IAM::ManagedPolicy")
        .filter(|logical_id| {
            target
                .stack
                .expected(logical_id)
                .get("Roles")
                .and_then(Json::as_array)
                .is_some_and(|roles| roles.iter().any(|role| role == name))
        })
        .filter_map(|logical_id| target.stack.physical_id(logical_id).map(str::to_owned))
        .collect();
    let arns: Vec<Json> = call(
        "iam:ListAttachedRolePolicies",
        iam.list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>(),
    )
    .await?
    .iter()
    .flat_map(|page| page.attached_policies())
    .filter_map(|policy| policy.policy_arn())
    .filter(|arn| !attached_by_stack.iter().any(|own| own == arn))
    .map(Json::from)
    .collect();
    if !arns.is_empty() {
        properties.insert("ManagedPolicyArns".into(), Json::Array(arns));
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

async fn read_managed_policy(
    clients: &DriftClients,
    target: &Target<'_>,
) -> Result<Outcome, CallError> {
    let iam = &clients.iam;
    let arn = target.physical_id;
    let policy = match call("iam:GetPolicy", iam.get_policy().policy_arn(arn).send()).await {
        Ok(output) => output,
        Err(error) if error.is_not_found() => return Ok(Outcome::Gone),
        Err(error) => return Err(error),
    };
    let mut properties = Map::new();
    let Some(policy) = policy.policy() else {
        return Ok(Outcome::Gone);
    };
    if let Some(description) = policy.description() {
        properties.insert("Description".into(), json!(description));
    }
    if let Some(path) = policy.path() {
        properties.insert("Path".into(), json!(path));
    }
    if let Some(version) = policy.default_version_id() {
        let version = call(
            "iam:GetPolicyVersion",
            iam.get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send(),
        )
        .await?;
        if let Some(document) = version
            .policy_version()
            .and_then(|version| version.document())
        {
            properties.insert("PolicyDocument".into(), url_encoded_json(document));
        }
    }
    let pages = call(
        "iam:ListEntitiesForPolicy",
        iam.list_entities_for_policy()
            .policy_arn(arn)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>(),
    )
    .await?;
    let roles = names(pages.iter().flat_map(|page| page.policy_roles()), |role| {
        role.role_name()
    });
    let users = names(pages.iter().flat_map(|page| page.policy_users()), |user| {
        user.user_name()
    });
    let groups = names(
        pages.iter().flat_map(|page| page.policy_groups()),
        |group| group.group_name(),
    );
    for (name, entities) in [("Roles", roles), ("Users", users), ("Groups", groups)] {
        if !entities.is_empty() {
            properties.insert(name.into(), Json::Array(entities));
        }
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

/// The names `name` reads from `entities`, as JSON strings (one without a
/// name is left out).
fn names<'a, T: 'a>(
    entities: impl Iterator<Item = &'a T>,
    name: impl Fn(&'a T) -> Option<&'a str>,
) -> Vec<Json> {
    entities.filter_map(name).map(Json::from).collect()
}
