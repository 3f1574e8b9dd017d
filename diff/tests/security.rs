//! The security analysis as a reviewer reads it: which policies are read,
//! how old and new statements are paired for display, and which ARN changes
//! are a name swapped for one of the same shape rather than a broadening.

// Test helpers outside #[test] fns: a panic here is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use serde_json::{Value as Json, json};
use upstack_diff::*;

fn diff(old: Json, new: Json) -> TemplateDiff {
    diff_templates(&old, &new, common::lookup).unwrap()
}

fn one(type_name: &str, properties: Json) -> Json {
    json!({"Resources": {"R": {"Type": type_name, "Properties": properties}}})
}

/// An `AWS::IAM::Policy` with these statements.
fn policy(statements: Json) -> Json {
    one(
        "AWS::IAM::Policy",
        json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}),
    )
}

fn security(old: Json, new: Json) -> Vec<SecurityChange> {
    diff(policy(old), policy(new)).security
}

/// The direction of the one change between two single-statement policies.
fn direction(old: Json, new: Json) -> Direction {
    let changes = security(json!([old]), json!([new]));
    assert_eq!(changes.len(), 1, "{changes:#?}");
    changes[0].direction
}

fn allow_on(resource: Json) -> Json {
    json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource})
}

#[test]
fn a_policy_attachment_names_the_role_user_or_group_it_is_attached_to() {
    let attached = |roles: Json, users: Json, groups: Json| {
        one(
            "AWS::IAM::Policy",
            json!({
                "PolicyName": "Deploy",
                "PolicyDocument": {"Statement": [allow_on(json!("arn:aws:s3:::upstack-artifacts/*"))]},
                "Roles": roles, "Users": users, "Groups": groups
            }),
        )
    };
    let changes = diff(
        attached(
            json!(["upstack-dev-deployer"]),
            json!(["ci"]),
            json!(["admins"]),
        ),
        attached(
            json!(["upstack-dev-deployer", "upstack-prod-deployer"]),
            json!([]),
            json!(["admins", "operators"]),
        ),
    )
    .security;
    let seen: Vec<(&str, ValueChange, Direction, &[String])> = changes
        .iter()
        .map(|change| {
            (
                change.policy.as_str(),
                change.kind,
                change.direction,
                change.details.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "Groups",
                ValueChange::Added,
                Direction::Broadening,
                &["+ attached to group operators".to_owned()][..]
            ),
            (
                "Roles",
                ValueChange::Added,
                Direction::Broadening,
                &["+ attached to role upstack-prod-deployer".to_owned()][..]
            ),
            (
                "Users",
                ValueChange::Removed,
                Direction::Narrowing,
                &["- attached to user ci".to_owned()][..]
            ),
        ]
    );
}

#[test]
fn a_users_and_a_groups_policies_are_read_like_a_roles() {
    let template = |actions: Json, managed: Json| {
        json!({"Resources": {
            "Deployers": {"Type": "AWS::IAM::Group", "Properties": {"ManagedPolicyArns": managed}},
            "Operator": {"Type": "AWS::IAM::User", "Properties": {"Policies": [{
                "PolicyName": "Uploads",
                "PolicyDocument": {"Statement": [{
                    "Effect": "Allow", "Action": actions,
                    "Resource": "arn:aws:s3:::upstack-uploads/*"
                }]}
            }]}}
        }})
    };
    let changes = diff(
        template(json!("s3:GetObject"), json!([])),
        template(
            json!(["s3:GetObject", "s3:PutObject"]),
            json!(["arn:aws:iam::aws:policy/ReadOnlyAccess"]),
        ),
    )
    .security;
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!(
        (
            changes[0].logical_id.as_str(),
            changes[0].policy.as_str(),
            changes[0].direction
        ),
        ("Deployers", "ManagedPolicyArns", Direction::Broadening)
    );
    assert_eq!(
        changes[0].details,
        ["+ managed policy arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );
    assert_eq!(
        (
            changes[1].logical_id.as_str(),
            changes[1].policy.as_str(),
            changes[1].direction
        ),
        ("Operator", "Policies[Uploads]", Direction::Broadening)
    );
    assert_eq!(changes[1].details, ["+ action s3:PutObject"]);
}

/// A document that is an intrinsic (`Fn::If` between two documents) cannot
/// be read: it is one unreadable statement, and any change to it shows, as
/// broadening.
#[test]
fn a_policy_document_written_as_an_intrinsic_is_compared_whole() {
    let document = |prod_actions: &str| {
        one(
            "AWS::IAM::ManagedPolicy",
            json!({"PolicyDocument": {"Fn::If": ["IsProd",
                {"Statement": [{"Effect": "Allow", "Action": prod_actions, "Resource": "*"}]},
                {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
            ]}}),
        )
    };
    assert_eq!(
        diff(document("s3:GetObject"), document("s3:GetObject")).security,
        vec![]
    );
    let changes = diff(document("s3:GetObject"), document("s3:*")).security;
    let added = changes
        .iter()
        .find(|change| change.kind == ValueChange::Added)
        .unwrap_or_else(|| panic!("{changes:#?}"));
    assert_eq!(added.direction, Direction::Broadening);
    assert_eq!(added.details[0], "+ effect Unknown");
    assert!(
        added.details[1].starts_with("+ condition (not analysable) {\"Fn::If\":")
            && added.details[1].contains("s3:*"),
        "{:?}",
        added.details
    );
}

/// A principal chosen by `Fn::If` is shown as written, not taken apart as if
/// `Fn::If` were a kind of principal.
#[test]
fn a_principal_given_by_an_intrinsic_is_shown_as_written() {
    let bucket_policy = |principal: Json| {
        one(
            "AWS::S3::BucketPolicy",
            json!({"Bucket": "upstack-uploads", "PolicyDocument": {"Statement": [{
                "Effect": "Allow", "Principal": principal, "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::upstack-uploads/*"
            }]}}),
        )
    };
    let changes = diff(
        bucket_policy(json!({"Service": "s3.amazonaws.com"})),
        bucket_policy(json!({"Fn::If": ["Public", "*", {"Service": "s3.amazonaws.com"}]})),
    )
    .security;
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].direction, Direction::Broadening);
    assert_eq!(
        changes[0].details,
        [
            "- principal Service:s3.amazonaws.com",
            r#"+ principal {"Fn::If":["Public","*",{"Service":"s3.amazonaws.com"}]}"#,
        ]
    );
}

#[test]
fn a_statement_replaced_by_an_unrelated_one_is_a_removal_and_an_addition() {
    let changes = security(
        json!([{"Effect": "Allow", "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:eu-west-1:111111111111:upstack-jobs"}]),
        json!([{"Effect": "Allow", "Action": "sns:Publish",
                "Resource": "arn:aws:sns:eu-west-1:111111111111:upstack-events"}]),
    );
    let seen: Vec<(ValueChange, Direction)> = changes
        .iter()
        .map(|change| (change.kind, change.direction))
        .collect();
    assert_eq!(
        seen,
        [
            (ValueChange::Removed, Direction::Narrowing),
            (ValueChange::Added, Direction::Broadening)
        ]
    );
}

/// Without a `Sid`, a changed statement is shown beside the new statement it
/// shares the most actions, resources and principals with, wherever that
/// statement is in the new document.
#[test]
fn a_changed_statement_is_paired_with_the_statement_it_shares_most_with() {
    let (uploads, reports) = (
        "arn:aws:s3:::upstack-uploads/*",
        "arn:aws:s3:::upstack-reports/*",
    );
    // The same two resources, another action (listed first), beats the same
    // action on another resource.
    let changes = security(
        json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": [uploads, reports]}]),
        json!([
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": [uploads, reports]},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::upstack-archive/*"}
        ]),
    );
    let kinds: Vec<ValueChange> = changes.iter().map(|change| change.kind).collect();
    assert_eq!(kinds, [ValueChange::Modified, ValueChange::Added]);
    assert_eq!(
        changes[0].details,
        ["- action s3:GetObject", "+ action s3:PutObject"]
    );

    // In a key policy the same principals (listed second) beat a shared
    // action with another principal.
    let role = |name: &str| format!("arn:aws:iam::111111111111:role/{name}");
    let key = |statements: Json| {
        one(
            "AWS::KMS::Key",
            json!({"KeyPolicy": {"Statement": statements}}),
        )
    };
    let users = json!({"AWS": [role("upstack-app"), role("upstack-worker")]});
    let changes = diff(
        key(json!([{"Effect": "Allow", "Principal": users,
                    "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}])),
        key(json!([
            {"Effect": "Allow", "Principal": {"AWS": role("upstack-reader")},
             "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Allow", "Principal": users,
             "Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Resource": "*"}
        ])),
    )
    .security;
    let kinds: Vec<ValueChange> = changes.iter().map(|change| change.kind).collect();
    assert_eq!(kinds, [ValueChange::Modified, ValueChange::Added]);
    assert_eq!(
        changes[0].details,
        ["- action kms:Decrypt", "+ action kms:GenerateDataKey"]
    );
    assert_eq!(
        changes[1].new.as_ref().unwrap().principals,
        [format!("AWS:{}", role("upstack-reader"))]
    );
}

#[test]
fn statements_changed_in_place_are_listed_in_the_policys_order() {
    let changes = security(
        json!([
            allow_on(json!("arn:aws:s3:::upstack-dev-uploads/*")),
            allow_on(json!("arn:aws:s3:::upstack-dev-reports/*"))
        ]),
        json!([
            allow_on(json!("arn:aws:s3:::upstack-prod-uploads/*")),
            allow_on(json!("arn:aws:s3:::upstack-prod-reports/*"))
        ]),
    );
    let shown: Vec<(&str, &str, Direction)> = changes
        .iter()
        .map(|change| {
            (
                change.old.as_ref().unwrap().resources[0].as_str(),
                change.new.as_ref().unwrap().resources[0].as_str(),
                change.direction,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                "arn:aws:s3:::upstack-dev-uploads/*",
                "arn:aws:s3:::upstack-prod-uploads/*",
                Direction::Changed
            ),
            (
                "arn:aws:s3:::upstack-dev-reports/*",
                "arn:aws:s3:::upstack-prod-reports/*",
                Direction::Changed
            ),
        ]
    );
}

/// A role in a trust policy, an ARN in a `Fn::Sub` (also with a space in an
/// S3 key) and a resource named by one segment (a pipeline) swapped for the
/// prod name grant as much: changed, not broadening.
#[test]
fn a_dev_name_swapped_for_the_prod_name_is_changed_wherever_the_arn_is() {
    let trust = |role: &str| {
        json!({"Effect": "Allow", "Action": "sts:AssumeRole",
               "Principal": {"AWS": format!("arn:aws:iam::111111111111:role/{role}")}})
    };
    assert_eq!(
        direction(
            trust("upstack-dev-deployer"),
            trust("upstack-prod-deployer")
        ),
        Direction::Changed
    );
    let sub = |arn: String| allow_on(json!({"Fn::Sub": arn}));
    for key in ["*", "Monthly Reports/*"] {
        assert_eq!(
            direction(
                sub(format!(
                    "arn:${{AWS::Partition}}:s3:::upstack-dev-uploads/{key}"
                )),
                sub(format!(
                    "arn:${{AWS::Partition}}:s3:::upstack-prod-uploads/{key}"
                )),
            ),
            Direction::Changed,
            "{key}"
        );
    }
    let pipeline = |name: &str| {
        json!({"Effect": "Allow", "Action": "codepipeline:StartPipelineExecution",
               "Resource": format!("arn:aws:codepipeline:eu-west-1:111111111111:{name}")})
    };
    assert_eq!(
        direction(
            pipeline("upstack-dev-release"),
            pipeline("upstack-prod-release")
        ),
        Direction::Changed
    );
}

/// `${AWS::Region}` holds colons: the ARN's parts are still told apart
/// around it, so another account after it is seen.
#[test]
fn another_account_after_a_placeholder_in_a_fn_sub_is_broadening() {
    let table = |account: &str, name: &str| {
        json!({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::Sub": format!(
            "arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:{account}:table/{name}"
        )}})
    };
    assert_eq!(
        direction(
            table("111111111111", "upstack-dev-orders"),
            table("111111111111", "upstack-prod-orders")
        ),
        Direction::Changed
    );
    assert_eq!(
        direction(
            table("111111111111", "upstack-orders"),
            table("222222222222", "upstack-orders")
        ),
        Direction::Broadening
    );
}

/// An ARN with parts missing is no name of the same shape, and does not
/// stop the diff.
#[test]
fn a_malformed_arn_in_place_of_a_name_is_broadening() {
    assert_eq!(
        direction(
            allow_on(json!("arn:aws:s3:::upstack-dev-uploads/*")),
            allow_on(json!("arn:aws:s3:upstack-prod-uploads/*"))
        ),
        Direction::Broadening
    );
    assert_eq!(
        direction(
            allow_on(json!("arn:aws:s3:upstack-dev-uploads/*")),
            allow_on(json!("arn:aws:s3:::upstack-prod-uploads/*"))
        ),
        Direction::Broadening
    );
}

/// An ARN assembled by `Fn::Join` (the partition a `Ref`, as generated
/// templates write one) widened from one prefix of a bucket to every bucket
/// is broadening.
#[test]
fn an_arn_built_by_fn_join_widened_to_every_bucket_is_broadening() {
    let joined = |resource: &str| {
        allow_on(json!({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, resource]]}))
    };
    assert_eq!(
        direction(joined(":s3:::upstack-uploads/data/*"), joined(":s3:::*/*")),
        Direction::Broadening
    );
}

#[test]
fn a_condition_moved_to_another_key_or_operator_is_not_a_name_swap() {
    let guarded = |condition: Json| json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": condition});
    let (dev, prod) = (
        "arn:aws:s3:::upstack-dev-uploads",
        "arn:aws:s3:::upstack-prod-uploads",
    );
    // The old key's constraint is gone, whatever the new one holds.
    assert_eq!(
        direction(
            guarded(json!({"StringEquals": {"kms:EncryptionContext:aws:s3:arn": dev}})),
            guarded(json!({"StringEquals": {"aws:SourceArn": prod}}))
        ),
        Direction::Broadening
    );
    assert_eq!(
        direction(
            guarded(json!({"ArnEquals": {"aws:SourceArn": dev}})),
            guarded(json!({"ArnLike": {"aws:SourceArn": prod}}))
        ),
        Direction::Broadening
    );
    // Under the same key and operator it is a swap.
    assert_eq!(
        direction(
            guarded(json!({"ArnLike": {"aws:SourceArn": dev}})),
            guarded(json!({"ArnLike": {"aws:SourceArn": prod}}))
        ),
        Direction::Changed
    );
}

/// Keys are ANDed: a condition on a new key beside an existing one matches
/// fewer requests, a value added to an existing key more.
#[test]
fn a_condition_on_a_new_key_beside_another_is_narrowing() {
    let guarded = |condition: Json| json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": condition});
    let account = json!({"StringEquals": {"aws:SourceAccount": "111111111111"}});
    assert_eq!(
        direction(
            guarded(account.clone()),
            guarded(json!({
                "StringEquals": {"aws:SourceAccount": "111111111111"},
                "ArnLike": {"aws:SourceArn": "arn:aws:s3:::upstack-uploads"}
            }))
        ),
        Direction::Narrowing
    );
    assert_eq!(
        direction(
            guarded(account),
            guarded(
                json!({"StringEquals": {"aws:SourceAccount": ["111111111111", "222222222222"]}})
            )
        ),
        Direction::Broadening
    );
}

/// An ARN only an intrinsic other than a one-string `Fn::Sub` assembles
/// (`Fn::Join`, `Fn::Sub` with a variables map) cannot be read part by
/// part: another account inside one is broadening, never a name swap.
#[test]
fn another_account_inside_fn_join_or_a_fn_sub_map_is_broadening() {
    let root = |account: &str| {
        json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": {"Fn::Join": [
            "", ["arn:", {"Ref": "AWS::Partition"}, format!(":iam::{account}:root")]
        ]}}})
    };
    assert_eq!(
        direction(root("111111111111"), root("222222222222")),
        Direction::Broadening
    );
    let queue = |account: &str| {
        allow_on(json!({"Fn::Join": ["", [
            "arn:aws:sqs:", {"Ref": "AWS::Region"}, format!(":{account}:upstack-jobs")
        ]]}))
    };
    assert_eq!(
        direction(queue("111111111111"), queue("222222222222")),
        Direction::Broadening
    );
    let mapped = |account: &str| {
        allow_on(json!({"Fn::Sub": [
            "arn:aws:sqs:eu-west-1:${Account}:upstack-jobs", {"Account": account}
        ]}))
    };
    assert_eq!(
        direction(mapped("111111111111"), mapped("222222222222")),
        Direction::Broadening
    );
}

/// A bucket policy's principal made conditional, one branch everyone.
#[test]
fn a_principal_that_may_become_everyone_is_broadening_with_a_wildcard() {
    let bucket_policy = |principal: Json| {
        one(
            "AWS::S3::BucketPolicy",
            json!({"Bucket": "upstack-uploads", "PolicyDocument": {"Statement": [{
                "Effect": "Allow", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::upstack-uploads/*", "Principal": principal
            }]}}),
        )
    };
    let changes = diff(
        bucket_policy(json!({"AWS": "arn:aws:iam::111111111111:root"})),
        bucket_policy(
            json!({"Fn::If": ["Public", "*", {"AWS": "arn:aws:iam::111111111111:root"}]}),
        ),
    )
    .security;
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].direction, Direction::Broadening);
    assert!(changes[0].wildcard, "{:#?}", changes[0]);
}

/// An effect an `Fn::If` chooses may be a Deny: fewer actions in it, or
/// the statement gone, may let more through.
#[test]
fn a_statement_whose_effect_is_chosen_by_a_condition_is_judged_to_be_safe() {
    let statement = |actions: Json| {
        json!({"Effect": {"Fn::If": ["Locked", "Deny", "Allow"]}, "Action": actions,
               "Resource": "arn:aws:s3:::upstack-uploads/*"})
    };
    assert_eq!(
        direction(
            statement(json!(["s3:DeleteObject", "s3:PutObject"])),
            statement(json!(["s3:PutObject"]))
        ),
        Direction::Broadening
    );
    let removed = security(
        json!([
            statement(json!("s3:DeleteObject")),
            allow_on(json!("arn:aws:s3:::a/*"))
        ]),
        json!([allow_on(json!("arn:aws:s3:::a/*"))]),
    );
    assert_eq!(removed.len(), 1, "{removed:#?}");
    assert_eq!(removed[0].kind, ValueChange::Removed);
    assert_eq!(removed[0].direction, Direction::Broadening);
}

/// Spaces belong to a resource's name (an S3 key); only a condition line
/// is read as `Operator key value`.
#[test]
fn a_dev_name_swapped_for_prod_in_a_key_with_spaces_is_changed() {
    let sub = |bucket: &str| {
        allow_on(json!({"Fn::Sub": format!(
            "arn:${{AWS::Partition}}:s3:::{bucket}/Q1 Monthly Reports/*"
        )}))
    };
    assert_eq!(
        direction(sub("upstack-dev-uploads"), sub("upstack-prod-uploads")),
        Direction::Changed
    );
}

/// A literal effect turned into one an `Fn::If` chooses (the statement
/// paired by its Sid) may now deny or allow anything: broadening, whatever
/// else stayed.
#[test]
fn an_allow_whose_effect_becomes_conditional_is_broadening() {
    let statement = |effect: Json| {
        json!({"Sid": "Uploads", "Effect": effect, "Action": "s3:PutObject",
               "Resource": "arn:aws:s3:::upstack-uploads/*"})
    };
    assert_eq!(
        direction(
            statement(json!("Allow")),
            statement(json!({"Fn::If": ["Locked", "Deny", "Allow"]}))
        ),
        Direction::Broadening
    );
}

/// Braces without a `$` are a key's own characters, not a placeholder.
#[test]
fn a_dev_name_swapped_for_prod_in_a_key_with_braces_is_changed() {
    let sub =
        |bucket: &str| allow_on(json!({"Fn::Sub": format!("arn:aws:s3:::{bucket}/{{2026}}/*")}));
    assert_eq!(
        direction(sub("upstack-dev-uploads"), sub("upstack-prod-uploads")),
        Direction::Changed
    );
}

/// A `Fn::Sub` string holding a quote is not read part by part (its
/// rendering escapes it): to be safe, a change to it is broadening.
#[test]
fn a_fn_sub_arn_with_a_quote_in_it_is_not_taken_for_a_swap() {
    let sub = |bucket: &str| allow_on(json!({"Fn::Sub": format!("arn:aws:s3:::{bucket}/\"q\"/*")}));
    assert_eq!(
        direction(sub("upstack-dev-uploads"), sub("upstack-prod-uploads")),
        Direction::Broadening
    );
}

/// Under a negated operator a key's values are what it excludes: a deny
/// that excludes one more organisation lets that one through.
#[test]
fn a_value_added_under_a_negated_condition_operator_matches_less() {
    let deny = |orgs: Json| {
        json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*",
               "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": orgs}}})
    };
    assert_eq!(
        direction(deny(json!("o-aaa")), deny(json!(["o-aaa", "o-bbb"]))),
        Direction::Broadening
    );
    let allow = |vpcs: Json| {
        json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
               "Condition": {"StringNotEquals": {"aws:SourceVpc": vpcs}}})
    };
    assert_eq!(
        direction(allow(json!(["vpc-1", "vpc-2"])), allow(json!("vpc-1"))),
        Direction::Broadening
    );
    assert_eq!(
        direction(allow(json!("vpc-1")), allow(json!(["vpc-1", "vpc-2"]))),
        Direction::Narrowing
    );
}

/// Resource for NotResource (or Action for NotAction) matches another set
/// of requests altogether.
#[test]
fn a_field_traded_for_its_not_form_is_broadening() {
    assert_eq!(
        direction(
            json!({"Sid": "S", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}),
            json!({"Sid": "S", "Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/secret/*"})
        ),
        Direction::Broadening
    );
    assert_eq!(
        direction(
            json!({"Sid": "S", "Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}),
            json!({"Sid": "S", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})
        ),
        Direction::Broadening
    );
}

/// A wildcard in a name is a swap only as narrow as before.
#[test]
fn a_name_pattern_widened_is_broadening_not_a_swap() {
    assert_eq!(
        direction(
            allow_on(json!("arn:aws:s3:::upstack-dev-*/*")),
            allow_on(json!("arn:aws:s3:::upstack-prod-*/*"))
        ),
        Direction::Changed
    );
    for wider in [
        "arn:aws:s3:::*/*",
        "arn:aws:s3:::u*/*",
        "arn:aws:s3:::upstack-???-uploads/*",
    ] {
        assert_eq!(
            direction(
                allow_on(json!("arn:aws:s3:::upstack-dev-*/*")),
                allow_on(json!(wider))
            ),
            Direction::Broadening,
            "{wider}"
        );
    }
    assert_eq!(
        direction(
            allow_on(json!("arn:aws:s3:::upstack-dev-uploads/*")),
            allow_on(json!("arn:aws:s3:::upstack-???-uploads/*"))
        ),
        Direction::Broadening
    );
}

/// A deny whose name is swapped no longer protects the old one.
#[test]
fn a_deny_with_a_swapped_name_is_broadening() {
    let deny = |bucket: &str| {
        json!({"Effect": "Deny", "Action": "s3:DeleteObject",
               "Resource": format!("arn:aws:s3:::{bucket}/*")})
    };
    assert_eq!(
        direction(deny("upstack-prod-data"), deny("upstack-prod-logs")),
        Direction::Broadening
    );
}
