//! Exactly-once effects per object version, on top of S3's at-least-once
//! event delivery and Lambda's retries.
//!
//! # Item layout (in the stack's single table, `pk`/`sk` strings)
//!
//! | attribute          | value                                                         |
//! |--------------------|---------------------------------------------------------------|
//! | `pk`               | `idem#<handler>#<bucket>/<key>` (decoded key)                 |
//! | `sk`               | `version#<versionId>`, or `sequencer#<sequencer>` unversioned |
//! | `state`            | `IN_PROGRESS`, `DONE` or `FAILED`                             |
//! | `claim_token`      | random token of the attempt holding the claim                 |
//! | `lease_expires_at` | epoch seconds (N); an IN_PROGRESS claim past it may be taken  |
//! | `attempts`         | number of claims so far (N)                                   |
//! | `request_id`       | Lambda request ID of the last claimant                        |
//! | `updated_at`       | RFC 3339                                                      |
//! | `summary`          | DONE: what was done                                           |
//! | `reason`           | FAILED: why                                                   |
//!
//! A claim is a conditional `PutItem`
//! (`attribute_not_exists(pk) OR (state = IN_PROGRESS AND lease_expires_at < now)`).
//! The lease ends shortly after the claiming invocation's own deadline, so a
//! crashed or timed-out attempt never blocks Lambda's retry for longer than
//! the function could have run. DONE and FAILED are final: duplicates are
//! skipped. A transient failure deletes the claim so the retry starts fresh.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
use upstack_contract::table::{PARTITION_KEY, SORT_KEY};

use crate::clock::{Clock, epoch_seconds, rfc3339};
use crate::error::{HandlerError, classify_sdk_error};
use crate::s3_event::ObjectVersion;

const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionState {
    InProgress,
    Done,
    Failed,
}

impl VersionState {
    pub fn as_str(&self) -> &'static str {
        match self {
            VersionState::InProgress => "IN_PROGRESS",
            VersionState::Done => "DONE",
            VersionState::Failed => "FAILED",
        }
    }

    fn parse(value: &str) -> Option<VersionState> {
        match value {
            "IN_PROGRESS" => Some(VersionState::InProgress),
            "DONE" => Some(VersionState::Done),
            "FAILED" => Some(VersionState::Failed),
            _ => None,
        }
    }
}

/// Proof of holding the claim; completing or releasing requires it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Acquired(ClaimToken),
    AlreadyDone {
        summary: String,
    },
    AlreadyFailed {
        reason: String,
    },
    /// Another attempt holds an unexpired lease (a concurrent duplicate
    /// delivery): the caller retries later, by which time it is DONE.
    HeldElsewhere {
        lease_expires_at: i64,
    },
}

#[derive(Debug, Clone)]
pub struct IdempotencyStore {
    client: Client,
    table: String,
    handler: &'static str,
    clock: Arc<dyn Clock>,
}

impl IdempotencyStore {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        handler: &'static str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        IdempotencyStore {
            client,
            table: table.into(),
            handler,
            clock,
        }
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn partition_key(&self, version: &ObjectVersion) -> String {
        format!("idem#{}#{}/{}", self.handler, version.bucket, version.key)
    }

    fn key(&self, version: &ObjectVersion) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                PARTITION_KEY.to_owned(),
                AttributeValue::S(self.partition_key(version)),
            ),
            (
                SORT_KEY.to_owned(),
                AttributeValue::S(version.marker.as_sort_key()),
            ),
        ])
    }

    /// Claims `version` until `lease_until`.
    pub async fn claim(
        &self,
        version: &ObjectVersion,
        request_id: &str,
        lease_until: SystemTime,
    ) -> Result<Claim, HandlerError> {
        // Two rounds: a claim that was released between our failed put and
        // our read is simply claimed again.
        for _ in 0..2 {
            let now = self.clock.now();
            let token = ClaimToken(format!(
                "{:016x}{:016x}",
                fastrand::u64(..),
                fastrand::u64(..)
            ));
            let mut item = self.key(version);
            item.extend([
                (
                    "state".to_owned(),
                    AttributeValue::S(VersionState::InProgress.as_str().to_owned()),
                ),
                ("claim_token".to_owned(), AttributeValue::S(token.0.clone())),
                (
                    "lease_expires_at".to_owned(),
                    AttributeValue::N(epoch_seconds(lease_until).to_string()),
                ),
                (
                    "request_id".to_owned(),
                    AttributeValue::S(request_id.to_owned()),
                ),
                ("updated_at".to_owned(), AttributeValue::S(rfc3339(now))),
                (
                    "bucket".to_owned(),
                    AttributeValue::S(version.bucket.clone()),
                ),
                (
                    "object_key".to_owned(),
                    AttributeValue::S(version.key.clone()),
                ),
            ]);
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(
                    "attribute_not_exists(#pk) OR (#state = :in_progress AND #lease < :now)",
                )
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#lease", "lease_expires_at")
                .expression_attribute_values(
                    ":in_progress",
                    AttributeValue::S("IN_PROGRESS".into()),
                )
                .expression_attribute_values(
                    ":now",
                    AttributeValue::N(epoch_seconds(now).to_string()),
                )
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claim::Acquired(token)),
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(error) => {
                    return Err(classify_sdk_error(
                        "DynamoDB PutItem (idempotency claim)",
                        &error,
                        &[],
                    ));
                }
            }
            if let Some(existing) = self.read(version).await? {
                return Ok(existing);
            }
        }
        Err(HandlerError::Transient(format!(
            "idempotency claim for {} kept changing under us",
            version.canonical()
        )))
    }

    async fn read(&self, version: &ObjectVersion) -> Result<Option<Claim>, HandlerError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key(version)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| {
                classify_sdk_error("DynamoDB GetItem (idempotency state)", &error, &[])
            })?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned();
        let state = text("state").as_deref().and_then(VersionState::parse);
        Ok(Some(match state {
            Some(VersionState::Done) => Claim::AlreadyDone {
                summary: text("summary").unwrap_or_default(),
            },
            Some(VersionState::Failed) => Claim::AlreadyFailed {
                reason: text("reason").unwrap_or_default(),
            },
            Some(VersionState::InProgress) => Claim::HeldElsewhere {
                lease_expires_at: item
                    .get("lease_expires_at")
                    .and_then(|value| value.as_n().ok())
                    .and_then(|number| number.parse().ok())
                    .unwrap_or(0),
            },
            None => {
                return Err(HandlerError::Transient(format!(
                    "idempotency item {}/{} has an unknown state {:?}",
                    self.partition_key(version),
                    version.marker.as_sort_key(),
                    text("state")
                )));
            }
        }))
    }

    pub async fn mark_done(
        &self,
        version: &ObjectVersion,
        token: &ClaimToken,
        summary: &str,
    ) -> Result<(), HandlerError> {
        self.finish(version, token, VersionState::Done, "summary", summary)
            .await
    }

    pub async fn mark_failed(
        &self,
        version: &ObjectVersion,
        token: &ClaimToken,
        reason: &str,
    ) -> Result<(), HandlerError> {
        self.finish(version, token, VersionState::Failed, "reason", reason)
            .await
    }

    async fn finish(
        &self,
        version: &ObjectVersion,
        token: &ClaimToken,
        state: VersionState,
        detail_name: &str,
        detail: &str,
    ) -> Result<(), HandlerError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(version)))
            .update_expression("SET #state = :state, #detail = :detail, updated_at = :now REMOVE lease_expires_at, claim_token")
            .condition_expression("claim_token = :token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#detail", detail_name)
            .expression_attribute_values(":state", AttributeValue::S(state.as_str().to_owned()))
            .expression_attribute_values(":detail", AttributeValue::S(detail.to_owned()))
            .expression_attribute_values(":now", AttributeValue::S(rfc3339(self.clock.now())))
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
            .return_values(ReturnValue::None)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(CONDITIONAL_CHECK_FAILED) => {
                // Our lease ran out and another attempt took over; it will
                // record its own outcome, which is the same work.
                tracing::warn!(object = %version.canonical(), state = state.as_str(), "claim was taken over before completion");
                Ok(())
            }
            Err(error) => Err(classify_sdk_error(
                "DynamoDB UpdateItem (idempotency completion)",
                &error,
                &[],
            )),
        }
    }

    /// Gives the claim up after a transient failure so the retry can claim it.
    pub async fn release(
        &self,
        version: &ObjectVersion,
        token: &ClaimToken,
    ) -> Result<(), HandlerError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.key(version)))
            .condition_expression("claim_token = :token")
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(CONDITIONAL_CHECK_FAILED) => Ok(()),
            Err(error) => Err(classify_sdk_error(
                "DynamoDB DeleteItem (idempotency release)",
                &error,
                &[],
            )),
        }
    }
}
