//! `diff --change-set` against recorded CloudFormation responses.
//!
//! moto cannot show this: its change sets report no `Replacement` and no
//! `Details`, and never `Dynamic` changes, so CloudFormation's verdict
//! (what this mode exists for) is recorded here instead. Also covered: the
//! change set is deleted after reading, and after a CREATE change set the
//! empty REVIEW_IN_PROGRESS stack too, even when the change set failed.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeSource, EvaluationType, ExecutionStatus,
    Replacement, RequiresRecreation, ResourceAttribute, ResourceChange, ResourceChangeDetail,
    ResourceTargetDefinition, Stack, StackStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde_json::json;
use upstack_deploy::aws::{ManualClock, Pacing};
use upstack_deploy::live_diff::{self, LiveDiffError};
use upstack_diff::render::{self, Sources};
use upstack_diff::{HazardKind, Replacement as Verdict, diff_templates};

fn old_template() -> serde_json::Value {
    json!({"Resources": {
        "Records": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-records"}}},
        "Ingest": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"TABLE_NAME": {"Ref": "Records"}}}}}
    }})
}

fn new_template() -> serde_json::Value {
    json!({"Resources": {
        "Records": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-records-v2"}}},
        "Ingest": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"TABLE_NAME": {"Ref": "Records"}}}}}
    }})
}

fn described(status: ChangeSetStatus, changes: Vec<Change>) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .status(status)
        .execution_status(ExecutionStatus::Available)
        .set_changes(Some(changes))
        .build()
}

fn change(
    logical_id: &str,
    type_name: &str,
    action: ChangeAction,
    replacement: Option<Replacement>,
    detail: Option<ResourceChangeDetail>,
) -> Change {
    Change::builder()
        .resource_change(
            ResourceChange::builder()
                .logical_resource_id(logical_id)
                .physical_resource_id(format!("{logical_id}-physical"))
                .resource_type(type_name)
                .action(action)
                .set_replacement(replacement)
                .set_details(detail.map(|detail| vec![detail]))
                .build(),
        )
        .build()
}

/// `Static` for a direct edit; `Dynamic` for a value that comes from another
/// resource (CloudFormation decides it during the update), as AWS reports.
fn detail(
    name: &str,
    recreation: RequiresRecreation,
    source: ChangeSource,
    entity: Option<&str>,
) -> ResourceChangeDetail {
    let evaluation = match source {
        ChangeSource::DirectModification => EvaluationType::Static,
        _ => EvaluationType::Dynamic,
    };
    ResourceChangeDetail::builder()
        .evaluation(evaluation)
        .target(
            ResourceTargetDefinition::builder()
                .attribute(ResourceAttribute::Properties)
                .name(name)
                .requires_recreation(recreation)
                .build(),
        )
        .change_source(source)
        .set_causing_entity(entity.map(str::to_owned))
        .build()
}

fn pacing() -> Pacing {
    Pacing::with_clock(Arc::new(ManualClock::default()))
}

#[tokio::test]
async fn an_update_change_set_is_read_merged_and_deleted() {
    let create = mock!(Client::create_change_set)
        .match_requests(|request| {
            request.change_set_type().map(|kind| kind.as_str()) == Some("UPDATE")
                && request.stack_name() == Some("upstack-dev")
                && request.change_set_name() == Some("upstack-diff-1")
                // Compact JSON keeps big templates under the 51,200-byte body limit.
                && request.template_body().is_some_and(|body| !body.contains('\n'))
        })
        .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/diff").build());
    let pending = mock!(Client::describe_change_set)
        .then_output(|| described(ChangeSetStatus::CreateInProgress, Vec::new()));
    let ready = mock!(Client::describe_change_set)
        .match_requests(|request| request.change_set_name() == Some("arn:cs/diff"))
        .then_output(|| {
            described(
                ChangeSetStatus::CreateComplete,
                vec![
                    change(
                        "Records",
                        "AWS::DynamoDB::Table",
                        ChangeAction::Modify,
                        Some(Replacement::True),
                        Some(detail(
                            "TableName",
                            RequiresRecreation::Always,
                            ChangeSource::DirectModification,
                            None,
                        )),
                    ),
                    change(
                        "Ingest",
                        "AWS::Lambda::Function",
                        ChangeAction::Modify,
                        Some(Replacement::False),
                        Some(detail(
                            "Environment",
                            RequiresRecreation::Never,
                            ChangeSource::ResourceReference,
                            Some("Records"),
                        )),
                    ),
                ],
            )
        });
    let delete = mock!(Client::delete_change_set)
        .match_requests(|request| request.change_set_name() == Some("arn:cs/diff"))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::Sequential,
        &[&create, &pending, &ready, &delete]
    );

    let changes = live_diff::change_set_changes(
        &client,
        "upstack-dev",
        &new_template(),
        true,
        "upstack-diff-1",
        None,
        &pacing(),
    )
    .await
    .unwrap();
    assert_eq!(delete.num_calls(), 1);

    let mut diff = diff_templates(
        &old_template(),
        &new_template(),
        upstack_cfn_resources::registry::lookup,
    )
    .unwrap();
    // Offline, an intrinsic TableName can only be "may be replaced".
    assert_eq!(diff.resources[0].logical_id, "Records");
    assert_eq!(diff.resources[0].replacement, Verdict::MayReplace);
    diff.merge_change_set(changes);

    let records = diff
        .resources
        .iter()
        .find(|change| change.logical_id == "Records")
        .unwrap();
    assert_eq!(records.effective_replacement(), Verdict::Replace);
    assert_eq!(
        records
            .hazards
            .iter()
            .map(|hazard| hazard.kind)
            .collect::<Vec<_>>(),
        vec![HazardKind::StatefulReplaced]
    );
    // Ingest is unchanged in the template but CloudFormation updates it (its Ref target is replaced).
    let ingest = diff
        .resources
        .iter()
        .find(|change| change.logical_id == "Ingest")
        .unwrap();
    assert_eq!(ingest.change_set.as_ref().unwrap().action, "Modify");

    let sources = Sources {
        old: "stack upstack-dev (deployed, eu-west-1)".into(),
        new: "synth --env dev".into(),
    };
    insta::assert_snapshot!("change_set_text", render::text(&diff, &sources, false));
    insta::assert_snapshot!("change_set_markdown", render::markdown(&diff, &sources));
}

#[tokio::test]
async fn a_create_change_set_also_deletes_the_review_in_progress_stack() {
    let create = mock!(Client::create_change_set)
        .match_requests(|request| {
            request.change_set_type().map(|kind| kind.as_str()) == Some("CREATE")
        })
        .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/new").build());
    let ready = mock!(Client::describe_change_set).then_output(|| {
        described(
            ChangeSetStatus::CreateComplete,
            vec![change(
                "Records",
                "AWS::DynamoDB::Table",
                ChangeAction::Add,
                None,
                None,
            )],
        )
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let in_review = mock!(Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name("upstack-dev")
                    .stack_status(StackStatus::ReviewInProgress)
                    .build(),
            )
            .build()
    });
    let delete_stack = mock!(Client::delete_stack)
        .match_requests(|request| request.stack_name() == Some("upstack-dev"))
        .then_output(|| DeleteStackOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::Sequential,
        &[&create, &ready, &delete, &in_review, &delete_stack]
    );

    let changes = live_diff::change_set_changes(
        &client,
        "upstack-dev",
        &new_template(),
        false,
        "upstack-diff-2",
        None,
        &pacing(),
    )
    .await
    .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].view.action, "Add");
    assert_eq!(changes[0].view.replacement, None);
    assert_eq!((delete.num_calls(), delete_stack.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_failed_change_set_is_reported_and_still_cleaned_up() {
    let create = mock!(Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/bad").build());
    let failed = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason("Template format error: Unresolved resource dependencies [Missing] in the Resources block")
            .execution_status(ExecutionStatus::Unavailable)
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::Sequential,
        &[&create, &failed, &delete]
    );

    let error = live_diff::change_set_changes(
        &client,
        "upstack-dev",
        &new_template(),
        true,
        "upstack-diff-3",
        None,
        &pacing(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, LiveDiffError::ChangeSetFailed { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("Unresolved resource dependencies [Missing]"),
        "{error}"
    );
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn no_changes_is_an_empty_list_not_an_error() {
    let create = mock!(Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/same").build());
    let no_changes = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
            .execution_status(ExecutionStatus::Unavailable)
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::Sequential,
        &[&create, &no_changes, &delete]
    );
    let changes = live_diff::change_set_changes(
        &client,
        "upstack-dev",
        &old_template(),
        true,
        "upstack-diff-4",
        None,
        &pacing(),
    )
    .await
    .unwrap();
    assert!(changes.is_empty());
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn a_template_over_the_body_limit_is_refused_before_any_call() {
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, &[]);
    let big = json!({"Resources": {}, "Description": "x".repeat(60_000)});
    let error = live_diff::change_set_changes(
        &client,
        "upstack-dev",
        &big,
        true,
        "upstack-diff-5",
        None,
        &pacing(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, LiveDiffError::TooLargeForChangeSet { .. }),
        "{error:?}"
    );
}
