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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use upstack_cfn::value::reference;
use upstack_cfn::{
    IamAction, Output, PolicyDocument, Principal, ResourceRef, Statement, Template, Value,
};
use upstack_cfn_resources::iam;
use upstack_cfn_resources::permissions::{handler_permissions, iam_action};

use crate::config::EnvConfig;

/// GitHub's OIDC issuer; the provider's URL.
/// <https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws>
pub const GITHUB_OIDC_URL: &str = "https://token.actions.githubusercontent.com";
/// The issuer without its scheme: the provider ARN's last part and the
/// prefix of the token's claims in trust policies.
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";
/// The audience aws-actions/configure-aws-credentials asks GitHub for.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";
/// The certificate thumbprints of GitHub's OIDC endpoint (its two known
/// intermediates, aws-actions/configure-aws-credentials#357). AWS no longer
/// checks them for GitHub (it trusts its library of root CAs since July
/// 2023), but IAM stores a list, and one with other values is a provider
/// someone configured differently: bootstrap refuses to build on it.
pub const GITHUB_THUMBPRINTS: [&str; 2] = [
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
    "6938fd4d98bab03faadb97b34396831e3780aea1",
];
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

/// `OWNER/REPO` of a GitHub repository, checked against GitHub's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    owner: String,
    name: String,
}

impl Repository {
    /// Owners (users, organisations): 1-39 letters, digits and single
    /// hyphens, not at either end. Repository names: 1-100 letters, digits,
    /// `-`, `_` and `.`, not `.` or `..`.
    pub fn parse(value: &str) -> Result<Repository, CiIdentityError> {
        let bad = |why: &str| CiIdentityError::Repository {
            value: value.to_owned(),
            why: why.to_owned(),
        };
        let Some((owner, name)) = value.split_once('/') else {
            return Err(bad("there is no `/` between the owner and the repository"));
        };
        if name.contains('/') {
            return Err(bad("it has more than one `/`"));
        }
        if owner.is_empty() || owner.len() > 39 {
            return Err(bad("the owner must be 1-39 characters"));
        }
        if !owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            || owner.starts_with('-')
            || owner.ends_with('-')
            || owner.contains("--")
        {
            return Err(bad(
                "the owner may only have letters, digits and single hyphens, not at either end",
            ));
        }
        if name.is_empty() || name.len() > 100 {
            return Err(bad("the repository name must be 1-100 characters"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name == "."
            || name == ".."
        {
            return Err(bad(
                "the repository name may only have letters, digits, `-`, `_` and `.`",
            ));
        }
        Ok(Repository {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The OIDC subject of a pull request's jobs (without an environment).
    /// <https://docs.github.com/en/actions/reference/security/oidc> ("Example subject claims").
    pub fn pull_request_subject(&self) -> String {
        format!("repo:{self}:pull_request")
    }

    /// The OIDC subject of a job that references the environment `env`.
    pub fn environment_subject(&self, env: &str) -> String {
        format!("repo:{self}:environment:{env}")
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

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

/// Where one env lives, for ARNs.
#[derive(Debug, Clone)]
struct Target {
    partition: &'static str,
    region: String,
    account: String,
    /// `<app>-<env>`: the prefix of every physical name the stack gives.
    prefix: String,
    /// The app stack's name: CloudFormation names the roles and policies it
    /// generates names for `<stack_name>-<LogicalId>-<suffix>`.
    stack_name: String,
    asset_bucket: String,
}

impl Target {
    fn arn(&self, service: &str, regional: bool, resource: &str) -> String {
        let region = if regional { self.region.as_str() } else { "" };
        format!(
            "arn:{}:{service}:{region}:{}:{resource}",
            self.partition, self.account
        )
    }

    fn stack_arn(&self) -> String {
        self.arn(
            "cloudformation",
            true,
            &format!("stack/{}/*", self.stack_name),
        )
    }

    fn asset_objects(&self) -> Vec<String> {
        [ASSET_PREFIX, TEMPLATE_PREFIX]
            .iter()
            .map(|prefix| {
                format!(
                    "arn:{}:s3:::{}/{prefix}*",
                    self.partition, self.asset_bucket
                )
            })
            .collect()
    }

    fn asset_bucket_arn(&self) -> String {
        format!("arn:{}:s3:::{}", self.partition, self.asset_bucket)
    }

    /// The values of an IAM resource type's name placeholders that cover
    /// exactly this env's resources of that type, or `None` when the stack
    /// has no resource of the type. Names are the stack's deterministic
    /// ones (`stack/src/build.rs`); the exec-role test checks every named
    /// resource of both envs' templates falls under them.
    fn placeholders(
        &self,
        service: &str,
        resource_type: &str,
    ) -> Option<Vec<(&'static str, String)>> {
        let prefix = &self.prefix;
        let any_named = format!("{prefix}-*");
        let generated = format!("{}-*", self.stack_name);
        Some(match (service, resource_type) {
            ("cloudwatch", "alarm") => vec![("AlarmName", any_named)],
            ("cloudwatch", "dashboard") => vec![("DashboardName", prefix.clone())],
            ("dynamodb", "table") => vec![("TableName", prefix.clone())],
            ("dynamodb", "index") => vec![("TableName", prefix.clone()), ("IndexName", "*".into())],
            ("dynamodb", "stream") => {
                vec![("TableName", prefix.clone()), ("StreamLabel", "*".into())]
            }
            ("iam", "role") => vec![("RoleNameWithPath", generated)],
            ("iam", "policy") => vec![("PolicyNameWithPath", generated)],
            // Key IDs are random and unknown before the key exists: the
            // account's keys in the env's region.
            ("kms", "key") => vec![("KeyId", "*".into())],
            ("kms", "alias") => vec![("Alias", prefix.clone())],
            ("lambda", "function") => vec![("FunctionName", any_named)],
            ("logs", "log-group") => vec![("LogGroupName", format!("/aws/lambda/{prefix}-*"))],
            ("logs", "log-stream") => vec![
                ("LogGroupName", format!("/aws/lambda/{prefix}-*")),
                ("LogStreamName", "*".into()),
            ],
            ("s3", "bucket") => vec![("BucketName", any_named)],
            ("s3", "object") => vec![("BucketName", any_named), ("ObjectName", "*".into())],
            ("sns", "topic") => vec![("TopicName", any_named)],
            ("sqs", "queue") => vec![("QueueName", any_named)],
            _ => return None,
        })
    }

    /// The ARN patterns of this env's resources of one IAM resource type,
    /// filled into the vendored ARN format (`None`: the stack has none).
    fn resources_of(&self, service: &str, resource_type: &str, format: &str) -> Option<String> {
        let mut arn = format
            .replace("${Partition}", self.partition)
            .replace("${Region}", &self.region)
            .replace("${Account}", &self.account);
        for (placeholder, value) in self.placeholders(service, resource_type)? {
            arn = arn.replace(&format!("${{{placeholder}}}"), &value);
        }
        // A placeholder left over means AWS changed the ARN format: grant
        // nothing rather than a guess (the tests fail on the missing action).
        (!arn.contains("${")).then_some(arn)
    }
}

/// Where one action may act, for one role.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scope {
    /// Sorted ARN patterns; `["*"]` for actions without resource-level permissions.
    resources: Vec<String>,
    /// operator -> key -> values.
    conditions: Vec<(String, String, Vec<String>)>,
    /// Names the statement (`S3BucketObject`, `Ec2AnyResource`).
    label: String,
}

/// The resources `action` may act on in this env, or why it gets none.
fn scope_of(target: &Target, action: &IamAction) -> Result<Scope, String> {
    if !action.supports_resources() {
        return Ok(Scope {
            resources: vec!["*".to_owned()],
            conditions: Vec::new(),
            label: format!("{}AnyResource", pascal(action.service())),
        });
    }
    // A request names one resource of each required type: when the stack
    // has none of one of them, the action cannot act on this stack at all.
    if let Some(missing) = action.resource_types.iter().find(|resource_type| {
        resource_type.required
            && target
                .resources_of(action.service(), resource_type.name, resource_type.arn)
                .is_none()
    }) {
        return Err(format!(
            "needs a {} resource too, of which the stack has none",
            missing.name
        ));
    }
    let mut resources = BTreeSet::new();
    let mut labels = BTreeSet::new();
    for resource_type in action.resource_types {
        if let Some(arn) =
            target.resources_of(action.service(), resource_type.name, resource_type.arn)
        {
            resources.insert(arn);
            labels.insert(pascal(resource_type.name));
        }
    }
    if resources.is_empty() {
        let types: Vec<&str> = action.resource_types.iter().map(|rt| rt.name).collect();
        return Err(format!(
            "acts only on {} resources, of which the stack has none",
            types.join(", ")
        ));
    }
    Ok(Scope {
        resources: resources.into_iter().collect(),
        conditions: Vec::new(),
        label: format!(
            "{}{}",
            pascal(action.service()),
            labels.into_iter().collect::<String>()
        ),
    })
}

fn pascal(word: &str) -> String {
    word.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A role's permissions while they are collected: (resources, conditions)
/// -> (the first scope's label, actions). Scopes that only differ in label
/// share one statement.
#[derive(Debug, Default)]
struct Grants {
    by_scope: BTreeMap<ScopeKey, (String, BTreeSet<String>)>,
}

type ScopeKey = (Vec<String>, Vec<(String, String, Vec<String>)>);

impl Grants {
    fn grant(&mut self, action: &str, scope: Scope) {
        self.by_scope
            .entry((scope.resources, scope.conditions))
            .or_insert_with(|| (scope.label, BTreeSet::new()))
            .1
            .insert(action.to_owned());
    }

    fn grant_on(&mut self, actions: &[&str], label: &str, resources: Vec<String>) {
        let mut resources = resources;
        resources.sort();
        for action in actions {
            self.grant(
                action,
                Scope {
                    resources: resources.clone(),
                    conditions: Vec::new(),
                    label: label.to_owned(),
                },
            );
        }
    }

    fn grant_when(
        &mut self,
        actions: &[&str],
        label: &str,
        resources: Vec<String>,
        conditions: Vec<(&str, &str, Vec<String>)>,
    ) {
        let mut resources = resources;
        resources.sort();
        let mut conditions: Vec<(String, String, Vec<String>)> = conditions
            .into_iter()
            .map(|(op, key, values)| (op.to_owned(), key.to_owned(), values))
            .collect();
        conditions.sort();
        for action in actions {
            self.grant(
                action,
                Scope {
                    resources: resources.clone(),
                    conditions: conditions.clone(),
                    label: label.to_owned(),
                },
            );
        }
    }

    fn extend(&mut self, other: &Grants) {
        for ((resources, conditions), (label, actions)) in &other.by_scope {
            for action in actions {
                self.grant(
                    action,
                    Scope {
                        resources: resources.clone(),
                        conditions: conditions.clone(),
                        label: label.clone(),
                    },
                );
            }
        }
    }

    /// One statement per scope, with a unique Sid, in a stable order.
    fn statements(&self) -> Vec<Statement> {
        let mut used: BTreeMap<String, usize> = BTreeMap::new();
        let mut statements = Vec::new();
        for ((resources, conditions), (label, actions)) in &self.by_scope {
            let count = used.entry(label.clone()).or_default();
            *count += 1;
            let sid = if *count == 1 {
                label.clone()
            } else {
                format!("{label}{count}")
            };
            let mut statement = Statement::allow()
                .sid(sid)
                .actions(actions.iter().cloned())
                .resources(resources.iter().map(|arn| Value::Lit(arn.clone())));
            for (operator, key, values) in conditions {
                statement = statement.condition(
                    operator,
                    key,
                    values.iter().map(|v| Value::Lit(v.clone())),
                );
            }
            statements.push(statement);
        }
        statements
    }
}

/// Compact JSON length: IAM's size limits ignore whitespace.
fn chars<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_string(value).map_or(usize::MAX, |text| text.len())
}

/// Packs statements into as few managed policies as fit the size limit.
fn pack(
    role: RoleKind,
    statements: Vec<Statement>,
) -> Result<Vec<PolicyDocument>, CiIdentityError> {
    let mut documents: Vec<PolicyDocument> = Vec::new();
    let mut current = PolicyDocument::default();
    for statement in statements {
        let size = chars(&statement);
        if chars(&PolicyDocument::new([statement.clone()])) > MAX_MANAGED_POLICY_CHARS {
            return Err(CiIdentityError::StatementTooLarge {
                role: role.word().to_owned(),
                chars: size,
            });
        }
        let mut candidate = current.clone();
        candidate.push(statement.clone());
        if chars(&candidate) > MAX_MANAGED_POLICY_CHARS {
            documents.push(std::mem::take(&mut current));
            current.push(statement);
        } else {
            current = candidate;
        }
    }
    if !current.statements.is_empty() {
        documents.push(current);
    }
    if documents.len() > MAX_POLICIES_PER_ROLE {
        return Err(CiIdentityError::TooManyPolicies {
            role: role.word().to_owned(),
            count: documents.len(),
        });
    }
    Ok(documents)
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
    let provider = OidcProvider {
        url: GITHUB_OIDC_URL.to_owned(),
        arn: format!("arn:{partition}:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"),
        audiences: vec![STS_AUDIENCE.to_owned()],
        thumbprints: GITHUB_THUMBPRINTS.iter().map(|t| (*t).to_owned()).collect(),
    };
    let types = resource_types(app_template);
    let mut withheld = Vec::new();

    // The execution role: every handler permission of the template's types.
    let mut execution = Grants::default();
    let mut live_reads = Grants::default();
    let mut exec_actions = BTreeSet::new();
    let mut read_actions = BTreeSet::new();
    for type_name in &types {
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
        let mut scope = match scope_of(&target, action) {
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
                    "arn:{partition}:s3:::{}/{}*",
                    target.asset_bucket, ASSET_PREFIX
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
        match scope_of(&target, action) {
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
        match scope_of(&target, action) {
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
            vec![role_arn(RoleKind::Execution)],
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
                vec![role_arn(RoleKind::Execution)],
            ),
            (
                "ForAllValues:StringEquals",
                "cloudformation:ResourceTypes",
                types.clone(),
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
    deploy.grant_on(
        &["lambda:GetFunction"],
        "EnvFunctions",
        vec![target.arn("lambda", true, &format!("function:{}-*", target.prefix))],
    );
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
    if !config.production {
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

    let federated = Principal::Federated(vec![Value::Lit(provider.arn.clone())]);
    let web_identity = |subject: String| {
        PolicyDocument::new([Statement::allow()
            .sid("GitHubActions")
            .principal(federated.clone())
            .action("sts:AssumeRoleWithWebIdentity")
            .condition(
                "StringEquals",
                format!("{GITHUB_OIDC_HOST}:aud"),
                [Value::Lit(STS_AUDIENCE.to_owned())],
            )
            .condition(
                "StringEquals",
                format!("{GITHUB_OIDC_HOST}:sub"),
                [Value::Lit(subject)],
            )])
    };
    let trusts = [
        web_identity(repository.pull_request_subject()),
        web_identity(repository.environment_subject(env)),
        PolicyDocument::new([Statement::allow()
            .sid("CloudFormation")
            .principal(Principal::Service(vec![
                "cloudformation.amazonaws.com".into(),
            ]))
            .action("sts:AssumeRole")]),
    ];
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
