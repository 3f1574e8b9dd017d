//! Rollback triggers: which of the stack's alarms guard a deploy (pure: from
//! the stack's alarms and what DescribeAlarms found), and how deploy says so.

use crate::changeset::{MAX_ROLLBACK_TRIGGERS, RollbackAlarm, RollbackSettings};
use crate::status::{self, AlarmState, AlarmStatus, StackAlarms};

/// Which of the stack's alarms guard this deploy as rollback triggers, and
/// why the others do not (pure: from the stack model's alarms and what
/// DescribeAlarms found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackTriggers {
    pub monitoring_minutes: i64,
    /// Set when the trigger is the composite deploy guard
    /// ([`StackAlarms::deploy_guard`]): then `triggers` is just its name and
    /// this is how many alarms it is in ALARM for.
    pub guard_members: Option<usize>,
    /// Alarm names, at most [`MAX_ROLLBACK_TRIGGERS`], most telling first.
    pub triggers: Vec<String>,
    /// Defined by the template but not in CloudWatch yet (a first deploy, or
    /// an alarm this deploy adds): CloudFormation refuses a trigger whose
    /// alarm does not exist, so they guard the next deploy.
    pub not_created_yet: Vec<String>,
    /// In ALARM now (deploying under `--ignore-alarms`): as triggers they
    /// would roll the deploy back at once.
    pub firing: Vec<String>,
    /// Existing, but past CloudFormation's limit of five triggers.
    pub over_limit: Vec<String>,
}

/// How telling an alarm is about a deploy that just went wrong: a new
/// handler that fails shows first in its errors, then in the on-failure
/// queue, dropped events and rejected rows; throttles and the FIFO consumer's
/// queues say more about load and the consumer than about this change.
fn trigger_rank(kind: upstack_stack::config::AlarmKind) -> u8 {
    use upstack_stack::config::AlarmKind;
    match kind {
        AlarmKind::FunctionErrors => 0,
        AlarmKind::FailuresQueueMessages => 1,
        AlarmKind::AsyncEventsDropped => 2,
        AlarmKind::RejectedRows => 3,
        AlarmKind::DeadLetterQueueMessages => 4,
        AlarmKind::FunctionThrottles => 5,
        AlarmKind::EventsQueueOldestMessageAge => 6,
    }
}

/// Chooses the rollback triggers. The composite deploy guard when it exists
/// and is not in ALARM: one trigger, and every alarm of the stack guards the
/// deploy (CloudFormation takes composite alarms as triggers, see
/// [`crate::changeset::RollbackAlarm::type_name`]). Otherwise (the deploy
/// that adds the guard to an older stack, or the guard in ALARM under
/// `--ignore-alarms`) the member alarms that exist and are not in ALARM,
/// ranked by [`trigger_rank`] (the model's order within a rank), at most five.
pub fn choose_triggers(alarms: &StackAlarms, observed: &[AlarmStatus]) -> RollbackTriggers {
    let mut plan = RollbackTriggers {
        monitoring_minutes: alarms.monitoring_minutes,
        guard_members: None,
        triggers: Vec::new(),
        not_created_yet: Vec::new(),
        firing: Vec::new(),
        over_limit: Vec::new(),
    };
    let guard = alarms
        .deploy_guard
        .as_ref()
        .map(|guard| (guard, observed.iter().find(|seen| &seen.name == guard)));
    if let Some((guard, Some(seen))) = guard
        && seen.state != AlarmState::Alarm
    {
        plan.guard_members = Some(alarms.alarms.len());
        plan.triggers.push(guard.clone());
        return plan;
    }
    let mut candidates = Vec::new();
    for alarm in &alarms.alarms {
        match observed.iter().find(|seen| seen.name == alarm.name) {
            None => plan.not_created_yet.push(alarm.name.clone()),
            Some(seen) if seen.state == AlarmState::Alarm => plan.firing.push(alarm.name.clone()),
            Some(_) => candidates.push(alarm),
        }
    }
    // A stable sort keeps the model's order within a rank.
    candidates.sort_by_key(|alarm| trigger_rank(alarm.kind));
    for alarm in candidates {
        if plan.triggers.len() < MAX_ROLLBACK_TRIGGERS {
            plan.triggers.push(alarm.name.clone());
        } else {
            plan.over_limit.push(alarm.name.clone());
        }
    }
    match guard {
        Some((guard, None)) => plan.not_created_yet.push(guard.clone()),
        Some((guard, Some(_))) => plan.firing.push(guard.clone()),
        None => {}
    }
    plan
}

impl RollbackTriggers {
    /// The change set's rollback configuration: the triggers' ARNs.
    pub fn settings(&self, region: &str, account: &str) -> RollbackSettings {
        RollbackSettings {
            triggers: self
                .triggers
                .iter()
                .map(|name| RollbackAlarm {
                    arn: status::alarm_arn(region, account, name),
                    composite: self.guard_members.is_some(),
                })
                .collect(),
            monitoring_minutes: self.monitoring_minutes,
        }
    }

    /// What deploy prints about it.
    pub fn lines(&self) -> Vec<String> {
        let watched = if self.monitoring_minutes > 0 {
            format!(
                "watched while the change set runs and {} min after",
                self.monitoring_minutes
            )
        } else {
            "watched while the change set runs (rollback_monitoring_minutes = 0)".to_owned()
        };
        let mut lines = Vec::new();
        let defined = self.triggers.len()
            + self.not_created_yet.len()
            + self.firing.len()
            + self.over_limit.len();
        if defined == 0 {
            // A template without alarms: nothing to say.
            return lines;
        }
        if let (Some(members), [guard]) = (self.guard_members, self.triggers.as_slice()) {
            lines.push(format!(
                "rollback trigger: composite alarm {guard} (ALARM when any of the stack's {members} alarms is), {watched}"
            ));
            return lines;
        }
        if self.triggers.is_empty() {
            lines.push(if self.not_created_yet.len() == defined {
                format!(
                    "rollback triggers: none: the stack's {defined} alarm(s) do not exist yet (this deploy creates them; CloudFormation refuses triggers on missing alarms), so the next deploy is the first one they guard"
                )
            } else {
                "rollback triggers: none".to_owned()
            });
        } else {
            lines.push(format!(
                "rollback triggers: {} alarm(s), {watched}: {}",
                self.triggers.len(),
                self.triggers.join(", ")
            ));
        }
        if !self.triggers.is_empty() && !self.not_created_yet.is_empty() {
            lines.push(format!(
                "  not triggers yet (created by this deploy): {}",
                self.not_created_yet.join(", ")
            ));
        }
        if !self.firing.is_empty() {
            lines.push(format!(
                "  not triggers (in ALARM now, they would roll this deploy back at once): {}",
                self.firing.join(", ")
            ));
        }
        if !self.over_limit.is_empty() {
            lines.push(format!(
                "  not triggers (CloudFormation takes at most {MAX_ROLLBACK_TRIGGERS}): {}",
                self.over_limit.join(", ")
            ));
        }
        lines
    }
}
