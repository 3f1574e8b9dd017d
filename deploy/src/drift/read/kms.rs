//! `AWS::KMS::Key` (DescribeKey, GetKeyPolicy, GetKeyRotationStatus) and
//! `AWS::KMS::Alias` (ListAliases).

use serde_json::{Map, json};

use super::{Outcome, Reader, Reading, boxed, json_text, key_as_declared};
use crate::aws::{CallError, call};
use crate::drift::{DriftClients, Target};

pub(super) const READERS: &[Reader] = &[
    Reader {
        resource_type: "AWS::KMS::Key",
        always: &["KeyPolicy", "EnableKeyRotation", "Enabled", KEY_STATE],
        when_declared: &[
            "Description",
            "KeyUsage",
            "KeySpec",
            "MultiRegion",
            "RotationPeriodInDays",
        ],
        unordered: &[],
        defaults: &[
            ("EnableKeyRotation", "false"),
            ("Enabled", "true"),
            (KEY_STATE, r#""Enabled""#),
        ],
        actions: &[
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
        ],
        read: boxed!(read_key),
    },
    Reader {
        resource_type: "AWS::KMS::Alias",
        always: &["TargetKeyId"],
        when_declared: &[],
        unordered: &[],
        defaults: &[],
        actions: &["kms:ListAliases"],
        read: boxed!(read_alias),
    },
];

/// Not a CloudFormation property: the key's state. A key scheduled for
/// deletion (`PendingDeletion`, with the date) takes everything encrypted
/// with it when the date comes.
pub const KEY_STATE: &str = "KeyState";

async fn read_key(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let kms = &clients.kms;
    let key = target.physical_id;
    let described = match call("kms:DescribeKey", kms.describe_key().key_id(key).send()).await {
        Ok(output) => output,
        Err(error) if error.code.as_deref() == Some("NotFoundException") => {
            return Ok(Outcome::Gone);
        }
        Err(error) => return Err(error),
    };
    let mut properties = Map::new();
    let Some(metadata) = described.key_metadata() else {
        return Ok(Outcome::Gone);
    };
    if let Some(description) = metadata.description() {
        properties.insert("Description".into(), json!(description));
    }
    properties.insert("Enabled".into(), json!(metadata.enabled()));
    if let Some(usage) = metadata.key_usage() {
        properties.insert("KeyUsage".into(), json!(usage.as_str()));
    }
    if let Some(spec) = metadata.key_spec() {
        properties.insert("KeySpec".into(), json!(spec.as_str()));
    }
    if let Some(multi_region) = metadata.multi_region() {
        properties.insert("MultiRegion".into(), json!(multi_region));
    }
    if let Some(state) = metadata.key_state() {
        let state = match metadata.deletion_date() {
            Some(date) => format!("{} (deletion on {date})", state.as_str()),
            None => state.as_str().to_owned(),
        };
        properties.insert(KEY_STATE.into(), json!(state));
    }
    let policy = call(
        "kms:GetKeyPolicy",
        kms.get_key_policy()
            .key_id(key)
            .policy_name("default")
            .send(),
    )
    .await?;
    if let Some(policy) = policy.policy() {
        properties.insert("KeyPolicy".into(), json_text(policy));
    }
    // Only symmetric encryption keys rotate; asking for another kind of key
    // is an error, and a key that cannot rotate has rotation off.
    let rotates = metadata
        .key_spec()
        .is_none_or(|spec| spec.as_str() == "SYMMETRIC_DEFAULT");
    if rotates {
        let rotation = call(
            "kms:GetKeyRotationStatus",
            kms.get_key_rotation_status().key_id(key).send(),
        )
        .await?;
        properties.insert(
            "EnableKeyRotation".into(),
            json!(rotation.key_rotation_enabled()),
        );
        if let Some(days) = rotation.rotation_period_in_days() {
            properties.insert("RotationPeriodInDays".into(), json!(days));
        }
    } else {
        properties.insert("EnableKeyRotation".into(), json!(false));
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

async fn read_alias(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let mut marker: Option<String> = None;
    loop {
        let page = call(
            "kms:ListAliases",
            clients.kms.list_aliases().set_marker(marker.clone()).send(),
        )
        .await?;
        if let Some(alias) = page
            .aliases()
            .iter()
            .find(|alias| alias.alias_name() == Some(target.physical_id))
        {
            let mut properties = Map::new();
            if let Some(key) = alias.target_key_id() {
                properties.insert(
                    "TargetKeyId".into(),
                    key_as_declared(target.expected.get("TargetKeyId"), key),
                );
            }
            return Ok(Outcome::Found(Reading {
                properties,
                implied: Map::new(),
            }));
        }
        marker = page
            .next_marker()
            .map(str::to_owned)
            .filter(|_| page.truncated());
        if marker.is_none() {
            return Ok(Outcome::Gone);
        }
    }
}
