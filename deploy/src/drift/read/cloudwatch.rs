//! `AWS::CloudWatch::Alarm` and `AWS::CloudWatch::CompositeAlarm`
//! (DescribeAlarms), `AWS::CloudWatch::Dashboard` (GetDashboard).

use aws_sdk_cloudwatch::types::AlarmType;
use serde_json::{Map, Value as Json, json};

use super::{Outcome, Reader, Reading, boxed, json_text, set_some};
use crate::aws::{CallError, call};
use crate::drift::{DriftClients, Target};

pub(super) const READERS: &[Reader] = &[
    Reader {
        resource_type: "AWS::CloudWatch::Alarm",
        always: &[
            "ActionsEnabled",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "ComparisonOperator",
            "EvaluationPeriods",
            "MetricName",
            "Namespace",
            "Statistic",
            "Period",
            "Threshold",
            "TreatMissingData",
            "Dimensions",
        ],
        when_declared: &[
            "AlarmDescription",
            "DatapointsToAlarm",
            "ExtendedStatistic",
            "Unit",
            "EvaluateLowSampleCountPercentile",
            "ThresholdMetricId",
        ],
        unordered: &[
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "Dimensions",
        ],
        defaults: &[
            ("ActionsEnabled", "true"),
            ("TreatMissingData", r#""missing""#),
        ],
        actions: &["cloudwatch:DescribeAlarms"],
        read: boxed!(read_metric_alarm),
    },
    Reader {
        resource_type: "AWS::CloudWatch::CompositeAlarm",
        always: &[
            "AlarmRule",
            "ActionsEnabled",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
        ],
        when_declared: &[
            "AlarmDescription",
            "ActionsSuppressor",
            "ActionsSuppressorWaitPeriod",
            "ActionsSuppressorExtensionPeriod",
        ],
        unordered: &["AlarmActions", "OKActions", "InsufficientDataActions"],
        defaults: &[("ActionsEnabled", "true")],
        actions: &["cloudwatch:DescribeAlarms"],
        read: boxed!(read_composite_alarm),
    },
    Reader {
        resource_type: "AWS::CloudWatch::Dashboard",
        always: &["DashboardBody"],
        when_declared: &[],
        unordered: &[],
        defaults: &[],
        actions: &["cloudwatch:GetDashboard"],
        read: boxed!(read_dashboard),
    },
];

fn actions(properties: &mut Map<String, Json>, name: &str, arns: &[String]) {
    if !arns.is_empty() {
        properties.insert(name.into(), json!(arns));
    }
}

async fn describe(
    clients: &DriftClients,
    name: &str,
    kind: AlarmType,
) -> Result<aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput, CallError> {
    call(
        "cloudwatch:DescribeAlarms",
        clients
            .cloudwatch
            .describe_alarms()
            .alarm_names(name)
            .alarm_types(kind)
            .send(),
    )
    .await
}

async fn read_metric_alarm(
    clients: &DriftClients,
    target: &Target<'_>,
) -> Result<Outcome, CallError> {
    let output = describe(clients, target.physical_id, AlarmType::MetricAlarm).await?;
    let Some(alarm) = output
        .metric_alarms()
        .iter()
        .find(|alarm| alarm.alarm_name() == Some(target.physical_id))
    else {
        return Ok(Outcome::Gone);
    };
    let mut properties = Map::new();
    set_some(
        &mut properties,
        "ActionsEnabled",
        alarm.actions_enabled().map(Json::from),
    );
    set_some(
        &mut properties,
        "AlarmDescription",
        alarm.alarm_description().map(Json::from),
    );
    set_some(
        &mut properties,
        "ComparisonOperator",
        alarm
            .comparison_operator()
            .map(|operator| json!(operator.as_str())),
    );
    set_some(
        &mut properties,
        "EvaluationPeriods",
        alarm.evaluation_periods().map(Json::from),
    );
    set_some(
        &mut properties,
        "DatapointsToAlarm",
        alarm.datapoints_to_alarm().map(Json::from),
    );
    set_some(
        &mut properties,
        "MetricName",
        alarm.metric_name().map(Json::from),
    );
    set_some(
        &mut properties,
        "Namespace",
        alarm.namespace().map(Json::from),
    );
    set_some(
        &mut properties,
        "Statistic",
        alarm.statistic().map(|statistic| json!(statistic.as_str())),
    );
    set_some(
        &mut properties,
        "ExtendedStatistic",
        alarm.extended_statistic().map(Json::from),
    );
    set_some(&mut properties, "Period", alarm.period().map(Json::from));
    set_some(
        &mut properties,
        "Threshold",
        alarm.threshold().map(Json::from),
    );
    set_some(
        &mut properties,
        "TreatMissingData",
        alarm.treat_missing_data().map(Json::from),
    );
    set_some(
        &mut properties,
        "Unit",
        alarm.unit().map(|unit| json!(unit.as_str())),
    );
    set_some(
        &mut properties,
        "EvaluateLowSampleCountPercentile",
        alarm.evaluate_low_sample_count_percentile().map(Json::from),
    );
    set_some(
        &mut properties,
        "ThresholdMetricId",
        alarm.threshold_metric_id().map(Json::from),
    );
    let dimensions: Vec<Json> = alarm
        .dimensions()
        .iter()
        .map(|dimension| json!({"Name": dimension.name(), "Value": dimension.value()}))
        .collect();
    if !dimensions.is_empty() {
        properties.insert("Dimensions".into(), Json::Array(dimensions));
    }
    actions(&mut properties, "AlarmActions", alarm.alarm_actions());
    actions(&mut properties, "OKActions", alarm.ok_actions());
    actions(
        &mut properties,
        "InsufficientDataActions",
        alarm.insufficient_data_actions(),
    );
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

async fn read_composite_alarm(
    clients: &DriftClients,
    target: &Target<'_>,
) -> Result<Outcome, CallError> {
    let output = describe(clients, target.physical_id, AlarmType::CompositeAlarm).await?;
    let Some(alarm) = output
        .composite_alarms()
        .iter()
        .find(|alarm| alarm.alarm_name() == Some(target.physical_id))
    else {
        return Ok(Outcome::Gone);
    };
    let mut properties = Map::new();
    set_some(
        &mut properties,
        "AlarmRule",
        alarm.alarm_rule().map(Json::from),
    );
    set_some(
        &mut properties,
        "ActionsEnabled",
        alarm.actions_enabled().map(Json::from),
    );
    set_some(
        &mut properties,
        "AlarmDescription",
        alarm.alarm_description().map(Json::from),
    );
    set_some(
        &mut properties,
        "ActionsSuppressor",
        alarm.actions_suppressor().map(Json::from),
    );
    set_some(
        &mut properties,
        "ActionsSuppressorWaitPeriod",
        alarm.actions_suppressor_wait_period().map(Json::from),
    );
    set_some(
        &mut properties,
        "ActionsSuppressorExtensionPeriod",
        alarm.actions_suppressor_extension_period().map(Json::from),
    );
    actions(&mut properties, "AlarmActions", alarm.alarm_actions());
    actions(&mut properties, "OKActions", alarm.ok_actions());
    actions(
        &mut properties,
        "InsufficientDataActions",
        alarm.insufficient_data_actions(),
    );
    Ok(Outcome::Found(Reading {
        properties,
        implied: Map::new(),
    }))
}

/// The body is JSON in a string on both sides: compared as the JSON it is.
async fn read_dashboard(clients: &DriftClients, target: &Target<'_>) -> Result<Outcome, CallError> {
    let result = call(
        "cloudwatch:GetDashboard",
        clients
            .cloudwatch
            .get_dashboard()
            .dashboard_name(target.physical_id)
            .send(),
    )
    .await;
    let output = match result {
        Ok(output) => output,
        Err(error) if error.is_not_found() => return Ok(Outcome::Gone),
        Err(error) => return Err(error),
    };
    let mut properties = Map::new();
    if let Some(body) = output.dashboard_body() {
        properties.insert("DashboardBody".into(), json_text(body));
    }
    let mut implied = Map::new();
    if let Some(body) = target.expected.get("DashboardBody").and_then(Json::as_str) {
        implied.insert("DashboardBody".into(), json_text(body));
    }
    Ok(Outcome::Found(Reading {
        properties,
        implied,
    }))
}
