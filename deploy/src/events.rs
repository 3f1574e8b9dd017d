//! Watching a stack while CloudFormation works on it: its status, its new
//! events (DescribeStackEvents polling, deduplicated), progress, and the root
//! cause of a failure.

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;

use crate::aws::{CallError, Pacing, call};
use crate::stack::{StackState, StackStatus, describe as describe_stack};

upstack_cfn::aws_enum! {
    /// A stack event's status (DescribeStackEvents `ResourceStatus`): the
    /// SDK's `ResourceStatus`, plus the stack-only statuses CloudFormation
    /// writes on the stack's own events (the SDK's enum does not list them).
    EventStatus {
        CreateInProgress = "CREATE_IN_PROGRESS",
        CreateFailed = "CREATE_FAILED",
        CreateComplete = "CREATE_COMPLETE",
        DeleteInProgress = "DELETE_IN_PROGRESS",
        DeleteFailed = "DELETE_FAILED",
        DeleteComplete = "DELETE_COMPLETE",
        DeleteSkipped = "DELETE_SKIPPED",
        UpdateInProgress = "UPDATE_IN_PROGRESS",
        UpdateFailed = "UPDATE_FAILED",
        UpdateComplete = "UPDATE_COMPLETE",
        ImportFailed = "IMPORT_FAILED",
        ImportComplete = "IMPORT_COMPLETE",
        ImportInProgress = "IMPORT_IN_PROGRESS",
        ImportRollbackInProgress = "IMPORT_ROLLBACK_IN_PROGRESS",
        ImportRollbackFailed = "IMPORT_ROLLBACK_FAILED",
        ImportRollbackComplete = "IMPORT_ROLLBACK_COMPLETE",
        ExportFailed = "EXPORT_FAILED",
        ExportComplete = "EXPORT_COMPLETE",
        ExportInProgress = "EXPORT_IN_PROGRESS",
        ExportRollbackInProgress = "EXPORT_ROLLBACK_IN_PROGRESS",
        ExportRollbackFailed = "EXPORT_ROLLBACK_FAILED",
        ExportRollbackComplete = "EXPORT_ROLLBACK_COMPLETE",
        UpdateRollbackInProgress = "UPDATE_ROLLBACK_IN_PROGRESS",
        UpdateRollbackComplete = "UPDATE_ROLLBACK_COMPLETE",
        UpdateRollbackFailed = "UPDATE_ROLLBACK_FAILED",
        RollbackInProgress = "ROLLBACK_IN_PROGRESS",
        RollbackComplete = "ROLLBACK_COMPLETE",
        RollbackFailed = "ROLLBACK_FAILED",
        // The stack's own events only.
        ReviewInProgress = "REVIEW_IN_PROGRESS",
        UpdateCompleteCleanupInProgress = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        UpdateRollbackCompleteCleanupInProgress = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    }
}

impl EventStatus {
    /// A failure of the resource (or the stack). For a status this version
    /// does not know, CloudFormation's naming decides (`*_FAILED`): this
    /// only picks the event that explains a failure and shows its reason;
    /// whether an operation succeeded is the stack status's to say.
    pub fn is_failure(&self) -> bool {
        match self {
            EventStatus::CreateFailed
            | EventStatus::DeleteFailed
            | EventStatus::UpdateFailed
            | EventStatus::ImportFailed
            | EventStatus::ImportRollbackFailed
            | EventStatus::ExportFailed
            | EventStatus::ExportRollbackFailed
            | EventStatus::UpdateRollbackFailed
            | EventStatus::RollbackFailed => true,
            EventStatus::Unknown(text) => text.ends_with("_FAILED"),
            _ => false,
        }
    }

    /// A rollback starting: on the stack's own event, its reason says why
    /// (a resource failure, an alarm). An unknown status by its name, for
    /// the same reason as [`EventStatus::is_failure`].
    pub fn is_rollback_in_progress(&self) -> bool {
        match self {
            EventStatus::RollbackInProgress
            | EventStatus::UpdateRollbackInProgress
            | EventStatus::ImportRollbackInProgress
            | EventStatus::ExportRollbackInProgress => true,
            EventStatus::Unknown(text) => text.contains("ROLLBACK_IN_PROGRESS"),
            _ => false,
        }
    }

    /// The resource reached its new state: what the progress count counts.
    /// Never a status this version does not know, whatever its name.
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            EventStatus::CreateComplete
                | EventStatus::UpdateComplete
                | EventStatus::DeleteComplete
                | EventStatus::ImportComplete
                | EventStatus::ExportComplete
        )
    }

    /// Whether an event line shows the event's reason: failures, every
    /// step of a rollback, and any status this version does not know (its
    /// reason is all there is to tell what it means).
    pub fn shows_reason(&self) -> bool {
        match self {
            EventStatus::RollbackInProgress
            | EventStatus::RollbackComplete
            | EventStatus::UpdateRollbackInProgress
            | EventStatus::UpdateRollbackComplete
            | EventStatus::UpdateRollbackCompleteCleanupInProgress
            | EventStatus::ImportRollbackInProgress
            | EventStatus::ImportRollbackComplete
            | EventStatus::ExportRollbackInProgress
            | EventStatus::ExportRollbackComplete
            | EventStatus::Unknown(_) => true,
            other => other.is_failure(),
        }
    }
}

/// One stack event, reduced to what we print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub event_id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: EventStatus,
    pub reason: Option<String>,
    /// Seconds since the Unix epoch, as CloudFormation stamped it.
    pub timestamp: Option<i64>,
}

impl StackEvent {
    /// The stack's own events (type AWS::CloudFormation::Stack) as opposed to
    /// its resources'.
    pub fn is_stack_event(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }

    pub fn is_failure(&self) -> bool {
        self.status.is_failure()
    }

    /// "Resource creation cancelled" and friends: CloudFormation cancels the
    /// siblings of a failed resource, and those events bury the real cause.
    pub fn is_cancellation_noise(&self) -> bool {
        self.reason.as_deref().is_some_and(|reason| {
            let reason = reason.to_ascii_lowercase();
            reason.contains("resource creation cancelled")
                || reason.contains("resource update cancelled")
                || reason.contains("resource deletion cancelled")
                || reason.contains("resource handler returned message: \"null\"")
        })
    }
}

/// The event that explains a failure: the first (oldest) resource failure
/// that is not a cancellation; failing that, the first failure at all, then
/// the stack's own failure event.
pub fn root_cause(events: &[StackEvent]) -> Option<&StackEvent> {
    let failures = || events.iter().filter(|event| event.is_failure());
    failures()
        .find(|event| !event.is_stack_event() && !event.is_cancellation_noise())
        .or_else(|| failures().find(|event| !event.is_stack_event()))
        .or_else(|| failures().next())
        .or_else(|| {
            events
                .iter()
                .find(|event| event.status.is_rollback_in_progress() && event.reason.is_some())
        })
}

/// The stack event saying that a rollback trigger rolled the operation
/// back, and the alarm it names. CloudFormation writes it on the stack
/// itself (`*ROLLBACK_IN_PROGRESS`), its reason naming the alarm's ARN
/// (which ends in the alarm's name). The exact wording is not documented,
/// so the event is recognised by the name of one of `alarm_names` in a
/// stack rollback reason, not by its phrasing; the longest name wins, so
/// `x-errors` never matches inside `x-errors-2`.
pub fn alarm_rollback<'a>(
    events: &'a [StackEvent],
    alarm_names: &'a [String],
) -> Option<(&'a StackEvent, &'a str)> {
    events
        .iter()
        .filter(|event| event.is_stack_event() && event.status.is_rollback_in_progress())
        .find_map(|event| {
            let reason = event.reason.as_deref()?;
            alarm_names
                .iter()
                .filter(|name| names_alarm(reason, name))
                .max_by_key(|name| name.len())
                .map(|name| (event, name.as_str()))
        })
}

/// Whether `reason` names the alarm `name`: as `...:alarm:<name>` (its ARN)
/// or as the bare name, not followed by more of a longer name.
fn names_alarm(reason: &str, name: &str) -> bool {
    reason.match_indices(name).any(|(at, _)| {
        let next = reason[at + name.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    })
}

/// Yields each stack event once, oldest first, and only events newer than
/// the moment the watcher started.
///
/// "Newer" is decided by EventId, not by comparing clocks: the watcher
/// remembers the newest event that existed when it started (the marker) and
/// stops paging DescribeStackEvents (which is newest-first) when it reaches
/// the marker or an event it already yielded. Local clock skew therefore
/// cannot hide or replay events.
#[derive(Debug)]
pub struct EventWatcher {
    stack: String,
    marker: Option<String>,
    seen: HashSet<String>,
}

impl EventWatcher {
    /// Remembers the newest existing event of `stack` (name or, better, ARN).
    pub async fn start(client: &Client, stack: &str) -> Result<EventWatcher, CallError> {
        let first = call(
            "cloudformation:DescribeStackEvents",
            client.describe_stack_events().stack_name(stack).send(),
        )
        .await;
        let marker = match first {
            Ok(page) => page
                .stack_events()
                .first()
                .and_then(|event| event.event_id())
                .map(str::to_owned),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(error),
        };
        Ok(EventWatcher {
            stack: stack.to_owned(),
            marker,
            seen: HashSet::new(),
        })
    }

    /// New events since the last call, oldest first.
    pub async fn poll(&mut self, client: &Client) -> Result<Vec<StackEvent>, CallError> {
        let mut fresh = Vec::new();
        let mut next_token: Option<String> = None;
        'pages: loop {
            let token = next_token.clone();
            let page = call(
                "cloudformation:DescribeStackEvents",
                client
                    .describe_stack_events()
                    .stack_name(&self.stack)
                    .set_next_token(token.clone())
                    .send(),
            )
            .await?;
            for event in page.stack_events() {
                let Some(event_id) = event.event_id() else {
                    continue;
                };
                if Some(event_id) == self.marker.as_deref() || self.seen.contains(event_id) {
                    break 'pages;
                }
                fresh.push(StackEvent {
                    event_id: event_id.to_owned(),
                    logical_id: event.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: event.resource_type().unwrap_or_default().to_owned(),
                    status: EventStatus::from(
                        event.resource_status().map_or("", |status| status.as_str()),
                    ),
                    reason: event
                        .resource_status_reason()
                        .filter(|reason| !reason.is_empty())
                        .map(str::to_owned),
                    timestamp: event.timestamp().map(|time| time.secs()),
                });
            }
            next_token = page
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        fresh.reverse();
        // A page boundary can shift between two calls while events arrive;
        // the seen-set makes sure nothing is yielded twice anyway.
        fresh.retain(|event| self.seen.insert(event.event_id.clone()));
        Ok(fresh)
    }
}

/// Resources done out of the total the change set announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub elapsed: Duration,
}

/// Counts distinct resources that reached their new state.
#[derive(Debug, Default)]
struct ProgressCounter {
    completed: BTreeSet<String>,
}

impl ProgressCounter {
    fn record(&mut self, event: &StackEvent) {
        if !event.is_stack_event() && event.status.is_done() {
            self.completed.insert(event.logical_id.clone());
        }
    }
}

/// Formats one event line: `[ 3/12  00:41] CREATE_COMPLETE  Table  AWS::DynamoDB::Table`.
pub fn format_event(event: &StackEvent, progress: &Progress) -> String {
    let seconds = progress.elapsed.as_secs();
    let mut line = format!(
        "[{:>2}/{:<2} {:02}:{:02}] {:<28} {} ({})",
        progress.done,
        progress.total,
        seconds / 60,
        seconds % 60,
        event.status,
        event.logical_id,
        event.resource_type
    );
    if let Some(reason) = &event.reason
        && event.status.shows_reason()
    {
        line.push_str(": ");
        line.push_str(reason);
    }
    line
}

/// How watching ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchOutcome {
    /// The stack reached a status that ends the operation (success or not).
    Finished {
        state: Option<StackState>,
        events: Vec<StackEvent>,
    },
    /// The user interrupted; the stack was not touched.
    Interrupted {
        last_status: Option<StackStatus>,
        events: Vec<StackEvent>,
    },
}

/// Polls events and status until the stack status is terminal (explicit
/// stop condition: [`StatusClass::is_terminal`], or the stack disappearing),
/// calling `on_event` for each new event as it arrives. `interrupt`
/// resolving (Ctrl-C) ends the watch without any further AWS call.
pub async fn watch<F, I>(
    client: &Client,
    watcher: &mut EventWatcher,
    total_resources: usize,
    pacing: &Pacing,
    started: Instant,
    interrupt: I,
    mut on_event: F,
) -> Result<WatchOutcome, CallError>
where
    F: FnMut(&StackEvent, &Progress),
    I: Future<Output = ()>,
{
    let mut interrupt = std::pin::pin!(interrupt);
    let mut counter = ProgressCounter::default();
    let mut all_events = Vec::new();
    let mut pause = pacing.poll_initial;
    loop {
        let events = watcher.poll(client).await?;
        for event in events {
            counter.record(&event);
            let progress = Progress {
                done: counter.completed.len(),
                total: total_resources.max(counter.completed.len()),
                elapsed: pacing.clock.now().saturating_duration_since(started),
            };
            on_event(&event, &progress);
            all_events.push(event);
        }
        let state = describe_stack(client, &watcher.stack).await?;
        let last_status = match &state {
            None => {
                return Ok(WatchOutcome::Finished {
                    state: None,
                    events: all_events,
                });
            }
            Some(stack) if stack.class().is_terminal() => {
                // Events written just before the final status may have been
                // missed by the poll above: read them once more.
                for event in watcher.poll(client).await? {
                    counter.record(&event);
                    let progress = Progress {
                        done: counter.completed.len(),
                        total: total_resources.max(counter.completed.len()),
                        elapsed: pacing.clock.now().saturating_duration_since(started),
                    };
                    on_event(&event, &progress);
                    all_events.push(event);
                }
                return Ok(WatchOutcome::Finished {
                    state,
                    events: all_events,
                });
            }
            Some(stack) => Some(stack.status.clone()),
        };
        tokio::select! {
            biased;
            () = &mut interrupt => return Ok(WatchOutcome::Interrupted { last_status, events: all_events }),
            () = pacing.sleep(pause) => {}
        }
        pause = pacing.next_poll(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::StatusClass;

    fn event(
        id: &str,
        logical: &str,
        kind: &str,
        status: &str,
        reason: Option<&str>,
    ) -> StackEvent {
        StackEvent {
            event_id: id.into(),
            logical_id: logical.into(),
            resource_type: kind.into(),
            status: status.into(),
            reason: reason.map(str::to_owned),
            timestamp: None,
        }
    }

    #[test]
    fn root_cause_skips_cancellations_and_the_stack_summary() {
        let events = vec![
            event(
                "1",
                "upstack-dev",
                "AWS::CloudFormation::Stack",
                "CREATE_IN_PROGRESS",
                Some("User Initiated"),
            ),
            event(
                "2",
                "Queue",
                "AWS::SQS::Queue",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            event(
                "3",
                "Table",
                "AWS::DynamoDB::Table",
                "CREATE_FAILED",
                Some("Table already exists"),
            ),
            event(
                "4",
                "Topic",
                "AWS::SNS::Topic",
                "CREATE_FAILED",
                Some("Topic quota exceeded"),
            ),
            event(
                "5",
                "upstack-dev",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to create: [Table, Queue]"),
            ),
        ];
        assert_eq!(
            root_cause(&events).map(|event| event.event_id.as_str()),
            Some("3")
        );
    }

    #[test]
    fn root_cause_falls_back_to_cancellation_then_stack_reason() {
        let only_cancel = vec![event(
            "1",
            "Q",
            "AWS::SQS::Queue",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
        )];
        assert_eq!(
            root_cause(&only_cancel).map(|event| event.event_id.as_str()),
            Some("1")
        );
        let only_stack = vec![event(
            "9",
            "s",
            "AWS::CloudFormation::Stack",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("Stack policy denies Update:Replace"),
        )];
        assert_eq!(
            root_cause(&only_stack).map(|event| event.event_id.as_str()),
            Some("9")
        );
        assert_eq!(root_cause(&[]), None);
    }

    #[test]
    fn alarm_rollback_names_the_alarm_in_the_stack_rollback_reason() {
        let names = vec![
            "app-dev-ingest-errors".to_owned(),
            "app-dev-ingest-errors-2".to_owned(),
        ];
        let events = vec![
            event("1", "Fn", "AWS::Lambda::Function", "UPDATE_COMPLETE", None),
            event(
                "2",
                "app-dev",
                "AWS::CloudFormation::Stack",
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some(
                    "Rollback triggered by alarm arn:aws:cloudwatch:eu-west-1:1:alarm:app-dev-ingest-errors-2 (ALARM)",
                ),
            ),
        ];
        let (found, name) = alarm_rollback(&events, &names).unwrap();
        assert_eq!(
            (found.event_id.as_str(), name),
            ("2", "app-dev-ingest-errors-2")
        );
        let other = vec![event(
            "3",
            "app-dev",
            "AWS::CloudFormation::Stack",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to update: [Fn]"),
        )];
        assert_eq!(alarm_rollback(&other, &names), None);
    }

    #[test]
    fn unknown_statuses_are_kept_and_future_in_progress_waits() {
        let class = |status: &str| StackStatus::from(status).class();
        assert_eq!(class("CREATE_COMPLETE"), StatusClass::Succeeded);
        assert_eq!(class("FOO_IN_PROGRESS"), StatusClass::InProgress);
        assert_eq!(
            StackStatus::from("TELEPORTED"),
            StackStatus::Unknown("TELEPORTED".into())
        );
        assert_eq!(class("TELEPORTED"), StatusClass::Unknown);
        assert!(class("TELEPORTED").is_terminal());
        assert!(!class("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS").is_terminal());
        // Not even a future `*_COMPLETE` reads as success.
        assert_eq!(class("UPDATE_TELEPORT_COMPLETE"), StatusClass::Unknown);
    }

    #[test]
    fn every_status_the_sdk_knows_is_known_here_with_its_spelling() {
        use aws_sdk_cloudformation::types::{
            ResourceStatus as SdkResourceStatus, StackStatus as SdkStackStatus,
        };
        for &text in SdkStackStatus::values() {
            let status = StackStatus::from(text);
            assert!(!matches!(status, StackStatus::Unknown(_)), "{text}");
            assert_eq!(status.as_str(), text);
            // Stack statuses appear on the stack's own events too.
            assert!(
                !matches!(EventStatus::from(text), EventStatus::Unknown(_)),
                "{text}"
            );
        }
        for &text in SdkResourceStatus::values() {
            let status = EventStatus::from(text);
            assert!(!matches!(status, EventStatus::Unknown(_)), "{text}");
            assert_eq!(status.as_str(), text);
        }
    }

    #[test]
    fn an_unknown_event_status_is_never_progress_and_always_shows_its_reason() {
        let teleported = EventStatus::from("TELEPORT_COMPLETE");
        assert!(!teleported.is_done());
        assert!(teleported.shows_reason());
        assert!(!teleported.is_failure());
        assert!(EventStatus::from("TELEPORT_FAILED").is_failure());
        let mut counter = ProgressCounter::default();
        counter.record(&event(
            "1",
            "T",
            "AWS::DynamoDB::Table",
            "TELEPORT_COMPLETE",
            None,
        ));
        assert!(counter.completed.is_empty());
    }

    #[test]
    fn progress_counts_each_completed_resource_once_and_not_the_stack() {
        let mut counter = ProgressCounter::default();
        for e in [
            event("1", "T", "AWS::DynamoDB::Table", "CREATE_COMPLETE", None),
            event("2", "T", "AWS::DynamoDB::Table", "UPDATE_COMPLETE", None),
            event(
                "3",
                "s",
                "AWS::CloudFormation::Stack",
                "CREATE_COMPLETE",
                None,
            ),
            event("4", "Q", "AWS::SQS::Queue", "CREATE_IN_PROGRESS", None),
        ] {
            counter.record(&e);
        }
        assert_eq!(counter.completed.len(), 1);
    }

    #[test]
    fn event_line_shows_progress_elapsed_and_failure_reason() {
        let line = format_event(
            &event(
                "1",
                "Table",
                "AWS::DynamoDB::Table",
                "CREATE_FAILED",
                Some("boom"),
            ),
            &Progress {
                done: 3,
                total: 12,
                elapsed: Duration::from_secs(61),
            },
        );
        assert_eq!(
            line,
            "[ 3/12 01:01] CREATE_FAILED                Table (AWS::DynamoDB::Table): boom"
        );
    }
}
