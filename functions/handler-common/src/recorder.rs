//! An SDK interceptor that writes down every AWS operation a handler makes,
//! as the IAM action it needs and the resource it touched (feature
//! `test-util`). A handler's tests build every client they hand it with
//! [`CallRecorder`]'s builders and compare the actions with the handler's
//! `IAM_ACTIONS`, which the stack's role is checked against: a handler that
//! starts calling something new fails a test instead of failing in AWS with
//! AccessDenied.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// One operation: the IAM action (`s3:GetObject`) and its resource
/// (`arn:aws:s3:::bucket/key`, `table/<name>`, the topic ARN, or `*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AwsCall {
    pub action: String,
    pub resource: String,
}

#[derive(Debug, Clone, Default)]
pub struct CallRecorder {
    calls: Arc<Mutex<Vec<AwsCall>>>,
}

impl CallRecorder {
    pub fn new() -> Self {
        CallRecorder::default()
    }

    pub fn calls(&self) -> Vec<AwsCall> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The distinct IAM actions seen so far.
    pub fn actions(&self) -> BTreeSet<String> {
        self.calls().into_iter().map(|call| call.action).collect()
    }

    /// Clients configured as `crate::sdk`'s, recording their calls here.
    pub fn s3_client(&self, sdk_config: &SdkConfig) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            crate::sdk::s3_config(sdk_config)
                .interceptor(self.clone())
                .build(),
        )
    }

    pub fn dynamodb_client(&self, sdk_config: &SdkConfig) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk_config)
                .interceptor(self.clone())
                .build(),
        )
    }

    pub fn sns_client(&self, sdk_config: &SdkConfig) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(sdk_config)
                .interceptor(self.clone())
                .build(),
        )
    }

    fn push(&self, call: AwsCall) {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(call);
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    // Once per operation (not per retry attempt), so a throttled call is
    // recorded once. Not `read_before_execution`: client interceptors run it
    // before the operation's `Metadata` is in the config bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = match cfg.load::<Metadata>() {
            Some(metadata) => (metadata.service().to_owned(), metadata.name().to_owned()),
            None => ("unknown".to_owned(), "Unknown".to_owned()),
        };
        self.push(describe(&service, &operation, context.input()));
        Ok(())
    }
}

/// IAM uses lower-case service prefixes that differ from the SDK's service
/// names (<https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>).
fn iam_prefix(service: &str) -> String {
    match service {
        "S3" => "s3".to_owned(),
        "DynamoDB" => "dynamodb".to_owned(),
        "SNS" => "sns".to_owned(),
        "SQS" => "sqs".to_owned(),
        "Rekognition" => "rekognition".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

fn describe(service: &str, operation: &str, input: &Input) -> AwsCall {
    use aws_sdk_dynamodb::operation as ddb;
    use aws_sdk_s3::operation as s3;
    use aws_sdk_sns::operation as sns;

    let s3_object = |bucket: Option<&str>, key: Option<&str>| {
        format!(
            "arn:aws:s3:::{}/{}",
            bucket.unwrap_or("?"),
            key.unwrap_or("?")
        )
    };
    // Reading a specific version needs s3:GetObjectVersion; HEAD is
    // authorised by the GET actions (S3 has no s3:HeadObject action).
    let s3_read_action = |version_id: Option<&str>| {
        if version_id.is_some() {
            "s3:GetObjectVersion"
        } else {
            "s3:GetObject"
        }
        .to_owned()
    };
    let table = |name: Option<&str>| format!("table/{}", name.unwrap_or("?"));
    let generic_action = format!("{}:{operation}", iam_prefix(service));

    if let Some(get) = input.downcast_ref::<s3::get_object::GetObjectInput>() {
        return AwsCall {
            action: s3_read_action(get.version_id()),
            resource: s3_object(get.bucket(), get.key()),
        };
    }
    if let Some(head) = input.downcast_ref::<s3::head_object::HeadObjectInput>() {
        return AwsCall {
            action: s3_read_action(head.version_id()),
            resource: s3_object(head.bucket(), head.key()),
        };
    }
    if let Some(put) = input.downcast_ref::<s3::put_object::PutObjectInput>() {
        return AwsCall {
            action: generic_action,
            resource: s3_object(put.bucket(), put.key()),
        };
    }
    if let Some(put) = input.downcast_ref::<ddb::put_item::PutItemInput>() {
        return AwsCall {
            action: generic_action,
            resource: table(put.table_name()),
        };
    }
    if let Some(get) = input.downcast_ref::<ddb::get_item::GetItemInput>() {
        return AwsCall {
            action: generic_action,
            resource: table(get.table_name()),
        };
    }
    if let Some(update) = input.downcast_ref::<ddb::update_item::UpdateItemInput>() {
        return AwsCall {
            action: generic_action,
            resource: table(update.table_name()),
        };
    }
    if let Some(delete) = input.downcast_ref::<ddb::delete_item::DeleteItemInput>() {
        return AwsCall {
            action: generic_action,
            resource: table(delete.table_name()),
        };
    }
    if let Some(batch) = input.downcast_ref::<ddb::batch_write_item::BatchWriteItemInput>() {
        let mut tables: Vec<&str> = batch
            .request_items()
            .map(|items| items.keys().map(String::as_str).collect())
            .unwrap_or_default();
        tables.sort_unstable();
        let resource = tables
            .iter()
            .map(|name| table(Some(name)))
            .collect::<Vec<_>>()
            .join(",");
        return AwsCall {
            action: generic_action,
            resource,
        };
    }
    if let Some(publish) = input.downcast_ref::<sns::publish::PublishInput>() {
        let target = publish.topic_arn().or(publish.target_arn()).unwrap_or("?");
        return AwsCall {
            action: generic_action,
            resource: target.to_owned(),
        };
    }
    // Everything else, Rekognition's DetectFaces among them: it has no
    // resource-level permissions, and Rekognition reads the S3 object with
    // the caller's own s3:GetObject(Version). Matching no input type here
    // keeps the recorder free of the Rekognition SDK, which test-util does
    // not turn on.
    AwsCall {
        action: generic_action,
        resource: "*".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[tokio::test]
    async fn records_action_and_table_of_each_call() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .then_output(|| PutItemOutput::builder().build());
        let recorder = CallRecorder::new();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&rule], |config| {
            config.interceptor(recorder.clone())
        });
        client
            .put_item()
            .table_name("items")
            .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("a".into()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            recorder.calls(),
            vec![AwsCall {
                action: "dynamodb:PutItem".into(),
                resource: "table/items".into()
            }]
        );
    }
}
