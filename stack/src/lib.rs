//! The upload pipeline stack: env configs, the pipeline as plain data, the
//! synth-time checks on it, and the CloudFormation template built from it.
//! No IO: the toolkit reads the files and passes text and asset keys in.

pub mod build;
pub mod checks;
// The CI roles of `bootstrap --github`.
pub mod ci_identity;
pub mod config;
pub mod grants;
pub mod model;
pub mod monitoring;
mod naming;
pub mod pipeline;
pub mod plan;
// The SDK's region table lives in the lowest pure layer (cfn), where
// pseudo-parameter resolution needs it too; re-exported for config checks.
pub use upstack_cfn::regions;

pub use build::{AssetKeys, BuildError};
pub use config::{ConfigError, EnvConfig};
pub use model::Pipeline;
pub use plan::{Manifest, ManifestFunction, QueueName, StackAlarm, StackAlarms, StackPlan};

/// Why a stack could not be synthesized.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("env `{env}`: the pipeline has {} problem(s):\n{}", problems.len(), render_problems(problems))]
    Pipeline {
        env: String,
        problems: Vec<checks::Problem>,
    },
    #[error("env `{env}`: {source}")]
    Build { env: String, source: BuildError },
    #[error("env `{env}`: the template is invalid:\n{source}")]
    Template {
        env: String,
        source: upstack_cfn::validate::ValidationErrors,
    },
}

fn render_problems(problems: &[checks::Problem]) -> String {
    problems
        .iter()
        .map(|problem| format!("  - {problem}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks `pipeline`, builds its template, validates it (dangling refs,
/// cycles, limits, logical IDs) and plans the stack around it. Nothing is
/// returned unless all of that passes.
pub fn synthesize_pipeline(
    pipeline: &Pipeline,
    config: &EnvConfig,
    assets: &AssetKeys,
) -> Result<StackPlan, StackError> {
    let env = pipeline.env.clone();
    let problems = checks::check(pipeline);
    if !problems.is_empty() {
        return Err(StackError::Pipeline { env, problems });
    }
    let template = build::build(pipeline, config, assets).map_err(|source| StackError::Build {
        env: env.clone(),
        source,
    })?;
    template
        .validate(upstack_cfn_resources::registry::lookup)
        .map_err(|source| StackError::Template {
            env: env.clone(),
            source,
        })?;
    StackPlan::new(pipeline, config, assets, template)
        .map_err(|source| StackError::Build { env, source })
}

/// The standard pipeline of `env` built from its config.
pub fn synthesize(
    env: &str,
    config: &EnvConfig,
    assets: &AssetKeys,
) -> Result<StackPlan, StackError> {
    synthesize_pipeline(&Pipeline::for_env(env, config), config, assets)
}
