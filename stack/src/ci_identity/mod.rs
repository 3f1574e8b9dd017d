//! The CI identities of one env (`upstack bootstrap --env E --github OWNER/REPO`):
//! three IAM roles in a CloudFormation stack of their own
//! (`<stack_name>-ci`), trusting the account's GitHub OIDC provider. No IO:
//! everything here is decided from the env config, the repository and the
//! env's synthesized app template; `upstack_deploy::ci_identity` applies it.
//!
//! - The **plan role** (`repo:OWNER/REPO:pull_request`) reads the app stack,
//!   makes, reviews and deletes change sets on it (only with the execution
//!   role, only for the template's resource types), uploads new assets
//!   (never over an existing key), and reads what `diff` compares. It cannot
//!   execute a change set, update or delete a stack, or delete an object.
//! - The **deploy role** (`repo:OWNER/REPO:environment:<env>`) executes and
//!   follows reviewed change sets. Outside production it also has the plan
//!   role's permissions (dev is prepared and executed in one run on push).
//! - The **execution role** (`cloudformation.amazonaws.com`) is what
//!   CloudFormation acts with: the handler permissions of exactly the app
//!   template's resource types, each scoped to the env's resources wherever
//!   the action supports resource-level permissions.
//!
//! Every ARN is literal (the account and region are the env's), so the
//! policies read the same in the template, in IAM and in a linter.

mod grants;
mod policies;
mod repository;
mod target;
mod trust;

use std::collections::BTreeSet;

use upstack_cfn::value::reference;
use upstack_cfn::{Output, PolicyDocument, ResourceRef, Template, Value};
use upstack_cfn_resources::iam;

use crate::config::EnvConfig;
use grants::pack;
use target::Target;

pub use policies::{BUCKET_CONTROL_IMPLIES, implied_object_actions};
pub use repository::Repository;
pub use trust::{GITHUB_OIDC_HOST, GITHUB_OIDC_URL, GITHUB_THUMBPRINTS, STS_AUDIENCE};

/// IAM path of the CI roles and their policies. The execution role may
/// manage the app's roles (`role/<stack_name>-*`, CloudFormation's generated
/// names); a path of their own keeps the CI roles out of that pattern, so no
/// template can touch the identities that deploy it.
pub const CI_PATH: &str = "/upstack-ci/";
/// A managed policy's size limit, in characters without whitespace.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>
pub const MAX_MANAGED_POLICY_CHARS: usize = 6_144;
/// Managed policies IAM attaches to one role by default (the quota can be
/// raised to 20; a stack that needs more is refused rather than left to fail).
pub const MAX_POLICIES_PER_ROLE: usize = 10;
/// Where deploy uploads handler zips and templates too large to send inline,
/// in the asset bucket (`upstack_deploy::bootstrap`'s prefixes; a test there
/// keeps the two equal).
pub const ASSET_PREFIX: &str = "assets/";
pub const TEMPLATE_PREFIX: &str = "templates/";
/// IAM role names are at most 64 characters.
const MAX_ROLE_NAME: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CiIdentityError {
    #[error(
        "`{value}` is not a GitHub repository: {why}; pass it as OWNER/REPO, e.g. `--github octo-org/octo-repo`"
    )]
    Repository { value: String, why: String },
    #[error(
        "env `{env}` has no `account_id` in envs/{env}.toml: the CI roles act in one account and trust that account's GitHub OIDC provider, so the env must pin it; add `account_id = \"<12 digits>\"` to envs/{env}.toml"
    )]
    NoAccount { env: String },
    #[error(
        "env `{env}`: `{region}` is not a region this version knows the partition of; update cfn/src/regions.rs"
    )]
    UnknownRegion { env: String, region: String },
    #[error(
        "the CI role name `{name}` is {} characters and IAM allows {MAX_ROLE_NAME}: shorten `stack_name` in envs/{env}.toml",
        name.len()
    )]
    NameTooLong { env: String, name: String },
    #[error(
        "{resource_type} (a resource type of the env's template) has no handler permissions in the generated registry: add it to schemas/types.txt and regenerate"
    )]
    UnknownType { resource_type: String },
    #[error(
        "{action} has no vendored IAM facts (schemas/iam-actions.json): run scripts/refresh-iam-actions.sh and scripts/regenerate.sh"
    )]
    UnknownAction { action: String },
    #[error(
        "the {role} role's permissions need {count} managed policies of at most {MAX_MANAGED_POLICY_CHARS} characters; IAM attaches at most {MAX_POLICIES_PER_ROLE} to a role"
    )]
    TooManyPolicies { role: String, count: usize },
    #[error(
        "a statement of the {role} role is {chars} characters, over a managed policy's {MAX_MANAGED_POLICY_CHARS}"
    )]
    StatementTooLarge { role: String, chars: usize },
    #[error(
        "env `{env}`: its resources are named `{prefix}-*`, which also matches the asset bucket `{bucket}` of every env in the account; the execution role may reconfigure the env's buckets and their objects, so it would reach the assets that every env deploys from: rename the env (envs/{env}.toml) or change `app`"
    )]
    ReachesAssetBucket {
        env: String,
        prefix: String,
        bucket: String,
    },
}

/// The account's GitHub OIDC provider, as bootstrap creates it or expects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    pub url: String,
    pub arn: String,
    pub audiences: Vec<String>,
    pub thumbprints: Vec<String>,
}

/// One customer-managed policy attached to a role.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    pub logical_id: String,
    /// `ManagedPolicyName` (under [`CI_PATH`]).
    pub name: String,
    pub arn: String,
    pub document: PolicyDocument,
}

/// Which identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleKind {
    Plan,
    Deploy,
    Execution,
}

impl RoleKind {
    pub const ALL: [RoleKind; 3] = [RoleKind::Plan, RoleKind::Deploy, RoleKind::Execution];

    /// `plan`, `deploy`, `cfn-exec`: the role name's suffix.
    pub fn word(self) -> &'static str {
        match self {
            RoleKind::Plan => "plan",
            RoleKind::Deploy => "deploy",
            RoleKind::Execution => "cfn-exec",
        }
    }

    fn logical_id(self) -> &'static str {
        match self {
            RoleKind::Plan => "PlanRole",
            RoleKind::Deploy => "DeployRole",
            RoleKind::Execution => "ExecutionRole",
        }
    }
}

/// One of the three roles: its name, trust and permissions.
#[derive(Debug, Clone, PartialEq)]
pub struct CiRole {
    pub kind: RoleKind,
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    pub trust: PolicyDocument,
    pub policies: Vec<NamedPolicy>,
}

/// A handler permission of the app's types that a role does not get, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    pub role: RoleKind,
    pub action: String,
    pub reason: String,
}

/// Everything `bootstrap --github` creates for one env.
#[derive(Debug, Clone)]
pub struct CiIdentities {
    pub env: String,
    pub app_stack_name: String,
    /// `<stack_name>-ci`.
    pub stack_name: String,
    pub account: String,
    pub region: String,
    pub repository: Repository,
    pub production: bool,
    pub provider: OidcProvider,
    /// Plan, deploy, execution.
    pub roles: Vec<CiRole>,
    /// Handler permissions left out, with the reason (no resource of the
    /// env is of a type the action acts on; not a read for the plan role).
    pub withheld: Vec<Withheld>,
    pub template: Template,
    /// Stack tags: the env's.
    pub tags: Vec<(String, String)>,
}

impl CiIdentities {
    pub fn role(&self, kind: RoleKind) -> &CiRole {
        // Always built with all three; indexing by kind keeps the order.
        &self.roles[kind as usize]
    }

    /// The repository variables the workflows read (`UPSTACK_<ENV>_...`).
    pub fn repository_variables(&self) -> Vec<(String, String)> {
        let env = self.env.to_ascii_uppercase().replace('-', "_");
        vec![
            (
                format!("UPSTACK_{env}_PLAN_ROLE_ARN"),
                self.role(RoleKind::Plan).arn.clone(),
            ),
            (
                format!("UPSTACK_{env}_DEPLOY_ROLE_ARN"),
                self.role(RoleKind::Deploy).arn.clone(),
            ),
            (format!("UPSTACK_{env}_REGION"), self.region.clone()),
        ]
    }

    /// The env-file line that makes deploy pass the execution role.
    pub fn env_file_line(&self) -> String {
        format!(
            "execution_role_arn = \"{}\"",
            self.role(RoleKind::Execution).arn
        )
    }
}

/// The app template's resource types, sorted.
pub fn resource_types(app_template: &Template) -> Vec<String> {
    app_template
        .resources
        .values()
        .map(|entry| entry.type_name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Builds the CI identities of `env` for `repository` around the env's
/// synthesized app template.
pub fn ci_identities(
    env: &str,
    config: &EnvConfig,
    repository: &Repository,
    app_template: &Template,
) -> Result<CiIdentities, CiIdentityError> {
    let account = config
        .account_id
        .as_ref()
        .ok_or_else(|| CiIdentityError::NoAccount {
            env: env.to_owned(),
        })?
        .as_str()
        .to_owned();
    let region = config.region.as_str().to_owned();
    let partition = crate::regions::lookup(&region)
        .ok_or_else(|| CiIdentityError::UnknownRegion {
            env: env.to_owned(),
            region: region.clone(),
        })?
        .partition;
    let app_stack_name = config.stack_name.as_str().to_owned();
    let target = Target {
        partition,
        region: region.clone(),
        account: account.clone(),
        prefix: format!("{}-{env}", config.app()),
        stack_name: app_stack_name.clone(),
        asset_bucket: upstack_contract::assets::bucket_name(&account, &region),
    };
    if target
        .asset_bucket
        .starts_with(&format!("{}-", target.prefix))
    {
        return Err(CiIdentityError::ReachesAssetBucket {
            env: env.to_owned(),
            prefix: target.prefix,
            bucket: target.asset_bucket,
        });
    }
    let ci_stack_name = format!("{app_stack_name}-ci");
    let role_name = |kind: RoleKind| format!("{app_stack_name}-ci-{}", kind.word());
    for kind in RoleKind::ALL {
        let name = role_name(kind);
        if name.len() > MAX_ROLE_NAME {
            return Err(CiIdentityError::NameTooLong {
                env: env.to_owned(),
                name,
            });
        }
    }
    let role_arn = |kind: RoleKind| {
        format!(
            "arn:{partition}:iam::{account}:role{CI_PATH}{}",
            role_name(kind)
        )
    };
    let provider = trust::provider(partition, &account);
    let types = resource_types(app_template);
    let policies::RolePermissions {
        plan,
        deploy,
        execution,
        withheld,
    } = policies::role_permissions(
        &target,
        &types,
        &role_arn(RoleKind::Execution),
        config.production,
    )?;
    let trusts = trust::trust_policies(&provider, repository, env);
    let descriptions = [
        format!(
            "upstack {env}: plan role of {repository}'s pull requests (change sets on {app_stack_name}, new assets; never executes)"
        ),
        format!(
            "upstack {env}: deploy role of {repository}'s `{env}` environment (executes reviewed change sets on {app_stack_name})"
        ),
        format!(
            "upstack {env}: the role CloudFormation deploys {app_stack_name} with (its resource types' handler permissions)"
        ),
    ];

    let mut template = Template::new().description(format!(
        "{} {env}: CI identities for GitHub {repository} (generated by upstack bootstrap --github; do not edit)",
        config.app()
    ));
    let tags: Vec<(String, String)> = config
        .tags
        .iter()
        .map(|(key, value)| (key.as_str().to_owned(), value.as_str().to_owned()))
        .collect();
    let mut roles = Vec::new();
    for ((kind, grants), (trust, description)) in RoleKind::ALL
        .into_iter()
        .zip([&plan, &deploy, &execution])
        .zip(trusts.into_iter().zip(descriptions))
    {
        let name = role_name(kind);
        let role_ref = template.add(
            kind.logical_id(),
            iam::Role {
                role_name: Some(Value::Lit(name.clone())),
                path: Some(Value::Lit(CI_PATH.to_owned())),
                description: Some(Value::Lit(description)),
                tags: (!tags.is_empty()).then(|| {
                    Value::Lit(
                        tags.iter()
                            .map(|(key, value)| {
                                Value::Lit(iam::role::Tag::new(key.as_str(), value.as_str()))
                            })
                            .collect(),
                    )
                }),
                ..iam::Role::new(trust.clone())
            },
        );
        let mut policies = Vec::new();
        for (index, document) in pack(kind, grants.statements())?.into_iter().enumerate() {
            let logical_id = format!("{}Policy{}", kind.logical_id(), index + 1);
            let policy_name = format!("{name}-{}", index + 1);
            template.add(
                logical_id.clone(),
                iam::ManagedPolicy {
                    managed_policy_name: Some(Value::Lit(policy_name.clone())),
                    path: Some(Value::Lit(CI_PATH.to_owned())),
                    roles: Some(Value::Lit(vec![reference(role_ref.logical_id())])),
                    ..iam::ManagedPolicy::new(document.clone())
                },
            );
            policies.push(NamedPolicy {
                logical_id,
                arn: format!("arn:{partition}:iam::{account}:policy{CI_PATH}{policy_name}"),
                name: policy_name,
                document,
            });
        }
        template.add_output(
            format!("{}Arn", kind.logical_id()),
            Output::new(role_ref.arn()).description(format!("the {} role", kind.word())),
        );
        roles.push(CiRole {
            kind,
            logical_id: kind.logical_id().to_owned(),
            arn: role_arn(kind),
            name,
            trust,
            policies,
        });
    }

    Ok(CiIdentities {
        env: env.to_owned(),
        app_stack_name,
        stack_name: ci_stack_name,
        account,
        region,
        repository: repository.clone(),
        production: config.production,
        provider,
        roles,
        withheld,
        template,
        tags,
    })
}
