//! The pipeline watching itself: the CloudFormation resources of the alarms
//! the model holds (`Pipeline::alarms`, from the env's `[alarms]` settings),
//! the deploy guard over them, and the dashboard.
//!
//! Every alarm notifies the alerts topic on ALARM and on OK, and has a
//! deterministic `<app>-<env>-...` name, so deploy can name the alarms as
//! rollback triggers and `status` can read their states without a template.

use serde::Serialize;
use serde::ser::SerializeSeq;
use upstack_cfn::value::sub;
use upstack_cfn::{ResourceOptions, Template, Value};
use upstack_cfn_resources::cloudwatch;

use crate::config::EnvConfig;
use crate::model::{CompositeAlarm, LAMBDA_NAMESPACE, Metric, Pipeline, SQS_NAMESPACE, Statistic};
use crate::naming::tag_list;

/// Adds the `AWS::CloudWatch::CompositeAlarm` of [`Pipeline::deploy_guard`].
/// `members` are the alarms [`add_alarms`] added.
pub(crate) fn add_deploy_guard(
    template: &mut Template,
    pipeline: &Pipeline,
    config: &EnvConfig,
    members: &[cloudwatch::AlarmRef],
) {
    use cloudwatch::composite_alarm;
    let Some(guard) = &pipeline.deploy_guard else {
        return;
    };
    // PutCompositeAlarm refuses a rule naming an alarm that does not exist
    // yet, and a name in the rule is no reference: hence DependsOn.
    let mut options = ResourceOptions::default();
    for member in members {
        options = options.depends_on(member);
    }
    template.add_with(
        CompositeAlarm::LOGICAL_ID,
        cloudwatch::CompositeAlarm {
            alarm_name: Some(Value::Lit(guard.name.clone())),
            alarm_description: Some(Value::Lit(format!(
                "ALARM when any of the stack's {} alarms is: deploy's rollback trigger (CloudFormation takes at most 5)",
                guard.members.len()
            ))),
            tags: tag_list(config, |key, value| {
                composite_alarm::Tag::new(key, value)
            }),
            // No actions of its own: every member already notifies the
            // alerts topic on ALARM and on OK, so actions here would send
            // each incident twice. It exists to be watched by CloudFormation.
            ..cloudwatch::CompositeAlarm::new(guard.rule.as_str())
        },
        options,
    );
}

/// Adds one `AWS::CloudWatch::Alarm` per model alarm, notifying its topics
/// (`topic_arn` resolves a model topic id) on ALARM and on OK.
pub(crate) fn add_alarms(
    template: &mut Template,
    pipeline: &Pipeline,
    config: &EnvConfig,
    topic_arn: impl Fn(&str) -> Option<Value<String>>,
) -> Vec<cloudwatch::AlarmRef> {
    use cloudwatch::alarm;
    let mut added = Vec::new();
    for model in &pipeline.alarms {
        let actions: Vec<Value<String>> = model
            .topics
            .iter()
            .filter_map(|topic| topic_arn(topic))
            .collect();
        let dimensions: Vec<Value<alarm::Dimension>> = model
            .metric
            .dimensions
            .iter()
            .map(|(name, value)| Value::Lit(alarm::Dimension::new(name.as_str(), value.as_str())))
            .collect();
        let mut options = ResourceOptions::default();
        if !model.notify {
            options = options.metadata(
                "checkov",
                serde_json::json!({"skip": [{
                    "id": "CKV_AWS_319",
                    "comment": format!("envs/{}.toml sets [alarms] notify = false: the alarm only records state (rollback triggers, status)", pipeline.env),
                }]}),
            );
        }
        added.push(template.add_with(
            model.logical_id(),
            cloudwatch::Alarm {
                alarm_name: Some(Value::Lit(model.name.clone())),
                alarm_description: Some(Value::Lit(model.description.clone())),
                namespace: Some(Value::Lit(model.metric.namespace.clone())),
                metric_name: Some(Value::Lit(model.metric.name.clone())),
                dimensions: (!dimensions.is_empty()).then_some(Value::Lit(dimensions)),
                statistic: Some(Value::Lit(match model.statistic {
                    Statistic::Sum => alarm::Statistic::Sum,
                    Statistic::Maximum => alarm::Statistic::Maximum,
                })),
                period: Some(Value::Lit(model.period_seconds)),
                evaluation_periods: Some(Value::Lit(model.evaluation_periods)),
                threshold: Some(Value::Lit(model.threshold)),
                comparison_operator: Some(Value::Lit(
                    alarm::ComparisonOperator::GreaterThanOrEqualToThreshold,
                )),
                // Counts and queue gauges are not reported while nothing
                // happens; quiet is healthy, so missing data must not alarm
                // (nor leave the alarm INSUFFICIENT_DATA forever).
                treat_missing_data: Some(Value::Lit(alarm::TreatMissingData::NotBreaching)),
                actions_enabled: Some(Value::Lit(model.notify)),
                alarm_actions: Some(Value::Lit(actions.clone())),
                ok_actions: Some(Value::Lit(actions)),
                tags: tag_list(config, |key, value| alarm::Tag::new(key, value)),
                ..cloudwatch::Alarm::new()
            },
            options,
        ));
    }
    added
}

// The dashboard body, typed: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html.
// Structs serialize their fields in declaration order whatever serde_json's
// map features, so the body is byte-for-byte deterministic.

/// The whole `DashboardBody`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardBody {
    pub widgets: Vec<Widget>,
}

/// One widget at a grid position (the grid is 24 units wide).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Widget {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub properties: WidgetProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum WidgetProperties {
    Metric(MetricWidget),
    Alarm(AlarmWidget),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricWidget {
    pub title: String,
    /// `${AWS::Region}`: the body goes through `Fn::Sub`.
    pub region: &'static str,
    pub view: &'static str,
    pub stacked: bool,
    pub stat: &'static str,
    pub period: i64,
    pub metrics: Vec<MetricLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmWidget {
    pub title: String,
    /// Alarm ARNs with `${AWS::...}` pseudo parameters (resolved by `Fn::Sub`).
    pub alarms: Vec<String>,
}

/// One metric of a metric widget: `[namespace, name, dim, value, ..., {label}]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine {
    pub metric: Metric,
    pub label: String,
}

#[derive(Serialize)]
struct LineOptions<'a> {
    label: &'a str,
}

impl Serialize for MetricLine {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(3 + 2 * self.metric.dimensions.len()))?;
        seq.serialize_element(&self.metric.namespace)?;
        seq.serialize_element(&self.metric.name)?;
        for (name, value) in &self.metric.dimensions {
            seq.serialize_element(name)?;
            seq.serialize_element(value)?;
        }
        seq.serialize_element(&LineOptions { label: &self.label })?;
        seq.end()
    }
}

/// CloudWatch dashboards are 24 grid units wide.
const GRID_WIDTH: u32 = 24;

/// Dashboard period: 5 minutes, the alarms' default period.
const DASHBOARD_PERIOD: i64 = 300;

fn metric_widget(
    x: u32,
    y: u32,
    width: u32,
    title: &str,
    stat: &'static str,
    metrics: Vec<MetricLine>,
) -> Widget {
    Widget {
        kind: "metric",
        x,
        y,
        width,
        height: 6,
        properties: WidgetProperties::Metric(MetricWidget {
            title: title.to_owned(),
            region: "${AWS::Region}",
            view: "timeSeries",
            stacked: false,
            stat,
            period: DASHBOARD_PERIOD,
            metrics,
        }),
    }
}

/// The env's dashboard: alarm states; the handlers' EMF metrics; each
/// function's errors and duration; the queues' depths and the FIFO queue's
/// oldest message.
pub fn dashboard(pipeline: &Pipeline) -> DashboardBody {
    let emf_line = |name: &str, label: &str| MetricLine {
        metric: Metric::new(&pipeline.metrics_namespace, name, None),
        label: label.to_owned(),
    };
    let per_function = |name: &str| -> Vec<MetricLine> {
        pipeline
            .functions
            .iter()
            .map(|function| MetricLine {
                metric: Metric::new(
                    LAMBDA_NAMESPACE,
                    name,
                    Some(("FunctionName", &function.name)),
                ),
                label: function.handler.clone(),
            })
            .collect()
    };
    let depths: Vec<MetricLine> = pipeline
        .queues
        .iter()
        .map(|queue| MetricLine {
            metric: Metric::new(
                SQS_NAMESPACE,
                "ApproximateNumberOfMessagesVisible",
                Some(("QueueName", &queue.name)),
            ),
            label: queue.name.clone(),
        })
        .collect();
    let ages: Vec<MetricLine> = pipeline
        .queues
        .iter()
        .filter(|queue| queue.fifo && queue.dead_letter.is_some())
        .map(|queue| MetricLine {
            metric: Metric::new(
                SQS_NAMESPACE,
                "ApproximateAgeOfOldestMessage",
                Some(("QueueName", &queue.name)),
            ),
            label: queue.name.clone(),
        })
        .collect();
    let alarm_arns = pipeline
        .alarms
        .iter()
        .map(|alarm| alarm.arn("${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}"))
        .collect();
    // The handlers' own metrics share one row, as wide as the grid.
    let width = GRID_WIDTH / u32::try_from(pipeline.metrics_widgets.len().max(1)).unwrap_or(1);
    let handler_widgets = pipeline.metrics_widgets.iter().zip(0..).map(|(widget, i)| {
        metric_widget(
            i * width,
            4,
            width,
            widget.title,
            "Sum",
            widget
                .lines
                .iter()
                .map(|(name, label)| emf_line(name, label))
                .collect(),
        )
    });
    let mut widgets = vec![Widget {
        kind: "alarm",
        x: 0,
        y: 0,
        width: 24,
        height: 4,
        properties: WidgetProperties::Alarm(AlarmWidget {
            title: "Alarms".to_owned(),
            alarms: alarm_arns,
        }),
    }];
    widgets.extend(handler_widgets);
    widgets.extend([
        metric_widget(0, 10, 12, "Function errors", "Sum", per_function("Errors")),
        metric_widget(
            12,
            10,
            12,
            "Function duration (p99, ms)",
            "p99",
            per_function("Duration"),
        ),
        metric_widget(0, 16, 12, "Messages visible", "Maximum", depths),
        metric_widget(12, 16, 12, "Oldest message age (s)", "Maximum", ages),
    ]);
    DashboardBody { widgets }
}

/// Adds the env's `AWS::CloudWatch::Dashboard`, named `<app>-<env>`.
pub(crate) fn add_dashboard(
    template: &mut Template,
    pipeline: &Pipeline,
    config: &EnvConfig,
) -> Result<(), serde_json::Error> {
    let body = serde_json::to_string(&dashboard(pipeline))?;
    template.add(
        "Dashboard",
        cloudwatch::Dashboard {
            dashboard_name: Some(Value::Lit(format!("{}-{}", pipeline.app, pipeline.env))),
            tags: tag_list(config, |key, value| {
                cloudwatch::dashboard::Tag::new(key, value)
            }),
            ..cloudwatch::Dashboard::new(sub(body))
        },
    );
    Ok(())
}
