//! `AWS::Logs::LogGroup`: DescribeLogGroups.

use serde_json::{Map, json};

use super::{Outcome, Reader, Reading, boxed, key_as_declared};
use crate::aws::{CallError, call};
use crate::drift::{DriftClients, Target};

pub(super) const READERS: &[Reader] = &[Reader {
    resource_type: "AWS::Logs::LogGroup",
    // No retention set means the logs are kept forever; no key, encrypted
    // with CloudWatch Logs' own.
    always: &["RetentionInDays", "KmsKeyId"],
    when_declared: &["LogGroupClass"],
    unordered: &[],
    defaults: &[],
    actions: &["logs:DescribeLogGroups"],
    read: boxed!(read_log_group),
}];

async fn read_log_group(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let name = target.physical_id;
    let mut token: Option<String> = None;
    loop {
        let page = call(
            "logs:DescribeLogGroups",
            clients
                .logs
                .describe_log_groups()
                .log_group_name_prefix(name)
                .set_next_token(token.clone())
                .send(),
        )
        .await?;
        if let Some(group) = page
            .log_groups()
            .iter()
            .find(|group| group.log_group_name() == Some(name))
        {
            let mut properties = Map::new();
            if let Some(days) = group.retention_in_days() {
                properties.insert("RetentionInDays".into(), json!(days));
            }
            if let Some(key) = group.kms_key_id() {
                properties.insert(
                    "KmsKeyId".into(),
                    key_as_declared(target.expected.get("KmsKeyId"), key),
                );
            }
            if let Some(class) = group.log_group_class() {
                properties.insert("LogGroupClass".into(), json!(class.as_str()));
            }
            return Ok(Outcome::Found(Reading {
                properties,
                implied: Map::new(),
            }));
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(Outcome::Gone);
        }
    }
}
