//! Behaviour of the engine on small, targeted templates.

// Test helpers outside #[test] fns: a panic here is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use serde_json::{Value as Json, json};
use upstack_cfn::ResourceInfo;
use upstack_diff::*;

fn diff(old: Json, new: Json) -> TemplateDiff {
    diff_templates(&old, &new, common::lookup).unwrap()
}

fn one(type_name: &str, properties: Json) -> Json {
    json!({"Resources": {"R": {"Type": type_name, "Properties": properties}}})
}

fn with_attrs(type_name: &str, attrs: Json) -> Json {
    let mut entry = json!({"Type": type_name, "Properties": {}});
    for (key, value) in attrs.as_object().unwrap() {
        entry[key] = value.clone();
    }
    json!({"Resources": {"R": entry}})
}

#[test]
fn malformed_templates_are_rejected_naming_the_side_and_the_problem() {
    let error = diff_templates(&json!([]), &json!({}), common::lookup)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("old") && error.contains("an array"),
        "{error}"
    );
    let error = diff_templates(
        &json!({}),
        &json!({"Resources": {"X": {"Properties": {}}}}),
        common::lookup,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("new") && error.contains("`X` has no string `Type`"),
        "{error}"
    );
    let error = diff_templates(&json!({"Resources": []}), &json!({}), common::lookup)
        .unwrap_err()
        .to_string();
    assert!(error.contains("`Resources` must be an object"), "{error}");
}

#[test]
fn an_empty_old_template_shows_everything_as_added() {
    let new = common::load("property_change", "new");
    let result = diff(json!({}), new.clone());
    assert_eq!(
        result.summary().add,
        new["Resources"].as_object().unwrap().len()
    );
    assert!(
        result
            .resources
            .iter()
            .all(|change| change.action == Action::Add)
    );
}

#[test]
fn depends_on_style_and_order_are_not_changes() {
    let old = with_attrs("AWS::SNS::Topic", json!({"DependsOn": ["A", "B"]}));
    assert!(
        diff(
            old.clone(),
            with_attrs("AWS::SNS::Topic", json!({"DependsOn": ["B", "A"]}))
        )
        .is_empty()
    );
    let single = with_attrs("AWS::SNS::Topic", json!({"DependsOn": "A"}));
    assert!(
        diff(
            single.clone(),
            with_attrs("AWS::SNS::Topic", json!({"DependsOn": ["A"]}))
        )
        .is_empty()
    );
    let changed = diff(
        single,
        with_attrs("AWS::SNS::Topic", json!({"DependsOn": ["A", "C"]})),
    );
    assert_eq!(changed.resources[0].changes[0].path, "DependsOn");
    assert_eq!(changed.resources[0].replacement, Replacement::None);
}

static NESTED: ResourceInfo = ResourceInfo {
    type_name: "Test::Nested::Thing",
    required: &[],
    create_only: &["Config/Name"],
    conditional_create_only: &[],
    primary_identifier: &[],
    attributes: &[],
    taggable: false,
    stateful: false,
    name_property: None,
    // The diff never reads properties typed.
    check_properties: |_| Ok(()),
};

fn nested_lookup(type_name: &str) -> Option<&'static ResourceInfo> {
    (type_name == NESTED.type_name).then_some(&NESTED)
}

#[test]
fn a_nested_create_only_property_replaces_only_when_it_changes() {
    let replaced = |old: Json, new: Json| {
        diff_templates(
            &one(NESTED.type_name, old),
            &one(NESTED.type_name, new),
            nested_lookup,
        )
        .unwrap()
        .resources[0]
            .replacement
    };
    assert_eq!(
        replaced(
            json!({"Config": {"Name": "a"}}),
            json!({"Config": {"Name": "b"}})
        ),
        Replacement::Replace
    );
    assert_eq!(
        replaced(
            json!({"Config": {"Name": "a", "Size": 1}}),
            json!({"Config": {"Name": "a", "Size": 2}})
        ),
        Replacement::None
    );
    // The whole parent appears: the create-only child inside it is new.
    assert_eq!(
        replaced(json!({}), json!({"Config": {"Name": "a"}})),
        Replacement::Replace
    );
    assert_eq!(
        replaced(json!({}), json!({"Config": {"Size": 1}})),
        Replacement::None
    );
    assert_eq!(
        replaced(
            json!({"Config": {"Name": {"Ref": "P1"}}}),
            json!({"Config": {"Name": {"Ref": "P2"}}})
        ),
        Replacement::MayReplace
    );
}

#[test]
fn an_unknown_type_cannot_be_predicted() {
    let result = diff(
        one("Custom::Thing", json!({"A": 1})),
        one("Custom::Thing", json!({"A": 2})),
    );
    assert_eq!(result.resources[0].replacement, Replacement::Unknown);
}

#[test]
fn a_type_change_is_a_replacement() {
    let result = diff(
        one("AWS::SNS::Topic", json!({})),
        one("AWS::SQS::Queue", json!({})),
    );
    assert_eq!(result.resources[0].replacement, Replacement::Replace);
    assert_eq!(result.resources[0].changes[0].path, "Type");
    assert_eq!(
        result.resources[0].hazards[0].kind,
        HazardKind::StatefulReplaced
    );
}

#[test]
fn removal_or_replacement_of_a_stateful_resource_is_destructive_whatever_its_retention() {
    // Issue 11: Retain keeps the data but orphans it, and on replacement
    // points the stack at a new, empty resource; the reviewer must be stopped.
    let retained = with_attrs("AWS::S3::Bucket", json!({"DeletionPolicy": "Retain"}));
    let removed_retained = diff(retained.clone(), json!({"Resources": {}}));
    let change = &removed_retained.resources[0];
    assert_eq!(change.hazards[0].kind, HazardKind::StatefulRemoved);
    assert_eq!(change.consequences[0].kind, ConsequenceKind::Retained);
    assert_eq!(
        FailOn::Destructive.violations(&removed_retained).len(),
        1,
        "--fail-on destructive reports it"
    );
    let removed = diff(
        with_attrs("AWS::S3::Bucket", json!({})),
        json!({"Resources": {}}),
    );
    assert_eq!(
        removed.resources[0].hazards[0].kind,
        HazardKind::StatefulRemoved
    );
    assert_eq!(
        removed.resources[0].consequences[0].kind,
        ConsequenceKind::Deleted
    );
    // A stateless type is not destructive to remove.
    assert!(
        diff(
            with_attrs("AWS::SNS::Topic", json!({})),
            json!({"Resources": {}})
        )
        .resources[0]
            .hazards
            .is_empty()
    );

    let weakened = diff(
        retained,
        with_attrs("AWS::S3::Bucket", json!({"DeletionPolicy": "Delete"})),
    );
    assert_eq!(
        weakened.resources[0].hazards[0].kind,
        HazardKind::RetentionRemoved
    );

    let replaced = |policy: &str| {
        let mut old = with_attrs(
            "AWS::DynamoDB::Table",
            json!({"UpdateReplacePolicy": policy}),
        );
        old["Resources"]["R"]["Properties"] = json!({"TableName": "a"});
        let mut new = old.clone();
        new["Resources"]["R"]["Properties"] = json!({"TableName": "b"});
        diff(old, new).resources[0].clone()
    };
    for (policy, consequence) in [
        ("Retain", ConsequenceKind::Retained),
        ("Snapshot", ConsequenceKind::Snapshot),
        ("Delete", ConsequenceKind::Deleted),
    ] {
        let change = replaced(policy);
        assert_eq!(
            change.hazards[0].kind,
            HazardKind::StatefulReplaced,
            "{policy}"
        );
        assert_eq!(change.replaced_by, vec!["Properties.TableName".to_owned()]);
        // The name itself changes, so CloudFormation can replace it.
        assert_eq!(change.consequences[0].kind, consequence, "{policy}");
        assert!(
            change.hazards[0].message.contains("Properties.TableName"),
            "{}",
            change.hazards[0].message
        );
    }
}

fn table(properties: Json) -> Json {
    json!({"Resources": {"Records": {"Type": "AWS::DynamoDB::Table", "UpdateReplacePolicy": "Retain", "Properties": properties}}})
}

#[test]
fn a_key_schema_change_replaces_the_table_and_its_kept_name_refuses_it() {
    let old = table(
        json!({"TableName": "records", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}),
    );
    let new = table(
        json!({"TableName": "records", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}),
    );
    let result = diff(old, new);
    let change = &result.resources[0];
    assert_eq!(change.replacement, Replacement::Replace);
    assert!(
        change.replaced_by[0].starts_with("Properties.KeySchema"),
        "{:?}",
        change.replaced_by
    );
    assert_eq!(
        change.consequences[0].kind,
        ConsequenceKind::RefusedCustomName
    );
    assert_eq!(change.consequences[1].kind, ConsequenceKind::Retained);
    assert_eq!(change.hazards[0].kind, HazardKind::StatefulReplaced);
}

#[test]
fn conditional_create_only_properties_may_replace() {
    let function = |config: Json| one("AWS::Lambda::Function", json!({"DurableConfig": config}));
    let result = diff(
        function(json!({"ExecutionTimeout": 60})),
        function(json!({"ExecutionTimeout": 120})),
    );
    assert_eq!(result.resources[0].replacement, Replacement::MayReplace);
    let subscription = |region: &str| one("AWS::SNS::Subscription", json!({"Region": region}));
    assert_eq!(
        diff(subscription("eu-west-1"), subscription("us-east-1")).resources[0].replacement,
        Replacement::MayReplace
    );
}

#[test]
fn pseudo_parameters_resolve_to_a_definite_answer() {
    let bucket = |name: Json| json!({"Resources": {"Uploads": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}}}});
    let old = bucket(json!("uploads-123456789012-eu-west-1"));
    let new = bucket(json!({"Fn::Sub": "uploads-${AWS::AccountId}-${AWS::Region}"}));
    // Unknown target: may be replaced.
    assert_eq!(
        diff(old.clone(), new.clone()).resources[0].replacement,
        Replacement::MayReplace
    );
    let known = DiffContext {
        pseudo: PseudoValues::for_region("eu-west-1").with_account_id("123456789012"),
        stack_policy: None,
    };
    let resolved = diff_templates_with(&old, &new, common::lookup, &known).unwrap();
    assert_eq!(resolved.resources[0].replacement, Replacement::None);
    assert!(resolved.resources[0].hazards.is_empty());
    // Another account: a definite replacement.
    let other = DiffContext {
        pseudo: PseudoValues::for_region("eu-west-1").with_account_id("999999999999"),
        stack_policy: None,
    };
    let replaced = diff_templates_with(&old, &new, common::lookup, &other).unwrap();
    assert_eq!(replaced.resources[0].replacement, Replacement::Replace);
    // A reference to another resource stays undecided.
    let by_ref = bucket(json!({"Fn::Sub": "uploads-${Other}"}));
    let undecided = diff_templates_with(&old, &by_ref, common::lookup, &known).unwrap();
    assert_eq!(undecided.resources[0].replacement, Replacement::MayReplace);
}

#[test]
fn the_stack_policy_refuses_replacement_and_removal_of_protected_resources() {
    let old = table(json!({"TableName": "a"}));
    let new = table(json!({"TableName": "b"}));
    let policy = upstack_cfn::stack_policy::protective(&new, common::lookup).unwrap();
    let context = DiffContext {
        pseudo: PseudoValues::default(),
        stack_policy: Some(policy.clone()),
    };
    let replaced = diff_templates_with(&old, &new, common::lookup, &context).unwrap();
    assert_eq!(
        replaced.resources[0].consequences[0].kind,
        ConsequenceKind::RefusedStackPolicy
    );
    let context = DiffContext {
        pseudo: PseudoValues::default(),
        stack_policy: upstack_cfn::stack_policy::protective(&old, common::lookup),
    };
    let removed =
        diff_templates_with(&old, &json!({"Resources": {}}), common::lookup, &context).unwrap();
    assert_eq!(
        removed.resources[0].consequences[0].kind,
        ConsequenceKind::RefusedStackPolicy
    );
}

#[test]
fn a_code_only_change_is_a_code_update() {
    let function = |key: &str, memory: u32| {
        one(
            "AWS::Lambda::Function",
            json!({"FunctionName": "f", "MemorySize": memory, "Code": {"S3Bucket": "assets", "S3Key": key}}),
        )
    };
    let result = diff(function("a.zip", 256), function("b.zip", 256));
    let change = &result.resources[0];
    assert!(change.code_update);
    assert_eq!(change.replacement, Replacement::None);
    assert!(change.hazards.is_empty());
    assert!(result.security.is_empty());
    assert_eq!(result.summary().code_updates, 1);
    assert!(FailOn::Destructive.violations(&result).is_empty());
    assert!(FailOn::Broadening.violations(&result).is_empty());
    assert!(!diff(function("a.zip", 256), function("b.zip", 512)).resources[0].code_update);
}

fn statements(statements: Json) -> Json {
    one(
        "AWS::IAM::Policy",
        json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}),
    )
}

fn security(old: Json, new: Json) -> Vec<SecurityChange> {
    diff(statements(old), statements(new)).security
}

#[test]
fn statement_style_and_order_are_not_security_changes() {
    let old = json!([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"], "Resource": ["q"]}
    ]);
    let new = json!([
        {"Effect": "Allow", "Action": ["sqs:GetQueueUrl", "sqs:SendMessage", "sqs:SendMessage"], "Resource": "q"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"], "Sid": "Renamed"}
    ]);
    assert_eq!(security(old, new), vec![]);
}

#[test]
fn a_statement_given_as_an_object_or_a_json_string_is_understood() {
    let old = one(
        "AWS::IAM::Policy",
        json!({"PolicyDocument": {"Statement": {"Effect": "Allow", "Action": "a:B", "Resource": "*"}}}),
    );
    let new = one(
        "AWS::IAM::Policy",
        json!({"PolicyDocument": "{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"a:B\"], \"Resource\": \"*\"}]}"}),
    );
    assert_eq!(diff(old, new).security, vec![]);
}

fn direction(old: Json, new: Json) -> Direction {
    let changes = security(json!([old]), json!([new]));
    assert_eq!(changes.len(), 1, "{changes:#?}");
    changes[0].direction
}

#[test]
fn allow_and_deny_changes_are_classified() {
    let allow = |extra: Json| {
        let mut statement = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "r"});
        for (key, value) in extra.as_object().unwrap() {
            statement[key] = value.clone();
        }
        statement
    };
    let cond = |values: Json| json!({"Condition": {"StringEquals": {"aws:SourceAccount": values}}});
    // A value added to an existing key is ORed in: matches more.
    assert_eq!(
        direction(allow(cond(json!(["1"]))), allow(cond(json!(["1", "2"])))),
        Direction::Broadening
    );
    // A new condition key is ANDed: matches less.
    assert_eq!(
        direction(allow(json!({})), allow(cond(json!("1")))),
        Direction::Narrowing
    );
    assert_eq!(
        direction(allow(cond(json!("1"))), allow(json!({}))),
        Direction::Broadening
    );
    assert_eq!(
        direction(
            allow(json!({"Action": ["s3:GetObject", "s3:PutObject"]})),
            allow(json!({}))
        ),
        Direction::Narrowing
    );

    let deny = |actions: Json| json!({"Effect": "Deny", "Action": actions, "Resource": "*"});
    assert_eq!(
        direction(deny(json!(["a:X", "a:Y"])), deny(json!(["a:X"]))),
        Direction::Broadening
    );
    assert_eq!(
        direction(deny(json!(["a:X"])), deny(json!(["a:X", "a:Y"]))),
        Direction::Narrowing
    );

    let not_action =
        |actions: Json| json!({"Effect": "Allow", "NotAction": actions, "Resource": "*"});
    assert_eq!(
        direction(
            not_action(json!(["iam:*"])),
            not_action(json!(["iam:*", "kms:*"]))
        ),
        Direction::Narrowing
    );
    // An effect flip pairs by Sid (without one it is a removed allow and an added deny).
    assert_eq!(
        direction(
            allow(json!({"Sid": "S"})),
            json!({"Sid": "S", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "r"})
        ),
        Direction::Narrowing
    );
}

#[test]
fn added_and_removed_statements_and_wildcards() {
    let changes = security(
        json!([]),
        json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
    );
    assert_eq!(
        (changes[0].kind, changes[0].direction, changes[0].wildcard),
        (ValueChange::Added, Direction::Broadening, true)
    );
    let changes = security(
        json!([{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]),
        json!([]),
    );
    assert_eq!(
        (changes[0].kind, changes[0].direction),
        (ValueChange::Removed, Direction::Broadening)
    );
    assert!(
        changes[0].details.contains(&"- action s3:*".to_owned()),
        "{:?}",
        changes[0].details
    );
}

#[test]
fn a_lambda_permission_is_compared_as_a_statement() {
    let permission = |principal: &str| {
        one(
            "AWS::Lambda::Permission",
            json!({"Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": principal}),
        )
    };
    let changes = diff(permission("s3.amazonaws.com"), permission("*")).security;
    assert_eq!(changes[0].direction, Direction::Broadening);
    assert!(changes[0].wildcard);
    assert!(
        changes[0]
            .details
            .contains(&"- principal Service:s3.amazonaws.com".to_owned()),
        "{:?}",
        changes[0].details
    );
}

#[test]
fn fail_on_reports_matching_changes_only() {
    let quiet = diff(
        common::load("no_change", "old"),
        common::load("no_change", "new"),
    );
    for kind in [FailOn::Any, FailOn::Broadening, FailOn::Destructive] {
        assert!(kind.violations(&quiet).is_empty());
    }
    let narrowed = diff(
        common::load("iam_narrowed", "old"),
        common::load("iam_narrowed", "new"),
    );
    assert!(FailOn::Broadening.violations(&narrowed).is_empty());
    assert!(FailOn::Destructive.violations(&narrowed).is_empty());
    assert_eq!(FailOn::Any.violations(&narrowed).len(), 1);
    let widened = diff(
        common::load("iam_widened", "old"),
        common::load("iam_widened", "new"),
    );
    assert_eq!(FailOn::Broadening.violations(&widened).len(), 5);
    let removed = diff(
        common::load("stateful_removed", "old"),
        common::load("stateful_removed", "new"),
    );
    let reasons = FailOn::Destructive.violations(&removed);
    assert!(
        reasons
            .iter()
            .any(|reason| reason.starts_with("Uploads: AWS::S3::Bucket is removed")),
        "{reasons:?}"
    );
}

fn change_set(logical_id: &str, action: &str, replacement: Option<&str>) -> ChangeSetResource {
    ChangeSetResource {
        logical_id: logical_id.into(),
        resource_type: Some("AWS::SQS::Queue".into()),
        view: ChangeSetView {
            action: action.into(),
            replacement: replacement.map(Into::into),
            ..ChangeSetView::default()
        },
    }
}

#[test]
fn the_change_set_verdict_overrides_the_prediction() {
    let mut result = queue_maybe_replaced_offline();
    assert_eq!(
        result.resources[0].hazards[0].kind,
        HazardKind::StatefulMayBeReplaced
    );
    result.merge_change_set(vec![change_set("R", "Modify", Some("False"))]);
    assert_eq!(
        result.resources[0].effective_replacement(),
        Replacement::None
    );
    assert!(result.resources[0].hazards.is_empty());

    let mut result = queue_maybe_replaced_offline();
    result.merge_change_set(vec![
        change_set("R", "Modify", Some("True")),
        change_set("Other", "Dynamic", Some("Conditional")),
    ]);
    assert_eq!(result.resources[1].logical_id, "R");
    assert_eq!(
        result.resources[1].effective_replacement(),
        Replacement::Replace
    );
    assert_eq!(
        result.resources[1].hazards[0].kind,
        HazardKind::StatefulReplaced
    );
    // A resource only CloudFormation saw is added, in logical-ID order.
    assert_eq!(result.resources[0].logical_id, "Other");
    assert_eq!(
        result.resources[0].effective_replacement(),
        Replacement::MayReplace
    );
    assert_eq!(result.summary().change, 2);
}

/// A queue (stateful) whose only change is one CloudFormation updates in
/// place: offline, no replacement.
fn queue_updated_in_place() -> TemplateDiff {
    let result = diff(
        one("AWS::SQS::Queue", json!({"VisibilityTimeout": 30})),
        one("AWS::SQS::Queue", json!({"VisibilityTimeout": 60})),
    );
    assert_eq!(result.resources[0].replacement, Replacement::None);
    assert!(result.resources[0].hazards.is_empty());
    result
}

/// A queue (stateful) whose name comes to depend on the stack's: offline,
/// a possible replacement.
fn queue_maybe_replaced_offline() -> TemplateDiff {
    diff(
        one("AWS::SQS::Queue", json!({"QueueName": "a"})),
        one(
            "AWS::SQS::Queue",
            json!({"QueueName": {"Fn::Sub": "${AWS::StackName}"}}),
        ),
    )
}

fn is_flagged_as_possible_replacement(result: &TemplateDiff, logical_id: &str) {
    let change = result
        .resources
        .iter()
        .find(|change| change.logical_id == logical_id)
        .unwrap();
    assert_eq!(change.effective_replacement(), Replacement::MayReplace);
    assert_eq!(result.summary().may_replace, 1);
    assert!(
        change
            .hazards
            .iter()
            .any(|hazard| hazard.kind == HazardKind::StatefulMayBeReplaced),
        "{:?}",
        change.hazards
    );
    assert_eq!(FailOn::Destructive.violations(result).len(), 1);
    let sources = render::Sources {
        old: "old".into(),
        new: "new".into(),
    };
    let text = render::text(result, &sources, false);
    assert!(text.contains("may be replaced"), "{text}");
}

#[test]
fn an_unknown_replacement_is_a_possible_replacement_never_none() {
    let mut result = queue_updated_in_place();
    result.merge_change_set(vec![change_set("R", "Modify", Some("Maybe"))]);
    is_flagged_as_possible_replacement(&result, "R");
    let hazard = &result.resources[0].hazards[0].message;
    assert!(hazard.contains("Replacement `Maybe`"), "{hazard}");
    // Kept as AWS sent it in the machine-readable output.
    let json = render::json(
        &result,
        &render::Sources {
            old: "old".into(),
            new: "new".into(),
        },
    );
    assert!(json.contains(r#""replacement": "Maybe""#), "{json}");
}

#[test]
fn an_unknown_recreation_outweighs_replacement_false() {
    let mut result = queue_updated_in_place();
    let mut change = change_set("R", "Modify", Some("False"));
    change.view.details = vec![ChangeSetDetail {
        attribute: Some("Properties".into()),
        name: Some("VisibilityTimeout".into()),
        requires_recreation: Some("Sometimes".into()),
        ..ChangeSetDetail::default()
    }];
    result.merge_change_set(vec![change]);
    is_flagged_as_possible_replacement(&result, "R");

    // A predicted possible replacement is not lifted by that `False` either.
    let mut result = queue_maybe_replaced_offline();
    let mut change = change_set("R", "Modify", Some("False"));
    change.view.details = vec![ChangeSetDetail {
        requires_recreation: Some("Sometimes".into()),
        ..ChangeSetDetail::default()
    }];
    result.merge_change_set(vec![change]);
    is_flagged_as_possible_replacement(&result, "R");
    assert_eq!(result.resources[0].hazards.len(), 1);
}

#[test]
fn an_unknown_action_on_a_resource_only_cloudformation_saw_is_a_possible_replacement() {
    let mut result = diff(json!({"Resources": {}}), json!({"Resources": {}}));
    result.merge_change_set(vec![change_set("Queue", "Teleport", None)]);
    assert_eq!(result.resources[0].action, Action::Modify);
    is_flagged_as_possible_replacement(&result, "Queue");
}

/// A known `Replacement: Conditional` on a stateful resource the offline
/// diff thought safe: the reviewer, `--fail-on destructive` and prod's
/// approval must all see that it may be replaced.
#[test]
fn a_conditional_replacement_of_a_stateful_resource_is_a_hazard() {
    let mut result = queue_updated_in_place();
    let mut change = change_set("R", "Modify", Some("Conditional"));
    change.view.details = vec![ChangeSetDetail {
        attribute: Some("Properties".into()),
        name: Some("VisibilityTimeout".into()),
        requires_recreation: Some("Conditionally".into()),
        ..ChangeSetDetail::default()
    }];
    result.merge_change_set(vec![change]);
    is_flagged_as_possible_replacement(&result, "R");
    let hazard = &result.resources[0].hazards[0].message;
    assert!(
        hazard.contains("Replacement `Conditional`")
            && hazard.contains("VisibilityTimeout RequiresRecreation `Conditionally`"),
        "{hazard}"
    );
}

/// `Dynamic`: "the exact action for the resource can't be determined", so
/// not even `Replacement: False` rules a replacement out.
#[test]
fn a_dynamic_action_on_a_stateful_resource_is_a_possible_replacement() {
    let mut result = queue_updated_in_place();
    result.merge_change_set(vec![change_set("R", "Dynamic", Some("False"))]);
    is_flagged_as_possible_replacement(&result, "R");
    let hazard = &result.resources[0].hazards[0].message;
    assert!(hazard.contains("Action `Dynamic`"), "{hazard}");

    // Nor does it lift a predicted possible replacement.
    let mut result = queue_maybe_replaced_offline();
    result.merge_change_set(vec![change_set("R", "Dynamic", Some("False"))]);
    is_flagged_as_possible_replacement(&result, "R");
    assert_eq!(result.resources[0].hazards.len(), 1);
}

/// `Replacement: True` stays a replacement when something else in the same
/// entry is indeterminate: it is never softened to "may be replaced".
#[test]
fn replacement_true_with_a_dynamic_action_or_unknown_detail_is_a_replacement() {
    let mut result = queue_updated_in_place();
    result.merge_change_set(vec![change_set("R", "Dynamic", Some("True"))]);
    assert_eq!(
        result.resources[0].effective_replacement(),
        Replacement::Replace
    );
    assert_eq!(
        result.resources[0]
            .hazards
            .iter()
            .map(|hazard| hazard.kind)
            .collect::<Vec<_>>(),
        vec![HazardKind::StatefulReplaced]
    );
    assert_eq!(result.summary().replace, 1);

    let mut result = queue_updated_in_place();
    let mut change = change_set("R", "Modify", Some("True"));
    change.view.details = vec![ChangeSetDetail {
        requires_recreation: Some("Sometimes".into()),
        ..ChangeSetDetail::default()
    }];
    result.merge_change_set(vec![change]);
    assert_eq!(
        result.resources[0].effective_replacement(),
        Replacement::Replace
    );
    assert_eq!(
        result.resources[0].hazards[0].kind,
        HazardKind::StatefulReplaced
    );
}

#[test]
fn an_unknown_value_never_lowers_a_predicted_replacement() {
    let mut result = diff(
        one("AWS::SQS::Queue", json!({"QueueName": "a"})),
        one("AWS::SQS::Queue", json!({"QueueName": "b"})),
    );
    assert_eq!(result.resources[0].replacement, Replacement::Replace);
    result.merge_change_set(vec![change_set("R", "Modify", Some("Maybe"))]);
    assert_eq!(
        result.resources[0].effective_replacement(),
        Replacement::Replace
    );
    assert_eq!(
        result.resources[0]
            .hazards
            .iter()
            .map(|hazard| hazard.kind)
            .collect::<Vec<_>>(),
        vec![HazardKind::StatefulReplaced]
    );
}

#[test]
fn change_set_values_keep_the_aws_spelling() {
    for (text, replacement) in [
        ("True", ChangeSetReplacement::True),
        ("False", ChangeSetReplacement::False),
        ("Conditional", ChangeSetReplacement::Conditional),
        ("Maybe", ChangeSetReplacement::Unknown("Maybe".into())),
    ] {
        assert_eq!(ChangeSetReplacement::from(text), replacement);
        assert_eq!(serde_json::to_value(&replacement).unwrap(), json!(text));
        assert_eq!(
            serde_json::from_value::<ChangeSetReplacement>(json!(text)).unwrap(),
            replacement
        );
    }
    assert_eq!(
        ChangeSetReplacement::Unknown("Maybe".into()).verdict(),
        Replacement::MayReplace
    );
    assert_eq!(
        RequiresRecreation::from("Sometimes"),
        RequiresRecreation::Unknown("Sometimes".into())
    );
    assert_eq!(ChangeSetAction::from("Dynamic"), ChangeSetAction::Dynamic);
}

#[test]
fn sections_and_top_level_keys_are_compared() {
    let old = json!({"Description": "a", "Parameters": {"P": {"Type": "String"}}, "Resources": {}});
    let new = json!({"Description": "b", "Parameters": {"P": {"Type": "Number"}}, "Outputs": {"O": {"Value": "x"}}, "Resources": {}});
    let names: Vec<(String, String)> = diff(old, new)
        .sections
        .into_iter()
        .map(|change| (change.section, change.name))
        .collect();
    assert_eq!(
        names,
        vec![
            ("Parameters".into(), "P.Type".into()),
            ("Outputs".into(), "O".into()),
            ("Template".into(), "Description".into())
        ]
    );
}

/// `deploy --revert-drift`'s change set (recorded shapes: moto has no
/// drift-aware change sets): a resource it only re-records
/// (`SyncWithActual`) is not a change; one it sets back from the account's
/// actual value is, and its details say so.
#[test]
fn a_drift_aware_change_set_adds_reverts_and_not_record_only_entries() {
    let template = serde_json::json!({"Resources": {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}
    }});
    let mut result = diff_templates(&template, &template, common::lookup).unwrap();
    let mut synced = change_set("Synced", "SyncWithActual", None);
    synced.view.drift_status = Some(ResourceDriftStatus::Modified);
    let mut reverted = change_set("Q", "Modify", Some("False"));
    reverted.view.drift_status = Some(ResourceDriftStatus::Modified);
    reverted.view.details = vec![ChangeSetDetail {
        attribute: Some("Properties".into()),
        name: Some("VisibilityTimeout".into()),
        requires_recreation: Some("Never".into()),
        before_value_from: Some(BeforeValueFrom::ActualState),
        attribute_change_type: Some(AttributeChangeType::Modify),
        ..ChangeSetDetail::default()
    }];
    result.merge_change_set(vec![synced, reverted]);
    let ids: Vec<&str> = result
        .resources
        .iter()
        .map(|change| change.logical_id.as_str())
        .collect();
    assert_eq!(ids, ["Q"]);
    let text = upstack_diff::render::text(
        &result,
        &upstack_diff::render::Sources {
            old: "a".into(),
            new: "b".into(),
        },
        false,
    );
    assert!(
        text.contains(
            "Properties.VisibilityTimeout: recreation Never; modify from the account's actual value"
        ),
        "{text}"
    );
}

/// The deployed template comes back from AWS in whatever order it was
/// written; nothing the diff reports may depend on it. Keys are walked in
/// order and the values a change keeps are in the canonical key order.
#[test]
fn key_order_of_either_template_does_not_change_the_diff() {
    let old: Json = serde_json::from_str(
        r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties":
            {"Tags": [{"Value": "a", "Key": "k"}], "DisplayName": "x"}}}}"#,
    )
    .unwrap();
    let reordered: Json = serde_json::from_str(
        r#"{"Resources": {"Topic": {"Properties":
            {"DisplayName": "x", "Tags": [{"Key": "k", "Value": "a"}]}, "Type": "AWS::SNS::Topic"}}}"#,
    )
    .unwrap();
    assert!(diff(old.clone(), reordered).is_empty());

    let new: Json = serde_json::from_str(
        r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties":
            {"Tags": [{"Value": "b", "Key": "k"}, {"Value": "c", "Key": "l"}], "DisplayName": "x"}}}}"#,
    )
    .unwrap();
    let change = &diff(old, new).resources[0].changes[0];
    assert_eq!(change.path, "Properties.Tags");
    assert_eq!(
        change.old.as_ref().unwrap().to_string(),
        r#"[{"Key":"k","Value":"a"}]"#
    );
    assert_eq!(
        change.new.as_ref().unwrap().to_string(),
        r#"[{"Key":"k","Value":"b"},{"Key":"l","Value":"c"}]"#
    );
}

/// A type change replaces the resource because of the type alone: the
/// `Type` line says so, and the properties of two unrelated types do not
/// each claim to force it.
#[test]
fn a_type_change_is_replaced_by_the_type_not_by_its_properties() {
    let old = one("AWS::SQS::Queue", json!({"QueueName": "a"}));
    let new = one("AWS::SNS::Topic", json!({"TopicName": "a"}));
    let change = &diff(old, new).resources[0];
    assert_eq!(change.replacement, Replacement::Replace);
    assert_eq!(change.replaced_by, ["Type"]);
    let type_line = change
        .changes
        .iter()
        .find(|line| line.path == "Type")
        .unwrap();
    assert_eq!(type_line.replacement, Replacement::Replace);
    assert!(
        change
            .changes
            .iter()
            .filter(|line| line.path.starts_with("Properties."))
            .all(|line| line.replacement == Replacement::None),
        "{:?}",
        change.changes
    );
}

/// Snapshot keeps data that Delete loses: giving it up is a hazard too.
#[test]
fn snapshot_to_delete_loses_retention() {
    let old = with_attrs(
        "AWS::DynamoDB::Table",
        json!({"DeletionPolicy": "Snapshot"}),
    );
    let new = with_attrs("AWS::DynamoDB::Table", json!({"DeletionPolicy": "Delete"}));
    let change = &diff(old.clone(), new).resources[0];
    assert!(
        change
            .hazards
            .iter()
            .any(|hazard| hazard.kind == HazardKind::RetentionRemoved),
        "{:?}",
        change.hazards
    );
    let kept = with_attrs("AWS::DynamoDB::Table", json!({"DeletionPolicy": "Retain"}));
    let change = &diff(kept, old).resources[0];
    assert!(
        change
            .hazards
            .iter()
            .any(|hazard| hazard.kind == HazardKind::RetentionRemoved)
    );
}

/// An intrinsic replaced by a literal object (or the other way) is one
/// value changed, not its keys compared with the function's name.
#[test]
fn an_intrinsic_and_an_object_are_compared_whole() {
    let old = one(
        "AWS::SQS::Queue",
        json!({"RedrivePolicy": {"Fn::GetAtt": ["Dlq", "Arn"]}}),
    );
    let new = one(
        "AWS::SQS::Queue",
        json!({"RedrivePolicy": {"deadLetterTargetArn": "arn", "maxReceiveCount": 3}}),
    );
    let paths: Vec<String> = diff(old.clone(), new.clone()).resources[0]
        .changes
        .iter()
        .map(|line| line.path.clone())
        .collect();
    assert_eq!(paths, ["Properties.RedrivePolicy"]);
    let paths: Vec<String> = diff(new, old).resources[0]
        .changes
        .iter()
        .map(|line| line.path.clone())
        .collect();
    assert_eq!(paths, ["Properties.RedrivePolicy"]);
}

#[test]
fn only_types_that_hold_data_are_stateful() {
    assert!(is_stateful("AWS::DynamoDB::Table"));
    assert!(is_stateful("AWS::S3::Bucket"));
    assert!(!is_stateful("AWS::SNS::Topic"));
    assert!(!is_stateful("Custom::Unknown"));
}

/// `Replacement: True` confirms the prediction: what the prediction said
/// would happen (the consequences, the hazard naming the property that
/// forces it) stays. Only `False` with nothing indeterminate lifts it.
#[test]
fn a_confirmed_replacement_keeps_its_consequences_and_only_a_clear_false_lifts_one() {
    let predicted = diff(
        one("AWS::SQS::Queue", json!({"QueueName": "a"})),
        one("AWS::SQS::Queue", json!({"QueueName": "b"})),
    );
    let before = predicted.resources[0].clone();
    assert_eq!(before.replacement, Replacement::Replace);
    assert!(!before.consequences.is_empty());
    assert_eq!(before.hazards[0].kind, HazardKind::StatefulReplaced);

    let mut confirmed = predicted.clone();
    confirmed.merge_change_set(vec![change_set("R", "Modify", Some("True"))]);
    assert_eq!(confirmed.resources[0].consequences, before.consequences);
    assert_eq!(confirmed.resources[0].hazards, before.hazards);

    // `False`, but CloudFormation cannot say what it will do: not lifted.
    let mut dynamic = predicted.clone();
    dynamic.merge_change_set(vec![change_set("R", "Dynamic", Some("False"))]);
    assert_eq!(dynamic.resources[0].hazards, before.hazards);
    assert_eq!(dynamic.resources[0].consequences, before.consequences);

    let mut lifted = predicted;
    lifted.merge_change_set(vec![change_set("R", "Modify", Some("False"))]);
    assert!(lifted.resources[0].hazards.is_empty());
    assert!(lifted.resources[0].consequences.is_empty());
}
