//! What the stack decides for one env, computed once here and carried typed
//! to every command: the template, each function as deploy, bundle and invoke
//! find it, the resources that hold data, the production stack policy, the
//! alarms and queues deploy and `status` watch. synth writes it as
//! `synth-out/<env>/manifest.json`; no command derives any of it again from
//! names.

use serde::{Deserialize, Serialize};
use upstack_cfn::{StackPolicy, StatefulResource, Template, stack_policy};
use upstack_contract::{Architecture, BuildProfile};

use crate::build::{AssetKeys, BuildError};
use crate::config::{AlarmKind, EnvConfig};
use crate::model::Pipeline;

/// One env's stack as the pipeline and its config decide it.
#[derive(Debug, Clone)]
pub struct StackPlan {
    pub template: Template,
    /// In the pipeline's order.
    pub functions: Vec<ManifestFunction>,
    /// The template's resources that hold data, by the registry's `stateful`
    /// fact, sorted by logical ID.
    pub stateful_resources: Vec<StatefulResource>,
    /// The stack policy a production deploy sets (no replacement or deletion
    /// of `stateful_resources`); `None` outside production.
    pub stack_policy: Option<StackPolicy>,
    /// The env file's `production`, never decided from the env's name.
    pub production: bool,
    /// The alarms the template defines, as deploy and `status` watch them.
    pub alarms: StackAlarms,
    /// The queues the template defines, as `status` reads their depths.
    pub queues: Vec<QueueName>,
}

/// One of the stack's alarms, as the stack model names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackAlarm {
    /// `AlarmName`: `<app>-<env>-...`.
    pub name: String,
    pub kind: AlarmKind,
}

/// The stack's alarms and how long CloudFormation keeps watching them after
/// a deploy: what deploy's pre-flight check and rollback triggers use.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackAlarms {
    /// Every alarm the template creates, in the model's order.
    pub alarms: Vec<StackAlarm>,
    /// `AlarmName` of the composite alarm over all of them
    /// (`<app>-<env>-deploy-guard`), deploy's rollback trigger; `None`
    /// without alarms.
    pub deploy_guard: Option<String>,
    /// The env's `rollback_monitoring_minutes` (0-180).
    pub monitoring_minutes: i64,
}

impl StackAlarms {
    fn of(pipeline: &Pipeline, config: &EnvConfig) -> StackAlarms {
        StackAlarms {
            alarms: pipeline
                .alarms
                .iter()
                .map(|alarm| StackAlarm {
                    name: alarm.name.clone(),
                    kind: alarm.kind,
                })
                .collect(),
            deploy_guard: pipeline
                .deploy_guard
                .as_ref()
                .map(|guard| guard.name.clone()),
            monitoring_minutes: config.rollback_monitoring_minutes(),
        }
    }

    /// The member alarms' names, then the deploy guard's: what the
    /// pre-flight check and `status` read. The guard is included on purpose:
    /// `status` shows whether it exists (MISSING: the next deploy has no
    /// composite trigger), and one in ALARM would roll a deploy back at once.
    pub fn names(&self) -> Vec<String> {
        self.member_names()
            .into_iter()
            .chain(self.deploy_guard.clone())
            .collect()
    }

    /// The member alarms' names only.
    pub fn member_names(&self) -> Vec<String> {
        self.alarms.iter().map(|alarm| alarm.name.clone()).collect()
    }
}

/// One of the stack's queues: the model's id and its `QueueName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueName {
    pub id: String,
    pub name: String,
}

/// One function as `deploy`, `bundle` and `invoke` need to find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFunction {
    /// Logical ID of the `AWS::Lambda::Function` in the template.
    pub logical_id: String,
    /// The handler: its binary's name, built by package `upstack-<handler>`
    /// in `functions/<handler>`.
    pub handler: String,
    pub function_name: String,
    #[serde(with = "lambda_architecture")]
    pub architecture: Architecture,
    /// How `bundle` compiles it (the env's `build_profile`); part of the asset key.
    #[serde(with = "build_profile")]
    pub build_profile: BuildProfile,
    /// Key of the zip in the asset bucket (`assets/<handler>-<arch>-<fingerprint>.zip`).
    pub asset_key: String,
}

impl StackPlan {
    /// The plan of `pipeline` around its built and validated `template`.
    pub(crate) fn new(
        pipeline: &Pipeline,
        config: &EnvConfig,
        assets: &AssetKeys,
        template: Template,
    ) -> Result<StackPlan, BuildError> {
        let functions = pipeline
            .functions
            .iter()
            .map(|function| {
                let asset_key = assets
                    .get(&function.handler)
                    .ok_or_else(|| BuildError::MissingAsset(function.handler.clone()))?;
                Ok(ManifestFunction {
                    logical_id: function.logical_id(),
                    handler: function.handler.clone(),
                    function_name: function.name.clone(),
                    architecture: config.architecture.0,
                    build_profile: config.build_profile.0,
                    asset_key: asset_key.clone(),
                })
            })
            .collect::<Result<_, BuildError>>()?;
        let stateful_resources = stack_policy::stateful_among(
            template
                .resources
                .iter()
                .map(|(logical_id, entry)| (logical_id.as_str(), entry.type_name.as_str())),
            upstack_cfn_resources::registry::lookup,
        );
        let stack_policy = if config.production {
            stack_policy::protecting(&stateful_resources)
        } else {
            None
        };
        Ok(StackPlan {
            template,
            functions,
            stateful_resources,
            stack_policy,
            production: config.production,
            alarms: StackAlarms::of(pipeline, config),
            queues: pipeline
                .queues
                .iter()
                .map(|queue| QueueName {
                    id: queue.id.clone(),
                    name: queue.name.clone(),
                })
                .collect(),
        })
    }
}

/// `"arm64"` / `"x86_64"`, Lambda's names, as in the template.
mod lambda_architecture {
    use std::fmt;

    use serde::{Deserializer, Serializer};
    use upstack_contract::Architecture;

    pub fn serialize<S: Serializer>(arch: &Architecture, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(arch.lambda_name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Architecture, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = Architecture;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a Lambda architecture (x86_64 or arm64)")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Architecture, E> {
                Architecture::from_lambda_name(name).ok_or_else(|| {
                    E::custom(format!(
                        "`{name}` is not a Lambda architecture (x86_64 or arm64)"
                    ))
                })
            }
        }
        deserializer.deserialize_str(Name)
    }
}

/// `"lambda"` / `"fast"`, as the env file spells it.
mod build_profile {
    use std::fmt;

    use serde::{Deserializer, Serializer};
    use upstack_contract::BuildProfile;

    pub fn serialize<S: Serializer>(
        profile: &BuildProfile,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(profile.config_name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BuildProfile, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = BuildProfile;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a build profile (lambda or fast)")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<BuildProfile, E> {
                BuildProfile::from_config_name(name).ok_or_else(|| {
                    E::custom(format!("`{name}` is not a build profile (lambda or fast)"))
                })
            }
        }
        deserializer.deserialize_str(Name)
    }
}
