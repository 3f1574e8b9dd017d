//! Where `upstack diff` gets its templates beside the deployed one (which
//! [`crate::stack::deployed`] reads): a file, and optionally CloudFormation's
//! own verdict from a change set that is created, read and deleted again.

use std::path::{Path, PathBuf};

use aws_sdk_cloudformation::Client;
use serde_json::Value as Json;
use upstack_diff::ChangeSetResource;

use crate::aws::{CallError, Pacing, call};
use crate::changeset::{
    self, ChangeSetError, ChangeSetHandle, ChangeSetKind, ChangeSetRequest, ChangeSetState,
    MAX_TEMPLATE_BODY_BYTES, TemplateSource,
};
use crate::stack::{self, StatusClass};

#[derive(Debug, thiserror::Error)]
pub enum LiveDiffError {
    #[error("cannot read template {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template {path} is not valid JSON: {source}")]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a CloudFormation template: {reason}")]
    NotATemplate { path: PathBuf, reason: String },
    #[error(transparent)]
    Deployed(#[from] stack::TemplateError),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    ChangeSet(#[from] ChangeSetError),
    #[error(
        "the template is {bytes} bytes, over CloudFormation's {MAX_TEMPLATE_BODY_BYTES}-byte TemplateBody limit, so --change-set cannot send it inline; diff without --change-set, or deploy (which uploads it to the asset bucket)"
    )]
    TooLargeForChangeSet { bytes: usize },
    #[error("change set {id} for stack {stack} failed ({status}): {reason}")]
    ChangeSetFailed {
        stack: String,
        id: String,
        status: String,
        reason: String,
    },
    #[error("{primary}; cleaning up also failed: {cleanup}")]
    CleanupFailed {
        primary: Box<LiveDiffError>,
        cleanup: Box<LiveDiffError>,
    },
}

/// Reads a template file (e.g. the base branch's `synth-out/<env>/template.json`)
/// and checks it has the shape of a template, naming the file in every error.
pub fn read_template_file(path: &Path) -> Result<Json, LiveDiffError> {
    let text = std::fs::read_to_string(path).map_err(|source| LiveDiffError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let template: Json = serde_json::from_str(&text).map_err(|source| LiveDiffError::NotJson {
        path: path.to_path_buf(),
        source,
    })?;
    check_template_shape(&template).map_err(|reason| LiveDiffError::NotATemplate {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(template)
}

/// A JSON object with a `Resources` object (every template has one; a file
/// without it is most likely a manifest or a parameters file).
fn check_template_shape(template: &Json) -> Result<(), String> {
    let Some(root) = template.as_object() else {
        return Err("expected a JSON object at the top".to_owned());
    };
    match root.get("Resources") {
        Some(Json::Object(_)) => Ok(()),
        Some(_) => Err("`Resources` is not an object".to_owned()),
        None => Err("it has no `Resources` section".to_owned()),
    }
}

/// Creates a change set for `template` (never executed), waits for it,
/// reads every resource change, then deletes it, and, when it was a CREATE
/// change set, the empty REVIEW_IN_PROGRESS stack CloudFormation made for it.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets-create.html>
pub async fn change_set_changes(
    client: &Client,
    stack: &str,
    template: &Json,
    stack_exists: bool,
    change_set_name: &str,
    role_arn: Option<&str>,
    pacing: &Pacing,
) -> Result<Vec<ChangeSetResource>, LiveDiffError> {
    // Compact JSON: the pretty synth output of a full pipeline is close to the limit.
    let body = template.to_string();
    if body.len() > MAX_TEMPLATE_BODY_BYTES {
        return Err(LiveDiffError::TooLargeForChangeSet { bytes: body.len() });
    }
    let kind = if stack_exists {
        ChangeSetKind::Update
    } else {
        ChangeSetKind::Create
    };
    let request = ChangeSetRequest {
        stack_name: stack.to_owned(),
        change_set_name: change_set_name.to_owned(),
        kind,
        template: TemplateSource::Body(body),
        tags: Vec::new(),
        client_token: change_set_name.to_owned(),
        description: Some(
            "upstack diff --change-set (review only, deleted after reading)".to_owned(),
        ),
        // The env's execution role, as deploy sends it: the plan role may
        // create change sets only with it, and CloudFormation's verdicts are
        // then those of the role that would run the change.
        role_arn: role_arn.map(str::to_owned),
        revert_drift: false,
    };
    let handle = changeset::create(client, &request).await?;
    let outcome = read_change_set(client, &handle, pacing).await;
    let cleanup = clean_up(client, &handle, kind).await;
    match (outcome, cleanup) {
        (Ok(changes), Ok(())) => Ok(changes),
        (Err(primary), Ok(())) => Err(primary),
        (Ok(_), Err(cleanup)) => Err(cleanup),
        (Err(primary), Err(cleanup)) => Err(LiveDiffError::CleanupFailed {
            primary: Box::new(primary),
            cleanup: Box::new(cleanup),
        }),
    }
}

async fn read_change_set(
    client: &Client,
    handle: &ChangeSetHandle,
    pacing: &Pacing,
) -> Result<Vec<ChangeSetResource>, LiveDiffError> {
    match changeset::wait_until_ready(client, handle, pacing).await? {
        ChangeSetState::Ready(description) => Ok(description.changes),
        ChangeSetState::NoChanges { .. } => Ok(Vec::new()),
        ChangeSetState::Failed { status, reason } => Err(LiveDiffError::ChangeSetFailed {
            stack: handle.stack_name.clone(),
            id: handle.id.clone(),
            status,
            reason,
        }),
    }
}

/// Deletes the change set; after a CREATE change set, also the stack it
/// created, but only while that stack is still REVIEW_IN_PROGRESS (nothing
/// deployed in it), so a stack someone created meanwhile is never touched.
async fn clean_up(
    client: &Client,
    handle: &ChangeSetHandle,
    kind: ChangeSetKind,
) -> Result<(), LiveDiffError> {
    changeset::delete(client, handle).await?;
    if kind == ChangeSetKind::Create {
        let stack = &handle.stack_name;
        let in_review = stack::describe(client, stack)
            .await?
            .is_some_and(|state| state.class() == StatusClass::ReviewInProgress);
        if in_review {
            call(
                "cloudformation:DeleteStack",
                client.delete_stack().stack_name(stack).send(),
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let error = read_template_file(&missing).unwrap_err().to_string();
        assert!(error.contains("missing.json"), "{error}");

        let not_json = dir.path().join("broken.json");
        std::fs::write(&not_json, "{ not json").unwrap();
        let error = read_template_file(&not_json).unwrap_err().to_string();
        assert!(
            error.contains("broken.json") && error.contains("not valid JSON"),
            "{error}"
        );

        let manifest = dir.path().join("manifest.json");
        std::fs::write(&manifest, r#"{"env": "dev"}"#).unwrap();
        let error = read_template_file(&manifest).unwrap_err().to_string();
        assert!(
            error.contains("manifest.json") && error.contains("no `Resources`"),
            "{error}"
        );
    }
}
