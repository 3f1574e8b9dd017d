//! Drift: every resource of a deployed stack read with its own service's
//! API and compared (by `upstack_diff::drift`, pure) with the deployed
//! template, its intrinsics resolved against the stack's resources.
//!
//! Not CloudFormation's drift detection: it checks only the properties a
//! template declares, skips many types, and takes minutes. Reading the
//! resources directly also sees what was set by hand on a property the
//! template leaves out (reserved concurrency, a CORS rule), and each read
//! runs concurrently. A resource that cannot be read is `unknown`, never
//! taken for "no drift".

mod read;

use futures_util::StreamExt;
use serde_json::{Map, Value as Json};
use upstack_cfn::intrinsic::{PseudoValues, resolve_with};
use upstack_diff::drift::{Observed, ResourceDrift, resource_drift};

pub use crate::stack::DeployedStack;

pub use read::{Outcome, Reader, Reading, reader_for, readers};

/// How many resources are read at once: enough to read a 50-resource stack
/// in a few round trips, few enough to stay under the services' read
/// throttles (the SDK retries what is throttled anyway).
const CONCURRENT_READS: usize = 8;

/// One client per service a stack resource can belong to.
#[derive(Debug, Clone)]
pub struct DriftClients {
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

impl DriftClients {
    pub fn new(sdk_config: &aws_config::SdkConfig) -> DriftClients {
        DriftClients {
            lambda: aws_sdk_lambda::Client::new(sdk_config),
            iam: aws_sdk_iam::Client::new(sdk_config),
            kms: aws_sdk_kms::Client::new(sdk_config),
            s3: crate::aws::s3_client(sdk_config),
            sns: aws_sdk_sns::Client::new(sdk_config),
            sqs: aws_sdk_sqs::Client::new(sdk_config),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk_config),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk_config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk_config),
        }
    }
}

// What only drift asks of a deployed stack; the type and its names are the
// stack reader's.
impl DeployedStack {
    /// The logical IDs of the template's resources of `resource_type`.
    pub fn of_type<'a>(&'a self, resource_type: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.template["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(move |(_, resource)| resource["Type"] == resource_type)
            .map(|(logical_id, _)| logical_id.as_str())
    }

    /// `Properties` of one resource with every intrinsic resolved that the
    /// stack's resources and pseudo parameters can resolve.
    pub fn expected(&self, logical_id: &str) -> Map<String, Json> {
        let properties = &self.template["Resources"][logical_id]["Properties"];
        match resolve_with(properties, &self.pseudo, self) {
            Json::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// The drift of the deployed stack `stack` (name or ID) whose template is
/// `template`: its resources listed once (DescribeStackResources), then
/// each read. Errors only when the stack's resources cannot be listed; a
/// resource that cannot be read is `unknown` in the result.
pub async fn of_stack(
    cloudformation: &aws_sdk_cloudformation::Client,
    clients: &DriftClients,
    stack: &str,
    template: Json,
    pseudo: PseudoValues,
) -> Result<Vec<ResourceDrift>, crate::aws::CallError> {
    let deployed = DeployedStack::read(cloudformation, stack, template, pseudo).await?;
    Ok(read_drift(clients, &deployed).await)
}

/// One resource to read: who it is and what the template says of it.
#[derive(Debug)]
pub struct Target<'a> {
    pub logical_id: &'a str,
    pub physical_id: &'a str,
    /// Its properties in the deployed template, intrinsics resolved.
    pub expected: &'a Map<String, Json>,
    pub stack: &'a DeployedStack,
}

/// The drift of every resource in `stack`, ordered by logical ID. Reads run
/// [`CONCURRENT_READS`] at a time; none writes.
pub async fn read_drift(clients: &DriftClients, stack: &DeployedStack) -> Vec<ResourceDrift> {
    let resources: Vec<(String, String)> = stack.template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(logical_id, resource)| {
            (
                logical_id.clone(),
                resource["Type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut found: Vec<ResourceDrift> = futures_util::stream::iter(resources)
        .map(|(logical_id, resource_type)| async move {
            drift_of(clients, stack, &logical_id, &resource_type).await
        })
        .buffer_unordered(CONCURRENT_READS)
        .filter_map(|drift| async move { drift })
        .collect()
        .await;
    found.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    found
}

/// The drift of one resource of `stack`; `None` when it does not drift.
pub async fn read_one(
    clients: &DriftClients,
    stack: &DeployedStack,
    logical_id: &str,
) -> Option<ResourceDrift> {
    let resource_type = stack.template["Resources"][logical_id]["Type"]
        .as_str()
        .unwrap_or_default();
    drift_of(clients, stack, logical_id, resource_type).await
}

async fn drift_of(
    clients: &DriftClients,
    stack: &DeployedStack,
    logical_id: &str,
    resource_type: &str,
) -> Option<ResourceDrift> {
    let physical_id = stack.physical_id(logical_id);
    let mut expected = stack.expected(logical_id);
    let observed = match (reader_for(resource_type), physical_id) {
        (None, _) => Observed::Unknown(format!(
            "upstack does not read {resource_type} resources; check it in the console"
        )),
        (Some(_), None) => Observed::Unknown(format!(
            "CloudFormation lists no physical ID for it ({})",
            stack
                .resources
                .iter()
                .find(|resource| resource.logical_id == logical_id)
                .map(|resource| resource.status.as_str())
                .unwrap_or("not in DescribeStackResources")
        )),
        (Some(reader), Some(physical_id)) => {
            let target = Target {
                logical_id,
                physical_id,
                expected: &expected,
                stack,
            };
            match (reader.read)(clients, &target).await {
                Err(error) => Observed::Unknown(error.to_string()),
                Ok(Outcome::Gone) => Observed::Deleted,
                Ok(Outcome::Found(reading)) => {
                    let observed = reader.observed(&expected, reading.properties);
                    // What the template implies without stating it (the
                    // SHA-256 of the asset a function's S3Key names) joins
                    // what it says.
                    for (name, implied) in reading.implied {
                        match (expected.get_mut(&name), implied) {
                            (Some(Json::Object(declared)), Json::Object(fields)) => {
                                declared.extend(fields)
                            }
                            (_, implied) => {
                                expected.insert(name, implied);
                            }
                        }
                    }
                    observed
                }
            }
        }
    };
    resource_drift(logical_id, resource_type, physical_id, &expected, &observed)
}
