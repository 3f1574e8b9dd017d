//! A role's permissions as they are collected, and their packing into as
//! few managed policies as IAM's size limits allow.

use std::collections::{BTreeMap, BTreeSet};

use upstack_cfn::{PolicyDocument, Statement, Value};

use super::target::Scope;
use super::{CiIdentityError, MAX_MANAGED_POLICY_CHARS, MAX_POLICIES_PER_ROLE, RoleKind};

/// A role's permissions while they are collected: (resources, conditions)
/// -> (the first scope's label, actions). Scopes that only differ in label
/// share one statement.
#[derive(Debug, Default)]
pub(super) struct Grants {
    pub(super) by_scope: BTreeMap<ScopeKey, (String, BTreeSet<String>)>,
}

type ScopeKey = (Vec<String>, Vec<(String, String, Vec<String>)>);

impl Grants {
    pub(super) fn grant(&mut self, action: &str, scope: Scope) {
        self.by_scope
            .entry((scope.resources, scope.conditions))
            .or_insert_with(|| (scope.label, BTreeSet::new()))
            .1
            .insert(action.to_owned());
    }

    pub(super) fn grant_on(&mut self, actions: &[&str], label: &str, resources: Vec<String>) {
        let mut resources = resources;
        resources.sort();
        for action in actions {
            self.grant(
                action,
                Scope {
                    resources: resources.clone(),
                    conditions: Vec::new(),
                    label: label.to_owned(),
                },
            );
        }
    }

    pub(super) fn grant_when(
        &mut self,
        actions: &[&str],
        label: &str,
        resources: Vec<String>,
        conditions: Vec<(&str, &str, Vec<String>)>,
    ) {
        let mut resources = resources;
        resources.sort();
        let mut conditions: Vec<(String, String, Vec<String>)> = conditions
            .into_iter()
            .map(|(op, key, values)| (op.to_owned(), key.to_owned(), values))
            .collect();
        conditions.sort();
        for action in actions {
            self.grant(
                action,
                Scope {
                    resources: resources.clone(),
                    conditions: conditions.clone(),
                    label: label.to_owned(),
                },
            );
        }
    }

    pub(super) fn extend(&mut self, other: &Grants) {
        for ((resources, conditions), (label, actions)) in &other.by_scope {
            for action in actions {
                self.grant(
                    action,
                    Scope {
                        resources: resources.clone(),
                        conditions: conditions.clone(),
                        label: label.clone(),
                    },
                );
            }
        }
    }

    /// One statement per scope, with a unique Sid, in a stable order.
    pub(super) fn statements(&self) -> Vec<Statement> {
        let mut used: BTreeMap<String, usize> = BTreeMap::new();
        let mut statements = Vec::new();
        for ((resources, conditions), (label, actions)) in &self.by_scope {
            let count = used.entry(label.clone()).or_default();
            *count += 1;
            let sid = if *count == 1 {
                label.clone()
            } else {
                format!("{label}{count}")
            };
            let mut statement = Statement::allow()
                .sid(sid)
                .actions(actions.iter().cloned())
                .resources(resources.iter().map(|arn| Value::Lit(arn.clone())));
            for (operator, key, values) in conditions {
                statement = statement.condition(
                    operator,
                    key,
                    values.iter().map(|v| Value::Lit(v.clone())),
                );
            }
            statements.push(statement);
        }
        statements
    }
}

/// Compact JSON length: IAM's size limits ignore whitespace.
fn chars<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_string(value).map_or(usize::MAX, |text| text.len())
}

/// Packs statements into as few managed policies as fit the size limit.
pub(super) fn pack(
    role: RoleKind,
    statements: Vec<Statement>,
) -> Result<Vec<PolicyDocument>, CiIdentityError> {
    let mut documents: Vec<PolicyDocument> = Vec::new();
    let mut current = PolicyDocument::default();
    for statement in statements {
        let size = chars(&statement);
        if chars(&PolicyDocument::new([statement.clone()])) > MAX_MANAGED_POLICY_CHARS {
            return Err(CiIdentityError::StatementTooLarge {
                role: role.word().to_owned(),
                chars: size,
            });
        }
        let mut candidate = current.clone();
        candidate.push(statement.clone());
        if chars(&candidate) > MAX_MANAGED_POLICY_CHARS {
            documents.push(std::mem::take(&mut current));
            current.push(statement);
        } else {
            current = candidate;
        }
    }
    if !current.statements.is_empty() {
        documents.push(current);
    }
    if documents.len() > MAX_POLICIES_PER_ROLE {
        return Err(CiIdentityError::TooManyPolicies {
            role: role.word().to_owned(),
            count: documents.len(),
        });
    }
    Ok(documents)
}
