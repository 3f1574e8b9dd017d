//! `logs` against moto's CloudWatch Logs: events of two log groups merged in
//! time order, the filter, a group that does not exist yet, and `follow`
//! showing each new event once.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use upstack_deploy::logs::{self, LogSource};
use upstack_test_support::MotoServer;

fn source(function: &str) -> LogSource {
    LogSource {
        function: function.into(),
        log_group: format!("/aws/lambda/upstack-dev-{function}"),
    }
}

async fn put(client: &Client, function: &str, events: &[(i64, &str)]) {
    let group = source(function).log_group;
    let _ = client
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await;
    let _ = client
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name("2026/12/07/[$LATEST]abc")
        .send()
        .await;
    let mut request = client
        .put_log_events()
        .log_group_name(&group)
        .log_stream_name("2026/12/07/[$LATEST]abc");
    for (timestamp, message) in events {
        request = request.log_events(
            InputLogEvent::builder()
                .timestamp(*timestamp)
                .message(*message)
                .build()
                .unwrap(),
        );
    }
    request.send().await.unwrap();
}

fn now_ms() -> i64 {
    logs::epoch_millis(std::time::SystemTime::now())
}

#[tokio::test]
async fn groups_merge_in_time_order_and_a_missing_group_is_reported() {
    let moto = MotoServer::start();
    let client = Client::new(&moto.sdk_config().await);
    let t0 = now_ms() - 60_000;
    put(
        &client,
        "notify",
        &[
            (t0, r#"{"level":"INFO","message":"first"}"#),
            (t0 + 20, r#"{"level":"INFO","message":"third"}"#),
        ],
    )
    .await;
    put(
        &client,
        "ingest",
        &[(t0 + 10, r#"{"level":"ERROR","message":"second: bad row"}"#)],
    )
    .await;
    let sources = [source("notify"), source("ingest"), source("photo-check")];

    let fetched = logs::fetch(&client, &sources, t0 - 1_000, None, None)
        .await
        .unwrap();
    let read: Vec<(String, String)> = fetched
        .events
        .iter()
        .map(logs::parse)
        .map(|line| (line.function, line.text))
        .collect();
    assert_eq!(
        read,
        [
            ("notify".to_owned(), "first".to_owned()),
            ("ingest".to_owned(), "second: bad row".to_owned()),
            ("notify".to_owned(), "third".to_owned()),
        ]
    );
    // photo-check has not run: its group does not exist, which is said, not an error.
    assert_eq!(fetched.missing, [source("photo-check")]);

    let filtered = logs::fetch(&client, &sources, t0 - 1_000, None, Some("bad row"))
        .await
        .unwrap();
    assert_eq!(filtered.events.len(), 1);
    // --since after every event: nothing.
    let later = logs::fetch(&client, &sources, t0 + 1_000, None, None)
        .await
        .unwrap();
    assert!(later.events.is_empty());
}

#[tokio::test]
async fn follow_shows_each_new_event_once_until_stopped() {
    let moto = MotoServer::start();
    let client = Client::new(&moto.sdk_config().await);
    let t0 = now_ms() - 5_000;
    put(&client, "notify", &[(t0, "before")]).await;
    let sources = [source("notify"), source("ingest")];
    let shown = Arc::new(Mutex::new(Vec::<String>::new()));
    let missing = Arc::new(Mutex::new(Vec::<String>::new()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();

    let follower = {
        let client = client.clone();
        let shown = shown.clone();
        let missing = missing.clone();
        tokio::spawn(async move {
            logs::follow(
                &client,
                &sources,
                t0 - 1_000,
                None,
                Duration::from_millis(50),
                now_ms,
                |event| shown.lock().unwrap().push(event.message.clone()),
                |source| missing.lock().unwrap().push(source.function.clone()),
                async {
                    let _ = stop_rx.await;
                },
            )
            .await
        })
    };
    let wait_for = |count: usize| {
        let shown = shown.clone();
        async move {
            for _ in 0..200 {
                if shown.lock().unwrap().len() >= count {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("follow showed {:?}", shown.lock().unwrap());
        }
    };
    wait_for(1).await;
    // New lines in the group already read, and in one that now exists.
    let t1 = now_ms();
    put(&client, "notify", &[(t1, "after")]).await;
    put(&client, "ingest", &[(t1 + 1, "ingest ran")]).await;
    wait_for(3).await;
    // Several more polls: nothing is shown twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(()).unwrap();
    follower.await.unwrap().unwrap();
    assert_eq!(*shown.lock().unwrap(), ["before", "after", "ingest ran"]);
    assert_eq!(*missing.lock().unwrap(), ["ingest"]);
}
