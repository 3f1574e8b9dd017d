//! What each function runs, checked against the zip built for it: Lambda's
//! `CodeSha256` is the SHA-256 (base64) of the deployment package, so after
//! a deploy it must equal the SHA-256 of the asset the template names. A
//! difference means the code running is not the code that was reviewed.

use std::fmt;

use upstack_stack::Manifest;

use super::DeployError;
use crate::assets::{StoredAsset, hex_of_checksum};
use crate::aws::CallError;
use crate::interact::Reporter;

/// One function's code: what it should run and what it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningCode {
    pub function_name: String,
    pub logical_id: String,
    pub asset_key: String,
    /// Lowercase hex SHA-256 of the zip built for it; `None` when no asset
    /// was recorded for its key.
    pub expected_sha256: Option<String>,
    /// Lowercase hex of the function's `CodeSha256`; `None` when the
    /// function does not exist.
    pub running_sha256: Option<String>,
}

impl RunningCode {
    pub fn matches(&self) -> bool {
        self.expected_sha256.is_some() && self.expected_sha256 == self.running_sha256
    }
}

impl fmt::Display for RunningCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) ", self.function_name, self.logical_id)?;
        match &self.running_sha256 {
            Some(running) => write!(f, "runs code with SHA-256 {running}")?,
            None => f.write_str("does not exist")?,
        }
        match &self.expected_sha256 {
            Some(expected) => write!(
                f,
                ", but the zip built for it ({}) has SHA-256 {expected}",
                self.asset_key
            ),
            None => write!(
                f,
                ", and no zip was recorded for its key {}",
                self.asset_key
            ),
        }
    }
}

/// After a deploy, functions that do not run the zip built and reviewed
/// for them.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} function(s) of {stack} do not run the code this deploy built and verified:{}\nThe stack itself was deployed. Code that differs was changed outside this deploy (the Lambda console, `aws lambda update-function-code`, another tool's hotswap) or not updated by CloudFormation; it is not what was reviewed. Look at the function's recent changes in CloudTrail before trusting it; `upstack status --env {env}` shows it until it is fixed",
    functions.len(),
    functions.iter().map(|code| format!("\n  - {code}")).collect::<String>()
)]
pub struct CodeMismatch {
    pub stack: String,
    pub env: String,
    pub functions: Vec<RunningCode>,
}

/// The function's `CodeSha256` as lowercase hex (GetFunctionConfiguration);
/// `None` when there is no such function.
pub async fn running_code(
    lambda: &aws_sdk_lambda::Client,
    function_name: &str,
) -> Result<Option<String>, CallError> {
    let result = lambda
        .get_function_configuration()
        .function_name(function_name)
        .send()
        .await;
    let configuration = match result {
        Ok(configuration) => configuration,
        Err(error) => {
            let error = CallError::from_sdk("lambda:GetFunctionConfiguration", &error);
            return if error.is_not_found() {
                Ok(None)
            } else {
                Err(error)
            };
        }
    };
    let checksum = configuration.code_sha256().unwrap_or_default();
    match hex_of_checksum(checksum) {
        Some(sha256) => Ok(Some(sha256)),
        None => Err(CallError::new(
            "lambda:GetFunctionConfiguration",
            None,
            format!("{function_name}: CodeSha256 `{checksum}` is not a base64 SHA-256"),
        )),
    }
}

/// Each function of `manifest` against the SHA-256 of its recorded asset;
/// reports the result, or fails with [`CodeMismatch`] naming every function
/// that differs.
pub(super) async fn check_running_code(
    lambda: &aws_sdk_lambda::Client,
    manifest: &Manifest,
    assets: &[StoredAsset],
    reporter: &mut dyn Reporter,
) -> Result<(), DeployError> {
    let mut checked = Vec::with_capacity(manifest.functions.len());
    for function in &manifest.functions {
        checked.push(RunningCode {
            function_name: function.function_name.clone(),
            logical_id: function.logical_id.clone(),
            asset_key: function.asset_key.clone(),
            expected_sha256: assets
                .iter()
                .find(|asset| asset.key == function.asset_key)
                .map(|asset| asset.sha256.clone()),
            running_sha256: running_code(lambda, &function.function_name).await?,
        });
    }
    let differing: Vec<RunningCode> = checked
        .iter()
        .filter(|code| !code.matches())
        .cloned()
        .collect();
    if !differing.is_empty() {
        return Err(CodeMismatch {
            stack: manifest.stack_name.clone(),
            env: manifest.env.clone(),
            functions: differing,
        }
        .into());
    }
    if !checked.is_empty() {
        reporter.line(&format!(
            "code: each of the {} function(s) runs the zip built for it (CodeSha256 checked)",
            checked.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatch_names_the_function_and_both_hashes() {
        let code = RunningCode {
            function_name: "upstack-prod-notify".into(),
            logical_id: "NotifyFunction".into(),
            asset_key: "assets/notify-arm64-f.zip".into(),
            expected_sha256: Some("a".repeat(64)),
            running_sha256: Some("b".repeat(64)),
        };
        assert!(!code.matches());
        let error = CodeMismatch {
            stack: "upstack-prod".into(),
            env: "prod".into(),
            functions: vec![code.clone()],
        }
        .to_string();
        assert!(
            error.starts_with(
                "1 function(s) of upstack-prod do not run the code this deploy built and verified:\n  - upstack-prod-notify (NotifyFunction) runs code with SHA-256 bbbb"
            ),
            "{error}"
        );
        assert!(error.contains(&"a".repeat(64)), "{error}");
        let same = RunningCode {
            running_sha256: Some("a".repeat(64)),
            ..code.clone()
        };
        assert!(same.matches());
        let missing = RunningCode {
            running_sha256: None,
            ..code.clone()
        };
        assert!(!missing.matches());
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        let unrecorded = RunningCode {
            expected_sha256: None,
            running_sha256: None,
            ..code
        };
        assert!(!unrecorded.matches());
    }
}
