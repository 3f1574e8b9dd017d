//! `cargo bench -p upstack-cfn-resources`: builds and serializes a synthetic
//! 500-resource template with typed resources (a mix of queues, topics,
//! subscriptions, functions, roles, policies, tables and buckets, with the
//! `Ref`/`GetAtt` wiring between them) and prints min/median/max over 50
//! runs. Target: median under 50 ms.

use std::hint::black_box;
use std::time::{Duration, Instant};

use upstack_cfn::value::sub;
use upstack_cfn::{PolicyDocument, Principal, Statement, Template, Value};
use upstack_cfn_resources::{dynamodb, iam, lambda, s3, sns, sqs};

const RESOURCES: usize = 500;
const RUNS: usize = 50;
const TARGET: Duration = Duration::from_millis(50);

/// Each group adds 10 resources.
fn add_group(t: &mut Template, group: usize) {
    let topic = t.add(
        format!("Topic{group}"),
        sns::Topic {
            topic_name: Some(format!("events-{group}.fifo").into()),
            fifo_topic: Some(true.into()),
            ..sns::Topic::new()
        },
    );
    let queue = t.add(
        format!("Queue{group}"),
        sqs::Queue {
            queue_name: Some(format!("events-{group}.fifo").into()),
            fifo_queue: Some(true.into()),
            message_retention_period: Some(345_600.into()),
            ..sqs::Queue::new()
        },
    );
    t.add(
        format!("Subscription{group}"),
        sns::Subscription {
            endpoint: Some(queue.arn()),
            ..sns::Subscription::new("sqs", topic.topic_arn())
        },
    );
    t.add(
        format!("QueuePolicy{group}"),
        sqs::QueuePolicy::new(
            PolicyDocument::new([Statement::allow()
                .principal(Principal::Service(vec!["sns.amazonaws.com".into()]))
                .action("sqs:SendMessage")
                .resource(queue.arn())
                .condition("ArnEquals", "aws:SourceArn", [topic.topic_arn()])]),
            Value::Lit(vec![queue.queue_url()]),
        ),
    );
    let table = t.add(
        format!("Table{group}"),
        dynamodb::Table {
            billing_mode: Some(dynamodb::table::BillingMode::PayPerRequest.into()),
            attribute_definitions: Some(Value::Lit(vec![
                dynamodb::table::AttributeDefinition::new("pk", dynamodb::table::AttributeType::S)
                    .into(),
            ])),
            ..dynamodb::Table::new(Value::Lit(vec![
                dynamodb::table::KeySchema::new("pk", dynamodb::table::KeyType::Hash).into(),
            ]))
        },
    );
    let role = t.add(
        format!("Role{group}"),
        iam::Role::new(PolicyDocument::new([Statement::allow()
            .principal(Principal::Service(vec!["lambda.amazonaws.com".into()]))
            .action("sts:AssumeRole")])),
    );
    t.add(
        format!("Policy{group}"),
        iam::Policy {
            roles: Some(Value::Lit(vec![role.reference()])),
            ..iam::Policy::new(
                PolicyDocument::new([
                    Statement::allow()
                        .action("dynamodb:PutItem")
                        .resource(table.arn()),
                    Statement::allow()
                        .action("sns:Publish")
                        .resource(topic.topic_arn()),
                ]),
                format!("policy-{group}"),
            )
        },
    );
    let function = t.add(
        format!("Function{group}"),
        lambda::Function {
            runtime: Some(lambda::function::Runtime::ProvidedAl2023.into()),
            handler: Some("bootstrap".into()),
            environment: Some(
                lambda::function::Environment {
                    variables: Some(Value::Lit(
                        [
                            ("TABLE".to_owned(), table.reference()),
                            ("TOPIC".to_owned(), topic.topic_arn()),
                        ]
                        .into_iter()
                        .collect(),
                    )),
                }
                .into(),
            ),
            ..lambda::Function::new(
                lambda::function::Code {
                    s3_bucket: Some(sub("assets-${AWS::AccountId}")),
                    s3_key: Some(format!("fn-{group}.zip").into()),
                    ..lambda::function::Code::new()
                },
                role.arn(),
            )
        },
    );
    t.add(
        format!("Permission{group}"),
        lambda::Permission::new("lambda:InvokeFunction", function.arn(), "s3.amazonaws.com"),
    );
    t.add(
        format!("Bucket{group}"),
        s3::Bucket {
            versioning_configuration: Some(
                s3::bucket::VersioningConfiguration::new(
                    s3::bucket::VersioningConfigurationStatus::Enabled,
                )
                .into(),
            ),
            ..s3::Bucket::new()
        },
    );
}

fn build_and_serialize() -> String {
    let mut template = Template::new();
    for group in 0..RESOURCES / 10 {
        add_group(&mut template, group);
    }
    assert_eq!(template.resources.len(), RESOURCES);
    template.to_pretty_string()
}

fn main() {
    // One warm-up run, also reported: it is the first `synth` a user sees.
    let started = Instant::now();
    let bytes = black_box(build_and_serialize()).len();
    let first = started.elapsed();

    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            black_box(build_and_serialize());
            started.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[RUNS / 2];
    println!(
        "typed template, {RESOURCES} resources, {bytes} bytes: first {:.2} ms; over {RUNS} runs min {:.2} ms, median {:.2} ms, max {:.2} ms (target median < {} ms)",
        ms(first),
        ms(times[0]),
        ms(median),
        ms(times[RUNS - 1]),
        TARGET.as_millis()
    );
    if median > TARGET {
        eprintln!(
            "median {:.2} ms is over the {} ms target",
            ms(median),
            TARGET.as_millis()
        );
        std::process::exit(1);
    }
}
