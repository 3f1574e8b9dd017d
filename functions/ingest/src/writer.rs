//! Writes items with `BatchWriteItem`: at most 25 per request (the API
//! limit), a bounded number of requests in flight, and `UnprocessedItems`
//! retried with capped exponential backoff and full jitter
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html>,
//! <https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use handler_common::{HandlerError, classify_sdk_error};
use tokio::task::JoinSet;
use upstack_contract::table::{PARTITION_KEY, SORT_KEY};

use crate::parse::Item;

pub const MAX_BATCH_ITEMS: usize = 25;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_secs(5),
            max_attempts: 8,
        }
    }
}

impl Backoff {
    /// Full jitter: uniform in `[0, min(cap, base * 2^retry)]`.
    pub fn delay(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let exponential = self
            .base
            .saturating_mul(2_u32.saturating_pow(retry.min(30)));
        let ceiling = exponential.min(self.cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.u64(0..=nanos))
    }
}

type Key = (String, String);

fn key_of(item: &Item) -> Key {
    let text = |name: &str| {
        item.get(name)
            .and_then(|value| value.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    (text(PARTITION_KEY), text(SORT_KEY))
}

/// Accumulates items into batches and keeps up to `max_in_flight` requests
/// running. Two rows with the same key are never in flight together (the
/// API rejects duplicates within a request, and across concurrent requests
/// the later row could land first): the writer drains before sending the
/// later one, so the last row in the file wins, deterministically.
pub struct BatchWriter {
    client: Client,
    table: String,
    max_in_flight: usize,
    backoff: Backoff,
    pending: Vec<Item>,
    pending_keys: HashSet<Key>,
    in_flight_keys: HashSet<Key>,
    in_flight: JoinSet<Result<Vec<Key>, HandlerError>>,
    pub items_written: u64,
    pub requests: u64,
}

impl std::fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter")
            .field("table", &self.table)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl BatchWriter {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        max_in_flight: usize,
        backoff: Backoff,
    ) -> Self {
        BatchWriter {
            client,
            table: table.into(),
            max_in_flight: max_in_flight.max(1),
            backoff,
            pending: Vec::with_capacity(MAX_BATCH_ITEMS),
            pending_keys: HashSet::new(),
            in_flight_keys: HashSet::new(),
            in_flight: JoinSet::new(),
            items_written: 0,
            requests: 0,
        }
    }

    pub async fn push(&mut self, item: Item) -> Result<(), HandlerError> {
        let key = key_of(&item);
        if self.pending_keys.contains(&key) || self.in_flight_keys.contains(&key) {
            self.send_pending().await?;
            self.drain().await?;
        }
        self.pending_keys.insert(key);
        self.pending.push(item);
        if self.pending.len() == MAX_BATCH_ITEMS {
            self.send_pending().await?;
        }
        Ok(())
    }

    /// Sends what is pending and waits for every request.
    pub async fn finish(&mut self) -> Result<(), HandlerError> {
        self.send_pending().await?;
        self.drain().await
    }

    async fn send_pending(&mut self) -> Result<(), HandlerError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        while self.in_flight.len() >= self.max_in_flight {
            self.complete_one().await?;
        }
        let items = std::mem::take(&mut self.pending);
        let keys: Vec<Key> = self.pending_keys.drain().collect();
        self.in_flight_keys.extend(keys.iter().cloned());
        self.items_written += items.len() as u64;
        self.requests += 1;
        let (client, table, backoff) = (self.client.clone(), self.table.clone(), self.backoff);
        self.in_flight.spawn(async move {
            write_batch(&client, &table, items, backoff).await?;
            Ok(keys)
        });
        Ok(())
    }

    async fn complete_one(&mut self) -> Result<(), HandlerError> {
        match self.in_flight.join_next().await {
            None => Ok(()),
            Some(Ok(Ok(keys))) => {
                for key in keys {
                    self.in_flight_keys.remove(&key);
                }
                Ok(())
            }
            Some(Ok(Err(error))) => Err(error),
            Some(Err(join_error)) => Err(HandlerError::Transient(format!(
                "batch write task failed: {join_error}"
            ))),
        }
    }

    async fn drain(&mut self) -> Result<(), HandlerError> {
        while !self.in_flight.is_empty() {
            self.complete_one().await?;
        }
        Ok(())
    }
}

/// One batch, retried until DynamoDB has taken every item or the attempts
/// run out (then transient: Lambda retries the whole object, which is safe
/// because item keys are deterministic).
pub async fn write_batch(
    client: &Client,
    table: &str,
    items: Vec<Item>,
    backoff: Backoff,
) -> Result<(), HandlerError> {
    let mut requests: Vec<WriteRequest> = Vec::with_capacity(items.len());
    for item in items {
        let put = PutRequest::builder()
            .set_item(Some(item))
            .build()
            .map_err(|error| {
                HandlerError::Permanent(format!("item does not form a PutRequest: {error}"))
            })?;
        requests.push(WriteRequest::builder().put_request(put).build());
    }
    let mut rng = fastrand::Rng::new();
    for attempt in 0..backoff.max_attempts {
        if attempt > 0 {
            tokio::time::sleep(backoff.delay(attempt - 1, &mut rng)).await;
        }
        let output = client
            .batch_write_item()
            .request_items(table, requests.clone())
            .send()
            .await
            .map_err(|error| {
                classify_sdk_error("DynamoDB BatchWriteItem", &error, &["ValidationException"])
            })?;
        let mut unprocessed: HashMap<String, Vec<WriteRequest>> =
            output.unprocessed_items.unwrap_or_default();
        requests = unprocessed.remove(table).unwrap_or_default();
        if requests.is_empty() {
            return Ok(());
        }
        tracing::debug!(
            left = requests.len(),
            attempt,
            "BatchWriteItem left unprocessed items"
        );
    }
    Err(HandlerError::Transient(format!(
        "DynamoDB BatchWriteItem: {} item(s) still unprocessed after {} attempts",
        requests.len(),
        backoff.max_attempts
    )))
}

/// Key attribute value, for tests and reports.
pub fn key_text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_with_jitter() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            max_attempts: 5,
        };
        let mut rng = fastrand::Rng::with_seed(7);
        for retry in 0..10 {
            let ceiling = Duration::from_millis(100 * 2_u64.pow(retry)).min(Duration::from_secs(1));
            let delays: Vec<Duration> = (0..200).map(|_| backoff.delay(retry, &mut rng)).collect();
            assert!(
                delays.iter().all(|delay| *delay <= ceiling),
                "retry {retry}"
            );
            // Full jitter spreads over the whole range, not just near the top.
            assert!(
                delays.iter().any(|delay| *delay < ceiling / 4),
                "retry {retry}"
            );
            assert!(
                delays.iter().any(|delay| *delay > ceiling * 3 / 4),
                "retry {retry}"
            );
        }
        assert!(backoff.delay(u32::MAX, &mut rng) <= Duration::from_secs(1));
    }

    fn item(pk: &str, sk: &str) -> Item {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.into())),
            ("sk".to_owned(), AttributeValue::S(sk.into())),
        ])
    }

    fn unprocessed(count: usize) -> BatchWriteItemOutput {
        let requests = (0..count)
            .map(|index| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item("p", &index.to_string())))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        BatchWriteItemOutput::builder()
            .unprocessed_items("t", requests)
            .build()
    }

    // moto never returns UnprocessedItems, so the retry loop is exercised
    // with recorded responses.
    #[tokio::test]
    async fn unprocessed_items_are_retried_until_taken() {
        let partial = mock!(Client::batch_write_item)
            .sequence()
            .output(|| unprocessed(3))
            .output(|| unprocessed(1))
            .output(|| BatchWriteItemOutput::builder().build())
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, &[&partial]);
        let backoff = Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
            max_attempts: 4,
        };
        write_batch(
            &client,
            "t",
            vec![item("p", "0"), item("p", "1"), item("p", "2")],
            backoff,
        )
        .await
        .unwrap();
        assert_eq!(partial.num_calls(), 3);
    }

    #[tokio::test]
    async fn unprocessed_items_past_the_attempt_limit_are_a_transient_error() {
        let stuck = mock!(Client::batch_write_item).then_output(|| unprocessed(2));
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&stuck]);
        let backoff = Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
            max_attempts: 3,
        };
        let error = write_batch(&client, "t", vec![item("p", "0"), item("p", "1")], backoff)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            HandlerError::Transient(
                "DynamoDB BatchWriteItem: 2 item(s) still unprocessed after 3 attempts".into()
            )
        );
        assert_eq!(stuck.num_calls(), 3);
    }

    #[tokio::test]
    async fn batches_hold_at_most_25_items_and_never_repeat_a_key() {
        let accept = mock!(Client::batch_write_item)
            .match_requests(|request| {
                let items = &request.request_items().unwrap()["t"];
                let keys: HashSet<Key> = items
                    .iter()
                    .map(|write| key_of(write.put_request().unwrap().item()))
                    .collect();
                items.len() <= MAX_BATCH_ITEMS && keys.len() == items.len()
            })
            .then_output(|| BatchWriteItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&accept]);
        let mut writer = BatchWriter::new(client, "t", 2, Backoff::default());
        for index in 0..60 {
            writer.push(item("p", &index.to_string())).await.unwrap();
        }
        // A repeated key forces a new batch (rule would not match otherwise).
        writer.push(item("p", "59")).await.unwrap();
        writer.finish().await.unwrap();
        assert_eq!(writer.items_written, 61);
        assert_eq!(accept.num_calls(), 4); // 25 + 25 + 10, then the repeat alone
    }
}
