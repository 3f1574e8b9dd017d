//! Small pure policy builders. Each returns statements scoped to exact ARNs;
//! the role, bucket, topic and key policies are assembled from them.

use upstack_cfn::value::{Pseudo, sub};
use upstack_cfn::{Principal, Statement, Value};

/// `arn:${AWS::Partition}:s3:::<bucket>` for a bucket whose name is an `Fn::Sub` template.
pub fn bucket_arn(bucket_name_sub: &str) -> Value<String> {
    sub(format!("arn:${{AWS::Partition}}:s3:::{bucket_name_sub}"))
}

/// Objects under `prefix` (`uploads/` -> `arn:...:s3:::bucket/uploads/*`).
pub fn objects_arn(bucket_name_sub: &str, prefix: &str) -> Value<String> {
    sub(format!(
        "arn:${{AWS::Partition}}:s3:::{bucket_name_sub}/{prefix}*"
    ))
}

/// `s3:GetObject` and `s3:GetObjectVersion` on the objects under `prefix`
/// only. The handlers read the exact version named in the S3 event, and S3
/// authorizes a GET with `versionId` as `s3:GetObjectVersion`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax>);
/// Rekognition reads the photo version with the caller's permissions too.
pub fn grant_read(bucket_name_sub: &str, prefix: &str) -> Statement {
    Statement::allow()
        .actions(["s3:GetObject", "s3:GetObjectVersion"])
        .resource(objects_arn(bucket_name_sub, prefix))
}

/// `s3:PutObject` on the objects under each prefix only.
pub fn grant_put(bucket_name_sub: &str, prefixes: &[&str]) -> Statement {
    Statement::allow().action("s3:PutObject").resources(
        prefixes
            .iter()
            .map(|prefix| objects_arn(bucket_name_sub, prefix)),
    )
}

/// `sns:Publish` on exactly these topics.
pub fn grant_publish(topic_arns: Vec<Value<String>>) -> Statement {
    Statement::allow()
        .action("sns:Publish")
        .resources(topic_arns)
}

/// Item-level table actions on the table itself (no indexes, no streams).
pub fn grant_table(actions: &[String], table_arn: Value<String>) -> Statement {
    Statement::allow()
        .actions(actions.iter().cloned())
        .resource(table_arn)
}

/// Writing to a function's own log group. `CreateLogStream` and
/// `PutLogEvents` act on `log-group:<name>:log-stream:<stream>`, which the
/// `log-group:<name>:*` ARN covers.
pub fn grant_log_writes(log_group_name: &str) -> Statement {
    Statement::allow()
        .actions(["logs:CreateLogStream", "logs:PutLogEvents"])
        .resource(sub(format!(
            "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{log_group_name}:*"
        )))
}

/// `sqs:SendMessage` on one queue: Lambda sends async on-failure records with
/// the function's role (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>).
pub fn grant_send(queue_arn: Value<String>) -> Statement {
    Statement::allow()
        .action("sqs:SendMessage")
        .resource(queue_arn)
}

/// Using the stack key to read SSE-KMS objects and encrypted environment
/// variables (`kms:Decrypt`) and to publish/send into encrypted topics and
/// queues (`kms:GenerateDataKey` + `kms:Decrypt`).
pub fn grant_key_use(key_arn: Value<String>) -> Statement {
    Statement::allow()
        .actions(["kms:Decrypt", "kms:GenerateDataKey"])
        .resource(key_arn)
}

/// Denies any request to `resources` made without TLS (`aws:SecureTransport` false).
pub fn deny_insecure_transport(actions: &[&str], resources: Vec<Value<String>>) -> Statement {
    Statement::deny()
        .sid("DenyInsecureTransport")
        .principal(Principal::Any)
        .actions(actions.iter().copied())
        .resources(resources)
        .condition("Bool", "aws:SecureTransport", [Value::from("false")])
}

/// `StringEquals aws:SourceAccount = this account`, the confused-deputy guard
/// AWS recommends next to `aws:SourceArn` for service principals.
pub fn same_account(statement: Statement) -> Statement {
    statement.condition(
        "StringEquals",
        "aws:SourceAccount",
        [Pseudo::AccountId.value()],
    )
}

/// The account root as a principal: lets IAM policies in this account grant key use.
pub fn account_root() -> Principal {
    Principal::Aws(vec![sub(
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
    )])
}
