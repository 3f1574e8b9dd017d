//! `upstack list`: every env as synth knows it (stack, region, functions)
//! and whether its stack is deployed. What synth knows is always listed;
//! what AWS says is added when it can be asked, and said to be unknown, with
//! the reason, when it cannot (no credentials, AWS unreachable).

use serde::Serialize;
use upstack_stack::Manifest;

use crate::aws::CallError;
use crate::stack;

/// The version of `list --format json`; bumped on any change a reader could misread.
pub const SCHEMA_VERSION: u32 = 1;

/// One env: what its plan says and what the account has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvListing {
    pub env: String,
    pub stack_name: String,
    pub region: String,
    /// The account the env file pins, if any.
    pub account_id: Option<String>,
    pub production: bool,
    /// Each function's `FunctionName`, in the stack's order.
    pub functions: Vec<ListedFunction>,
    pub deployment: Deployment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedFunction {
    pub handler: String,
    pub function_name: String,
}

/// Whether the env's stack exists, as DescribeStacks answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Deployment {
    Deployed {
        /// CloudFormation's status, verbatim.
        status: String,
        /// RFC 3339: the last update, else the creation.
        last_deployed: Option<String>,
    },
    NotDeployed,
    /// AWS could not be asked; the reason says why (e.g. no credentials).
    Unknown {
        reason: String,
    },
}

impl EnvListing {
    /// The env as its plan describes it, before AWS is asked.
    pub fn of(manifest: &Manifest, deployment: Deployment) -> EnvListing {
        EnvListing {
            env: manifest.env.clone(),
            stack_name: manifest.stack_name.clone(),
            region: manifest.region.clone(),
            account_id: manifest.account_id.clone(),
            production: manifest.production,
            functions: manifest
                .functions
                .iter()
                .map(|function| ListedFunction {
                    handler: function.handler.clone(),
                    function_name: function.function_name.clone(),
                })
                .collect(),
            deployment,
        }
    }
}

/// DescribeStacks for `stack`: deployed (status, last deploy) or not; a
/// failed call is an unknown deployment with AWS's answer as the reason.
pub async fn deployment(sdk_config: &aws_config::SdkConfig, stack: &str) -> Deployment {
    let cfn = aws_sdk_cloudformation::Client::new(sdk_config);
    match stack::describe(&cfn, stack).await {
        Ok(Some(state)) => Deployment::Deployed {
            status: state.status.to_string(),
            last_deployed: state.last_updated_time.or(state.creation_time),
        },
        Ok(None) => Deployment::NotDeployed,
        Err(error) => unknown(&error),
    }
}

fn unknown(error: &CallError) -> Deployment {
    Deployment::Unknown {
        reason: error.to_string(),
    }
}

/// For a person: one block per env.
pub fn render_text(listings: &[EnvListing]) -> String {
    let mut out = String::new();
    for listing in listings {
        out.push_str(&format!(
            "{}: stack {} in {}{}{}\n",
            listing.env,
            listing.stack_name,
            listing.region,
            listing
                .account_id
                .as_ref()
                .map(|account| format!(", account {account}"))
                .unwrap_or_default(),
            if listing.production {
                " (production)"
            } else {
                ""
            }
        ));
        let functions: Vec<String> = listing
            .functions
            .iter()
            .map(|function| format!("{} ({})", function.handler, function.function_name))
            .collect();
        out.push_str(&format!("  functions: {}\n", functions.join(", ")));
        let deployed = match &listing.deployment {
            Deployment::Deployed {
                status,
                last_deployed,
            } => format!(
                "yes, {status}, last deploy {}",
                last_deployed.as_deref().unwrap_or("unknown")
            ),
            Deployment::NotDeployed => "no".to_owned(),
            Deployment::Unknown { reason } => format!("unknown ({reason})"),
        };
        out.push_str(&format!("  deployed: {deployed}\n"));
    }
    out
}

/// The versioned document: `{"schema_version": 1, "envs": [...]}`.
pub fn render_json(listings: &[EnvListing]) -> Result<String, serde_json::Error> {
    #[derive(Serialize)]
    struct Document<'a> {
        schema_version: u32,
        envs: &'a [EnvListing],
    }
    let mut json = serde_json::to_string_pretty(&Document {
        schema_version: SCHEMA_VERSION,
        envs: listings,
    })?;
    json.push('\n');
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(env: &str, deployment: Deployment) -> EnvListing {
        EnvListing {
            env: env.into(),
            stack_name: format!("upstack-{env}"),
            region: "eu-west-1".into(),
            account_id: (env == "prod").then(|| "123456789012".to_owned()),
            production: env == "prod",
            functions: ["notify", "ingest"]
                .into_iter()
                .map(|handler| ListedFunction {
                    handler: handler.into(),
                    function_name: format!("upstack-{env}-{handler}"),
                })
                .collect(),
            deployment,
        }
    }

    fn listings() -> Vec<EnvListing> {
        vec![
            listing(
                "dev",
                Deployment::Deployed {
                    status: "UPDATE_COMPLETE".into(),
                    last_deployed: Some("2026-11-27T12:00:00Z".into()),
                },
            ),
            listing("prod", Deployment::NotDeployed),
            listing(
                "staging",
                Deployment::Unknown {
                    reason: "no AWS credentials found".into(),
                },
            ),
        ]
    }

    #[test]
    fn text() {
        insta::assert_snapshot!(render_text(&listings()));
    }

    #[test]
    fn json() {
        insta::assert_snapshot!(render_json(&listings()).unwrap());
    }
}
