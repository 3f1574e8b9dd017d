//! What the stack decides for one env, computed once here and carried typed
//! to every command: the template and the [`Manifest`], which holds each
//! function as deploy, bundle and invoke find it, the resources that hold
//! data, the production stack policy, the alarms and queues deploy and
//! `status` watch. synth writes the manifest as
//! `synth-out/<env>/manifest.json`; `deploy --prepare` carries the same value
//! in the reviewed plan, and `status` reads it; no command derives any of it
//! again from names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use upstack_cfn::{StackPolicy, StatefulResource, Template, stack_policy};
use upstack_contract::{Architecture, BuildProfile};

use crate::build::{AssetKeys, BuildError};
use crate::config::{AlarmKind, EnvConfig};
use crate::model::Pipeline;

/// One env's stack as the pipeline and its config decide it: the template,
/// its exact bytes, and the manifest describing it.
#[derive(Debug, Clone)]
pub struct StackPlan {
    pub template: Template,
    /// `template.json`'s exact bytes (indented, as synth writes them).
    pub template_json: String,
    pub manifest: Manifest,
}

/// The facts of one env's stack beside its template: written by synth as
/// `synth-out/<env>/manifest.json`, carried in a reviewed plan, read by
/// bundle, invoke, deploy and status. Every field is decided once, here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub env: String,
    pub stack_name: String,
    pub region: String,
    /// The account the env is pinned to, if its config names one.
    pub account_id: Option<String>,
    pub termination_protection: bool,
    /// The env file's `production` (never decided from the env's name):
    /// destructive changes need approval and `stack_policy` is set.
    pub production: bool,
    /// Lowercase hex SHA-256 of `template.json`'s bytes.
    pub template_sha256: String,
    /// Stack tags, which CloudFormation propagates to every taggable resource.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// In the pipeline's order.
    pub functions: Vec<ManifestFunction>,
    /// The template's resources that hold data, by the registry's `stateful`
    /// fact, sorted by logical ID.
    pub stateful_resources: Vec<StatefulResource>,
    /// The stack policy deploy sets after each production deploy (no
    /// replacement or deletion of `stateful_resources`), and the one diff
    /// predicts refusals from; `null` outside production.
    pub stack_policy: Option<StackPolicy>,
    /// The alarms deploy checks and names as rollback triggers, and `status` reads.
    pub alarms: StackAlarms,
    /// The queues `status` reads the depths of.
    pub queues: Vec<QueueName>,
    /// The role CloudFormation deploys the stack with (the env file's
    /// `execution_role_arn`, checked to be a role of the env's account):
    /// deploy sends it as the change set's `RoleARN`.
    pub execution_role_arn: Option<String>,
    /// The upload bucket's name as an `Fn::Sub` template
    /// (`<app>-<env>-uploads-${AWS::AccountId}-${AWS::Region}`), as the
    /// template names it; `None` for a stack without one (the CI identities).
    pub upload_bucket: Option<String>,
}

impl Manifest {
    /// The function built from `handler`, if the stack has one.
    pub fn function(&self, handler: &str) -> Option<&ManifestFunction> {
        self.functions
            .iter()
            .find(|function| function.handler == handler)
    }

    /// The upload bucket's name in `account` (and the manifest's region).
    pub fn upload_bucket_name(&self, account: &str) -> Option<String> {
        self.upload_bucket.as_ref().map(|name| {
            name.replace("${AWS::AccountId}", account)
                .replace("${AWS::Region}", &self.region)
        })
    }

    /// `manifest.json`'s exact bytes (pretty JSON and a final newline).
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| unreachable!("a manifest always serializes: {error}"));
        json.push('\n');
        json
    }
}

/// Lowercase hex SHA-256 of a template's bytes, as `template_sha256` records it.
pub fn template_sha256(template_json: &str) -> String {
    hex::encode(Sha256::digest(template_json.as_bytes()))
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
    /// Its log group, which the stack creates with this name (`logs` reads it).
    pub log_group: String,
    /// `ReservedConcurrentExecutions` (the env file's `reserved_concurrency`);
    /// `None`: the function shares the account's unreserved pool. Deploy's
    /// account pre-flight sums it against the account's concurrency.
    pub reserved_concurrency: Option<i64>,
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
                    log_group: function.log_group_name(),
                    reserved_concurrency: config
                        .functions
                        .settings(&function.handler)
                        .reserved_concurrency
                        .map(|concurrency| concurrency.count()),
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
        let template_json = template.to_pretty_string();
        let manifest = Manifest {
            env: pipeline.env.clone(),
            stack_name: config.stack_name.as_str().to_owned(),
            region: config.region.as_str().to_owned(),
            account_id: config.account_id.as_ref().map(|id| id.as_str().to_owned()),
            termination_protection: config.termination_protection,
            production: config.production,
            template_sha256: template_sha256(&template_json),
            tags: config
                .tags
                .iter()
                .map(|(key, value)| (key.as_str().to_owned(), value.as_str().to_owned()))
                .collect(),
            functions,
            stateful_resources,
            stack_policy,
            alarms: StackAlarms::of(pipeline, config),
            queues: pipeline
                .queues
                .iter()
                .map(|queue| QueueName {
                    id: queue.id.clone(),
                    name: queue.name.clone(),
                })
                .collect(),
            execution_role_arn: config
                .execution_role_arn
                .as_ref()
                .map(|role| role.get_ref().as_str().to_owned()),
            upload_bucket: Some(pipeline.upload_bucket_name_sub()),
        };
        Ok(StackPlan {
            template,
            template_json,
            manifest,
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
