//! The local Runtime API running a zigbuilt, zipped `bootstrap`: the echo
//! handler from fixtures/elf/echo-workspace, bundled for x86_64 (the host),
//! unzipped, and driven through one invocation per outcome.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use upstack_runtime_api::{Invocation, InvocationOutcome, LogStream, Phase, invoke_once};
use upstack_test_support::echo_bootstrap;

fn invocation(binary: PathBuf, event: &str, timeout: Duration) -> Invocation {
    Invocation {
        binary,
        function_name: "upstack-dev-echo".into(),
        environment: BTreeMap::from([("TABLE_NAME".to_string(), "upstack-dev-table".to_string())]),
        memory_mb: 256,
        timeout,
        region: "eu-west-1".into(),
        account_id: "123456789012".into(),
        event: event.as_bytes().to_vec(),
        extra_passthrough: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zipped_bootstrap_answers_fails_crashes_and_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = echo_bootstrap(dir.path());

    // Answers: the event, request id, function name and environment reach the handler.
    let report = invoke_once(invocation(
        bootstrap.clone(),
        r#"{"hello":"world"}"#,
        Duration::from_secs(10),
    ))
    .await
    .unwrap();
    let InvocationOutcome::Response(body) = &report.outcome else {
        panic!("{:?}", report.outcome)
    };
    let body: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["echo"], serde_json::json!({"hello": "world"}));
    assert_eq!(body["requestId"], report.request_id.as_str());
    assert_eq!(body["functionName"], "upstack-dev-echo");
    assert_eq!(body["tableName"], "upstack-dev-table");
    assert_eq!(body["memory"], "256");
    let init = report
        .init_duration
        .expect("the handler asked for an event");
    assert!(init < Duration::from_secs(5), "{init:?}");
    assert!(
        report
            .logs
            .iter()
            .any(|l| l.stream == LogStream::Stdout && l.text == "echo: init"),
        "{:?}",
        report.logs
    );
    let got_event = format!("echo: got event for {}", report.request_id);
    assert!(
        report
            .logs
            .iter()
            .any(|l| l.stream == LogStream::Stderr && l.text == got_event),
        "{:?}",
        report.logs
    );

    // Reports an error: POST .../error.
    let report = invoke_once(invocation(
        bootstrap.clone(),
        r#"{"fail":true}"#,
        Duration::from_secs(10),
    ))
    .await
    .unwrap();
    match &report.outcome {
        InvocationOutcome::Error {
            phase,
            error_type,
            error_message,
            ..
        } => {
            assert_eq!(
                (*phase, error_type.as_str(), error_message.as_str()),
                (Phase::Invoke, "EchoFailure", "asked to fail")
            );
        }
        other => panic!("{other:?}"),
    }

    // Exits mid-invocation.
    let report = invoke_once(invocation(
        bootstrap.clone(),
        r#"{"crash":true}"#,
        Duration::from_secs(10),
    ))
    .await
    .unwrap();
    match &report.outcome {
        InvocationOutcome::Exited {
            phase: Phase::Invoke,
            status,
        } => assert!(status.contains('3'), "{status}"),
        other => panic!("{other:?}"),
    }

    // Runs past the function timeout: stopped at 1 s, not after its 5 s sleep.
    let started = std::time::Instant::now();
    let report = invoke_once(invocation(
        bootstrap,
        r#"{"sleep":true}"#,
        Duration::from_secs(1),
    ))
    .await
    .unwrap();
    assert_eq!(
        report.outcome,
        InvocationOutcome::TimedOut {
            phase: Phase::Invoke,
            after: Duration::from_secs(1)
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn missing_binary_is_an_error_naming_it() {
    let error = invoke_once(invocation(
        PathBuf::from("/nonexistent/bootstrap"),
        "{}",
        Duration::from_secs(1),
    ))
    .await
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot start /nonexistent/bootstrap"),
        "{error}"
    );
}
