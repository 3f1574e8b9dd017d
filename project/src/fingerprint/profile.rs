//! The cargo profile a handler is built with, followed through `inherits`.

use std::path::Path;

use super::FingerprintError;

/// Profiles cargo defines itself: a chain ends at one of them.
const BUILT_IN: [&str; 4] = ["dev", "release", "test", "bench"];

/// `(name, [profile.<name>] as written)` for `profile` and each profile it
/// inherits from, in order, ending with a built-in one (whose table is
/// `None` when the manifest does not tune it). Config files and
/// `CARGO_PROFILE_*` can tune them too; those are hashed with the rest of
/// cargo's config and the environment.
pub fn profile_chain(
    root_manifest: &toml::Value,
    profile: &str,
    manifest_path: &Path,
) -> Result<Vec<(String, Option<toml::Value>)>, FingerprintError> {
    let profiles = root_manifest.get("profile");
    let mut chain: Vec<(String, Option<toml::Value>)> = Vec::new();
    let mut name = profile.to_owned();
    loop {
        if chain.iter().any(|(seen, _)| *seen == name) {
            return Err(FingerprintError::Profile {
                manifest: manifest_path.to_path_buf(),
                profile: profile.to_owned(),
                message: format!("`inherits` loops back to `{name}`"),
            });
        }
        let table = profiles.and_then(|profiles| profiles.get(&name)).cloned();
        let built_in = BUILT_IN.contains(&name.as_str());
        let parent = match (&table, built_in) {
            (_, true) => None,
            (None, false) => {
                return Err(FingerprintError::Profile {
                    manifest: manifest_path.to_path_buf(),
                    profile: profile.to_owned(),
                    message: format!("there is no [profile.{name}]"),
                });
            }
            (Some(table), false) => match table.get("inherits").and_then(toml::Value::as_str) {
                Some(parent) => Some(parent.to_owned()),
                None => {
                    return Err(FingerprintError::Profile {
                        manifest: manifest_path.to_path_buf(),
                        profile: profile.to_owned(),
                        message: format!(
                            "[profile.{name}] needs `inherits` (cargo requires it of a custom profile)"
                        ),
                    });
                }
            },
        };
        chain.push((name, table));
        match parent {
            Some(parent) => name = parent,
            None => return Ok(chain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(manifest: &str, profile: &str) -> Result<Vec<String>, String> {
        let value: toml::Value = toml::from_str(manifest).unwrap();
        profile_chain(&value, profile, Path::new("Cargo.toml"))
            .map(|chain| chain.into_iter().map(|(name, _)| name).collect())
            .map_err(|error| error.to_string())
    }

    #[test]
    fn follows_inherits_to_a_built_in_profile() {
        let manifest = "[profile.lambda]\ninherits = \"release\"\n[profile.lambda-fast]\ninherits = \"lambda\"\n";
        assert_eq!(
            chain(manifest, "lambda-fast").unwrap(),
            ["lambda-fast", "lambda", "release"]
        );
        assert_eq!(chain(manifest, "release").unwrap(), ["release"]);
    }

    #[test]
    fn a_missing_profile_or_a_loop_is_named() {
        let error = chain("[profile.lambda]\ninherits = \"release\"\n", "lambda-fast").unwrap_err();
        assert!(
            error.contains("there is no [profile.lambda-fast]"),
            "{error}"
        );
        let error = chain(
            "[profile.a]\ninherits = \"b\"\n[profile.b]\ninherits = \"a\"\n",
            "a",
        )
        .unwrap_err();
        assert!(error.contains("loops back to `a`"), "{error}");
        let error = chain("[profile.a]\nopt-level = 1\n", "a").unwrap_err();
        assert!(error.contains("needs `inherits`"), "{error}");
    }
}
