//! The pipeline, declared once. Read it top to bottom like a CDK app's stack
//! file: the table, the topics and queues, then each function with the
//! objects that trigger it and what it may do, then the dashboard.
//! [`crate::model::Pipeline::for_env`] turns this into the model every env
//! synthesizes; the handler list (`upstack invoke`'s choices, synth's asset
//! keys), the grants, alarms, dashboard and manifest all come from here.
//!
//! Names the handlers compile in (their own name, the prefix they accept,
//! the table's key attributes) live in `upstack_contract` and are only
//! referenced here. That split is deliberate: every handler's asset key
//! hashes the contract crate, so a route or a grant declared here changes
//! the template without redeploying any handler's code, while a change the
//! handlers must see (a key attribute, say) rebuilds them.

use upstack_contract::{env, handler, metrics, prefix, table};

/// This file, relative to the workspace root: where `upstack new-handler`
/// tells you to declare a new function.
pub const DECLARATION_FILE: &str = file!();

#[rustfmt::skip]
pub const PIPELINE: Declaration = Declaration {
    table: Table {
        partition_key: table::PARTITION_KEY,
        sort_key: table::SORT_KEY,
    },

    topics: &[
        // Human-readable messages: the env's notification_emails and every alarm.
        Topic::standard(ALERTS).env_var(env::TOPIC_ARN).emails().alarms(),
        // Structured events, one message group per object.
        Topic::fifo(EVENTS).env_var(env::FIFO_TOPIC_ARN).into_queue(EVENTS_QUEUE),
    ],
    queues: &[
        Queue::fifo(EVENTS_QUEUE, "events").dead_letter(EVENTS_DLQ),
        Queue::fifo(EVENTS_DLQ, "events-dlq"),
        // Async invocations that failed every retry, from every function.
        Queue::standard(FAILURES_QUEUE, "failures").on_failure(),
    ],

    // One line per function: its handler crate, the objects that invoke it
    // (`s3:ObjectCreated:*` under a prefix, optionally with a suffix), and its grants.
    functions: &[
        // notify reads nothing from S3: the event carries all it announces.
        Function::new(handler::NOTIFY).on(&[any(prefix::UPLOADS)]).grants(&[publish(ALERTS), publish(EVENTS), table_items(&[])]),
        Function::new(handler::INGEST).on(&[ends(prefix::DATA, ".csv"), ends(prefix::DATA, ".jsonl")]).grants(&[read(prefix::DATA), table_items(&["dynamodb:BatchWriteItem"])]),
        Function::new(handler::PHOTO_CHECK).on(&[ends(prefix::PHOTOS, ".jpg"), ends(prefix::PHOTOS, ".jpeg"), ends(prefix::PHOTOS, ".png")]).grants(&[read(prefix::PHOTOS), Grant::DetectFaces, publish(ALERTS), table_items(&[])]),
    ],

    // The handlers' own metrics (embedded metric format), one widget each, left to right.
    dashboard: &[
        MetricsWidget::new("ingest rows", &[(metrics::ROWS_WRITTEN, "written"), (metrics::ROWS_REJECTED, "rejected")]),
        MetricsWidget::new("photo-check verdicts", &[(metrics::PHOTOS_ACCEPTED, "accepted"), (metrics::PHOTOS_REJECTED, "rejected")]),
        MetricsWidget::new("notify messages", &[(metrics::NOTIFICATIONS_SENT, "standard topic"), (metrics::FIFO_NOTIFICATIONS_SENT, "FIFO topic")]),
    ],
};

/// Model ids of the topics and queues (each also the base of its logical ID).
pub const ALERTS: &str = "alerts";
pub const EVENTS: &str = "events";
pub const EVENTS_QUEUE: &str = "events";
pub const EVENTS_DLQ: &str = "events-dead-letter";
pub const FAILURES_QUEUE: &str = "failures";

/// Item-level actions every idempotency record needs (conditional put, read,
/// update, delete); [`Grant::TableItems`] adds a function's own to these.
pub const IDEMPOTENCY_ACTIONS: [&str; 4] = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
];

/// The whole pipeline, as declared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Declaration {
    pub table: Table,
    pub topics: &'static [Topic],
    pub queues: &'static [Queue],
    pub functions: &'static [Function],
    pub dashboard: &'static [MetricsWidget],
}

impl Declaration {
    /// Every declared handler, in declaration order.
    pub fn handlers(&self) -> Vec<&'static str> {
        self.functions
            .iter()
            .map(|function| function.handler)
            .collect()
    }

    pub fn function(&self, handler: &str) -> Option<&'static Function> {
        self.functions
            .iter()
            .find(|function| function.handler == handler)
    }

    /// The queue receiving every function's failed async invocations.
    pub fn on_failure_queue(&self) -> Option<&'static str> {
        self.queues
            .iter()
            .find(|queue| queue.on_failure)
            .map(|queue| queue.id)
    }
}

/// Every declared handler, in declaration order: `PIPELINE.handlers()`.
pub fn handlers() -> Vec<&'static str> {
    PIPELINE.handlers()
}

/// The DynamoDB table's key schema (both attributes strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topic {
    /// Model id; the physical name is `<app>-<env>-<id>` (`.fifo` for FIFO).
    pub id: &'static str,
    pub fifo: bool,
    /// The environment variable carrying its ARN to the functions allowed to publish.
    pub env_var: Option<&'static str>,
    /// The env's `notification_emails` subscribe to it.
    pub emails: bool,
    /// Alarms notify it on ALARM and on OK.
    pub alarms: bool,
    /// A queue (model id) subscribed with raw message delivery.
    pub queue: Option<&'static str>,
}

impl Topic {
    pub const fn standard(id: &'static str) -> Topic {
        Topic {
            id,
            fifo: false,
            env_var: None,
            emails: false,
            alarms: false,
            queue: None,
        }
    }

    pub const fn fifo(id: &'static str) -> Topic {
        Topic {
            fifo: true,
            ..Topic::standard(id)
        }
    }

    pub const fn env_var(self, name: &'static str) -> Topic {
        Topic {
            env_var: Some(name),
            ..self
        }
    }

    pub const fn emails(self) -> Topic {
        Topic {
            emails: true,
            ..self
        }
    }

    pub const fn alarms(self) -> Topic {
        Topic {
            alarms: true,
            ..self
        }
    }

    pub const fn into_queue(self, queue: &'static str) -> Topic {
        Topic {
            queue: Some(queue),
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    pub id: &'static str,
    /// Physical `QueueName` after `<app>-<env>-` (`.fifo` added for FIFO).
    pub name: &'static str,
    pub fifo: bool,
    /// Model id of the queue receiving messages after too many receives.
    pub dead_letter: Option<&'static str>,
    /// Functions send failed async invocations here.
    pub on_failure: bool,
}

impl Queue {
    pub const fn standard(id: &'static str, name: &'static str) -> Queue {
        Queue {
            id,
            name,
            fifo: false,
            dead_letter: None,
            on_failure: false,
        }
    }

    pub const fn fifo(id: &'static str, name: &'static str) -> Queue {
        Queue {
            fifo: true,
            ..Queue::standard(id, name)
        }
    }

    pub const fn dead_letter(self, queue: &'static str) -> Queue {
        Queue {
            dead_letter: Some(queue),
            ..self
        }
    }

    pub const fn on_failure(self) -> Queue {
        Queue {
            on_failure: true,
            ..self
        }
    }
}

/// One Lambda function: handler crate `functions/<handler>`, package
/// `upstack-<handler>`, binary `<handler>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    pub handler: &'static str,
    /// The upload bucket's objects that invoke it.
    pub routes: &'static [Route],
    pub grants: &'static [Grant],
}

impl Function {
    pub const fn new(handler: &'static str) -> Function {
        Function {
            handler,
            routes: &[],
            grants: &[],
        }
    }

    pub const fn on(self, routes: &'static [Route]) -> Function {
        Function { routes, ..self }
    }

    pub const fn grants(self, grants: &'static [Grant]) -> Function {
        Function { grants, ..self }
    }
}

/// Objects created under `prefix` whose key ends in `suffix` (empty: any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub prefix: &'static str,
    pub suffix: &'static str,
}

/// Every object created under `prefix`.
pub const fn any(prefix: &'static str) -> Route {
    Route { prefix, suffix: "" }
}

/// Objects created under `prefix` whose key ends in `suffix`.
pub const fn ends(prefix: &'static str, suffix: &'static str) -> Route {
    Route { prefix, suffix }
}

/// What a function's role may do; [`crate::model::Grant`] has the exact statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    ReadObjects(&'static str),
    WriteObjects(&'static str),
    /// `sns:Publish` on a topic (model id).
    Publish(&'static str),
    /// [`IDEMPOTENCY_ACTIONS`] and these on the table.
    TableItems(&'static [&'static str]),
    DetectFaces,
}

pub const fn read(prefix: &'static str) -> Grant {
    Grant::ReadObjects(prefix)
}

pub const fn publish(topic: &'static str) -> Grant {
    Grant::Publish(topic)
}

pub const fn table_items(extra: &'static [&'static str]) -> Grant {
    Grant::TableItems(extra)
}

/// A dashboard widget of the handlers' EMF metrics: `(metric, label)` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsWidget {
    pub title: &'static str,
    pub lines: &'static [(&'static str, &'static str)],
}

impl MetricsWidget {
    pub const fn new(title: &'static str, lines: &'static [(&'static str, &'static str)]) -> Self {
        MetricsWidget { title, lines }
    }
}
