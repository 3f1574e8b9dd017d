use std::time::{Duration, UNIX_EPOCH};

use super::*;

const REQUEST: &str = "8f5e2a4c-0000-4000-8000-000000000001";

fn event(function: &str, timestamp_ms: i64, message: &str) -> LogEvent {
    LogEvent {
        timestamp_ms,
        function: function.into(),
        event_id: format!("{timestamp_ms}-{function}"),
        message: message.into(),
    }
}

// 2026-12-07T09:00:00.000Z
const T0: i64 = 1_796_634_000_000;

/// What our functions write, one of each shape, from two functions.
fn sample() -> Vec<LogEvent> {
    vec![
        event(
            "notify",
            T0,
            &format!(
                r#"{{"time":"2026-12-07T09:00:00.000Z","type":"platform.start","record":{{"requestId":"{REQUEST}","version":"$LATEST"}}}}"#
            ),
        ),
        event(
            "notify",
            T0 + 12,
            &format!(
                r#"{{"level":"INFO","message":"notified","key":"uploads/a b.txt","topics":2,"span":{{"requestId":"{REQUEST}","name":"Lambda runtime invoke"}}}}"#
            ),
        ),
        event(
            "ingest",
            T0 + 13,
            "{\"level\":\"ERROR\",\"message\":\"row 3: missing column `id`\",\"span\":{\"requestId\":\"a1b2c3d4-0000\"}}\n",
        ),
        event(
            "notify",
            T0 + 14,
            r#"{"_aws":{"Timestamp":1796634000014,"CloudWatchMetrics":[{"Namespace":"upstack/dev","Dimensions":[[]],"Metrics":[{"Name":"Published","Unit":"Count"},{"Name":"Failed","Unit":"Count"}]}]},"Published":2,"Failed":0}"#,
        ),
        event(
            "notify",
            T0 + 20,
            &format!(
                r#"{{"time":"2026-12-07T09:00:00.020Z","type":"platform.report","record":{{"requestId":"{REQUEST}","metrics":{{"durationMs":19.5,"billedDurationMs":20,"memorySizeMB":256,"maxMemoryUsedMB":31,"initDurationMs":40.2}},"status":"success"}}}}"#
            ),
        ),
        event(
            "ingest",
            T0 + 21,
            "REPORT RequestId: a1b2c3d4-0000\tDuration: 3.1 ms\tBilled Duration: 4 ms\t",
        ),
        event("ingest", T0 + 22, "thread 'main' panicked at src/main.rs:1"),
    ]
}

#[test]
fn every_shape_reads_to_function_request_level_and_text() {
    let lines: Vec<LogLine> = sample().iter().map(parse).collect();
    let summary: Vec<(LineKind, Option<&str>, Option<&str>, &str)> = lines
        .iter()
        .map(|line| {
            (
                line.kind,
                line.request_id.as_deref(),
                line.level.as_deref(),
                line.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                LineKind::Platform,
                Some(REQUEST),
                Some("START"),
                "version $LATEST"
            ),
            (
                LineKind::Log,
                Some(REQUEST),
                Some("INFO"),
                "notified key=uploads/a b.txt topics=2"
            ),
            (
                LineKind::Log,
                Some("a1b2c3d4-0000"),
                Some("ERROR"),
                "row 3: missing column `id`"
            ),
            (
                LineKind::Metrics,
                None,
                Some("METRICS"),
                "Failed=0 Published=2"
            ),
            (
                LineKind::Platform,
                Some(REQUEST),
                Some("REPORT"),
                "duration 19.5 ms, billed 20 ms, memory 31/256 MB, init 40.2 ms"
            ),
            (
                LineKind::Platform,
                Some("a1b2c3d4-0000"),
                Some("REPORT"),
                "Duration: 3.1 ms, Billed Duration: 4 ms"
            ),
            (
                LineKind::Raw,
                None,
                None,
                "thread 'main' panicked at src/main.rs:1"
            ),
        ]
    );
    // The trailing newline a runtime writes is not part of the line.
    assert!(!lines[2].message.ends_with('\n'));
}

#[test]
fn text_and_json_renderings() {
    let width = 6;
    let text: Vec<String> = sample()
        .iter()
        .map(|event| render_text(&parse(event), width))
        .collect();
    insta::assert_snapshot!("logs_text", text.join("\n"));
    let json: Vec<String> = sample()[..2]
        .iter()
        .map(|event| render_json(&parse(event)))
        .collect();
    insta::assert_snapshot!("logs_json", json.join("\n"));
}

#[test]
fn a_failed_invocation_report_says_so() {
    let line = parse(&event(
        "notify",
        T0,
        r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":3000},"status":"timeout"}}"#,
    ));
    assert_eq!(line.text, "duration 3000 ms, status timeout");
    let other = parse(&event(
        "notify",
        T0,
        r#"{"type":"platform.initStart","record":{"runtimeVersion":"x","phase":"init"}}"#,
    ));
    assert_eq!(other.level.as_deref(), Some("INITSTART"));
    assert_eq!(other.text, "phase=init runtimeVersion=x");
}

#[test]
fn since_reads_durations_and_times() {
    let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let back = |value: &str| {
        now.duration_since(parse_since(value, now).unwrap())
            .unwrap()
            .as_secs()
    };
    assert_eq!(back("30s"), 30);
    assert_eq!(back("10m"), 600);
    assert_eq!(back("2h"), 7_200);
    assert_eq!(back("1d"), 86_400);
    assert_eq!(
        epoch_millis(parse_since("2026-12-07T09:00:00Z", now).unwrap()),
        T0
    );
    for bad in [
        "",
        "m",
        "10",
        "10w",
        "-5m",
        "yesterday",
        "99999999999999999999d",
    ] {
        let error = parse_since(bad, now).unwrap_err().to_string();
        assert!(error.starts_with(&format!("--since `{bad}`")), "{error}");
    }
}

#[test]
fn sources_are_the_manifest_functions_named() {
    let manifest = upstack_test_support::pipeline_plan(256).manifest;
    let all = sources(&manifest, &[]).unwrap();
    assert_eq!(
        all.iter()
            .map(|source| source.function.as_str())
            .collect::<Vec<_>>(),
        ["notify", "ingest", "photo-check"]
    );
    assert!(all.iter().all(|source| source.log_group
        == format!("/aws/lambda/{}-{}", manifest.stack_name, source.function)));
    let one = sources(&manifest, &["ingest".into()]).unwrap();
    assert_eq!(one.len(), 1);
    let error = sources(&manifest, &["thumbnail".into()])
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "no function `thumbnail` in env dev; the stack's functions are: notify, ingest, photo-check"
    );
}

#[test]
fn the_filter_keeps_events_containing_the_text() {
    let events = sample();
    let kept: Vec<i64> = events
        .iter()
        .filter(|event| matches(event, Some("missing column")))
        .map(|event| event.timestamp_ms)
        .collect();
    assert_eq!(kept, [T0 + 13]);
    assert!(events.iter().all(|event| matches(event, None)));
}

#[test]
fn merging_is_time_order_then_function() {
    let mut events = vec![
        event("notify", T0 + 5, "b"),
        event("ingest", T0 + 5, "a"),
        event("notify", T0, "first"),
    ];
    sort(&mut events);
    let order: Vec<&str> = events.iter().map(|event| event.message.as_str()).collect();
    assert_eq!(order, ["first", "a", "b"]);
}
