//! `upstack diff` as a whole: what deploying would change, for a reviewer
//! and a machine.
//!
//! Old side: the deployed stack ([`crate::stack::deployed`]) by default, or
//! a template file. New side: the env's template synthesized in memory, or
//! a template file. `change_set` also asks CloudFormation (create, read,
//! delete a change set). A reviewed plan (made by `deploy --prepare`) is
//! rendered as it was reviewed, with no AWS call. The CLI turns arguments
//! into a [`DiffCommand`] and the [`DiffOutcome`] into output and an exit code.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use upstack_cfn::intrinsic::PseudoValues;
use upstack_diff::render::{self, Sources};
use upstack_diff::{DiffContext, FailOn, TemplateDiff, diff_templates_with};
use upstack_project::synth::{self, SynthError, SynthOutput};

use upstack_diff::drift::ResourceDrift;

use crate::aws::{AwsSession, ExpectedTarget, Pacing, ProfileChoice, TargetError};
use crate::deploy::hotswap::HotswapRecord;
use crate::drift::DriftClients;
use crate::interact::Reporter;
use crate::live_diff::{self, LiveDiffError};
use crate::plan::{PlanError, ReviewedPlan};
use crate::stack::{self, Deployed};

/// How the diff is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a terminal (coloured when `color`).
    Text { color: bool },
    /// For a pull-request comment.
    Markdown,
    /// Versioned JSON (schema in diff/SCHEMA.md).
    Json,
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct DiffCommand {
    /// The workspace root (Cargo.toml and envs/).
    pub root: PathBuf,
    /// Where relative file names are shown from (the current directory).
    pub shown_from: PathBuf,
    /// The env to synthesize (new side) and, without `against`, whose
    /// deployed stack to read (old side).
    pub env: Option<String>,
    pub profile: ProfileChoice,
    /// The old side from this template file instead of the deployed stack.
    pub against: Option<PathBuf>,
    /// The new side from this template file instead of synthesizing `env`.
    pub template: Option<PathBuf>,
    /// Also create (and delete) a change set for CloudFormation's verdicts.
    pub change_set: bool,
    /// Render this reviewed plan instead of computing a diff.
    pub plan: Option<PathBuf>,
    /// Read every resource of the deployed stack and report what changed
    /// outside CloudFormation (on unless `--no-drift`).
    pub drift: bool,
    /// Names the change set (`upstack-diff-<id>`).
    pub id: String,
    pub pacing: Pacing,
}

/// The rendered diff and what the exit code needs.
#[derive(Debug, Clone)]
pub struct DiffOutcome {
    pub diff: TemplateDiff,
    pub sources: Sources,
    /// Functions of the deployed stack whose code a `deploy --hotswap` set
    /// (their record, read from the account): not in any template, so
    /// said beside the diff.
    pub hotswapped: Vec<HotswapRecord>,
}

impl DiffOutcome {
    pub fn render(&self, format: Format) -> String {
        let mut out = match format {
            Format::Text { color } => render::text(&self.diff, &self.sources, color),
            Format::Markdown => render::markdown(&self.diff, &self.sources),
            Format::Json => return self.json(),
        };
        for record in &self.hotswapped {
            let line = hotswap_line(record);
            match format {
                Format::Markdown => out.push_str(&format!("\n> **{line}**\n")),
                _ => out.push_str(&format!("{line}\n")),
            }
        }
        out
    }

    /// The versioned JSON, with a `hotswapped` list only when a function
    /// carries a record, so every other document is as before.
    fn json(&self) -> String {
        let text = render::json(&self.diff, &self.sources);
        if self.hotswapped.is_empty() {
            return text;
        }
        let Ok(mut report) = serde_json::to_value(render::report(&self.diff, &self.sources)) else {
            return text;
        };
        let records: Vec<Json> = self
            .hotswapped
            .iter()
            .map(|record| {
                serde_json::json!({
                    "logical_id": record.logical_id,
                    "function_name": record.function_name,
                    "asset_key": record.asset_key,
                })
            })
            .collect();
        if let Some(object) = report.as_object_mut() {
            object.insert("hotswapped".to_owned(), Json::Array(records));
        }
        serde_json::to_string_pretty(&report).map_or(text, |mut text| {
            text.push('\n');
            text
        })
    }

    /// Each `fail_on` kind the diff matches, with its reasons.
    pub fn violations(&self, fail_on: &[FailOn]) -> Vec<(FailOn, Vec<String>)> {
        fail_on
            .iter()
            .map(|kind| (*kind, kind.violations(&self.diff)))
            .filter(|(_, reasons)| !reasons.is_empty())
            .collect()
    }
}

/// One function's hotswap record, as `diff` says it.
fn hotswap_line(record: &HotswapRecord) -> String {
    format!(
        "{} ({}) hotswapped: live code differs from the deployed template (it runs {}; a deploy without --hotswap reconciles it)",
        record.logical_id, record.function_name, record.asset_key
    )
}

/// What `--fail-on` blocked ([`DiffOutcome::violations`]), for stderr: each
/// kind, then its reasons indented, one a line.
pub fn render_blocked(blocked: &[(FailOn, Vec<String>)]) -> String {
    let mut out = String::new();
    for (kind, reasons) in blocked {
        out.push_str(&format!("blocked by --fail-on {}:\n", kind.name()));
        for reason in reasons {
            out.push_str(&format!("  {reason}\n"));
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum DiffCommandError {
    /// The command line names nothing to compare; the CLI exits 64.
    #[error("{0}")]
    Usage(&'static str),
    #[error("synthesize env `{env}`")]
    Synth {
        env: String,
        #[source]
        source: SynthError,
    },
    #[error("the synthesized template of env `{env}` is not JSON: {source}")]
    NotJson {
        env: String,
        source: serde_json::Error,
    },
    #[error(transparent)]
    File(#[from] LiveDiffError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("read the deployed template of stack {stack}")]
    Deployed {
        stack: String,
        #[source]
        source: stack::TemplateError,
    },
    #[error("list the resources of stack {stack} to read their drift (--no-drift skips it)")]
    Drift {
        stack: String,
        #[source]
        source: crate::aws::CallError,
    },
    #[error("change set for stack {stack}")]
    ChangeSet {
        stack: String,
        #[source]
        source: LiveDiffError,
    },
    #[error("diff {old} -> {new}")]
    Diff {
        old: String,
        new: String,
        #[source]
        source: upstack_diff::DiffError,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("read the hotswap records of stack {stack}'s functions")]
    Hotswapped {
        stack: String,
        #[source]
        source: crate::aws::CallError,
    },
}

/// A template and a label for headers.
struct Side {
    label: String,
    template: Json,
}

fn shown(path: &Path, base: &Path) -> String {
    crate::aws::display_path(path, base)
}

/// Computes the diff `command` asks for. Only reads: a `change_set` is
/// created for its verdicts and deleted again.
pub async fn run(
    command: &DiffCommand,
    reporter: &mut dyn Reporter,
) -> Result<DiffOutcome, DiffCommandError> {
    if let Some(path) = &command.plan {
        let (diff, sources) = ReviewedPlan::load(path)?.reviewed_diff();
        return Ok(DiffOutcome {
            diff,
            sources,
            hotswapped: Vec::new(),
        });
    }
    let synthesized = match &command.env {
        Some(env) => Some(synth::synth_env(&command.root, env).map_err(|source| {
            DiffCommandError::Synth {
                env: env.clone(),
                source,
            }
        })?),
        None => None,
    };
    let new = match (&command.template, &synthesized) {
        (Some(path), _) => Side {
            label: shown(path, &command.shown_from),
            template: live_diff::read_template_file(path)?,
        },
        (None, Some(output)) => Side {
            label: format!("synth --env {}", output.env),
            template: serde_json::from_str(&output.template_json).map_err(|source| {
                DiffCommandError::NotJson {
                    env: output.env.clone(),
                    source,
                }
            })?,
        },
        (None, None) => {
            return Err(DiffCommandError::Usage(
                "no template to diff: give --env <name> (synthesize it) or --template <file>",
            ));
        }
    };
    let mut change_set = None;
    let mut drift = Vec::new();
    let mut live_account = None;
    let mut hotswapped = Vec::new();
    let old = match (&command.against, &synthesized) {
        (Some(path), _) => Side {
            label: shown(path, &command.shown_from),
            template: live_diff::read_template_file(path)?,
        },
        (None, Some(output)) => {
            let session = AwsSession::connect(
                &ExpectedTarget::of(&output.env, &output.config),
                &command.profile,
            )
            .await?;
            if let Some(note) = &session.region_note {
                reporter.warning(note);
            }
            let (old, changes, found) =
                deployed_side(command, &session, output, &new.template).await?;
            hotswapped = crate::deploy::hotswap::records(
                &aws_sdk_lambda::Client::new(&session.sdk_config),
                &output.manifest,
            )
            .await
            .map_err(|source| DiffCommandError::Hotswapped {
                stack: output.manifest.stack_name.clone(),
                source,
            })?;
            change_set = changes;
            drift = found;
            live_account = Some(session.identity.account.clone());
            old
        }
        (None, None) => {
            return Err(DiffCommandError::Usage(
                "nothing to compare against: give --env <name> (diff against its deployed stack) or --against <file>",
            ));
        }
    };
    let context = diff_context(
        synthesized.as_ref(),
        live_account,
        &new.template,
        command.template.is_some(),
    );
    let mut diff = diff_templates_with(
        &old.template,
        &new.template,
        upstack_cfn_resources::registry::lookup,
        &context,
    )
    .map_err(|source| DiffCommandError::Diff {
        old: old.label.clone(),
        new: new.label.clone(),
        source,
    })?;
    if let Some(changes) = change_set {
        diff.merge_change_set(changes);
    }
    // What deploying this template would do with each drifted value.
    upstack_diff::drift::assign_fates(&mut drift, &diff, false);
    diff.drift = drift;
    Ok(DiffOutcome {
        diff,
        sources: Sources {
            old: old.label,
            new: new.label,
        },
        hotswapped,
    })
}

/// What is known of the target, so replacement is decided wherever it can
/// be: region and stack from the env's manifest, the account from it or
/// (diffing the live stack) from STS, and production's stack policy as
/// deploy will set it.
fn diff_context(
    env: Option<&SynthOutput>,
    live_account: Option<String>,
    new_template: &Json,
    from_template_file: bool,
) -> DiffContext {
    let Some(output) = env else {
        return DiffContext::default();
    };
    let manifest = &output.manifest;
    let mut pseudo =
        PseudoValues::for_region(&manifest.region).with_stack_name(&manifest.stack_name);
    if let Some(account) = live_account.or_else(|| manifest.account_id.clone()) {
        pseudo = pseudo.with_account_id(account);
    }
    // The synthesized template's policy is the manifest's; a template
    // file's is computed the same way, as deploy would set it for that file.
    let stack_policy = if !manifest.production {
        None
    } else if from_template_file {
        upstack_cfn::stack_policy::protective(new_template, upstack_cfn_resources::registry::lookup)
    } else {
        manifest.stack_policy.clone()
    };
    DiffContext {
        pseudo,
        stack_policy,
    }
}

type ChangeSetChanges = Option<Vec<upstack_diff::ChangeSetResource>>;

/// The deployed stack's template (with `change_set`, CloudFormation's
/// change set; with `drift`, what changed outside CloudFormation), after the
/// session checked the account and region.
async fn deployed_side(
    command: &DiffCommand,
    session: &AwsSession,
    output: &SynthOutput,
    new_template: &Json,
) -> Result<(Side, ChangeSetChanges, Vec<ResourceDrift>), DiffCommandError> {
    let name = &output.manifest.stack_name;
    let client = &session.cloudformation;
    let (state, deployed) =
        stack::deployed(client, name)
            .await
            .map_err(|source| DiffCommandError::Deployed {
                stack: name.clone(),
                source,
            })?;
    let exists = deployed.exists();
    let label = match &deployed {
        Deployed::Template(_) => format!("stack {name} (deployed, {})", session.region),
        Deployed::Nothing => format!("stack {name} (not deployed, {})", session.region),
    };
    let changes = if command.change_set {
        let change_set_name = format!("upstack-diff-{}", command.id);
        Some(
            live_diff::change_set_changes(
                client,
                name,
                new_template,
                exists,
                &change_set_name,
                output.manifest.execution_role_arn.as_deref(),
                &command.pacing,
            )
            .await
            .map_err(|source| DiffCommandError::ChangeSet {
                stack: name.clone(),
                source,
            })?,
        )
    } else {
        None
    };
    let template = deployed.into_template();
    let drift = match &state {
        Some(state) if command.drift && exists => crate::drift::of_stack(
            client,
            &DriftClients::new(&session.sdk_config),
            &state.stack_id,
            template.clone(),
            PseudoValues::for_region(&session.region)
                .with_account_id(&session.identity.account)
                .with_stack_name(name),
        )
        .await
        .map_err(|source| DiffCommandError::Drift {
            stack: name.clone(),
            source,
        })?,
        _ => Vec::new(),
    };
    Ok((Side { label, template }, changes, drift))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(hotswapped: Vec<HotswapRecord>) -> DiffOutcome {
        DiffOutcome {
            diff: TemplateDiff::default(),
            sources: Sources {
                old: "stack upstack-dev (deployed, eu-west-1)".into(),
                new: "synth --env dev".into(),
            },
            hotswapped,
        }
    }

    #[test]
    fn a_hotswapped_function_is_said_in_every_format_and_nothing_changes_without_one() {
        let plain = outcome(Vec::new());
        for format in [
            Format::Text { color: false },
            Format::Markdown,
            Format::Json,
        ] {
            assert!(!plain.render(format).contains("hotswapped"), "{format:?}");
        }
        assert_eq!(
            plain.render(Format::Json),
            render::json(&plain.diff, &plain.sources)
        );

        let swapped = outcome(vec![HotswapRecord {
            function_name: "upstack-dev-notify".into(),
            logical_id: "NotifyFunction".into(),
            asset_key: "assets/notify-arm64-fedcba9876543210.zip".into(),
            arn: "arn:aws:lambda:eu-west-1:123456789012:function:upstack-dev-notify".into(),
        }]);
        let line = "NotifyFunction (upstack-dev-notify) hotswapped: live code differs from the deployed template";
        assert!(swapped.render(Format::Text { color: false }).contains(line));
        assert!(swapped.render(Format::Markdown).contains(line));
        let json: Json = serde_json::from_str(&swapped.render(Format::Json)).expect("JSON");
        assert_eq!(
            json["hotswapped"][0]["asset_key"],
            "assets/notify-arm64-fedcba9876543210.zip"
        );
        assert_eq!(json["schema_version"], upstack_diff::SCHEMA_VERSION);
    }
}
