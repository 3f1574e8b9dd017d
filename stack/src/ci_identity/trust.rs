//! Who may assume the roles: the account's GitHub OIDC provider for the
//! plan and deploy roles (one subject each), CloudFormation for the
//! execution role.

use upstack_cfn::{PolicyDocument, Principal, Statement, Value};

use super::{OidcProvider, Repository};

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

/// The account's GitHub OIDC provider, as bootstrap creates or expects it.
pub(super) fn provider(partition: &str, account: &str) -> OidcProvider {
    OidcProvider {
        url: GITHUB_OIDC_URL.to_owned(),
        arn: format!("arn:{partition}:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"),
        audiences: vec![STS_AUDIENCE.to_owned()],
        thumbprints: GITHUB_THUMBPRINTS.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// The trust policies of the plan, deploy and execution roles, in that order.
pub(super) fn trust_policies(
    provider: &OidcProvider,
    repository: &Repository,
    env: &str,
) -> [PolicyDocument; 3] {
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
    [
        web_identity(repository.pull_request_subject()),
        web_identity(repository.environment_subject(env)),
        PolicyDocument::new([Statement::allow()
            .sid("CloudFormation")
            .principal(Principal::Service(vec![
                "cloudformation.amazonaws.com".into(),
            ]))
            .action("sts:AssumeRole")]),
    ]
}
