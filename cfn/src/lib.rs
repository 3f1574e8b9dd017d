//! The CloudFormation template model: typed values and intrinsics, IAM policy
//! documents, the template itself and its validation. No IO, no AWS SDK:
//! everything here is pure data, so it builds fast and tests without a network.

pub mod attributes;
mod aws_enum;
pub mod iam;
pub mod intrinsic;
pub mod json;
pub mod permissions;
pub mod regions;
pub mod resource;
pub mod stack_policy;
pub mod template;
pub mod validate;
pub mod value;

pub use iam::{Effect, PolicyDocument, Principal, Statement};
pub use intrinsic::PseudoValues;
pub use permissions::{DroppedPermission, HandlerPermissions, IamAction, IamResourceType};
pub use resource::{Resource, ResourceInfo, ResourceRef, TypeLookup};
pub use stack_policy::{StackPolicy, StatefulResource, UpdateAction};
pub use template::{
    Condition, DeletionPolicy, Output, Parameter, ReadError, ResourceEntry, ResourceOptions,
    Template, read_properties,
};
pub use value::{ConditionName, Expr, Json, Pseudo, Value};

/// serde for [`aws_enum!`]'s expansion, wherever it is used.
#[doc(hidden)]
pub use serde as __serde;
