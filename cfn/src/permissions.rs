//! IAM facts the generated crate carries next to each type's
//! [`ResourceInfo`](crate::ResourceInfo): the permissions CloudFormation's
//! handlers need to manage a resource type (the registry schema's
//! `handlers.*.permissions`), and, for every such IAM action, the resource
//! types it can be scoped to (the Service Authorization Reference, vendored in
//! `schemas/iam-actions.json`). A least-privilege role for CloudFormation is
//! built from both.

/// The IAM actions CloudFormation's resource handlers call for one type, per
/// handler, as the registry schema lists them (minus the entries that are
/// not IAM actions: [`DroppedPermission`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerPermissions {
    /// `AWS::Service::Resource`.
    pub type_name: &'static str,
    pub create: &'static [&'static str],
    pub read: &'static [&'static str],
    pub update: &'static [&'static str],
    pub delete: &'static [&'static str],
    pub list: &'static [&'static str],
}

impl HandlerPermissions {
    /// Every handler's actions, sorted, each once.
    pub fn all(&self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> =
            [self.create, self.read, self.update, self.delete, self.list]
                .into_iter()
                .flatten()
                .copied()
                .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// One IAM action (`service:Action`) as the Service Authorization Reference
/// describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IamAction {
    /// `s3:GetObject`.
    pub name: &'static str,
    /// `Read`, `Write`, `List`, `Tagging` or `Permissions management`.
    pub access_level: &'static str,
    /// The resource types a policy can name for it. Empty: the action
    /// supports no resource-level permission, only `"Resource": "*"`.
    pub resource_types: &'static [IamResourceType],
    /// Condition keys the action itself supports (beyond its resources').
    pub condition_keys: &'static [&'static str],
}

impl IamAction {
    /// `s3`, of `s3:GetObject`.
    pub fn service(&self) -> &'static str {
        self.name
            .split_once(':')
            .map_or(self.name, |(service, _)| service)
    }

    /// Whether the action can be scoped to resources at all.
    pub fn supports_resources(&self) -> bool {
        !self.resource_types.is_empty()
    }
}

/// A resource type an action can be scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IamResourceType {
    /// The reference's name within the service (`object`, `function`).
    pub name: &'static str,
    /// Marked required (`*`) in the reference: a request always names one.
    pub required: bool,
    /// The ARN format, with `${Partition}`, `${Region}`, `${Account}` and
    /// the type's own placeholders.
    pub arn: &'static str,
}

/// A handler permission a registry schema lists that is not granted, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedPermission {
    pub action: &'static str,
    pub reason: &'static str,
}
