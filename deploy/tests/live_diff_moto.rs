//! `diff` against a deployed stack on a moto server (127.0.0.1): CreateStack
//! a small template, then diff a changed template against GetTemplate (the
//! change shows) and the same template (no changes); a stack that does not
//! exist diffs as "everything added".

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use upstack_deploy::stack::{self, Deployed};
use upstack_diff::render::{self, Sources};
use upstack_diff::{Action, diff_templates};
use upstack_test_support::MotoServer;

async fn client(moto: &MotoServer) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&moto.sdk_config().await)
}

fn template(visibility_timeout: u32) -> Json {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Uploads": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "live-diff-uploads"}},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "live-diff-queue", "VisibilityTimeout": visibility_timeout}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "live-diff-topic"}}
        },
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}}
    })
}

async fn create_stack(client: &aws_sdk_cloudformation::Client, name: &str, body: &Json) {
    client
        .create_stack()
        .stack_name(name)
        .template_body(body.to_string())
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let described = client
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .unwrap();
        let status = described.stacks()[0]
            .stack_status()
            .unwrap()
            .as_str()
            .to_owned();
        if status == "CREATE_COMPLETE" {
            return;
        }
        assert!(
            !status.ends_with("FAILED") && !status.contains("ROLLBACK"),
            "stack {name}: {status}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "stack {name} still {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sources() -> Sources {
    Sources {
        old: "stack live-diff (deployed)".into(),
        new: "template".into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_against_a_deployed_stack() {
    let moto = MotoServer::start();
    let client = client(&moto).await;
    create_stack(&client, "live-diff", &template(30)).await;

    let (_, deployed) = stack::deployed(&client, "live-diff").await.unwrap();
    assert!(deployed.exists());
    let deployed = deployed.into_template();

    // The same template: nothing to show (the CLI exits 0).
    let same = diff_templates(
        &deployed,
        &template(30),
        upstack_cfn_resources::registry::lookup,
    )
    .unwrap();
    assert!(same.is_empty(), "{same:#?}");
    assert_eq!(
        render::text(&same, &sources(), false).lines().nth(1),
        Some("No changes.")
    );

    // A changed property shows, at its path, as an in-place update.
    let changed = diff_templates(
        &deployed,
        &template(120),
        upstack_cfn_resources::registry::lookup,
    )
    .unwrap();
    assert_eq!(changed.resources.len(), 1, "{changed:#?}");
    let queue = &changed.resources[0];
    assert_eq!(
        (queue.logical_id.as_str(), queue.action),
        ("Queue", Action::Modify)
    );
    assert_eq!(queue.changes[0].path, "Properties.VisibilityTimeout");
    assert_eq!(
        (queue.changes[0].old.clone(), queue.changes[0].new.clone()),
        (Some(json!(30)), Some(json!(120)))
    );
    let text = render::text(&changed, &sources(), false);
    assert!(text.contains("[~] Queue AWS::SQS::Queue\n      [~] Properties.VisibilityTimeout\n          - 30\n          + 120"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_that_does_not_exist_shows_everything_added() {
    let moto = MotoServer::start();
    let client = client(&moto).await;
    let (_, deployed) = stack::deployed(&client, "never-deployed").await.unwrap();
    assert_eq!(deployed, Deployed::Nothing);
    let diff = diff_templates(
        &deployed.into_template(),
        &template(30),
        upstack_cfn_resources::registry::lookup,
    )
    .unwrap();
    assert_eq!(diff.summary().add, 3);
    assert!(
        diff.resources
            .iter()
            .all(|change| change.action == Action::Add)
    );
}
