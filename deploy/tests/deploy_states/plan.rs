//! `prepare` and `execute` of a saved plan against recorded CloudFormation
//! responses, for what moto cannot show. Each test names the limitation.

use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::set_stack_policy::SetStackPolicyOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeSource, EvaluationType, ExecutionStatus,
    Replacement, RequiresRecreation, ResourceAttribute, ResourceChange, ResourceChangeDetail,
    ResourceTargetDefinition, Stack, StackStatus,
};
use aws_sdk_s3::Client as S3;
use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use sha2::{Digest, Sha256};
use upstack_deploy::assets::{StoredAsset, checksum_of_hex};
use upstack_deploy::aws::ManualClock;
use upstack_deploy::deploy::{
    self, DeployClients, DeployError, DeployOutcome, ExecuteTarget, PrepareOutcome, RequireApproval,
};
use upstack_deploy::interact::{Answer, FixedAnswer, RecordingReporter};
use upstack_deploy::plan::{
    FORMAT_VERSION, PlannedChangeSet, PlannedKind, Review, ReviewedPlan, StackSnapshot, StaleReason,
};

use super::{
    STACK, STACK_ID, cfn_client, created_change_set, event, events, no_lambda, options,
    request_with,
};

/// The one asset of [`saved_plan`]: its key, the SHA-256 of its bytes and
/// the object version the plan recorded.
const ASSET_KEY: &str = "assets/notify-arm64-0123.zip";
const ASSET_VERSION: &str = "v1";

fn asset_sha256() -> String {
    sha256("the zip bundle built")
}

const CHANGE_SET_ARN: &str =
    "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/upstack-1/0f1e2d3c";
const TABLE_OLD: &str = r#"{"Resources":{"Table":{"Type":"AWS::DynamoDB::Table","Properties":{"TableName":"t","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}}}}"#;
const TABLE_NEW: &str = r#"{"Resources":{"Table":{"Type":"AWS::DynamoDB::Table","Properties":{"TableName":"t","KeySchema":[{"AttributeName":"id","KeyType":"HASH"}]}}}}"#;
const UPDATED_AT: i64 = 1_780_000_000;

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn stack_updated_at(status: &'static str, secs: i64) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(STACK)
                .stack_id(STACK_ID)
                .stack_status(StackStatus::from(status))
                .creation_time(DateTime::from_secs(0))
                .last_updated_time(DateTime::from_secs(secs))
                .build(),
        )
        .build()
}

fn deployed(body: &'static str) -> Rule {
    mock!(Cfn::get_template)
        .then_output(move || GetTemplateOutput::builder().template_body(body).build())
}

fn change_set_in(
    status: ChangeSetStatus,
    execution: ExecutionStatus,
    reason: Option<&'static str>,
) -> Rule {
    mock!(Cfn::describe_change_set).then_output(move || {
        DescribeChangeSetOutput::builder()
            .status(status.clone())
            .execution_status(execution.clone())
            .set_status_reason(reason.map(str::to_owned))
            .build()
    })
}

/// The bucket holding [`saved_plan`]'s asset as the plan recorded it: the
/// same version, the same SHA-256 (what HeadObject with checksums returns).
fn s3_with_assets() -> S3 {
    s3_holding(ASSET_VERSION, &asset_sha256())
}

/// The bucket holding, under the asset's key, `version` with those bytes.
fn s3_holding(version: &'static str, sha256: &str) -> S3 {
    let checksum = checksum_of_hex(sha256).unwrap();
    let bucket = mock!(S3::head_bucket).then_output(|| HeadBucketOutput::builder().build());
    let object = mock!(S3::head_object)
        .match_requests(|request| {
            request.key() == Some(ASSET_KEY)
                && request.checksum_mode() == Some(&aws_sdk_s3::types::ChecksumMode::Enabled)
        })
        .then_output(move || {
            HeadObjectOutput::builder()
                .version_id(version)
                .checksum_sha256(checksum.clone())
                .build()
        });
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&bucket, &object])
}

fn executed() -> Rule {
    mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build())
}

/// A saved production plan for the table template, made when the stack was
/// UPDATE_COMPLETE at `UPDATED_AT` with TABLE_OLD deployed.
fn saved_plan() -> ReviewedPlan {
    let mut manifest = super::manifest();
    manifest.env = "prod".into();
    manifest.production = true;
    manifest.termination_protection = true;
    manifest.stack_policy = Some(upstack_cfn::StackPolicy::parse(r#"{"Statement":[]}"#).unwrap());
    ReviewedPlan {
        format_version: FORMAT_VERSION,
        manifest,
        account: "123456789012".into(),
        region: "eu-west-1".into(),
        change_set: PlannedChangeSet {
            arn: CHANGE_SET_ARN.into(),
            name: "upstack-1".into(),
            kind: PlannedKind::Update,
            stack_id: Some(STACK_ID.into()),
        },
        template_sha256: sha256(TABLE_NEW),
        asset_bucket: "upstack-assets-123456789012-eu-west-1".into(),
        assets: vec![StoredAsset {
            key: ASSET_KEY.into(),
            sha256: asset_sha256(),
            version_id: Some(ASSET_VERSION.into()),
        }],
        stack: Some(StackSnapshot {
            stack_id: STACK_ID.into(),
            status: "UPDATE_COMPLETE".into(),
            creation_time: Some("1970-01-01T00:00:00Z".into()),
            last_updated_time: Some(
                DateTime::from_secs(UPDATED_AT)
                    .fmt(aws_smithy_types::date_time::Format::DateTime)
                    .unwrap(),
            ),
            template_sha256: sha256(TABLE_OLD),
        }),
        review: Review {
            changes: 1,
            broadening: vec![],
            destructive: vec!["Table: replaced".into()],
        },
        diff: upstack_diff::render::report(
            &upstack_diff::TemplateDiff::default(),
            &upstack_diff::render::Sources {
                old: format!("stack {STACK} (deployed)"),
                new: "change set upstack-1".into(),
            },
        ),
    }
}

fn target(dir: &std::path::Path) -> ExecuteTarget {
    ExecuteTarget {
        env: "prod".into(),
        account: "123456789012".into(),
        region: "eu-west-1".into(),
        outputs_path: dir.join("outputs.json"),
    }
}

struct Run {
    result: Result<DeployOutcome, DeployError>,
    lines: Vec<String>,
}

async fn execute(cfn: Cfn, plan: &ReviewedPlan, require_approval: RequireApproval) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let clients = DeployClients {
        cloudformation: cfn,
        s3: s3_with_assets(),
        cloudwatch: super::no_cloudwatch(),
        lambda: no_lambda(),
        drift: None,
    };
    let mut reporter = RecordingReporter::default();
    let clock = ManualClock::default();
    let result = deploy::execute(
        &clients,
        plan,
        &target(dir.path()),
        &options(&clock, require_approval, false),
        &mut reporter,
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await;
    Run {
        result,
        lines: reporter.lines,
    }
}

/// moto's change sets carry no Replacement, Scope or Details. CloudFormation's
/// verdict (replace the table: KeySchema, Always, Static) goes into the plan:
/// destructive for approval, the change-set view in the diff JSON, the
/// protective stack policy and the stack's update time; nothing executes.
#[tokio::test]
async fn prepare_records_cloudformation_replacement_verdict_in_the_plan() {
    let describe =
        mock!(Cfn::describe_stacks).then_output(|| stack_updated_at("UPDATE_COMPLETE", UPDATED_AT));
    let template = deployed(TABLE_OLD);
    let create = created_change_set();
    let ready = mock!(Cfn::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .execution_status(ExecutionStatus::Available)
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .logical_resource_id("Table")
                            .physical_resource_id("t")
                            .resource_type("AWS::DynamoDB::Table")
                            .action(ChangeAction::Modify)
                            .replacement(Replacement::True)
                            .scope(ResourceAttribute::Properties)
                            .details(
                                ResourceChangeDetail::builder()
                                    .target(
                                        ResourceTargetDefinition::builder()
                                            .attribute(ResourceAttribute::Properties)
                                            .name("KeySchema")
                                            .requires_recreation(RequiresRecreation::Always)
                                            .build(),
                                    )
                                    .evaluation(EvaluationType::Static)
                                    .change_source(ChangeSource::DirectModification)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let execute = executed();
    let cfn = cfn_client(&[&describe, &template, &create, &ready, &execute]);
    let dir = tempfile::tempdir().unwrap();
    let plan = request_with(dir.path(), |request| {
        request.template_json = TABLE_NEW.into();
        request.manifest.env = "prod".into();
        request.manifest.termination_protection = true;
        request.manifest.production = true;
        request.manifest.stack_policy = super::production_policy(TABLE_NEW);
    });
    let clients = DeployClients {
        cloudformation: cfn,
        s3: s3_with_assets(),
        cloudwatch: super::no_cloudwatch(),
        lambda: no_lambda(),
        drift: None,
    };
    let clock = ManualClock::default();
    let mut reporter = RecordingReporter::default();
    let outcome = deploy::prepare(
        &clients,
        &plan,
        &options(&clock, RequireApproval::Broadening, false),
        &mut reporter,
        &mut FixedAnswer(Answer::NoTerminal),
        std::future::pending(),
    )
    .await
    .unwrap();
    let PrepareOutcome::Ready(saved) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(execute.num_calls(), 0, "prepare never executes");
    assert_eq!(saved.change_set.arn, "arn:cs/1");
    assert_eq!(saved.template_sha256, sha256(TABLE_NEW));
    let stack = saved.stack.as_ref().unwrap();
    assert_eq!(stack.template_sha256, sha256(TABLE_OLD));
    assert_eq!(stack.creation_time.as_deref(), Some("1970-01-01T00:00:00Z"));
    assert_eq!(
        stack.last_updated_time.as_deref(),
        Some("2026-05-28T20:26:40Z")
    );
    assert!(
        saved
            .review
            .destructive
            .iter()
            .any(|line| line.starts_with("Table")),
        "{:#?}",
        saved.review
    );
    assert!(
        saved
            .manifest
            .stack_policy
            .as_ref()
            .is_some_and(|policy| policy.to_json_string().contains("LogicalResourceId/Table")),
        "{:?}",
        saved.manifest.stack_policy
    );
    let diff = serde_json::to_value(&saved.diff).unwrap();
    let table = &diff["resources"][0];
    assert_eq!(table["logical_id"], "Table");
    assert_eq!(table["change_set"]["replacement"], "True");
    assert_eq!(
        table["change_set"]["details"][0]["requires_recreation"],
        "Always"
    );
    assert_eq!(table["change_set"]["details"][0]["name"], "KeySchema");
    // The saved diff renders again for `diff --plan`.
    let (diff, _) = saved.reviewed_diff();
    assert_eq!(diff.resources.len(), 1);
}

/// moto sets EXECUTE_COMPLETE after a run but never EXECUTE_FAILED,
/// OBSOLETE, or a FAILED change set with a reason other than "no changes":
/// each is refused by name, before anything is executed.
#[tokio::test]
async fn saved_plan_whose_change_set_cannot_run_is_refused() {
    let cases = [
        (
            ChangeSetStatus::CreateComplete,
            ExecutionStatus::ExecuteFailed,
            None,
            "change set upstack-1 was executed and failed (status CREATE_COMPLETE, execution status EXECUTE_FAILED)",
        ),
        (
            ChangeSetStatus::CreateComplete,
            ExecutionStatus::ExecuteComplete,
            None,
            "change set upstack-1 was already executed (status CREATE_COMPLETE, execution status EXECUTE_COMPLETE)",
        ),
        (
            ChangeSetStatus::Failed,
            ExecutionStatus::Unavailable,
            Some("Template error: resource Table does not support attribute type Foo"),
            "change set upstack-1 cannot be executed (status FAILED, execution status UNAVAILABLE: Template error: resource Table does not support attribute type Foo)",
        ),
        (
            ChangeSetStatus::CreateComplete,
            ExecutionStatus::Obsolete,
            None,
            "change set upstack-1 is obsolete (the stack changed after it was created) (status CREATE_COMPLETE, execution status OBSOLETE)",
        ),
    ];
    for (status, execution, reason, expected) in cases {
        let describe = mock!(Cfn::describe_stacks)
            .then_output(|| stack_updated_at("UPDATE_COMPLETE", UPDATED_AT));
        let template = deployed(TABLE_OLD);
        let change_set = change_set_in(status, execution, reason);
        let execute = executed();
        let cfn = cfn_client(&[&describe, &template, &change_set, &execute]);
        let run = execute_plan(cfn, &saved_plan()).await;
        let message = run.result.as_ref().unwrap_err().to_string();
        assert!(message.contains(expected), "{message}");
        let Err(DeployError::StalePlan { reasons, .. }) = run.result else {
            panic!("{message}")
        };
        assert_eq!(reasons.len(), 1, "{reasons:#?}");
        assert_eq!(execute.num_calls(), 0);
        assert!(
            run.lines.is_empty(),
            "nothing shown or asked: {:#?}",
            run.lines
        );
    }
}

async fn execute_plan(cfn: Cfn, plan: &ReviewedPlan) -> Run {
    execute(cfn, plan, RequireApproval::Broadening).await
}

/// moto's DescribeStacks has no LastUpdatedTime: an update made after the
/// plan is told by its time here, with both states in the message.
#[tokio::test]
async fn saved_plan_is_refused_when_the_stack_was_updated_since() {
    let describe = mock!(Cfn::describe_stacks)
        .then_output(|| stack_updated_at("UPDATE_COMPLETE", UPDATED_AT + 3600));
    let template = deployed(TABLE_OLD);
    let change_set = change_set_in(
        ChangeSetStatus::CreateComplete,
        ExecutionStatus::Available,
        None,
    );
    let execute = executed();
    let cfn = cfn_client(&[&describe, &template, &change_set, &execute]);
    let run = execute_plan(cfn, &saved_plan()).await;
    let error = run.result.unwrap_err();
    assert!(error.is_stale_plan());
    assert_eq!(
        error.to_string(),
        "the plan for upstack-dev is stale, nothing was changed; prepare it again (`upstack deploy --env <env> --prepare PLAN.json`):\n  - stack upstack-dev was updated at 2026-05-28T21:26:40Z after the plan was made (UPDATE_COMPLETE, was UPDATE_COMPLETE, last updated 2026-05-28T20:26:40Z)"
    );
    assert_eq!(execute.num_calls(), 0);
    assert!(matches!(
        &error,
        DeployError::StalePlan { reasons, .. } if matches!(reasons[..], [StaleReason::StackUpdated { .. }])
    ));
}

/// moto accepts stack policies but never enforces them: on AWS, prod's
/// policy denies Update:Replace on the table, the update fails on it and
/// rolls back. The denial is the root cause, printed before the rollback
/// outcome; the protective policy is not touched (no --allow-replace).
#[tokio::test]
async fn stack_policy_denial_during_execution_is_the_root_cause() {
    let describe = mock!(Cfn::describe_stacks)
        .sequence()
        .output(|| stack_updated_at("UPDATE_COMPLETE", UPDATED_AT))
        .output(|| stack_updated_at("UPDATE_ROLLBACK_IN_PROGRESS", UPDATED_AT + 10))
        .output(|| stack_updated_at("UPDATE_ROLLBACK_COMPLETE", UPDATED_AT + 20))
        .build();
    let template = deployed(TABLE_OLD);
    let change_set = change_set_in(
        ChangeSetStatus::CreateComplete,
        ExecutionStatus::Available,
        None,
    );
    let executed_by_arn = mock!(Cfn::execute_change_set)
        .match_requests(|request| request.change_set_name() == Some(CHANGE_SET_ARN))
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let denied = event(
        "e2",
        "Table",
        "AWS::DynamoDB::Table",
        "UPDATE_FAILED",
        Some(
            "Action denied by stack policy: Statement [#1] does not allow [Update:Replace] for resource [LogicalResourceId/Table]",
        ),
    );
    let started = event(
        "e1",
        STACK,
        "AWS::CloudFormation::Stack",
        "UPDATE_IN_PROGRESS",
        Some("User Initiated"),
    );
    let rolled_back = event(
        "e3",
        STACK,
        "AWS::CloudFormation::Stack",
        "UPDATE_ROLLBACK_COMPLETE",
        None,
    );
    let stack_events = mock!(Cfn::describe_stack_events)
        .sequence()
        .output(|| DescribeStackEventsOutput::builder().build())
        .output(move || events(vec![rolled_back.clone(), denied.clone(), started.clone()]))
        .repeatedly()
        .build();
    let set_policy =
        mock!(Cfn::set_stack_policy).then_output(|| SetStackPolicyOutput::builder().build());
    let cfn = cfn_client(&[
        &describe,
        &template,
        &change_set,
        &executed_by_arn,
        &stack_events,
        &set_policy,
    ]);
    let run = execute(cfn, &saved_plan(), RequireApproval::Never).await;
    let message = run.result.unwrap_err().to_string();
    assert!(
        message.contains("UPDATE_ROLLBACK_COMPLETE: Table (AWS::DynamoDB::Table) UPDATE_FAILED: Action denied by stack policy"),
        "{message}"
    );
    assert_eq!(executed_by_arn.num_calls(), 1, "executed by ARN");
    assert_eq!(set_policy.num_calls(), 0);
    let root = run
        .lines
        .iter()
        .position(|line| line.starts_with("ROOT CAUSE: Table (AWS::DynamoDB::Table) UPDATE_FAILED: Action denied by stack policy"))
        .unwrap_or_else(|| panic!("{:#?}", run.lines));
    let rollback = run
        .lines
        .iter()
        .position(|line| line.starts_with("rollback complete"))
        .unwrap_or_else(|| panic!("{:#?}", run.lines));
    assert!(root < rollback, "{:#?}", run.lines);
}

/// Approval is ours, not moto's: a saved prod plan with a destructive change
/// and no terminal is not executed, and its change set is kept so the
/// reviewed plan can still run once approved.
#[tokio::test]
async fn saved_plan_not_approved_keeps_its_change_set() {
    let describe =
        mock!(Cfn::describe_stacks).then_output(|| stack_updated_at("UPDATE_COMPLETE", UPDATED_AT));
    let template = deployed(TABLE_OLD);
    let change_set = change_set_in(
        ChangeSetStatus::CreateComplete,
        ExecutionStatus::Available,
        None,
    );
    let (execute, delete) = (
        executed(),
        mock!(Cfn::delete_change_set).then_output(|| {
            aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput::builder()
                .build()
        }),
    );
    let cfn = cfn_client(&[&describe, &template, &change_set, &execute, &delete]);
    let dir = tempfile::tempdir().unwrap();
    let clients = DeployClients {
        cloudformation: cfn,
        s3: s3_with_assets(),
        cloudwatch: super::no_cloudwatch(),
        lambda: no_lambda(),
        drift: None,
    };
    let clock = ManualClock::default();
    let mut reporter = RecordingReporter::default();
    let outcome = deploy::execute(
        &clients,
        &saved_plan(),
        &target(dir.path()),
        &options(&clock, RequireApproval::Broadening, false),
        &mut reporter,
        &mut FixedAnswer(Answer::NoTerminal),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, DeployOutcome::NotApproved);
    assert_eq!((execute.num_calls(), delete.num_calls()), (0, 0));
    assert!(
        reporter
            .lines
            .iter()
            .any(|line| line == "approval required: destructive: Table: replaced"),
        "{:#?}",
        reporter.lines
    );
}

/// A plan for another account is refused before any call.
#[tokio::test]
async fn saved_plan_for_another_account_is_refused_without_a_call() {
    let cfn = cfn_client(&[]);
    let dir = tempfile::tempdir().unwrap();
    let clients = DeployClients {
        cloudformation: cfn,
        s3: s3_with_assets(),
        cloudwatch: super::no_cloudwatch(),
        lambda: no_lambda(),
        drift: None,
    };
    let clock = ManualClock::default();
    let mut other = target(dir.path());
    other.account = "999999999999".into();
    let error = deploy::execute(
        &clients,
        &saved_plan(),
        &other,
        &options(&clock, RequireApproval::Never, false),
        &mut RecordingReporter::default(),
        &mut FixedAnswer(Answer::Yes),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(!error.is_stale_plan());
    assert!(
        error
            .to_string()
            .contains("this deploy is env prod in account 999999999999"),
        "{error}"
    );
}
