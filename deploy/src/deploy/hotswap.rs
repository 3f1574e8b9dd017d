//! `deploy --hotswap`: when the only difference between the new template
//! and the deployed one is function code (`Code.S3Key`, a new asset), the
//! changed zips are published (verified, as every deploy does) and set on
//! each function with Lambda's `UpdateFunctionCode`, with no stack update:
//! seconds instead of a change set's minutes, for a dev loop. Anything else
//! that changed is listed and the normal change-set deploy runs instead.
//!
//! A hotswapped function runs code its stack's template does not name. That
//! is never hidden: each one is tagged [`RECORD_TAG`] = the asset key it
//! runs, in the account, so another machine's `diff` and `status` see it
//! (a local file would be seen by this machine only). The next normal
//! deploy makes CloudFormation's template name the code again, checks each
//! function's `CodeSha256` as always, and then removes the tag
//! ([`clear_records`]).
//!
//! Production envs (the manifest's `production`) are refused before any
//! AWS call: code there goes through a reviewed change set.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_lambda::types::LastUpdateStatus;
use serde_json::Value as Json;
use upstack_stack::{Manifest, ManifestFunction};

use super::{DeployClients, DeployError, DeployRequest};
use crate::assets::{self, AssetError, StoredAsset};
use crate::aws::{CallError, Pacing, call};
use crate::interact::Reporter;
use crate::stack::{self, Deployed, StatusClass, TemplateError};

/// The tag on a function whose running code was set by a hotswap: its
/// value is the asset key (`assets/<handler>-<arch>-<fingerprint>.zip`).
pub const RECORD_TAG: &str = "upstack:hotswapped";

/// What reading the records calls: GetFunction returns a function's tags
/// only to a caller also allowed `lambda:ListTags` (else it says why in
/// `TagsError`, which [`records`] refuses rather than read as "no record").
pub const RECORD_READ_ACTIONS: [&str; 2] = ["lambda:GetFunction", "lambda:ListTags"];

/// What clearing them after a deploy calls (only where one can exist: an
/// env that is not production).
pub const RECORD_CLEAR_ACTIONS: [&str; 1] = ["lambda:UntagResource"];

#[derive(Debug, thiserror::Error)]
pub enum HotswapError {
    #[error(
        "--hotswap is refused for env {env}: its env file sets `production = true`, and production code is deployed only through a reviewed change set; run `upstack deploy --env {env}` without --hotswap"
    )]
    Production { env: String },
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    DeployedTemplate(#[from] TemplateError),
    #[error(transparent)]
    Diff(#[from] upstack_diff::DiffError),
    #[error("the synthesized template is not JSON: {0}")]
    Template(serde_json::Error),
    #[error(transparent)]
    Assets(#[from] AssetError),
    #[error("no zip was given for {function}'s asset {key}")]
    NoAsset { function: String, key: String },
    #[error(
        "{function}: another update of the function is in progress (Lambda's ResourceConflictException: {message}); nothing was changed for it. Run the hotswap again when it is done"
    )]
    Conflict { function: String, message: String },
    #[error("{function}: Lambda could not update the code ({reason_code}): {reason}")]
    UpdateFailed {
        function: String,
        reason_code: String,
        reason: String,
    },
    #[error(
        "{function}: Lambda reports LastUpdateStatus `{status}`, which this version of upstack does not know; refusing to guess. Look with `aws lambda get-function-configuration --function-name {function}`"
    )]
    UnknownStatus { function: String, status: String },
    #[error(
        "{function}: Lambda took the new code ({key}) but its record could not be written ({source}): the function runs code its template does not name and nothing in the account says so; a deploy without --hotswap sets it back to the template's"
    )]
    Unrecorded {
        function: String,
        key: String,
        source: Box<CallError>,
    },
    #[error("{function}: the code update did not finish within {waited:?}")]
    Timeout { function: String, waited: Duration },
    /// The running code is not the zip built for it (the deploy's own check).
    #[error(transparent)]
    Verify(Box<DeployError>),
}

/// What a hotswap can do with a new template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotswapPlan {
    /// Only these functions' code differs (empty: nothing differs).
    Code(Vec<ManifestFunction>),
    /// Something else differs: one line per resource or section, said
    /// before the normal deploy runs instead.
    Fallback(Vec<String>),
}

/// Refuses `--hotswap` for a production env; no AWS call is made first.
pub fn refuse_production(manifest: &Manifest) -> Result<(), HotswapError> {
    if manifest.production {
        return Err(HotswapError::Production {
            env: manifest.env.clone(),
        });
    }
    Ok(())
}

/// Reads the deployed stack (the one stack reader) and decides with the
/// diff engine whether only function code changed.
pub async fn plan(
    cfn: &aws_sdk_cloudformation::Client,
    manifest: &Manifest,
    template_json: &str,
) -> Result<HotswapPlan, HotswapError> {
    let stack_name = &manifest.stack_name;
    let (state, deployed) = stack::deployed(cfn, stack_name).await?;
    let deployed = match (state, deployed) {
        (Some(state), Deployed::Template(deployed)) => {
            // Only a stack at rest is hotswapped; the normal deploy knows
            // what to do (or refuse) for every other status.
            if !matches!(
                state.class(),
                StatusClass::Succeeded | StatusClass::UpdateRolledBack
            ) {
                return Ok(HotswapPlan::Fallback(vec![format!(
                    "stack {stack_name} is {}",
                    state.status
                )]));
            }
            deployed.template
        }
        _ => {
            return Ok(HotswapPlan::Fallback(vec![format!(
                "stack {stack_name} is not deployed yet"
            )]));
        }
    };
    let new: Json = serde_json::from_str(template_json).map_err(HotswapError::Template)?;
    decide(manifest, &deployed, &new)
}

/// The pure half of [`plan`]: code updates of the manifest's functions
/// only, or the lines naming everything else.
pub fn decide(manifest: &Manifest, old: &Json, new: &Json) -> Result<HotswapPlan, HotswapError> {
    let diff = upstack_diff::diff_templates(old, new, upstack_cfn_resources::registry::lookup)?;
    let mut code = BTreeSet::new();
    let mut other = Vec::new();
    for change in &diff.resources {
        let is_function = manifest
            .functions
            .iter()
            .any(|function| function.logical_id == change.logical_id);
        if change.code_update && is_function {
            code.insert(change.logical_id.as_str());
        } else {
            let action = match change.action {
                upstack_diff::Action::Add => "added",
                upstack_diff::Action::Modify if change.code_update => {
                    "code of a function upstack does not build"
                }
                upstack_diff::Action::Modify => "modified",
                upstack_diff::Action::Remove => "removed",
            };
            other.push(format!(
                "{} ({}): {action}",
                change.logical_id,
                change.type_name()
            ));
        }
    }
    for section in &diff.sections {
        other.push(format!("{} {}: changed", section.section, section.name));
    }
    // A security change always sits on a resource listed above; said again
    // in case a renderer of the future carries one on its own.
    if other.is_empty() && !diff.security.is_empty() {
        other.push(format!("{} security change(s)", diff.security.len()));
    }
    if !other.is_empty() {
        return Ok(HotswapPlan::Fallback(other));
    }
    Ok(HotswapPlan::Code(
        manifest
            .functions
            .iter()
            .filter(|function| code.contains(function.logical_id.as_str()))
            .cloned()
            .collect(),
    ))
}

/// Publishes the zips of `functions` (from `request.assets`), sets each
/// function's code to its asset, records the hotswap on it, waits until
/// Lambda has finished, and checks each one's `CodeSha256` against its zip.
pub async fn apply(
    clients: &DeployClients,
    request: &DeployRequest,
    functions: &[ManifestFunction],
    pacing: &Pacing,
    reporter: &mut dyn Reporter,
) -> Result<(), HotswapError> {
    let mut files = Vec::with_capacity(functions.len());
    for function in functions {
        let file = request
            .assets
            .iter()
            .find(|asset| asset.key == function.asset_key)
            .ok_or_else(|| HotswapError::NoAsset {
                function: function.function_name.clone(),
                key: function.asset_key.clone(),
            })?;
        files.push(file.clone());
    }
    let bucket = request.asset_bucket();
    let published = assets::publish(&clients.s3, &bucket, &files).await?;
    let stored: Vec<StoredAsset> = published.into_iter().map(|asset| asset.stored).collect();
    for function in functions {
        update_code(&clients.lambda, &bucket, function, pacing).await?;
        reporter.line(&format!(
            "hotswapped {} ({}) to {} (tagged {RECORD_TAG})",
            function.function_name, function.logical_id, function.asset_key
        ));
    }
    let mut changed = request.manifest.clone();
    changed.functions = functions.to_vec();
    super::verify::check_running_code(&clients.lambda, &changed, &stored, reporter)
        .await
        .map_err(|error| HotswapError::Verify(Box::new(error)))
}

/// Sets one function's code to its asset in `bucket`, records the hotswap
/// on it ([`RECORD_TAG`]) and waits until Lambda has finished.
pub async fn update_code(
    lambda: &aws_sdk_lambda::Client,
    bucket: &str,
    function: &ManifestFunction,
    pacing: &Pacing,
) -> Result<(), HotswapError> {
    let name = &function.function_name;
    let updated = lambda
        .update_function_code()
        .function_name(name)
        .s3_bucket(bucket)
        .s3_key(&function.asset_key)
        .send()
        .await;
    let updated = match updated {
        Ok(updated) => updated,
        Err(error) => {
            let error = CallError::from_sdk("lambda:UpdateFunctionCode", &error);
            return Err(
                if error.code.as_deref() == Some("ResourceConflictException") {
                    HotswapError::Conflict {
                        function: name.clone(),
                        message: error.message,
                    }
                } else {
                    error.into()
                },
            );
        }
    };
    // Recorded as soon as Lambda accepted the new code, before waiting:
    // a hotswap that fails half-way still left code the template does
    // not name.
    let arn = updated.function_arn().unwrap_or(name);
    call(
        "lambda:TagResource",
        lambda
            .tag_resource()
            .resource(arn)
            .tags(RECORD_TAG, &function.asset_key)
            .send(),
    )
    .await
    .map_err(|source| HotswapError::Unrecorded {
        function: name.clone(),
        key: function.asset_key.clone(),
        source: Box::new(source),
    })?;
    wait_until_updated(lambda, name, pacing).await
}

/// Polls `LastUpdateStatus` until Lambda says `Successful`.
/// <https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html>
async fn wait_until_updated(
    lambda: &aws_sdk_lambda::Client,
    function_name: &str,
    pacing: &Pacing,
) -> Result<(), HotswapError> {
    let started = pacing.clock.now();
    let mut pause = pacing.poll_initial;
    loop {
        let configuration = call(
            "lambda:GetFunctionConfiguration",
            lambda
                .get_function_configuration()
                .function_name(function_name)
                .send(),
        )
        .await?;
        match configuration.last_update_status() {
            Some(LastUpdateStatus::Successful) => return Ok(()),
            Some(LastUpdateStatus::Failed) => {
                return Err(HotswapError::UpdateFailed {
                    function: function_name.to_owned(),
                    reason_code: configuration
                        .last_update_status_reason_code()
                        .map_or("no reason code", |code| code.as_str())
                        .to_owned(),
                    reason: configuration
                        .last_update_status_reason()
                        .unwrap_or("no reason given")
                        .to_owned(),
                });
            }
            Some(LastUpdateStatus::InProgress) => {}
            other => {
                return Err(HotswapError::UnknownStatus {
                    function: function_name.to_owned(),
                    status: other.map_or("(none)", |status| status.as_str()).to_owned(),
                });
            }
        }
        let waited = pacing.clock.now().saturating_duration_since(started);
        if waited >= pacing.change_set_timeout {
            return Err(HotswapError::Timeout {
                function: function_name.to_owned(),
                waited,
            });
        }
        pacing.sleep(pause).await;
        pause = pacing.next_poll(pause);
    }
}

/// What a hotswap of `template_json` would set: [`plan`] against the
/// deployed stack, plus each function whose hotswap record names other code
/// than the template now does (a change that was reverted is set back to the
/// template's code, though the deployed template did not change for it).
///
/// The records read come back too (none for a fallback), for a caller that
/// decides more by them.
pub async fn swap_plan(
    clients: &DeployClients,
    manifest: &Manifest,
    template_json: &str,
) -> Result<(HotswapPlan, Vec<HotswapRecord>), HotswapError> {
    let mut functions = match plan(&clients.cloudformation, manifest, template_json).await? {
        HotswapPlan::Code(functions) => functions,
        fallback @ HotswapPlan::Fallback(_) => return Ok((fallback, Vec::new())),
    };
    let records = records(&clients.lambda, manifest).await?;
    for record in &records {
        if let Some(function) = manifest
            .functions
            .iter()
            .find(|function| function.function_name == record.function_name)
            && function.asset_key != record.asset_key
            && !functions
                .iter()
                .any(|f| f.logical_id == function.logical_id)
        {
            functions.push(function.clone());
        }
    }
    Ok((HotswapPlan::Code(functions), records))
}

/// One function's hotswap record, as read from the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotswapRecord {
    pub function_name: String,
    pub logical_id: String,
    /// The asset key the hotswap set (the tag's value).
    pub asset_key: String,
    pub arn: String,
}

/// The functions of `manifest` that carry a hotswap record. A function
/// that does not exist has none.
pub async fn records(
    lambda: &aws_sdk_lambda::Client,
    manifest: &Manifest,
) -> Result<Vec<HotswapRecord>, CallError> {
    let mut found = Vec::new();
    for function in &manifest.functions {
        let result = lambda
            .get_function()
            .function_name(&function.function_name)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) => {
                let error = CallError::from_sdk("lambda:GetFunction", &error);
                if error.is_not_found() {
                    continue;
                }
                return Err(error);
            }
        };
        // GetFunction leaves the tags out (and says why here) for a caller
        // without lambda:ListTags: no tags is then not "no record".
        if let Some(error) = output.tags_error() {
            return Err(CallError::new(
                "lambda:GetFunction",
                Some(error.error_code().to_owned()),
                format!(
                    "the tags of {} (where a hotswap is recorded) could not be read: {}",
                    function.function_name,
                    error.message()
                ),
            ));
        }
        let Some(key) = output.tags().and_then(|tags| tags.get(RECORD_TAG)) else {
            continue;
        };
        let arn = output
            .configuration()
            .and_then(|configuration| configuration.function_arn())
            .unwrap_or(&function.function_name);
        found.push(HotswapRecord {
            function_name: function.function_name.clone(),
            logical_id: function.logical_id.clone(),
            asset_key: key.clone(),
            arn: arn.to_owned(),
        });
    }
    Ok(found)
}

/// After a normal deploy succeeded (and checked each function's running
/// code against the template's zip): the hotswaps are reconciled, so their
/// records go.
pub async fn clear_records(
    lambda: &aws_sdk_lambda::Client,
    manifest: &Manifest,
    reporter: &mut dyn Reporter,
) -> Result<(), CallError> {
    for record in records(lambda, manifest).await? {
        call(
            "lambda:UntagResource",
            lambda
                .untag_resource()
                .resource(&record.arn)
                .tag_keys(RECORD_TAG)
                .send(),
        )
        .await?;
        reporter.line(&format!(
            "{} ({}): hotswap of {} reconciled, record removed",
            record.function_name, record.logical_id, record.asset_key
        ));
    }
    Ok(())
}

/// After a deploy without `--hotswap` that did not fail: it checked each
/// function runs the template's zip, so the hotswaps are reconciled and
/// their records go.
pub(super) async fn after_deploy(
    lambda: &aws_sdk_lambda::Client,
    manifest: &Manifest,
    outcome: &super::DeployOutcome,
    reporter: &mut dyn Reporter,
) -> Result<(), super::DeployCommandError> {
    if !matches!(
        outcome,
        super::DeployOutcome::Deployed { .. } | super::DeployOutcome::NoChanges
    ) {
        return Ok(());
    }
    clear_records(lambda, manifest, reporter)
        .await
        .map_err(|error| super::DeployCommandError::Hotswap {
            env: manifest.env.clone(),
            source: Box::new(error.into()),
        })
}

/// `deploy --hotswap` inside [`super::run`], after the credentials and the
/// alarm pre-flight: `true` when the hotswap did the deploy, `false` when
/// the normal deploy must run (what else changed has been said).
pub(super) async fn run(
    command: &super::DeployCommand,
    clients: &DeployClients,
    request: &DeployRequest,
    reporter: &mut dyn Reporter,
) -> Result<bool, super::DeployCommandError> {
    let env = command.env.as_str();
    let failed = |source: HotswapError| super::DeployCommandError::Hotswap {
        env: env.to_owned(),
        source: Box::new(source),
    };
    let manifest = &request.manifest;
    let (plan, _) = swap_plan(clients, manifest, &request.template_json)
        .await
        .map_err(failed)?;
    let functions = match plan {
        HotswapPlan::Code(functions) => functions,
        HotswapPlan::Fallback(lines) => {
            reporter.line(
                "hotswap: more than function code changed; deploying with a change set instead:",
            );
            for line in lines {
                reporter.line(&format!("  {line}"));
            }
            return Ok(false);
        }
    };
    if functions.is_empty() {
        reporter.line("hotswap: no function code changed; nothing to do");
        return Ok(true);
    }
    let mut changed = manifest.clone();
    changed.functions = functions.clone();
    let assets = super::command::bundle_assets(&command.root, env, &changed, command.no_build)?;
    let request = DeployRequest {
        assets,
        ..request.clone()
    };
    apply(
        clients,
        &request,
        &functions,
        &command.options.pacing,
        reporter,
    )
    .await
    .map_err(failed)?;
    reporter.line(&format!(
        "hotswap done: {} function(s) updated, stack {} not updated; the next deploy without --hotswap reconciles it",
        functions.len(),
        manifest.stack_name
    ));
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn dev() -> (Manifest, Json) {
        let plan = upstack_test_support::pipeline_plan(256);
        let template = serde_json::from_str(&plan.template_json).unwrap();
        (plan.manifest, template)
    }

    #[test]
    fn a_new_asset_key_is_code_and_names_only_its_function() {
        let (mut manifest, old) = dev();
        let old_key = manifest.functions[1].asset_key.clone();
        let new_key = "assets/ingest-arm64-fedcba9876543210.zip";
        let new: Json = serde_json::from_str(
            &serde_json::to_string(&old)
                .unwrap()
                .replace(&old_key, new_key),
        )
        .unwrap();
        manifest.functions[1].asset_key = new_key.into();
        let HotswapPlan::Code(functions) = decide(&manifest, &old, &new).unwrap() else {
            panic!("not code")
        };
        assert_eq!(functions, [manifest.functions[1].clone()]);
        assert_eq!(
            decide(&manifest, &old, &old).unwrap(),
            HotswapPlan::Code(Vec::new())
        );
    }

    #[test]
    fn an_output_or_a_property_beside_the_code_falls_back_naming_each() {
        let (manifest, old) = dev();
        let mut new = old.clone();
        let notify = &manifest.functions[0];
        new["Resources"][&notify.logical_id]["Properties"]["Code"]["S3Key"] =
            Json::from("assets/notify-arm64-fedcba9876543210.zip");
        new["Resources"][&notify.logical_id]["Properties"]["Timeout"] = Json::from(29);
        new["Outputs"]["Extra"] = serde_json::json!({"Value": "x"});
        let HotswapPlan::Fallback(lines) = decide(&manifest, &old, &new).unwrap() else {
            panic!("taken for code")
        };
        assert_eq!(
            lines,
            [
                format!("{} (AWS::Lambda::Function): modified", notify.logical_id),
                "Outputs Extra: changed".to_owned(),
            ]
        );
    }

    #[test]
    fn production_is_refused_by_the_manifest_flag() {
        let (mut manifest, _) = dev();
        assert!(refuse_production(&manifest).is_ok());
        manifest.production = true;
        assert!(matches!(
            refuse_production(&manifest),
            Err(HotswapError::Production { env }) if env == "dev"
        ));
    }
}
