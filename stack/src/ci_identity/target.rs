//! Where one env's resources live: the ARN patterns that cover exactly
//! them, and the scope each IAM action gets on them.

use std::collections::BTreeSet;

use upstack_cfn::IamAction;

use super::{ASSET_PREFIX, TEMPLATE_PREFIX};

/// Where one env lives, for ARNs.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) partition: &'static str,
    pub(super) region: String,
    pub(super) account: String,
    /// `<app>-<env>`: the prefix of every physical name the stack gives.
    pub(super) prefix: String,
    /// The app stack's name: CloudFormation names the roles and policies it
    /// generates names for `<stack_name>-<LogicalId>-<suffix>`.
    pub(super) stack_name: String,
    pub(super) asset_bucket: String,
}

impl Target {
    pub(super) fn arn(&self, service: &str, regional: bool, resource: &str) -> String {
        let region = if regional { self.region.as_str() } else { "" };
        format!(
            "arn:{}:{service}:{region}:{}:{resource}",
            self.partition, self.account
        )
    }

    pub(super) fn stack_arn(&self) -> String {
        self.arn(
            "cloudformation",
            true,
            &format!("stack/{}/*", self.stack_name),
        )
    }

    pub(super) fn asset_objects(&self) -> Vec<String> {
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

    pub(super) fn asset_bucket_arn(&self) -> String {
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
pub(super) struct Scope {
    /// Sorted ARN patterns; `["*"]` for actions without resource-level permissions.
    pub(super) resources: Vec<String>,
    /// operator -> key -> values.
    pub(super) conditions: Vec<(String, String, Vec<String>)>,
    /// Names the statement (`S3BucketObject`, `Ec2AnyResource`).
    pub(super) label: String,
}

/// The resources `action` may act on in this env, or why it gets none.
pub(super) fn scope_of(target: &Target, action: &IamAction) -> Result<Scope, String> {
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
