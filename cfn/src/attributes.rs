//! What `Fn::GetAtt` returns for a deployed resource, derived from its
//! physical ID (what `Ref` returns) the way CloudFormation documents each
//! type's return values. One table, used wherever a deployed stack's
//! values are needed: drift (expected values), local invoke (a handler's
//! environment).

use crate::intrinsic::PseudoValues;

/// `Fn::GetAtt` of a `resource_type` resource whose `Ref` is `physical_id`;
/// `path` is an IAM role's or policy's `Path` when the template sets one.
/// `None` for an attribute this table cannot derive (it needs a read) or
/// when the pseudo values lack the region, account or partition it needs.
pub fn derived(
    resource_type: &str,
    physical_id: &str,
    attribute: &str,
    path: Option<&str>,
    known: &PseudoValues,
) -> Option<String> {
    let partition = known.partition.as_deref();
    let region = known.region.as_deref();
    let account = known.account_id.as_deref();
    let arn = |service: &str, regional: bool, resource: String| -> Option<String> {
        let region = if regional { region? } else { "" };
        Some(format!(
            "arn:{}:{service}:{region}:{}:{resource}",
            partition?, account?
        ))
    };
    let last_segment = |text: &str| text.rsplit(['/', ':']).next().unwrap_or(text).to_owned();
    let path = path.unwrap_or("/");
    match (resource_type, attribute) {
        ("AWS::SNS::Topic", "TopicArn") => Some(physical_id.to_owned()),
        ("AWS::SNS::Topic", "TopicName") => Some(last_segment(physical_id)),
        ("AWS::SQS::Queue", "QueueUrl") => Some(physical_id.to_owned()),
        ("AWS::SQS::Queue", "QueueName") => Some(last_segment(physical_id)),
        ("AWS::SQS::Queue", "Arn") => arn("sqs", true, last_segment(physical_id)),
        ("AWS::DynamoDB::Table", "Arn") => arn("dynamodb", true, format!("table/{physical_id}")),
        ("AWS::S3::Bucket", "Arn") => Some(format!("arn:{}:s3:::{physical_id}", partition?)),
        ("AWS::S3::Bucket", "DomainName") => {
            Some(format!("{physical_id}.s3.{}", known.url_suffix.as_deref()?))
        }
        ("AWS::Lambda::Function", "Arn") => arn("lambda", true, format!("function:{physical_id}")),
        ("AWS::KMS::Key", "Arn") => arn("kms", true, format!("key/{physical_id}")),
        ("AWS::KMS::Key", "KeyId") => Some(physical_id.to_owned()),
        ("AWS::IAM::Role", "Arn") => arn("iam", false, format!("role{path}{physical_id}")),
        ("AWS::IAM::ManagedPolicy", "PolicyArn") => Some(physical_id.to_owned()),
        ("AWS::Logs::LogGroup", "Arn") => arn("logs", true, format!("log-group:{physical_id}:*")),
        ("AWS::CloudWatch::Alarm" | "AWS::CloudWatch::CompositeAlarm", "Arn") => {
            arn("cloudwatch", true, format!("alarm:{physical_id}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_follow_each_types_documented_format() {
        let known = PseudoValues::for_region("eu-west-1").with_account_id("123456789012");
        let get = |resource_type, physical_id, attribute| {
            derived(resource_type, physical_id, attribute, None, &known)
        };
        assert_eq!(
            get(
                "AWS::SQS::Queue",
                "https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo",
                "Arn"
            )
            .as_deref(),
            Some("arn:aws:sqs:eu-west-1:123456789012:q.fifo")
        );
        assert_eq!(
            get("AWS::IAM::Role", "r", "Arn").as_deref(),
            Some("arn:aws:iam::123456789012:role/r")
        );
        assert_eq!(
            derived("AWS::IAM::Role", "r", "Arn", Some("/ci/"), &known).as_deref(),
            Some("arn:aws:iam::123456789012:role/ci/r")
        );
        assert_eq!(
            get("AWS::Logs::LogGroup", "/aws/lambda/f", "Arn").as_deref(),
            Some("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/f:*")
        );
        assert_eq!(
            get("AWS::S3::Bucket", "b", "Arn").as_deref(),
            Some("arn:aws:s3:::b")
        );
        assert_eq!(get("AWS::Lambda::Function", "f", "Version"), None);
        // Without the account, an ARN cannot be derived.
        let regional = PseudoValues::for_region("eu-west-1");
        assert_eq!(derived("AWS::KMS::Key", "k", "Arn", None, &regional), None);
    }
}
