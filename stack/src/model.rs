//! The pipeline as plain data: routes, topics, queues, subscriptions, grants
//! and the services that must use the key. [`crate::checks`] inspects this
//! model before [`crate::build`] turns it into a template, so a mistake is
//! reported in the pipeline's own terms ("route photos/ -> photo-check
//! overlaps ...") rather than as a CloudFormation failure mid-deploy.

use upstack_contract::handler;

use crate::config::{AlarmKind, AlarmsConfig, EnvConfig};
use crate::naming::pascal;
use crate::pipeline::{self, Declaration, IDEMPOTENCY_ACTIONS, PIPELINE};

/// The S3 event every route in this pipeline listens to.
pub const OBJECT_CREATED: &str = "s3:ObjectCreated:*";

/// Which key encrypts a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    /// The stack's customer managed key (its policy is ours to write).
    Stack,
    /// An AWS managed key such as `alias/aws/sqs`: its policy cannot be
    /// edited, so no other service can be allowed to encrypt with it.
    AwsManaged(String),
}

/// Something an S3 event notification can deliver to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Function(String),
    Topic(String),
    Queue(String),
}

impl Target {
    pub fn describe(&self) -> String {
        match self {
            Target::Function(name) => format!("function {name}"),
            Target::Topic(name) => format!("topic {name}"),
            Target::Queue(name) => format!("queue {name}"),
        }
    }
}

/// One S3 event notification on the upload bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub event: String,
    pub prefix: String,
    /// Empty: any suffix.
    pub suffix: String,
    pub target: Target,
}

impl Route {
    pub fn describe(&self) -> String {
        let suffix = if self.suffix.is_empty() {
            "*".to_owned()
        } else {
            format!("*{}", self.suffix)
        };
        format!(
            "{} {}{} -> {}",
            self.event,
            self.prefix,
            suffix,
            self.target.describe()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// Model name, also the base of the logical ID.
    pub id: String,
    /// Physical `TopicName`.
    pub name: String,
    pub fifo: bool,
    pub key: KeyChoice,
    /// Environment variable carrying its ARN to the functions that may publish to it.
    pub env_var: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub id: String,
    pub name: String,
    pub fifo: bool,
    pub key: KeyChoice,
    /// Model id of the queue that receives messages after `max_receive_count` failures.
    pub dead_letter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Email(String),
    Queue(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub topic: String,
    pub endpoint: Endpoint,
}

/// What a function's role may do; each becomes least-privilege statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `s3:GetObject` and `s3:GetObjectVersion` on `<bucket>/<prefix>*`.
    ReadObjects { prefix: String },
    /// `s3:PutObject` on `<bucket>/<prefix>*`.
    WriteObjects { prefix: String },
    /// `sns:Publish` on a topic (model id).
    Publish { topic: String },
    /// Item-level DynamoDB actions on the table.
    TableItems { actions: Vec<String> },
    /// `rekognition:DetectFaces` (no resource-level permissions).
    DetectFaces,
}

impl Grant {
    /// The declared grant with its exact actions.
    pub fn declared(grant: &pipeline::Grant) -> Grant {
        match *grant {
            pipeline::Grant::ReadObjects(prefix) => Grant::ReadObjects {
                prefix: prefix.to_owned(),
            },
            pipeline::Grant::WriteObjects(prefix) => Grant::WriteObjects {
                prefix: prefix.to_owned(),
            },
            pipeline::Grant::Publish(topic) => Grant::Publish {
                topic: topic.to_owned(),
            },
            pipeline::Grant::TableItems(extra) => Grant::TableItems {
                actions: IDEMPOTENCY_ACTIONS
                    .iter()
                    .chain(extra)
                    .map(|action| (*action).to_owned())
                    .collect(),
            },
            pipeline::Grant::DetectFaces => Grant::DetectFaces,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Handler crate name (`notify`, `ingest`, `photo-check`).
    pub handler: String,
    /// Physical `FunctionName`: `<app>-<env>-<handler>`.
    pub name: String,
    pub grants: Vec<Grant>,
    /// Model id of the queue receiving failed async invocations.
    pub on_failure_queue: String,
    pub log_key: KeyChoice,
}

impl Function {
    /// Logical ID of its `AWS::Lambda::Function`: `photo-check` -> `PhotoCheckFunction`.
    pub fn logical_id(&self) -> String {
        format!("{}Function", pascal(&self.handler))
    }

    /// `/aws/lambda/<name>`, the name Lambda would pick, set explicitly so the
    /// key policy can name it before the log group exists.
    pub fn log_group_name(&self) -> String {
        format!("/aws/lambda/{}", self.name)
    }
}

/// Why a service principal needs the stack key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUse {
    /// SNS encrypts messages it delivers into an encrypted queue (from that topic).
    SnsToQueue { topic: String, queue: String },
    /// CloudWatch Logs encrypts a log group's events.
    Logs { log_group: String },
    /// CloudWatch alarms publish into an encrypted topic: the publisher of an
    /// SSE-KMS topic needs the key, and for an alarm that is CloudWatch itself
    /// (<https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services>).
    AlarmsToTopic { topic: String },
}

/// The service principal CloudWatch alarms act as.
pub const CLOUDWATCH_SERVICE: &str = "cloudwatch.amazonaws.com";

impl KeyUse {
    pub fn service(&self, region: &str) -> String {
        match self {
            KeyUse::SnsToQueue { .. } => "sns.amazonaws.com".to_owned(),
            KeyUse::Logs { .. } => format!("logs.{region}.amazonaws.com"),
            KeyUse::AlarmsToTopic { .. } => CLOUDWATCH_SERVICE.to_owned(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            KeyUse::SnsToQueue { topic, queue } => {
                format!("topic {topic} delivering into queue {queue}")
            }
            KeyUse::Logs { log_group } => format!("log group {log_group}"),
            KeyUse::AlarmsToTopic { topic } => format!("alarms publishing to topic {topic}"),
        }
    }
}

/// A CloudWatch metric, as an alarm or a dashboard names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub namespace: String,
    pub name: String,
    /// `(name, value)` pairs; empty for the handlers' EMF metrics.
    pub dimensions: Vec<(String, String)>,
}

/// How an alarm aggregates its metric over one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// Counts (errors, throttles, dropped events, rejected rows).
    Sum,
    /// Gauges sampled by the service (queue depth, message age).
    Maximum,
}

/// One alarm of the pipeline. It fires when the statistic is at or above
/// `threshold` for `evaluation_periods` consecutive periods; a period
/// without data counts as not breaching (every metric here is a count or a
/// gauge that is simply not reported while nothing happens).
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// Which `[alarms.<kind>]` settings it uses.
    pub kind: crate::config::AlarmKind,
    /// Base of the logical ID (`NotifyErrors` -> `NotifyErrorsAlarm`).
    pub id: String,
    /// Physical `AlarmName`: `<app>-<env>-...`, deterministic like every other name.
    pub name: String,
    pub description: String,
    pub metric: Metric,
    pub statistic: Statistic,
    pub threshold: f64,
    pub period_seconds: i64,
    pub evaluation_periods: i64,
    /// Model ids of the topics notified on ALARM and on OK.
    pub topics: Vec<String>,
    /// `ActionsEnabled`: whether it notifies (it exists either way).
    pub notify: bool,
}

impl Alarm {
    /// The alarm's logical ID in the template.
    pub fn logical_id(&self) -> String {
        format!("{}Alarm", self.id)
    }

    /// `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`, the
    /// form CloudFormation's rollback triggers take
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackTrigger.html>).
    pub fn arn(&self, partition: &str, region: &str, account_id: &str) -> String {
        format!(
            "arn:{partition}:cloudwatch:{region}:{account_id}:alarm:{}",
            self.name
        )
    }
}

/// The composite alarm over every [`Alarm`] of the pipeline: in ALARM when
/// any of them is. CloudFormation takes at most five rollback triggers, so
/// deploy names this one alarm and every alarm guards the deploy
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackTrigger.html>:
/// "Specify either AWS::CloudWatch::Alarm or AWS::CloudWatch::CompositeAlarm").
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeAlarm {
    /// Physical `AlarmName`: `<app>-<env>-deploy-guard`.
    pub name: String,
    /// `AlarmName`s of the member alarms, in the model's order.
    pub members: Vec<String>,
    /// `AlarmRule`: `ALARM("<member>") OR ALARM("<member>") ...`.
    pub rule: String,
}

impl CompositeAlarm {
    /// `AWS::CloudWatch::CompositeAlarm`'s logical ID.
    pub const LOGICAL_ID: &'static str = "DeployGuardAlarm";
    /// CloudFormation's `AlarmRule` limit (the registry schema's `maxLength`).
    pub const MAX_RULE_CHARS: usize = 10_240;
    /// "The rule expression of a composite alarm can include as many as 100
    /// underlying alarms" (PutCompositeAlarm).
    pub const MAX_MEMBERS: usize = 100;

    /// The composite over `alarms`, or `None` without any (an empty
    /// `AlarmRule` is invalid).
    pub fn over(name: String, alarms: &[Alarm]) -> Option<CompositeAlarm> {
        if alarms.is_empty() {
            return None;
        }
        let rule = alarms
            .iter()
            .map(|alarm| format!("ALARM(\"{}\")", alarm.name))
            .collect::<Vec<_>>()
            .join(" OR ");
        Some(CompositeAlarm {
            name,
            members: alarms.iter().map(|alarm| alarm.name.clone()).collect(),
            rule,
        })
    }

    /// Same ARN form as a metric alarm's.
    pub fn arn(&self, partition: &str, region: &str, account_id: &str) -> String {
        format!(
            "arn:{partition}:cloudwatch:{region}:{account_id}:alarm:{}",
            self.name
        )
    }
}

/// The whole pipeline of one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub app: String,
    pub env: String,
    pub region: String,
    pub routes: Vec<Route>,
    pub functions: Vec<Function>,
    pub topics: Vec<Topic>,
    pub queues: Vec<Queue>,
    pub subscriptions: Vec<Subscription>,
    /// Service uses the key policy grants; [`Pipeline::required_key_uses`] is what it must cover.
    pub key_policy: Vec<KeyUse>,
    pub table_key: KeyChoice,
    pub bucket_key: KeyChoice,
    /// Every alarm, in a fixed order (per function, then queues, then metrics).
    pub alarms: Vec<Alarm>,
    /// The composite over [`Pipeline::alarms`] (none without alarms).
    pub deploy_guard: Option<CompositeAlarm>,
    /// Namespace of the handlers' EMF metrics (`upstack_contract::metrics::namespace`).
    pub metrics_namespace: String,
    /// The table's key schema.
    pub table: pipeline::Table,
    /// The dashboard's widgets of the handlers' EMF metrics.
    pub metrics_widgets: Vec<pipeline::MetricsWidget>,
}

/// Model ids of the declared topics and queues ([`crate::pipeline`]).
pub mod ids {
    pub use crate::pipeline::{
        ALERTS as ALERTS_TOPIC, EVENTS as EVENTS_TOPIC, EVENTS_DLQ, EVENTS_QUEUE, FAILURES_QUEUE,
    };
}

/// CloudWatch namespaces of the services whose metrics the alarms and the
/// dashboard watch.
pub(crate) const LAMBDA_NAMESPACE: &str = "AWS/Lambda";
pub(crate) const SQS_NAMESPACE: &str = "AWS/SQS";

impl Metric {
    /// A metric with at most one dimension, the only shape this stack uses.
    pub fn new(namespace: &str, name: &str, dimension: Option<(&str, &str)>) -> Metric {
        Metric {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions: dimension
                .map(|(key, value)| vec![(key.to_owned(), value.to_owned())])
                .unwrap_or_default(),
        }
    }
}

/// The alarms of `pipeline` with `config`'s settings, in a fixed order: per
/// function errors, throttles and dropped async events; then per queue; then
/// ingest's rejected rows. A kind with `enabled = false` is left out.
fn standard_alarms(pipeline: &Pipeline, config: &AlarmsConfig) -> Vec<Alarm> {
    let base = format!("{}-{}", pipeline.app, pipeline.env);
    let alarm_topics: Vec<String> = PIPELINE
        .topics
        .iter()
        .filter(|topic| topic.alarms)
        .map(|topic| topic.id.to_owned())
        .collect();
    let mut alarms = Vec::new();
    let mut push = |kind: AlarmKind,
                    id: String,
                    name: String,
                    what: String,
                    metric: Metric,
                    statistic: Statistic| {
        let settings = config.settings(kind);
        if !settings.enabled {
            return;
        }
        let statistic_name = match statistic {
            Statistic::Sum => "Sum",
            Statistic::Maximum => "Maximum",
        };
        alarms.push(Alarm {
            kind,
            id,
            name: format!("{base}-{name}"),
            description: format!(
                "{what}: {} {statistic_name} >= {} over {} s, {} period(s) in a row (envs/{}.toml [alarms.{}])",
                metric.name,
                settings.threshold,
                settings.period_seconds,
                settings.evaluation_periods,
                pipeline.env,
                kind.key()
            ),
            metric,
            statistic,
            threshold: settings.threshold,
            period_seconds: settings.period_seconds,
            evaluation_periods: settings.evaluation_periods,
            topics: alarm_topics.clone(),
            notify: config.notify(),
        });
    };
    for function in &pipeline.functions {
        let h = &function.handler;
        let id = pascal(h);
        let dimension = Some(("FunctionName", function.name.as_str()));
        push(
            AlarmKind::FunctionErrors,
            format!("{id}Errors"),
            format!("{h}-errors"),
            format!(
                "{h} invocations failed (Lambda retries async events twice, then the failures queue)"
            ),
            Metric::new(LAMBDA_NAMESPACE, "Errors", dimension),
            Statistic::Sum,
        );
        push(
            AlarmKind::FunctionThrottles,
            format!("{id}Throttles"),
            format!("{h}-throttles"),
            format!("{h} invocations throttled (reserved concurrency too small?)"),
            Metric::new(LAMBDA_NAMESPACE, "Throttles", dimension),
            Statistic::Sum,
        );
        push(
            AlarmKind::AsyncEventsDropped,
            format!("{id}AsyncEventsDropped"),
            format!("{h}-async-events-dropped"),
            format!("{h} dropped async events without processing them (uploads lost)"),
            Metric::new(LAMBDA_NAMESPACE, "AsyncEventsDropped", dimension),
            Statistic::Sum,
        );
    }
    let failure_queues: Vec<&str> = pipeline
        .functions
        .iter()
        .map(|function| function.on_failure_queue.as_str())
        .collect();
    let dead_letter_queues: Vec<&str> = pipeline
        .queues
        .iter()
        .filter_map(|queue| queue.dead_letter.as_deref())
        .collect();
    for queue in &pipeline.queues {
        let id = pascal(&queue.id);
        let dimension = Some(("QueueName", queue.name.as_str()));
        // The failures queue and the dead-letter queue alarm on their depth.
        let depth = if failure_queues.contains(&queue.id.as_str()) {
            Some((
                AlarmKind::FailuresQueueMessages,
                format!(
                    "queue {} holds invocations that failed every retry",
                    queue.name
                ),
            ))
        } else if dead_letter_queues.contains(&queue.id.as_str()) {
            Some((
                AlarmKind::DeadLetterQueueMessages,
                format!(
                    "dead-letter queue {} holds events their consumer gave up on",
                    queue.name
                ),
            ))
        } else {
            None
        };
        if let Some((kind, what)) = depth {
            push(
                kind,
                format!("{id}QueueMessages"),
                format!("{}-queue-messages", queue.id),
                what,
                Metric::new(
                    SQS_NAMESPACE,
                    "ApproximateNumberOfMessagesVisible",
                    dimension,
                ),
                Statistic::Maximum,
            );
        } else if queue.fifo {
            push(
                AlarmKind::EventsQueueOldestMessageAge,
                format!("{id}QueueOldestMessageAge"),
                format!("{}-queue-oldest-message-age", queue.id),
                format!(
                    "the oldest message in {} waits (seconds): its consumer is stalled",
                    queue.name
                ),
                Metric::new(SQS_NAMESPACE, "ApproximateAgeOfOldestMessage", dimension),
                Statistic::Maximum,
            );
        }
    }
    if pipeline.function(handler::INGEST).is_some() {
        push(
            AlarmKind::RejectedRows,
            format!("{}RejectedRows", pascal(handler::INGEST)),
            format!("{}-rejected-rows", handler::INGEST),
            "ingest rejected rows (their reasons are in the ingest-report items)".to_owned(),
            Metric::new(
                &pipeline.metrics_namespace,
                upstack_contract::metrics::ROWS_REJECTED,
                None,
            ),
            Statistic::Sum,
        );
    }
    alarms
}

/// The composite alarm `<app>-<env>-deploy-guard` over every alarm of
/// `pipeline` (deploy's one rollback trigger), or `None` without alarms.
fn standard_deploy_guard(pipeline: &Pipeline) -> Option<CompositeAlarm> {
    CompositeAlarm::over(
        format!("{}-{}-deploy-guard", pipeline.app, pipeline.env),
        &pipeline.alarms,
    )
}

impl Pipeline {
    /// The pipeline every environment deploys ([`PIPELINE`]), named after `config` and `env`.
    pub fn for_env(env: &str, config: &EnvConfig) -> Pipeline {
        Pipeline::declared(&PIPELINE, env, config)
    }

    /// `declaration` as one env's model: physical names from `config` and `env`.
    pub fn declared(declaration: &Declaration, env: &str, config: &EnvConfig) -> Pipeline {
        let base = format!("{}-{env}", config.app());
        let fifo_suffix = |fifo: bool| if fifo { ".fifo" } else { "" };
        let routes = declaration
            .functions
            .iter()
            .flat_map(|function| {
                function.routes.iter().map(|route| Route {
                    event: OBJECT_CREATED.to_owned(),
                    prefix: route.prefix.to_owned(),
                    suffix: route.suffix.to_owned(),
                    target: Target::Function(function.handler.to_owned()),
                })
            })
            .collect();
        let on_failure_queue = declaration.on_failure_queue().unwrap_or_default();
        let functions = declaration
            .functions
            .iter()
            .map(|function| Function {
                handler: function.handler.to_owned(),
                name: format!("{base}-{}", function.handler),
                grants: function.grants.iter().map(Grant::declared).collect(),
                on_failure_queue: on_failure_queue.to_owned(),
                log_key: KeyChoice::Stack,
            })
            .collect();
        let topics = declaration
            .topics
            .iter()
            .map(|topic| Topic {
                id: topic.id.to_owned(),
                name: format!("{base}-{}{}", topic.id, fifo_suffix(topic.fifo)),
                fifo: topic.fifo,
                key: KeyChoice::Stack,
                env_var: topic.env_var.map(str::to_owned),
            })
            .collect();
        let queues = declaration
            .queues
            .iter()
            .map(|queue| Queue {
                id: queue.id.to_owned(),
                name: format!("{base}-{}{}", queue.name, fifo_suffix(queue.fifo)),
                fifo: queue.fifo,
                key: KeyChoice::Stack,
                dead_letter: queue.dead_letter.map(str::to_owned),
            })
            .collect();
        let mut subscriptions: Vec<Subscription> = declaration
            .topics
            .iter()
            .filter(|topic| topic.emails)
            .flat_map(|topic| {
                config.notification_emails.iter().map(|email| Subscription {
                    topic: topic.id.to_owned(),
                    endpoint: Endpoint::Email(email.as_str().to_owned()),
                })
            })
            .collect();
        subscriptions.extend(declaration.topics.iter().filter_map(|topic| {
            topic.queue.map(|queue| Subscription {
                topic: topic.id.to_owned(),
                endpoint: Endpoint::Queue(queue.to_owned()),
            })
        }));
        let mut pipeline = Pipeline {
            app: config.app().to_owned(),
            env: env.to_owned(),
            region: config.region.as_str().to_owned(),
            routes,
            functions,
            topics,
            queues,
            subscriptions,
            key_policy: Vec::new(),
            table_key: KeyChoice::Stack,
            bucket_key: KeyChoice::Stack,
            alarms: Vec::new(),
            deploy_guard: None,
            metrics_namespace: upstack_contract::metrics::namespace(config.app(), env),
            table: declaration.table,
            metrics_widgets: declaration.dashboard.to_vec(),
        };
        pipeline.alarms = standard_alarms(&pipeline, &config.alarms);
        pipeline.deploy_guard = standard_deploy_guard(&pipeline);
        pipeline.key_policy = pipeline.required_key_uses();
        pipeline
    }

    /// Every use of the stack key by a service principal that the pipeline
    /// implies: those need a key policy statement, IAM alone cannot grant them.
    pub fn required_key_uses(&self) -> Vec<KeyUse> {
        let mut uses = Vec::new();
        for subscription in &self.subscriptions {
            if let Endpoint::Queue(queue_id) = &subscription.endpoint
                && self
                    .queue(queue_id)
                    .is_some_and(|queue| queue.key == KeyChoice::Stack)
            {
                uses.push(KeyUse::SnsToQueue {
                    topic: subscription.topic.clone(),
                    queue: queue_id.clone(),
                });
            }
        }
        for function in &self.functions {
            if function.log_key == KeyChoice::Stack {
                uses.push(KeyUse::Logs {
                    log_group: function.log_group_name(),
                });
            }
        }
        for topic in self.alarm_topics() {
            if self
                .topic(topic)
                .is_some_and(|topic| topic.key == KeyChoice::Stack)
            {
                uses.push(KeyUse::AlarmsToTopic {
                    topic: topic.to_owned(),
                });
            }
        }
        uses
    }

    /// Model ids of the topics any alarm notifies, each once, in first-use order.
    pub fn alarm_topics(&self) -> Vec<&str> {
        let mut topics: Vec<&str> = Vec::new();
        for alarm in &self.alarms {
            for topic in &alarm.topics {
                if !topics.contains(&topic.as_str()) {
                    topics.push(topic);
                }
            }
        }
        topics
    }

    pub fn topic(&self, id: &str) -> Option<&Topic> {
        self.topics.iter().find(|topic| topic.id == id)
    }

    pub fn queue(&self, id: &str) -> Option<&Queue> {
        self.queues.iter().find(|queue| queue.id == id)
    }

    pub fn function(&self, handler: &str) -> Option<&Function> {
        self.functions
            .iter()
            .find(|function| function.handler == handler)
    }

    /// Routes targeting `handler`, in declaration order.
    pub fn routes_to<'a>(&'a self, handler: &'a str) -> impl Iterator<Item = &'a Route> + 'a {
        self.routes
            .iter()
            .filter(move |route| route.target == Target::Function(handler.to_owned()))
    }

    /// Every prefix a route listens on, each once, in route order: where uploaders may write.
    pub fn routed_prefixes(&self) -> Vec<&str> {
        let mut prefixes: Vec<&str> = Vec::new();
        for route in &self.routes {
            if !prefixes.contains(&route.prefix.as_str()) {
                prefixes.push(&route.prefix);
            }
        }
        prefixes
    }

    /// `<app>-<env>-uploads-${AWS::AccountId}-${AWS::Region}` (an `Fn::Sub` template):
    /// deterministic, so permissions name the bucket without referencing it
    /// (which would be a cycle: the bucket's notifications need the permissions first).
    pub fn upload_bucket_name_sub(&self) -> String {
        format!(
            "{}-{}-uploads-${{AWS::AccountId}}-${{AWS::Region}}",
            self.app, self.env
        )
    }

    pub fn log_bucket_name_sub(&self) -> String {
        format!(
            "{}-{}-access-logs-${{AWS::AccountId}}-${{AWS::Region}}",
            self.app, self.env
        )
    }
}
