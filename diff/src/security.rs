//! IAM statement changes across every resource that carries a policy.
//!
//! Statements are normalised (single strings become lists, lists are sorted
//! and deduplicated, intrinsics become compact JSON) so reordering or
//! restyling a policy is not reported. Old and new statements are paired by
//! exact match, then by `Sid`, then by overlap; the rest are added or removed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;
use upstack_cfn::json::Canonical;

use crate::model::{Direction, SecurityChange, StatementView, ValueChange};

/// A resource's policy-bearing parts: label -> statements, plus attachment
/// lists (managed policy ARNs, roles a policy is attached to).
#[derive(Default)]
struct Policies {
    documents: BTreeMap<String, Vec<StatementView>>,
    attachments: BTreeMap<String, BTreeSet<String>>,
}

pub(crate) fn diff_resource(
    logical_id: &str,
    old: Option<(&str, Option<&Json>)>,
    new: Option<(&str, Option<&Json>)>,
) -> Vec<SecurityChange> {
    let resource_type = new
        .or(old)
        .map(|(type_name, _)| type_name)
        .unwrap_or_default();
    let old_policies = old
        .map(|(type_name, props)| extract(type_name, props))
        .unwrap_or_default();
    let new_policies = new
        .map(|(type_name, props)| extract(type_name, props))
        .unwrap_or_default();
    let mut changes = Vec::new();

    let labels: BTreeSet<&String> = old_policies
        .documents
        .keys()
        .chain(new_policies.documents.keys())
        .collect();
    for label in labels {
        let empty = Vec::new();
        let before = old_policies.documents.get(label).unwrap_or(&empty);
        let after = new_policies.documents.get(label).unwrap_or(&empty);
        for (old_statement, new_statement) in pair_statements(before, after) {
            if let Some(mut change) = compare(old_statement, new_statement) {
                change.logical_id = logical_id.to_owned();
                change.resource_type = resource_type.to_owned();
                change.policy = label.clone();
                changes.push(change);
            }
        }
    }

    let labels: BTreeSet<&String> = old_policies
        .attachments
        .keys()
        .chain(new_policies.attachments.keys())
        .collect();
    for label in labels {
        let empty = BTreeSet::new();
        let before = old_policies.attachments.get(label).unwrap_or(&empty);
        let after = new_policies.attachments.get(label).unwrap_or(&empty);
        for (item, kind, direction, sign) in before
            .difference(after)
            .map(|item| (item, ValueChange::Removed, Direction::Narrowing, '-'))
            .chain(
                after
                    .difference(before)
                    .map(|item| (item, ValueChange::Added, Direction::Broadening, '+')),
            )
        {
            changes.push(SecurityChange {
                logical_id: logical_id.to_owned(),
                resource_type: resource_type.to_owned(),
                policy: label.clone(),
                kind,
                direction,
                old: None,
                new: None,
                details: vec![format!("{sign} {} {item}", attachment_noun(label))],
                wildcard: false,
            });
        }
    }
    changes
}

fn attachment_noun(label: &str) -> &'static str {
    match label {
        "ManagedPolicyArns" => "managed policy",
        "Roles" => "attached to role",
        "Users" => "attached to user",
        "Groups" => "attached to group",
        _ => "attachment",
    }
}

/// The policies a resource type carries, by CloudFormation property.
fn extract(type_name: &str, properties: Option<&Json>) -> Policies {
    let mut policies = Policies::default();
    let Some(properties) = properties else {
        return policies;
    };
    let mut document = |label: &str, key: &str| {
        if let Some(value) = properties.get(key) {
            policies
                .documents
                .insert(label.to_owned(), statements(value));
        }
    };
    match type_name {
        "AWS::IAM::Role" => {
            document("AssumeRolePolicyDocument", "AssumeRolePolicyDocument");
            if let Some(inline) = properties.get("Policies").and_then(Json::as_array) {
                for (index, policy) in inline.iter().enumerate() {
                    let name = policy.get("PolicyName").map_or_else(
                        || index.to_string(),
                        |name| {
                            name.as_str()
                                .map_or_else(|| Canonical(name).to_string(), str::to_owned)
                        },
                    );
                    if let Some(value) = policy.get("PolicyDocument") {
                        policies
                            .documents
                            .insert(format!("Policies[{name}]"), statements(value));
                    }
                }
            }
            attachments(&mut policies, properties, "ManagedPolicyArns");
        }
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
            document("PolicyDocument", "PolicyDocument");
            for key in ["Roles", "Users", "Groups"] {
                attachments(&mut policies, properties, key);
            }
        }
        "AWS::IAM::User" | "AWS::IAM::Group" => {
            if let Some(inline) = properties.get("Policies").and_then(Json::as_array) {
                for (index, policy) in inline.iter().enumerate() {
                    let name = policy
                        .get("PolicyName")
                        .and_then(Json::as_str)
                        .map_or_else(|| index.to_string(), str::to_owned);
                    if let Some(value) = policy.get("PolicyDocument") {
                        policies
                            .documents
                            .insert(format!("Policies[{name}]"), statements(value));
                    }
                }
            }
            attachments(&mut policies, properties, "ManagedPolicyArns");
        }
        "AWS::KMS::Key" => document("KeyPolicy", "KeyPolicy"),
        "AWS::S3::BucketPolicy" | "AWS::SNS::TopicPolicy" | "AWS::SQS::QueuePolicy" => {
            document("PolicyDocument", "PolicyDocument");
        }
        "AWS::Lambda::Permission" => {
            policies
                .documents
                .insert("Permission".to_owned(), vec![lambda_permission(properties)]);
        }
        _ => {}
    }
    policies
}

fn attachments(policies: &mut Policies, properties: &Json, key: &str) {
    if let Some(list) = properties.get(key) {
        policies
            .attachments
            .insert(key.to_owned(), strings(Some(list)).into_iter().collect());
    }
}

/// A `AWS::Lambda::Permission` is one resource-policy statement on the
/// function; express it as one so it is compared like the others:
/// https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
fn lambda_permission(properties: &Json) -> StatementView {
    let principal = properties.get("Principal").map(render).map(|principal| {
        if principal == "*" {
            principal
        } else if principal.ends_with(".amazonaws.com") {
            format!("Service:{principal}")
        } else {
            format!("AWS:{principal}")
        }
    });
    let mut conditions = Vec::new();
    for (key, operator, condition_key) in [
        ("SourceArn", "ArnLike", "AWS:SourceArn"),
        ("SourceAccount", "StringEquals", "AWS:SourceAccount"),
        ("PrincipalOrgID", "StringEquals", "aws:PrincipalOrgID"),
        (
            "FunctionUrlAuthType",
            "StringEquals",
            "lambda:FunctionUrlAuthType",
        ),
        (
            "EventSourceToken",
            "StringEquals",
            "lambda:EventSourceToken",
        ),
    ] {
        if let Some(value) = properties.get(key) {
            conditions.push(format!("{operator} {condition_key} {}", render(value)));
        }
    }
    conditions.sort();
    StatementView {
        sid: None,
        effect: "Allow".to_owned(),
        principals: principal.into_iter().collect(),
        actions: strings(properties.get("Action")),
        resources: strings(properties.get("FunctionName")),
        conditions,
        ..StatementView::default()
    }
}

/// A compact, stable rendering of a policy value: plain strings as they
/// are, anything else (intrinsics) as compact JSON.
fn render(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => Canonical(other).to_string(),
    }
}

/// `"a"`, `["b", "a"]` -> sorted, deduplicated list.
fn strings(value: Option<&Json>) -> Vec<String> {
    let set: BTreeSet<String> = match value {
        None | Some(Json::Null) => BTreeSet::new(),
        Some(Json::Array(items)) => items.iter().map(render).collect(),
        Some(other) => BTreeSet::from([render(other)]),
    };
    set.into_iter().collect()
}

/// Statements of a policy document. A document given as a JSON string (IAM
/// accepts both) is parsed; one that is an intrinsic (e.g. `Fn::If`) cannot
/// be analysed and becomes one opaque statement, so any change to it shows.
fn statements(document: &Json) -> Vec<StatementView> {
    let parsed;
    let document = match document {
        Json::String(text) => match serde_json::from_str::<Json>(text) {
            Ok(value) => {
                parsed = value;
                &parsed
            }
            Err(_) => return vec![opaque(document)],
        },
        other => other,
    };
    match document.get("Statement") {
        Some(Json::Array(items)) => items.iter().map(statement).collect(),
        Some(single @ Json::Object(_)) => vec![statement(single)],
        _ => vec![opaque(document)],
    }
}

fn opaque(document: &Json) -> StatementView {
    StatementView {
        effect: "Unknown".to_owned(),
        conditions: vec![format!("(not analysable) {}", Canonical(document))],
        ..StatementView::default()
    }
}

fn statement(value: &Json) -> StatementView {
    if crate::opaque::is_opaque(value) || !value.is_object() {
        return opaque(value);
    }
    StatementView {
        sid: value.get("Sid").map(render),
        // Only a literal "Allow" or "Deny" is read as one; anything else (an
        // `Fn::If` choosing between them, a misspelling) is shown as written
        // and judged as unanalysable ([`is_analysable_effect`]).
        effect: value
            .get("Effect")
            .map_or_else(|| "Allow".to_owned(), render),
        principals: principals(value.get("Principal")),
        not_principals: principals(value.get("NotPrincipal")),
        actions: strings(value.get("Action")),
        not_actions: strings(value.get("NotAction")),
        resources: strings(value.get("Resource")),
        not_resources: strings(value.get("NotResource")),
        conditions: conditions(value.get("Condition")),
    }
}

/// `"*"` -> `*`; `{"AWS": [...], "Service": "x"}` -> `AWS:...`, `Service:x`.
fn principals(value: Option<&Json>) -> Vec<String> {
    let mut out = BTreeSet::new();
    match value {
        None => {}
        Some(object @ Json::Object(map)) if !crate::opaque::is_opaque(object) => {
            for (kind, ids) in map {
                for id in strings(Some(ids)) {
                    out.insert(format!("{kind}:{id}"));
                }
            }
        }
        Some(other) => {
            out.insert(render(other));
        }
    }
    out.into_iter().collect()
}

/// `{"StringEquals": {"aws:SourceAccount": ["1", "2"]}}` -> one line per value.
fn conditions(value: Option<&Json>) -> Vec<String> {
    let mut out = BTreeSet::new();
    match value {
        None => {}
        Some(Json::Object(operators)) => {
            for (operator, keys) in operators {
                match keys.as_object() {
                    Some(keys) => {
                        for (key, values) in keys {
                            for value in strings(Some(values)) {
                                out.insert(format!("{operator} {key} {value}"));
                            }
                        }
                    }
                    None => {
                        out.insert(format!("{operator} {}", render(keys)));
                    }
                }
            }
        }
        Some(other) => {
            out.insert(render(other));
        }
    }
    out.into_iter().collect()
}

/// Pairs old and new statements: exact matches (dropped, nothing changed),
/// then same `Sid`, then the most overlapping statement of the same effect.
fn pair_statements<'a>(
    old: &'a [StatementView],
    new: &'a [StatementView],
) -> Vec<(Option<&'a StatementView>, Option<&'a StatementView>)> {
    let mut old_left: Vec<Option<&StatementView>> = old.iter().map(Some).collect();
    let mut new_left: Vec<Option<&StatementView>> = new.iter().map(Some).collect();
    let mut pairs = Vec::new();

    for slot in old_left.iter_mut() {
        if let Some(statement) = *slot
            && let Some(found) = new_left
                .iter_mut()
                .find(|candidate| **candidate == Some(statement))
        {
            *found = None;
            *slot = None;
        }
    }
    for slot in old_left.iter_mut() {
        if let Some(statement) = *slot
            && statement.sid.is_some()
            && let Some(found) = new_left
                .iter_mut()
                .find(|candidate| candidate.is_some_and(|c| c.sid == statement.sid))
        {
            pairs.push((Some(statement), found.take()));
            *slot = None;
        }
    }
    loop {
        let mut best: Option<(usize, usize, usize)> = None;
        for (i, a) in old_left.iter().enumerate() {
            let Some(a) = a else { continue };
            for (j, b) in new_left.iter().enumerate() {
                let Some(b) = b else { continue };
                if a.effect != b.effect {
                    continue;
                }
                let score = overlap(&a.actions, &b.actions)
                    + overlap(&a.resources, &b.resources)
                    + overlap(&a.principals, &b.principals)
                    + overlap(&a.not_actions, &b.not_actions);
                if score > 0 && best.is_none_or(|(_, _, s)| score > s) {
                    best = Some((i, j, score));
                }
            }
        }
        let Some((i, j, _)) = best else { break };
        pairs.push((old_left[i].take(), new_left[j].take()));
    }
    pairs.extend(
        old_left
            .into_iter()
            .flatten()
            .map(|statement| (Some(statement), None)),
    );
    pairs.extend(
        new_left
            .into_iter()
            .flatten()
            .map(|statement| (None, Some(statement))),
    );
    pairs
}

fn overlap(a: &[String], b: &[String]) -> usize {
    a.iter().filter(|item| b.contains(item)).count()
}

/// Lines describing a whole statement, each prefixed with `sign`.
fn describe(statement: &StatementView, sign: char) -> Vec<String> {
    let mut lines = vec![format!("{sign} effect {}", statement.effect)];
    for (noun, items) in fields(statement) {
        lines.extend(items.iter().map(|item| format!("{sign} {noun} {item}")));
    }
    lines
}

fn fields(statement: &StatementView) -> [(&'static str, &Vec<String>); 7] {
    [
        ("principal", &statement.principals),
        ("not-principal", &statement.not_principals),
        ("action", &statement.actions),
        ("not-action", &statement.not_actions),
        ("resource", &statement.resources),
        ("not-resource", &statement.not_resources),
        ("condition", &statement.conditions),
    ]
}

fn has_wildcard(items: &[String]) -> bool {
    items.iter().any(|item| item.contains('*'))
}

fn compare(old: Option<&StatementView>, new: Option<&StatementView>) -> Option<SecurityChange> {
    let template = |kind, direction, details, wildcard| SecurityChange {
        logical_id: String::new(),
        resource_type: String::new(),
        policy: String::new(),
        kind,
        direction,
        old: old.cloned(),
        new: new.cloned(),
        details,
        wildcard,
    };
    match (old, new) {
        (None, None) => None,
        (None, Some(added)) => {
            let direction = if added.effect == "Deny" {
                Direction::Narrowing
            } else {
                Direction::Broadening
            };
            let wildcard = direction == Direction::Broadening
                && (has_wildcard(&added.actions)
                    || has_wildcard(&added.resources)
                    || has_wildcard(&added.principals));
            Some(template(
                ValueChange::Added,
                direction,
                describe(added, '+'),
                wildcard,
            ))
        }
        (Some(removed), None) => {
            // Removing a deny, or a statement that may be one, lets more through.
            let direction = if removed.effect == "Allow" {
                Direction::Narrowing
            } else {
                Direction::Broadening
            };
            Some(template(
                ValueChange::Removed,
                direction,
                describe(removed, '-'),
                false,
            ))
        }
        (Some(before), Some(after)) => {
            let mut details = Vec::new();
            // What the change does to the set of requests the statement matches.
            let mut matches_more = false;
            let mut matches_less = false;
            let mut wildcard = false;
            // A name swapped for one of the same shape somewhere.
            let mut swapped = false;
            if before.effect != after.effect {
                details.push(format!("~ effect {} -> {}", before.effect, after.effect));
            }
            for ((noun, old_items), (_, new_items)) in fields(before).into_iter().zip(fields(after))
            {
                let added: Vec<&String> = new_items
                    .iter()
                    .filter(|item| !old_items.contains(item))
                    .collect();
                let removed: Vec<&String> = old_items
                    .iter()
                    .filter(|item| !new_items.contains(item))
                    .collect();
                details.extend(removed.iter().map(|item| format!("- {noun} {item}")));
                details.extend(added.iter().map(|item| format!("+ {noun} {item}")));
                match noun {
                    "condition" => {
                        // Values of one condition key are ORed, keys and operators ANDed:
                        // a value added to an existing key matches more, a new key matches less.
                        // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
                        let old_keys: BTreeSet<&str> =
                            old_items.iter().map(|line| condition_key(line)).collect();
                        let new_keys: BTreeSet<&str> =
                            new_items.iter().map(|line| condition_key(line)).collect();
                        // A value swapped for one of the same shape under the
                        // same key (a dev ARN for a prod one) matches as much.
                        let (unswapped_added, unswapped_removed) =
                            unswapped(&added, &removed, true);
                        swapped |= unswapped_added.len() < added.len();
                        // Under a negated operator (StringNotEquals, NotIpAddress,
                        // ...) a key's values are the ones it excludes: one more
                        // value matches less, one fewer matches more.
                        for line in &unswapped_added {
                            if !old_keys.contains(condition_key(line)) || negated(line) {
                                matches_less = true;
                            } else {
                                matches_more = true;
                            }
                        }
                        for line in &unswapped_removed {
                            if !new_keys.contains(condition_key(line)) || negated(line) {
                                matches_more = true;
                            } else {
                                matches_less = true;
                            }
                        }
                    }
                    "not-principal" | "not-action" | "not-resource" => {
                        matches_less |= !added.is_empty();
                        matches_more |= !removed.is_empty();
                    }
                    _ => {
                        // A name swapped for one of the same shape (a dev ARN
                        // for a prod one) grants as much: neither more nor less.
                        let (unswapped_added, removed) = unswapped(&added, &removed, false);
                        swapped |= unswapped_added.len() < added.len();
                        let added = unswapped_added;
                        matches_more |= !added.is_empty();
                        matches_less |= !removed.is_empty();
                        // Only a wildcard where the field had none is news; `/data/*` -> `/*` is
                        // reported as a changed resource.
                        wildcard |= added.iter().any(|item| item.contains('*'))
                            && !removed.iter().any(|item| item.contains('*'))
                            && !old_items.iter().any(|item| item == "*");
                    }
                }
            }
            if details.is_empty() {
                // Only the Sid differs: no change in what is granted.
                return None;
            }
            // A field traded for its `Not` form (Resource for NotResource, ...)
            // matches another set of requests altogether, more and less.
            let empty_fields = |statement: &StatementView| {
                [
                    statement.principals.is_empty(),
                    statement.not_principals.is_empty(),
                    statement.actions.is_empty(),
                    statement.not_actions.is_empty(),
                    statement.resources.is_empty(),
                    statement.not_resources.is_empty(),
                ]
            };
            if empty_fields(before) != empty_fields(after) {
                matches_more = true;
                matches_less = true;
            }
            let swapped_only = !matches_more && !matches_less && before.effect == after.effect;
            let broadening = match (before.effect.as_str(), after.effect.as_str()) {
                // An unanalysable statement (an effect that is not a literal
                // Allow or Deny, an opaque document) may grant anything: a
                // change to or from one is treated as broadening to be safe.
                (before, after)
                    if !is_analysable_effect(before) || !is_analysable_effect(after) =>
                {
                    true
                }
                // A deny matching fewer requests lets through what it used to
                // block; one whose names were swapped no longer blocks the old.
                ("Deny", "Deny") => matches_less || swapped,
                ("Deny", _) => true,
                (_, "Deny") => false,
                // An allow matching more grants more.
                _ => matches_more,
            };
            let direction = if broadening {
                Direction::Broadening
            } else if swapped_only {
                Direction::Changed
            } else {
                Direction::Narrowing
            };
            Some(template(
                ValueChange::Modified,
                direction,
                details,
                wildcard && broadening,
            ))
        }
    }
}

/// `added` and `removed` without the pairs that are one name swapped for
/// another of the same shape ([`same_shape`]): what is left is what the
/// change really adds and removes.
fn unswapped<'a>(
    added: &[&'a String],
    removed: &[&'a String],
    conditions: bool,
) -> (Vec<&'a String>, Vec<&'a String>) {
    let mut added: Vec<&String> = added.to_vec();
    let mut removed: Vec<&String> = removed.to_vec();
    let mut index = 0;
    while index < added.len() {
        match removed
            .iter()
            .position(|old| same_shape(old, added[index], conditions))
        {
            Some(pair) => {
                removed.remove(pair);
                added.remove(index);
            }
            None => index += 1,
        }
    }
    (added, removed)
}

/// Whether `new` names the same kind of thing as `old` in the same place,
/// only with other names: for ARNs (also inside a rendered `Fn::Sub` or a
/// condition line) the same partition, service, region and account, a
/// resource part with as many segments, the same resource type for services
/// whose ARNs name one (S3, SNS and SQS name only the resource), and a `*`
/// only in segments that had one; for anything else, only equal text. An
/// account that differs grants to another account: not the same shape.
/// With `conditions`, the items are condition lines (`Operator key value`):
/// the same operator and key, then the values compared.
fn same_shape(old: &str, new: &str, conditions: bool) -> bool {
    let ((old_prefix, old_value), (new_prefix, new_value)) = if conditions {
        (split_condition(old), split_condition(new))
    } else {
        (("", old), ("", new))
    };
    if old_prefix != new_prefix {
        return false;
    }
    let (Some(old_arn), Some(new_arn)) = (arn_of(old_value), arn_of(new_value)) else {
        return false;
    };
    let (old_arn, new_arn) = (without_placeholders(old_arn), without_placeholders(new_arn));
    let old_parts: Vec<&str> = old_arn.splitn(6, ':').collect();
    let new_parts: Vec<&str> = new_arn.splitn(6, ':').collect();
    if old_parts.len() != 6 || new_parts.len() != 6 || old_parts[..5] != new_parts[..5] {
        return false;
    }
    let segments =
        |resource: &str| -> Vec<String> { resource.split(['/', ':']).map(str::to_owned).collect() };
    let (old_segments, new_segments) = (segments(old_parts[5]), segments(new_parts[5]));
    if old_segments.len() != new_segments.len() {
        return false;
    }
    let untyped = matches!(old_parts[2], "s3" | "sns" | "sqs");
    if !untyped && old_segments.len() > 1 && old_segments[0] != new_segments[0] {
        return false;
    }
    // A wildcard only where one was, and no wider: `upstack-dev-*` to
    // `upstack-prod-*` is a swap, to `*` or `u*` it is not.
    let wildcards = |segment: &str| segment.chars().filter(|c| matches!(c, '*' | '?')).count();
    old_segments.iter().zip(&new_segments).all(|(old, new)| {
        wildcards(new) == 0
            || (wildcards(old) > 0
                && wildcards(new) <= wildcards(old)
                && new.len() - wildcards(new) >= old.len() - wildcards(old))
    })
}

/// Whether a condition line's operator excludes its values (`StringNotEquals`,
/// `ArnNotLike`, `NotIpAddress`, with or without `ForAllValues:` /
/// `ForAnyValue:` and `IfExists`).
fn negated(line: &str) -> bool {
    let operator = line.split(' ').next().unwrap_or_default();
    let operator = operator
        .strip_prefix("ForAllValues:")
        .or_else(|| operator.strip_prefix("ForAnyValue:"))
        .unwrap_or(operator);
    operator.contains("Not")
}

/// An ARN with each `${...}` placeholder of a `Fn::Sub` made one token
/// without colons (`${AWS::Region}` -> `${AWS.Region}`), so it splits into
/// the ARN's parts.
fn without_placeholders(arn: &str) -> String {
    let mut out = String::with_capacity(arn.len());
    let mut depth = 0usize;
    let mut chars = arn.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek() == Some(&'{') {
            depth += 1;
        } else if c == '}' && depth > 0 {
            depth -= 1;
        }
        out.push(if c == ':' && depth > 0 { '.' } else { c });
    }
    out
}

/// A condition line `Operator key value` as (`Operator key`, `value`).
fn split_condition(line: &str) -> (&str, &str) {
    let key = condition_key(line);
    (key, line[key.len()..].trim_start())
}

/// The ARN an item names, when it names one exactly: the item itself, a
/// principal's `AWS:arn:...`, or a rendered `Fn::Sub` of one string
/// (`{"Fn::Sub":"arn:..."}`, its `${...}` placeholders kept). Any other
/// intrinsic (`Fn::Join`, a `Fn::Sub` with a variables map, `Fn::If`, ...)
/// names none that can be read here: its pieces are not an ARN's parts (an
/// account inside a `Fn::Join` would be compared as part of the resource),
/// so it is never taken for a same-shape swap.
fn arn_of(item: &str) -> Option<&str> {
    let item = item.strip_prefix("AWS:").unwrap_or(item);
    if item.starts_with("arn:") {
        return Some(item);
    }
    let sub = item.strip_prefix("{\"Fn::Sub\":\"")?.strip_suffix("\"}")?;
    (sub.starts_with("arn:") && !sub.contains('"')).then_some(sub)
}

/// A statement effect this analysis can reason about.
fn is_analysable_effect(effect: &str) -> bool {
    matches!(effect, "Allow" | "Deny")
}

/// `StringEquals aws:SourceAccount 123` -> `StringEquals aws:SourceAccount`.
fn condition_key(line: &str) -> &str {
    let mut spaces = line.match_indices(' ').map(|(index, _)| index);
    let _operator_end = spaces.next();
    match spaces.next() {
        Some(end) => &line[..end],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(resource: &str, condition: Option<&str>) -> Json {
        let mut statement = serde_json::json!({
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": resource
        });
        if let Some(arn) = condition {
            statement["Condition"] = serde_json::json!({"ArnLike": {"aws:SourceArn": arn}});
        }
        serde_json::json!({"PolicyDocument": {"Statement": [statement]}})
    }

    fn direction(old: &Json, new: &Json) -> Direction {
        let changes = diff_resource(
            "Policy",
            Some(("AWS::IAM::ManagedPolicy", Some(old))),
            Some(("AWS::IAM::ManagedPolicy", Some(new))),
        );
        assert_eq!(changes.len(), 1, "{changes:#?}");
        changes[0].direction
    }

    #[test]
    fn a_name_swapped_for_one_of_the_same_shape_is_changed_not_broadening() {
        let dev = role("arn:aws:s3:::upstack-dev-uploads/*", None);
        let prod = role("arn:aws:s3:::upstack-prod-uploads/*", None);
        assert_eq!(direction(&dev, &prod), Direction::Changed);
        // In a rendered Fn::Sub, and as a condition value, too.
        let dev = role(
            "*",
            Some("arn:${AWS::Partition}:s3:::upstack-dev-uploads-${AWS::AccountId}"),
        );
        let prod = role(
            "*",
            Some("arn:${AWS::Partition}:s3:::upstack-prod-uploads-${AWS::AccountId}"),
        );
        assert_eq!(direction(&dev, &prod), Direction::Changed);
    }

    #[test]
    fn another_account_service_type_or_a_new_wildcard_is_broadening() {
        let table = |arn: &str| {
            serde_json::json!({"PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": arn}
            ]}})
        };
        let ours = table("arn:aws:dynamodb:eu-west-1:111111111111:table/orders");
        for wider in [
            // Another account.
            "arn:aws:dynamodb:eu-west-1:222222222222:table/orders",
            // Another region.
            "arn:aws:dynamodb:us-east-1:111111111111:table/orders",
            // Another resource type of the service.
            "arn:aws:dynamodb:eu-west-1:111111111111:global-table/orders",
            // A wildcard where there was none.
            "arn:aws:dynamodb:eu-west-1:111111111111:table/*",
        ] {
            assert_eq!(
                direction(&ours, &table(wider)),
                Direction::Broadening,
                "{wider}"
            );
        }
        // A second resource besides the first grants more too.
        let both = serde_json::json!({"PolicyDocument": {"Statement": [{
            "Effect": "Allow", "Action": "dynamodb:GetItem",
            "Resource": ["arn:aws:dynamodb:eu-west-1:111111111111:table/orders",
                         "arn:aws:dynamodb:eu-west-1:111111111111:table/refunds"]
        }]}});
        assert_eq!(direction(&ours, &both), Direction::Broadening);
    }

    #[test]
    fn a_removed_condition_is_broadening_even_beside_a_swap() {
        let guarded = role(
            "arn:aws:s3:::upstack-dev-uploads/*",
            Some("arn:aws:s3:::upstack-dev-uploads"),
        );
        let open = role("arn:aws:s3:::upstack-prod-uploads/*", None);
        assert_eq!(direction(&guarded, &open), Direction::Broadening);
    }

    fn document(statements: Json) -> Json {
        serde_json::json!({"PolicyDocument": {"Statement": statements}})
    }

    /// A statement's effect decides which way a change goes before what it
    /// matches: a deny turned allow lets through what it blocked.
    #[test]
    fn an_effect_flip_is_judged_by_what_it_now_lets_through() {
        let statement = |effect: &str, actions: Json| {
            document(serde_json::json!([{
                "Sid": "Uploads", "Effect": effect, "Action": actions,
                "Resource": "arn:aws:s3:::upstack-dev-uploads/*"
            }]))
        };
        let deny = statement("Deny", serde_json::json!("s3:PutObject"));
        let allow = statement("Allow", serde_json::json!("s3:PutObject"));
        assert_eq!(direction(&deny, &allow), Direction::Broadening);
        // An allow turned deny blocks, whatever it now names.
        let deny_more = statement("Deny", serde_json::json!(["s3:PutObject", "s3:GetObject"]));
        assert_eq!(direction(&allow, &deny_more), Direction::Narrowing);
    }

    /// A statement this version cannot read (an intrinsic in its place) may
    /// grant anything: broadening, to be safe.
    #[test]
    fn a_statement_that_cannot_be_read_is_broadening() {
        let plain = document(serde_json::json!([{
            "Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::upstack-dev-uploads/*"
        }]));
        let opaque = document(serde_json::json!([
            {"Fn::If": ["Prod", {"Sid": "Read", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                        {"Ref": "AWS::NoValue"}]}
        ]));
        let changes = diff_resource(
            "Policy",
            Some(("AWS::IAM::ManagedPolicy", Some(&plain))),
            Some(("AWS::IAM::ManagedPolicy", Some(&opaque))),
        );
        let added = changes
            .iter()
            .find(|change| change.kind == ValueChange::Added)
            .unwrap();
        assert_eq!(added.direction, Direction::Broadening);
        assert_eq!(added.new.as_ref().unwrap().effect, "Unknown");
    }

    /// A new allow with a wildcard in any of actions, resources or
    /// principals is flagged as a wildcard.
    #[test]
    fn an_added_statement_with_any_wildcard_is_flagged() {
        let empty = document(serde_json::json!([]));
        for (actions, resource) in [("s3:*", "arn:aws:s3:::b/k"), ("s3:GetObject", "*")] {
            let added = document(serde_json::json!([{
                "Effect": "Allow", "Action": actions, "Resource": resource
            }]));
            let changes = diff_resource(
                "Policy",
                Some(("AWS::IAM::ManagedPolicy", Some(&empty))),
                Some(("AWS::IAM::ManagedPolicy", Some(&added))),
            );
            assert!(changes[0].wildcard, "{actions} on {resource}");
        }
        let narrow = document(serde_json::json!([{
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/k"
        }]));
        let changes = diff_resource(
            "Policy",
            Some(("AWS::IAM::ManagedPolicy", Some(&empty))),
            Some(("AWS::IAM::ManagedPolicy", Some(&narrow))),
        );
        assert!(!changes[0].wildcard);
    }
}
