//! The GitHub repository whose workflows the CI roles trust.

use std::fmt;

use super::CiIdentityError;

/// `OWNER/REPO` of a GitHub repository, checked against GitHub's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    owner: String,
    name: String,
}

impl Repository {
    /// Owners (users, organisations): 1-39 letters, digits and single
    /// hyphens, not at either end. Repository names: 1-100 letters, digits,
    /// `-`, `_` and `.`, not `.` or `..`.
    pub fn parse(value: &str) -> Result<Repository, CiIdentityError> {
        let bad = |why: &str| CiIdentityError::Repository {
            value: value.to_owned(),
            why: why.to_owned(),
        };
        let Some((owner, name)) = value.split_once('/') else {
            return Err(bad("there is no `/` between the owner and the repository"));
        };
        if name.contains('/') {
            return Err(bad("it has more than one `/`"));
        }
        if owner.is_empty() || owner.len() > 39 {
            return Err(bad("the owner must be 1-39 characters"));
        }
        if !owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            || owner.starts_with('-')
            || owner.ends_with('-')
            || owner.contains("--")
        {
            return Err(bad(
                "the owner may only have letters, digits and single hyphens, not at either end",
            ));
        }
        if name.is_empty() || name.len() > 100 {
            return Err(bad("the repository name must be 1-100 characters"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name == "."
            || name == ".."
        {
            return Err(bad(
                "the repository name may only have letters, digits, `-`, `_` and `.`",
            ));
        }
        Ok(Repository {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The OIDC subject of a pull request's jobs (without an environment).
    /// <https://docs.github.com/en/actions/reference/security/oidc> ("Example subject claims").
    pub fn pull_request_subject(&self) -> String {
        format!("repo:{self}:pull_request")
    }

    /// The OIDC subject of a job that references the environment `env`.
    pub fn environment_subject(&self, env: &str) -> String {
        format!("repo:{self}:environment:{env}")
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}
