//! `invoke` end to end against moto: a stack deployed to moto provides the
//! physical ids, HeadObject the object's facts, and the zipped echo handler
//! shows what it received (event and resolved environment).

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use upstack_contract::Architecture;
use upstack_local::invoke::{
    EventSource, InvokeRequest, InvokeTarget, invoke, invoke_with_handler_environment,
};
use upstack_project::manifest::ManifestFunction;
use upstack_runtime_api::InvocationOutcome;
use upstack_test_support::{ACCOUNT_ID, MotoServer, REGION, echo_bootstrap};

/// What is deployed to moto: the stateful resources the function's
/// environment refers to.
fn deployed_template() -> serde_json::Value {
    serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Uploads": { "Type": "AWS::S3::Bucket" },
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [
                        { "AttributeName": "pk", "AttributeType": "S" },
                        { "AttributeName": "sk", "AttributeType": "S" }
                    ],
                    "KeySchema": [
                        { "AttributeName": "pk", "KeyType": "HASH" },
                        { "AttributeName": "sk", "KeyType": "RANGE" }
                    ]
                }
            },
            "Alerts": { "Type": "AWS::SNS::Topic" }
        }
    })
}

/// The synthesized template: the same plus the function (its code lives in
/// the asset bucket, which moto's CloudFormation would try to fetch; the
/// function itself is what `invoke` replaces, so it is not deployed here).
fn synthesized_template() -> serde_json::Value {
    let mut template = deployed_template();
    template["Resources"]["EchoFunction"] = serde_json::json!({
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": { "Fn::Sub": "${AWS::StackName}-echo" },
            "Code": { "S3Bucket": "upstack-assets-123456789012-eu-west-1", "S3Key": "assets/echo-x86_64-0123.zip" },
            "MemorySize": 512,
            "Role": "arn:aws:iam::123456789012:role/upstack-dev-echo",
            "Timeout": 10,
            "Environment": { "Variables": {
                "TABLE_NAME": { "Ref": "Table" },
                "TOPIC_ARN": { "Ref": "Alerts" },
                "BUCKET_ARN": { "Fn::GetAtt": ["Uploads", "Arn"] },
                "LABEL": { "Fn::Sub": "${AWS::Region}/${AWS::AccountId}/${Table}" }
            } }
        }
    });
    template
}

/// An S3 client for moto: path-style, as the session builds it for an
/// endpoint override.
fn s3(sdk_config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(true)
            .build(),
    )
}

/// The fixed clock the requests carry: 2026-01-01T00:00:00.123Z.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_767_225_600_123)
}

/// The request `upstack invoke echo` makes from the manifest entry, the
/// template synth wrote beside it, and the session.
fn request(
    sdk_config: &aws_config::SdkConfig,
    event: EventSource,
    binary: PathBuf,
) -> InvokeRequest {
    InvokeRequest {
        // Only to build the handler, and the tests pass a binary.
        workspace_root: PathBuf::from("/nonexistent-workspace"),
        env: "dev".into(),
        function: ManifestFunction {
            logical_id: "EchoFunction".into(),
            handler: "echo".into(),
            function_name: "upstack-test-echo".into(),
            architecture: Architecture::X86_64,
            build_profile: upstack_contract::BuildProfile::Lambda,
            asset_key: "assets/echo-x86_64-0123.zip".into(),
            log_group: "/aws/lambda/upstack-test-echo".into(),
            reserved_concurrency: None,
        },
        template_json: synthesized_template().to_string(),
        stack_name: "upstack-test".into(),
        event,
        bucket: None,
        binary: Some(binary),
        target: InvokeTarget {
            cloudformation: aws_sdk_cloudformation::Client::new(sdk_config),
            s3: s3(sdk_config),
            region: REGION.into(),
            account_id: ACCOUNT_ID.into(),
        },
        now: now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_with_key_sends_the_s3_event_and_the_deployed_environment() {
    let moto = MotoServer::start();
    let sdk_config = moto.sdk_config().await;

    let cloudformation = aws_sdk_cloudformation::Client::new(&sdk_config);
    cloudformation
        .create_stack()
        .stack_name("upstack-test")
        .template_body(deployed_template().to_string())
        .send()
        .await
        .unwrap();
    let resources = cloudformation
        .describe_stack_resources()
        .stack_name("upstack-test")
        .send()
        .await
        .unwrap();
    let physical = |logical: &str| {
        resources
            .stack_resources()
            .iter()
            .find(|r| r.logical_resource_id() == Some(logical))
            .and_then(|r| r.physical_resource_id())
            .unwrap_or_else(|| panic!("moto created no {logical}"))
            .to_string()
    };
    let bucket = physical("Uploads");
    let table = physical("Table");

    let key = "photos/my photo ü=1.jpg";
    let put = s3(&sdk_config)
        .put_object()
        .bucket(&bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"not really a jpeg",
        ))
        .send()
        .await
        .unwrap();

    let workspace = tempfile::tempdir().unwrap();
    let binary = echo_bootstrap(workspace.path());
    let request = request(&sdk_config, EventSource::S3Key(key.into()), binary);
    let moto_endpoint = BTreeMap::from([("AWS_ENDPOINT_URL".to_owned(), moto.endpoint.clone())]);
    let output = invoke_with_handler_environment(request, moto_endpoint)
        .await
        .unwrap();

    assert_eq!(output.function_name, "upstack-test-echo");
    assert_eq!(output.environment["TABLE_NAME"], table);
    assert_eq!(
        output.environment["BUCKET_ARN"],
        format!("arn:aws:s3:::{bucket}")
    );
    assert_eq!(
        output.environment["LABEL"],
        format!("eu-west-1/123456789012/{table}")
    );
    assert!(
        output.environment["TOPIC_ARN"].starts_with("arn:aws:sns:eu-west-1:123456789012:"),
        "{:?}",
        output.environment
    );

    let InvocationOutcome::Response(body) = &output.report.outcome else {
        panic!("{:?}\n{:?}", output.report.outcome, output.report.logs)
    };
    let body: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["tableName"], table.as_str());
    assert_eq!(body["functionName"], "upstack-test-echo");
    assert_eq!(body["memory"], "512");
    let record = &body["echo"]["Records"][0];
    assert_eq!(record["eventName"], "ObjectCreated:Put");
    // The time is the caller's clock, not the system's.
    assert_eq!(record["eventTime"], "2026-01-01T00:00:00.123Z");
    assert_eq!(record["awsRegion"], "eu-west-1");
    assert_eq!(record["s3"]["bucket"]["name"], bucket.as_str());
    assert_eq!(
        record["s3"]["object"]["key"],
        "photos/my+photo+%C3%BC%3D1.jpg"
    );
    assert_eq!(record["s3"]["object"]["size"], 17);
    assert_eq!(
        record["s3"]["object"]["eTag"],
        put.e_tag().unwrap().trim_matches('"')
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_object_is_reported_with_its_bucket_and_key() {
    let moto = MotoServer::start();
    let sdk_config = moto.sdk_config().await;
    aws_sdk_cloudformation::Client::new(&sdk_config)
        .create_stack()
        .stack_name("upstack-test")
        .template_body(deployed_template().to_string())
        .send()
        .await
        .unwrap();
    let error = invoke(request(
        &sdk_config,
        EventSource::S3Key("uploads/missing.txt".into()),
        PathBuf::from("/nonexistent"),
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("s3:HeadObject s3://upstack-test-uploads"),
        "{error}"
    );
    // The one formatter of AWS errors: the operation, then AWS's answer.
    assert!(error.contains("/uploads/missing.txt: "), "{error}");
}

/// A workspace of one handler crate at `root`, whose binary prints `said`.
fn one_handler_workspace(root: &std::path::Path, main: &str) {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"functions/probe\"]\nresolver = \"3\"\n",
    );
    write(
        "functions/probe/Cargo.toml",
        "[package]\nname = \"upstack-host-build-probe\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [[bin]]\nname = \"host-build-probe\"\npath = \"src/main.rs\"\n",
    );
    write("functions/probe/src/main.rs", main);
}

/// `invoke` without `--binary` builds the handler's crate for the host with
/// the workspace's cargo (`cargo build -p <package> --bin <handler>`) and
/// runs what it built; a build that fails names the package.
#[test]
fn the_host_build_runs_cargo_for_the_handlers_package() {
    let work = tempfile::tempdir().unwrap();
    one_handler_workspace(work.path(), "fn main() { println!(\"probe built\"); }\n");
    let binary = upstack_local::invoke::build_host_binary(work.path(), "host-build-probe").unwrap();
    let output = std::process::Command::new(&binary).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "probe built\n");

    one_handler_workspace(work.path(), "fn main() { not rust }\n");
    let error = upstack_local::invoke::build_host_binary(work.path(), "host-build-probe")
        .unwrap_err()
        .to_string();
    assert!(error.contains("upstack-host-build-probe"), "{error}");
}
