//! Start-up configuration from environment variables. A missing or invalid
//! variable stops the function at init with an error naming the variable, so
//! a misconfigured stack fails its first invocation loudly instead of
//! half-processing objects.

use std::fmt::Display;
use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {name} is not set (the stack sets it on the function)")]
    Missing { name: String },
    #[error("environment variable {name} is empty")]
    Empty { name: String },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
}

/// Reads variables through a lookup function so tests need not mutate the
/// process environment (which is shared by parallel tests).
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

pub struct EnvSource<'a> {
    lookup: Lookup<'a>,
}

impl std::fmt::Debug for EnvSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvSource")
    }
}

impl<'a> EnvSource<'a> {
    pub fn process() -> EnvSource<'static> {
        EnvSource {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }

    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        EnvSource {
            lookup: Box::new(lookup),
        }
    }

    pub fn from_pairs(pairs: &'a [(&'a str, &'a str)]) -> Self {
        EnvSource::from_fn(move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        match self.get(name) {
            None => Err(ConfigError::Missing {
                name: name.to_owned(),
            }),
            Some(value) if value.trim().is_empty() => Err(ConfigError::Empty {
                name: name.to_owned(),
            }),
            Some(value) => Ok(value),
        }
    }

    /// A required SNS topic ARN; `fifo` demands the `.fifo` suffix SNS gives
    /// FIFO topics, so swapping the two variables is caught at start-up.
    pub fn topic_arn(&self, name: &str, fifo: bool) -> Result<String, ConfigError> {
        let value = self.required(name)?;
        let invalid = |reason: &str| ConfigError::Invalid {
            name: name.to_owned(),
            value: value.clone(),
            reason: reason.to_owned(),
        };
        let parts: Vec<&str> = value.split(':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[5].is_empty() {
            return Err(invalid(
                "expected an SNS topic ARN arn:<partition>:sns:<region>:<account>:<name>",
            ));
        }
        match (fifo, parts[5].ends_with(".fifo")) {
            (true, false) => Err(invalid("a FIFO topic's name ends with .fifo")),
            (false, true) => Err(invalid("expected a standard topic, got a FIFO topic")),
            _ => Ok(value),
        }
    }

    /// An optional value parsed with `FromStr`; unset or blank means `default`.
    pub fn parsed_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(value) if value.trim().is_empty() => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|error: T::Err| ConfigError::Invalid {
                    name: name.to_owned(),
                    reason: error.to_string(),
                    value,
                }),
        }
    }

    /// An optional comma-separated list (blank entries dropped).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A start-up failure whose `Debug` is its message: `main` returning
/// `Err` prints `Debug`, and the Lambda init log should read
/// "environment variable TABLE_NAME is not set", not a struct dump.
pub struct StartupError(String);

impl std::fmt::Debug for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartupError {}

/// Logs the configuration error (JSON, like every other line) and wraps it
/// for `main` to return.
pub fn startup_error(handler: &str, error: ConfigError) -> StartupError {
    tracing::error!(handler, error = %error, "cannot start: configuration error");
    StartupError(format!("{handler} cannot start: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_variables_are_named() {
        let env = EnvSource::from_pairs(&[("TABLE_NAME", "  ")]);
        assert_eq!(
            env.required("TOPIC_ARN").unwrap_err().to_string(),
            "environment variable TOPIC_ARN is not set (the stack sets it on the function)"
        );
        assert_eq!(
            env.required("TABLE_NAME").unwrap_err(),
            ConfigError::Empty {
                name: "TABLE_NAME".into()
            }
        );
    }

    #[test]
    fn topic_arns_are_checked_for_shape_and_fifo_suffix() {
        let env = EnvSource::from_pairs(&[
            ("STD", "arn:aws:sns:eu-west-1:123456789012:uploads"),
            ("FIFO", "arn:aws:sns:eu-west-1:123456789012:events.fifo"),
            ("BAD", "uploads"),
        ]);
        assert!(env.topic_arn("STD", false).is_ok());
        assert!(env.topic_arn("FIFO", true).is_ok());
        assert!(
            env.topic_arn("STD", true)
                .unwrap_err()
                .to_string()
                .contains("STD")
        );
        assert!(env.topic_arn("FIFO", false).is_err());
        let error = env.topic_arn("BAD", false).unwrap_err().to_string();
        assert!(error.contains("BAD=\"uploads\""), "{error}");
    }

    #[test]
    fn parsed_values_default_when_unset_and_fail_when_invalid() {
        let env = EnvSource::from_pairs(&[("N", "12"), ("X", "twelve")]);
        assert_eq!(env.parsed_or("N", 3_u32).unwrap(), 12);
        assert_eq!(env.parsed_or("UNSET", 3_u32).unwrap(), 3);
        let error = env.parsed_or("X", 3_u32).unwrap_err().to_string();
        assert!(
            error.starts_with("environment variable X=\"twelve\" is invalid"),
            "{error}"
        );
    }

    #[test]
    fn lists_drop_blank_entries() {
        let env = EnvSource::from_pairs(&[("L", " a, ,b ,")]);
        assert_eq!(env.list("L"), vec!["a", "b"]);
        assert!(env.list("UNSET").is_empty());
    }
}
