//! Synth-time checks on the pipeline model: mistakes AWS would only report
//! half-way through a deploy (or never, like a recursive trigger), caught
//! before a template is written. Each problem names the parts involved.

use std::fmt;

use crate::model::{CompositeAlarm, Endpoint, Grant, KeyChoice, KeyUse, Pipeline, Target};

/// One problem found in the pipeline model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// S3 rejects the whole notification configuration with "Configurations
    /// overlap" when two rules for the same event could match the same key.
    OverlappingRoutes { first: String, second: String },
    /// A function that may write where it is triggered can invoke itself forever.
    RecursiveTrigger {
        function: String,
        write_prefix: String,
        route: String,
    },
    /// FIFO topics and queues must be named `*.fifo` and standard ones must not.
    FifoName {
        kind: &'static str,
        id: String,
        name: String,
        fifo: bool,
    },
    /// SNS FIFO topics only deliver to SQS queues (no email).
    EmailOnFifoTopic { topic: String, email: String },
    /// S3 event notifications cannot target FIFO topics or queues.
    S3ToFifo { route: String },
    /// A standard topic cannot feed a FIFO queue (and a FIFO topic must feed a FIFO queue).
    FifoMismatch { topic: String, queue: String },
    /// A service must encrypt into a resource whose key policy we cannot edit.
    AwsManagedKey {
        resource: String,
        alias: String,
        service: String,
    },
    /// A service uses the stack key but the key policy does not let it.
    MissingKeyPolicyGrant { service: String, usage: String },
    /// An alarm notifies an SSE-KMS topic whose key policy does not let
    /// CloudWatch use the key: CloudWatch cannot publish, and the alarm's
    /// notifications are silently lost (the alarm's history shows the failure).
    AlarmCannotPublish { alarm: String, topic: String },
    /// The deploy-guard composite alarm is over CloudWatch's limits: an
    /// `AlarmRule` of at most 10,240 characters naming at most 100 alarms.
    DeployGuardTooLarge {
        alarm: String,
        rule_chars: usize,
        members: usize,
    },
    /// A reference to a topic, queue or function that is not in the model.
    UnknownPart {
        kind: &'static str,
        id: String,
        used_by: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::OverlappingRoutes { first, second } => write!(
                f,
                "routes `{first}` and `{second}` overlap (same event, one prefix starts the other and the suffixes overlap); S3 rejects this with \"Configurations overlap\""
            ),
            Problem::RecursiveTrigger {
                function,
                write_prefix,
                route,
            } => write!(
                f,
                "function {function} may write objects under `{write_prefix}`, which triggers it again through route `{route}` (recursive invocation loop)"
            ),
            Problem::FifoName {
                kind,
                id,
                name,
                fifo: true,
            } => {
                write!(
                    f,
                    "FIFO {kind} {id} is named `{name}`; FIFO {kind} names must end in `.fifo`"
                )
            }
            Problem::FifoName {
                kind,
                id,
                name,
                fifo: false,
            } => {
                write!(
                    f,
                    "standard {kind} {id} is named `{name}`; only FIFO {kind} names may end in `.fifo`"
                )
            }
            Problem::EmailOnFifoTopic { topic, email } => write!(
                f,
                "FIFO topic {topic} cannot have the email subscription `{email}`: SNS FIFO topics deliver only to SQS queues"
            ),
            Problem::S3ToFifo { route } => write!(
                f,
                "route `{route}` targets a FIFO destination; S3 event notifications cannot deliver to FIFO topics or queues"
            ),
            Problem::FifoMismatch { topic, queue } => write!(
                f,
                "topic {topic} and its subscribed queue {queue} differ in FIFO-ness; a standard topic cannot feed a FIFO queue and a FIFO topic delivers only to FIFO queues"
            ),
            Problem::AwsManagedKey {
                resource,
                alias,
                service,
            } => write!(
                f,
                "{resource} is encrypted with the AWS managed key `{alias}`, but {service} must encrypt into it and an AWS managed key's policy cannot grant that; use the stack's customer managed key"
            ),
            Problem::MissingKeyPolicyGrant { service, usage } => write!(
                f,
                "the key policy does not allow {service}, which must use the key for {usage}"
            ),
            Problem::AlarmCannotPublish { alarm, topic } => write!(
                f,
                "alarm {alarm} notifies topic {topic}, but the key encrypting that topic does not allow {} (kms:Decrypt, kms:GenerateDataKey): its notifications would never arrive",
                crate::model::CLOUDWATCH_SERVICE
            ),
            Problem::DeployGuardTooLarge {
                alarm,
                rule_chars,
                members,
            } => write!(
                f,
                "composite alarm {alarm}: its AlarmRule has {rule_chars} characters over {members} alarms; CloudWatch takes at most {} characters and {} alarms (disable alarm kinds or shorten `app`)",
                CompositeAlarm::MAX_RULE_CHARS,
                CompositeAlarm::MAX_MEMBERS
            ),
            Problem::UnknownPart { kind, id, used_by } => {
                write!(
                    f,
                    "{used_by} refers to {kind} `{id}`, which is not in the pipeline"
                )
            }
        }
    }
}

/// All problems with `pipeline`, sorted as found (empty: OK to build).
pub fn check(pipeline: &Pipeline) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_references(pipeline, &mut problems);
    check_overlaps(pipeline, &mut problems);
    check_recursion(pipeline, &mut problems);
    check_fifo(pipeline, &mut problems);
    check_keys(pipeline, &mut problems);
    check_alarms(pipeline, &mut problems);
    problems
}

/// Whether two S3 filter rules could both match one key: S3's own rule is
/// that prefixes overlap when one starts the other, and suffixes when one
/// ends the other (an empty one matches everything).
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html>
pub fn filters_overlap(prefix_a: &str, suffix_a: &str, prefix_b: &str, suffix_b: &str) -> bool {
    let prefixes = prefix_a.starts_with(prefix_b) || prefix_b.starts_with(prefix_a);
    let suffixes = suffix_a.ends_with(suffix_b) || suffix_b.ends_with(suffix_a);
    prefixes && suffixes
}

/// Whether two event types overlap (`s3:ObjectCreated:*` covers `s3:ObjectCreated:Put`).
fn events_overlap(a: &str, b: &str) -> bool {
    let covers = |wide: &str, narrow: &str| {
        wide.strip_suffix('*')
            .is_some_and(|stem| narrow.starts_with(stem))
    };
    a == b || covers(a, b) || covers(b, a)
}

fn check_references(pipeline: &Pipeline, problems: &mut Vec<Problem>) {
    for route in &pipeline.routes {
        let (kind, id, known) = match &route.target {
            Target::Function(id) => ("function", id, pipeline.function(id).is_some()),
            Target::Topic(id) => ("topic", id, pipeline.topic(id).is_some()),
            Target::Queue(id) => ("queue", id, pipeline.queue(id).is_some()),
        };
        if !known {
            problems.push(Problem::UnknownPart {
                kind,
                id: id.clone(),
                used_by: format!("route `{}`", route.describe()),
            });
        }
    }
    for subscription in &pipeline.subscriptions {
        if pipeline.topic(&subscription.topic).is_none() {
            problems.push(Problem::UnknownPart {
                kind: "topic",
                id: subscription.topic.clone(),
                used_by: "a subscription".to_owned(),
            });
        }
        if let Endpoint::Queue(queue) = &subscription.endpoint
            && pipeline.queue(queue).is_none()
        {
            problems.push(Problem::UnknownPart {
                kind: "queue",
                id: queue.clone(),
                used_by: format!("the subscription of topic {}", subscription.topic),
            });
        }
    }
    for function in &pipeline.functions {
        if pipeline.queue(&function.on_failure_queue).is_none() {
            problems.push(Problem::UnknownPart {
                kind: "queue",
                id: function.on_failure_queue.clone(),
                used_by: format!("function {} (on-failure destination)", function.handler),
            });
        }
        for grant in &function.grants {
            if let Grant::Publish { topic } = grant
                && pipeline.topic(topic).is_none()
            {
                problems.push(Problem::UnknownPart {
                    kind: "topic",
                    id: topic.clone(),
                    used_by: format!("function {}'s publish grant", function.handler),
                });
            }
        }
    }
    for queue in &pipeline.queues {
        if let Some(dlq) = &queue.dead_letter
            && pipeline.queue(dlq).is_none()
        {
            problems.push(Problem::UnknownPart {
                kind: "queue",
                id: dlq.clone(),
                used_by: format!("queue {}'s redrive policy", queue.id),
            });
        }
    }
}

fn check_overlaps(pipeline: &Pipeline, problems: &mut Vec<Problem>) {
    for (index, first) in pipeline.routes.iter().enumerate() {
        for second in &pipeline.routes[index + 1..] {
            if events_overlap(&first.event, &second.event)
                && filters_overlap(&first.prefix, &first.suffix, &second.prefix, &second.suffix)
            {
                problems.push(Problem::OverlappingRoutes {
                    first: first.describe(),
                    second: second.describe(),
                });
            }
        }
    }
}

fn check_recursion(pipeline: &Pipeline, problems: &mut Vec<Problem>) {
    for function in &pipeline.functions {
        for grant in &function.grants {
            let Grant::WriteObjects {
                prefix: write_prefix,
            } = grant
            else {
                continue;
            };
            for route in pipeline.routes_to(&function.handler) {
                // Any key under the written prefix that also starts with the
                // route's prefix fires the route; the suffix is the writer's
                // choice at run time, so it cannot rule the loop out.
                if write_prefix.starts_with(&route.prefix)
                    || route.prefix.starts_with(write_prefix.as_str())
                {
                    problems.push(Problem::RecursiveTrigger {
                        function: function.handler.clone(),
                        write_prefix: write_prefix.clone(),
                        route: route.describe(),
                    });
                }
            }
        }
    }
}

fn check_fifo(pipeline: &Pipeline, problems: &mut Vec<Problem>) {
    for topic in &pipeline.topics {
        if topic.name.ends_with(".fifo") != topic.fifo {
            problems.push(Problem::FifoName {
                kind: "topic",
                id: topic.id.clone(),
                name: topic.name.clone(),
                fifo: topic.fifo,
            });
        }
    }
    for queue in &pipeline.queues {
        if queue.name.ends_with(".fifo") != queue.fifo {
            problems.push(Problem::FifoName {
                kind: "queue",
                id: queue.id.clone(),
                name: queue.name.clone(),
                fifo: queue.fifo,
            });
        }
        // SQS requires a FIFO queue's dead-letter queue to be FIFO too.
        if let Some(dlq) = queue
            .dead_letter
            .as_deref()
            .and_then(|id| pipeline.queue(id))
            && dlq.fifo != queue.fifo
        {
            problems.push(Problem::FifoMismatch {
                topic: format!("(redrive of queue {})", queue.id),
                queue: dlq.id.clone(),
            });
        }
    }
    for subscription in &pipeline.subscriptions {
        let Some(topic) = pipeline.topic(&subscription.topic) else {
            continue;
        };
        match &subscription.endpoint {
            Endpoint::Email(email) if topic.fifo => problems.push(Problem::EmailOnFifoTopic {
                topic: topic.id.clone(),
                email: email.clone(),
            }),
            Endpoint::Queue(queue_id) => {
                if let Some(queue) = pipeline.queue(queue_id)
                    && queue.fifo != topic.fifo
                {
                    problems.push(Problem::FifoMismatch {
                        topic: topic.id.clone(),
                        queue: queue.id.clone(),
                    });
                }
            }
            Endpoint::Email(_) => {}
        }
    }
    for route in &pipeline.routes {
        let fifo_target = match &route.target {
            Target::Topic(id) => pipeline.topic(id).is_some_and(|topic| topic.fifo),
            Target::Queue(id) => pipeline.queue(id).is_some_and(|queue| queue.fifo),
            Target::Function(_) => false,
        };
        if fifo_target {
            problems.push(Problem::S3ToFifo {
                route: route.describe(),
            });
        }
    }
}

fn check_keys(pipeline: &Pipeline, problems: &mut Vec<Problem>) {
    let mut aws_managed = |resource: String, key: &KeyChoice, service: &str| {
        if let KeyChoice::AwsManaged(alias) = key {
            problems.push(Problem::AwsManagedKey {
                resource,
                alias: alias.clone(),
                service: service.to_owned(),
            });
        }
    };
    for subscription in &pipeline.subscriptions {
        if let Endpoint::Queue(queue_id) = &subscription.endpoint
            && let Some(queue) = pipeline.queue(queue_id)
        {
            aws_managed(
                format!("queue {}", queue.id),
                &queue.key,
                "sns.amazonaws.com (topic delivery)",
            );
        }
    }
    for route in &pipeline.routes {
        match &route.target {
            Target::Topic(id) => {
                if let Some(topic) = pipeline.topic(id) {
                    aws_managed(
                        format!("topic {id}"),
                        &topic.key,
                        "s3.amazonaws.com (event notification)",
                    );
                }
            }
            Target::Queue(id) => {
                if let Some(queue) = pipeline.queue(id) {
                    aws_managed(
                        format!("queue {id}"),
                        &queue.key,
                        "s3.amazonaws.com (event notification)",
                    );
                }
            }
            Target::Function(_) => {}
        }
    }
    for function in &pipeline.functions {
        aws_managed(
            format!("log group {}", function.log_group_name()),
            &function.log_key,
            &format!("logs.{}.amazonaws.com", pipeline.region),
        );
    }
    for required in pipeline.required_key_uses() {
        // Reported per alarm by `check_alarms`, naming the alarm.
        if matches!(required, KeyUse::AlarmsToTopic { .. }) {
            continue;
        }
        if !pipeline.key_policy.contains(&required) {
            problems.push(Problem::MissingKeyPolicyGrant {
                service: required.service(&pipeline.region),
                usage: required.describe(),
            });
        }
    }
}

/// Every alarm action must reach its topic: the topic exists, and when it is
/// encrypted, CloudWatch may use its key (an AWS managed key's policy cannot
/// allow it; the stack key's policy must).
fn check_alarms(pipeline: &Pipeline, problems: &mut Vec<Problem>) {
    for alarm in &pipeline.alarms {
        for topic_id in &alarm.topics {
            let Some(topic) = pipeline.topic(topic_id) else {
                problems.push(Problem::UnknownPart {
                    kind: "topic",
                    id: topic_id.clone(),
                    used_by: format!("alarm {}", alarm.name),
                });
                continue;
            };
            let allowed = match &topic.key {
                KeyChoice::Stack => pipeline.key_policy.contains(&KeyUse::AlarmsToTopic {
                    topic: topic.id.clone(),
                }),
                KeyChoice::AwsManaged(_) => false,
            };
            if !allowed {
                problems.push(Problem::AlarmCannotPublish {
                    alarm: alarm.name.clone(),
                    topic: topic.id.clone(),
                });
            }
        }
    }
    if let Some(guard) = &pipeline.deploy_guard {
        let rule_chars = guard.rule.chars().count();
        if rule_chars > CompositeAlarm::MAX_RULE_CHARS
            || guard.members.len() > CompositeAlarm::MAX_MEMBERS
        {
            problems.push(Problem::DeployGuardTooLarge {
                alarm: guard.name.clone(),
                rule_chars,
                members: guard.members.len(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AlarmKind;
    use crate::model::{Alarm, Metric, Statistic, Topic};

    fn pipeline_with_alarm(key: KeyChoice, key_policy: Vec<KeyUse>) -> Pipeline {
        Pipeline {
            app: "app".into(),
            env: "test".into(),
            region: "eu-west-1".into(),
            routes: vec![],
            functions: vec![],
            topics: vec![Topic {
                id: "alerts".into(),
                name: "app-test-alerts".into(),
                fifo: false,
                key,
                env_var: None,
            }],
            queues: vec![],
            subscriptions: vec![],
            key_policy,
            table_key: KeyChoice::Stack,
            bucket_key: KeyChoice::Stack,
            alarms: vec![Alarm {
                kind: AlarmKind::FailuresQueueMessages,
                id: "FailuresQueueMessages".into(),
                name: "app-test-failures-queue-messages".into(),
                description: String::new(),
                metric: Metric {
                    namespace: "AWS/SQS".into(),
                    name: "ApproximateNumberOfMessagesVisible".into(),
                    dimensions: vec![],
                },
                statistic: Statistic::Maximum,
                threshold: 1.0,
                period_seconds: 300,
                evaluation_periods: 1,
                topics: vec!["alerts".into()],
                notify: true,
            }],
            deploy_guard: None,
            metrics_namespace: "app/test".into(),
            table: crate::pipeline::PIPELINE.table,
            metrics_widgets: vec![],
        }
    }

    #[test]
    fn a_deploy_guard_over_cloudwatch_limits_is_a_problem() {
        let mut pipeline = pipeline_with_alarm(
            KeyChoice::Stack,
            vec![KeyUse::AlarmsToTopic {
                topic: "alerts".into(),
            }],
        );
        let one = pipeline.alarms[0].clone();
        pipeline.deploy_guard =
            CompositeAlarm::over("app-test-deploy-guard".into(), &pipeline.alarms);
        assert_eq!(check(&pipeline), vec![]);
        // 101 members: over the 100-alarm limit (and 101 x 48 characters is
        // within 10,240, so the member count alone refuses).
        let many = vec![one; 101];
        pipeline.deploy_guard = CompositeAlarm::over("app-test-deploy-guard".into(), &many);
        let rule_chars = pipeline.deploy_guard.as_ref().unwrap().rule.len();
        assert!(rule_chars < CompositeAlarm::MAX_RULE_CHARS);
        assert_eq!(
            check(&pipeline),
            vec![Problem::DeployGuardTooLarge {
                alarm: "app-test-deploy-guard".into(),
                rule_chars,
                members: 101,
            }]
        );
    }

    #[test]
    fn an_alarm_topic_whose_key_denies_cloudwatch_is_a_problem() {
        let expected = vec![Problem::AlarmCannotPublish {
            alarm: "app-test-failures-queue-messages".into(),
            topic: "alerts".into(),
        }];
        // The stack key without the CloudWatch statement.
        assert_eq!(
            check(&pipeline_with_alarm(KeyChoice::Stack, vec![])),
            expected
        );
        // An AWS managed key, whose policy cannot name CloudWatch.
        assert_eq!(
            check(&pipeline_with_alarm(
                KeyChoice::AwsManaged("alias/aws/sns".into()),
                vec![]
            )),
            expected
        );
        // The stack key with the statement: fine.
        let allowed = vec![KeyUse::AlarmsToTopic {
            topic: "alerts".into(),
        }];
        assert_eq!(
            check(&pipeline_with_alarm(KeyChoice::Stack, allowed)),
            vec![]
        );
    }

    #[test]
    fn alarm_topics_on_the_stack_key_need_cloudwatch_in_its_policy() {
        let pipeline = pipeline_with_alarm(KeyChoice::Stack, vec![]);
        assert_eq!(
            pipeline.required_key_uses(),
            vec![KeyUse::AlarmsToTopic {
                topic: "alerts".into()
            }]
        );
    }

    #[test]
    fn s3_overlap_rule_matches_the_documented_examples() {
        // From the S3 guide: same prefix, suffixes `.jpg` and `.png` do not overlap.
        assert!(!filters_overlap("images/", ".jpg", "images/", ".png"));
        // An empty suffix matches everything.
        assert!(filters_overlap("images/", "", "images/", ".png"));
        // Nested prefixes overlap when suffixes do.
        assert!(filters_overlap("images/", ".jpg", "images/2024/", ".jpg"));
        assert!(filters_overlap("a/", "x.jpg", "a/b/", ".jpg"));
        // Disjoint prefixes never overlap.
        assert!(!filters_overlap("data/", "", "photos/", ""));
    }

    #[test]
    fn event_wildcards_cover_specific_events() {
        assert!(events_overlap("s3:ObjectCreated:*", "s3:ObjectCreated:Put"));
        assert!(!events_overlap("s3:ObjectCreated:*", "s3:ObjectRemoved:*"));
    }
}
