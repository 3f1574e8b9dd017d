//! Env config parsing: every bad value is reported with file, line and key.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use upstack_stack::config::{self, ConfigError};

const DEV: &str = include_str!("../../envs/dev.toml");
const PROD: &str = include_str!("../../envs/prod.toml");

fn error_for(text: &str) -> ConfigError {
    config::parse("envs/test.toml", text).expect_err("config should be rejected")
}

/// `DEV` with the line starting `key =` replaced by `replacement`.
fn dev_with(key: &str, replacement: &str) -> String {
    let mut replaced = false;
    let text: Vec<String> = DEV
        .lines()
        .map(|line| {
            if !replaced && line.starts_with(&format!("{key} =")) {
                replaced = true;
                replacement.to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert!(replaced, "dev.toml has no line `{key} =`");
    text.join("\n")
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .expect("needle in text")
        + 1
}

#[test]
fn the_committed_envs_parse() {
    let dev = config::parse("envs/dev.toml", DEV).unwrap();
    assert_eq!(dev.app(), "upstack");
    assert_eq!(dev.functions.settings("ingest").memory_mb.mb(), 512);
    assert_eq!(dev.functions.settings("notify").memory_mb.mb(), 256);
    assert_eq!(
        dev.functions
            .settings("photo-check")
            .timeout_seconds
            .seconds(),
        60
    );
    let prod = config::parse("envs/prod.toml", PROD).unwrap();
    assert!(prod.retain_stateful_resources);
    assert_eq!(prod.notification_emails.len(), 2);
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let text = format!("{DEV}\n[functions.notify]\nmemory = 1024\n");
    let error = error_for(&text);
    assert_eq!(error.file, "envs/test.toml");
    assert_eq!(error.line, Some(line_of(&text, "memory = 1024")));
    assert_eq!(error.key.as_deref(), Some("functions.notify.memory"));
    assert!(error.message.contains("unknown field `memory`"), "{error}");
}

/// `[functions.<name>]` takes any declared handler, and only those: a
/// typo or a handler not yet declared is refused at its own line, with the
/// names that would be accepted.
#[test]
fn functions_tables_are_the_declared_handlers() {
    let text = format!("{DEV}\n[functions.thumbnail]\nmemory_mb = 1024\n");
    let error = error_for(&text);
    assert_eq!(error.line, Some(line_of(&text, "[functions.thumbnail]")));
    assert_eq!(error.key.as_deref(), Some("functions.thumbnail"));
    let declared: Vec<String> = upstack_stack::pipeline::handlers()
        .iter()
        .map(|handler| format!("`{handler}`"))
        .collect();
    assert_eq!(
        error.message,
        format!(
            "unknown field `thumbnail`, expected one of `defaults`, {}",
            declared.join(", ")
        )
    );

    let text = format!("{DEV}\n[functions.notify]\nmemory_mb = 1024\n");
    let config = config::parse("envs/test.toml", &text).unwrap();
    assert_eq!(config.functions.settings("notify").memory_mb.mb(), 1024);
    // Unset keys still fall back to [functions.defaults].
    assert_eq!(
        config
            .functions
            .settings("notify")
            .timeout_seconds
            .seconds(),
        30
    );
}

#[test]
fn unknown_top_level_key_is_rejected() {
    let text = format!("colour = \"blue\"\n{DEV}");
    let error = error_for(&text);
    assert_eq!(error.line, Some(1));
    assert!(
        error.to_string().contains("unknown field `colour`"),
        "{error}"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let text = dev_with("log_retention_days", "log_retention_days = \"two weeks\"");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("log_retention_days"));
    assert_eq!(error.line, Some(line_of(&text, "two weeks")));
    assert!(error.message.contains("invalid type"), "{error}");
}

#[test]
fn bad_email_names_the_list_item() {
    let text = dev_with(
        "notification_emails",
        "notification_emails = [\"ok@example.com\", \"ops@\"]",
    );
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("notification_emails[1]"));
    assert_eq!(error.line, Some(line_of(&text, "ops@")));
    assert!(
        error.message.contains("`ops@` is not an email address"),
        "{error}"
    );
}

#[test]
fn bad_region_is_rejected() {
    let text = dev_with("region", "region = \"europe-1\"");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("region"));
    assert!(
        error
            .message
            .contains("`europe-1` is not an AWS region the SDK knows"),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "envs/test.toml:{}: key `region`: `europe-1` is not an AWS region the SDK knows (like `eu-west-1`)",
            line_of(&text, "europe-1")
        )
    );
    for good in [
        "eu-west-1",
        "us-gov-west-1",
        "ap-southeast-2",
        "il-central-1",
    ] {
        let text = dev_with("region", &format!("region = \"{good}\""));
        assert!(config::parse("envs/test.toml", &text).is_ok(), "{good}");
    }
}

#[test]
fn account_id_must_be_twelve_digits() {
    let text = dev_with("# account_id", "account_id = \"12345678901\"");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("account_id"));
    assert!(error.message.contains("exactly 12 digits"), "{error}");
    let text = dev_with("# account_id", "account_id = 123456789012");
    assert!(error_for(&text).message.contains("invalid type"));
    let text = dev_with("# account_id", "account_id = \"123456789012\"");
    assert_eq!(
        config::parse("x", &text)
            .unwrap()
            .account_id
            .unwrap()
            .as_str(),
        "123456789012"
    );
}

#[test]
fn log_retention_must_be_a_cloudwatch_value() {
    let text = dev_with("log_retention_days", "log_retention_days = 10");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("log_retention_days"));
    assert!(
        error
            .message
            .contains("10 is not a retention CloudWatch Logs accepts"),
        "{error}"
    );
}

#[test]
fn architecture_must_be_a_lambda_one() {
    let text = dev_with("architecture", "architecture = \"aarch64\"");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("architecture"));
    assert!(error.message.contains("use `x86_64` or `arm64`"), "{error}");
}

#[test]
fn build_profile_defaults_to_lambda_and_names_the_allowed_values() {
    use upstack_contract::BuildProfile;
    let dev = config::parse("envs/dev.toml", DEV).unwrap();
    assert_eq!(dev.build_profile.0, BuildProfile::Fast);
    let prod = config::parse("envs/prod.toml", PROD).unwrap();
    assert_eq!(prod.build_profile.0, BuildProfile::Lambda, "absent: lambda");
    let text = dev_with("build_profile", "build_profile = \"lambda\"");
    let lambda = config::parse("envs/test.toml", &text).unwrap();
    assert_eq!(lambda.build_profile.0, BuildProfile::Lambda);

    let text = dev_with("build_profile", "build_profile = \"release\"");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("build_profile"));
    assert_eq!(error.line, Some(line_of(&text, "build_profile =")));
    assert_eq!(
        error.to_string(),
        format!(
            "envs/test.toml:{}: key `build_profile`: `release` is not a build profile; \
             use `lambda` (optimised, the default) or `fast` (quick rebuilds for a dev loop)",
            line_of(&text, "build_profile =")
        )
    );
}

#[test]
fn function_limits_are_checked_per_key() {
    let text = dev_with("memory_mb", "memory_mb = 64");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("functions.defaults.memory_mb"));
    assert!(error.message.contains("64 MB is outside"), "{error}");
    let text = format!("{DEV}\n[functions.notify]\ntimeout_seconds = 901\n");
    let error = error_for(&text);
    assert_eq!(
        error.key.as_deref(),
        Some("functions.notify.timeout_seconds")
    );
}

#[test]
fn a_missing_required_key_is_named() {
    let text = DEV.replace("stack_name = \"upstack-dev\"\n", "");
    let error = error_for(&text);
    assert!(
        error.message.contains("missing field `stack_name`"),
        "{error}"
    );
}

#[test]
fn photo_thresholds_and_columns_are_range_checked() {
    let text = DEV.replace("min_face_area = 0.05", "min_face_area = 5.0");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("photo.min_face_area"));
    let text = DEV.replace("sk_columns = [\"order_id\"]", "sk_columns = [\"a\", \"a\"]");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("ingest.sk_columns"));
    assert!(error.message.contains("listed twice"), "{error}");
}

#[test]
fn reserved_tag_namespace_is_refused() {
    let text = DEV.replace("owner = \"platform-team\"", "\"aws:owner\" = \"x\"");
    let error = error_for(&text);
    assert!(
        error
            .message
            .contains("must be 1-128 characters and not start with `aws:`"),
        "{error}"
    );
    assert_eq!(error.line, Some(line_of(&text, "aws:owner")));
}

#[test]
fn an_app_name_that_makes_bucket_names_too_long_is_refused() {
    let text = dev_with("app", "app = \"a-very-long-application-name-indeed\"");
    let error = error_for(&text);
    assert_eq!(error.key.as_deref(), Some("app"));
    assert_eq!(error.line, Some(line_of(&text, "a-very-long")));
    assert!(error.message.contains("S3 allows 63"), "{error}");
}

#[test]
fn toml_syntax_errors_carry_a_line() {
    let text = format!("{DEV}\n[photo\n");
    let error = error_for(&text);
    assert_eq!(error.key, None);
    assert!(error.line.is_some());
}

#[test]
fn env_names_become_resource_names_so_they_are_restricted() {
    assert!(config::validate_env_name("staging").is_ok());
    assert!(config::validate_env_name("Prod").is_err());
    assert!(config::validate_env_name("much-too-long-env").is_err());
}

#[test]
fn alarm_settings_default_and_are_validated_with_file_line_and_key() {
    let dev = config::parse("envs/dev.toml", DEV).unwrap();
    let prod = config::parse("envs/prod.toml", PROD).unwrap();
    assert_eq!(dev.rollback_monitoring_minutes(), 0);
    assert_eq!(prod.rollback_monitoring_minutes(), 10);
    // The committed files spell out the defaults.
    for kind in config::AlarmKind::ALL {
        let (threshold, period, evaluation) = kind.defaults();
        let settings = prod.alarms.settings(kind);
        assert!(settings.enabled, "{kind:?}");
        assert_eq!(
            (
                settings.threshold,
                settings.period_seconds,
                settings.evaluation_periods
            ),
            (threshold, period, evaluation),
            "{kind:?}"
        );
        assert_eq!(dev.alarms.settings(kind), settings, "{kind:?}");
    }

    let bad_period = DEV.replacen(
        "period_seconds = 300                # only",
        "period_seconds = 90                 # only",
        1,
    );
    assert_ne!(bad_period, DEV);
    let error = error_for(&bad_period);
    assert_eq!(
        error.key.as_deref(),
        Some("alarms.function_throttles.period_seconds")
    );
    assert_eq!(
        error.line,
        Some(line_of(&bad_period, "period_seconds = 90"))
    );
    assert!(error.message.contains("multiple of 60"), "{error}");

    let unknown = DEV.replace("[alarms.rejected_rows]", "[alarms.rejected_lines]");
    let error = error_for(&unknown);
    assert_eq!(error.key.as_deref(), Some("alarms.rejected_lines"));
    assert!(error.message.contains("unknown field"), "{error}");

    let negative = DEV.replacen("threshold = 3600", "threshold = -1", 1);
    let error = error_for(&negative);
    assert_eq!(
        error.key.as_deref(),
        Some("alarms.events_queue_oldest_message_age.threshold")
    );
    assert_eq!(error.line, Some(line_of(&negative, "threshold = -1")));

    let minutes = DEV.replacen(
        "rollback_monitoring_minutes = 0",
        "rollback_monitoring_minutes = 181",
        1,
    );
    assert_ne!(minutes, DEV);
    let error = error_for(&minutes);
    assert_eq!(
        error.key.as_deref(),
        Some("alarms.rollback_monitoring_minutes")
    );
    assert_eq!(error.line, Some(line_of(&minutes, "= 181")));
    assert!(error.message.contains("0..=180"), "{error}");
}

#[test]
fn alarm_evaluation_longer_than_seven_days_is_refused_at_its_line() {
    let text = DEV.replacen(
        "threshold = 1                       # a rejected row is data that did not reach the table\nperiod_seconds = 300\nevaluation_periods = 1",
        "threshold = 1\nperiod_seconds = 86400\nevaluation_periods = 8",
        1,
    );
    assert_ne!(text, DEV);
    let error = error_for(&text);
    assert_eq!(
        error.to_string(),
        format!(
            "envs/test.toml:{}: key `alarms.rejected_rows.evaluation_periods`: 8 periods of 86400 s cover 691200 s; CloudWatch evaluates at most 604800 s (7 days)",
            line_of(&text, "evaluation_periods = 8")
        )
    );
}

/// The plan (manifest.json, saved deploy plans) names an alarm's kind by its
/// `[alarms.<key>]` table, so the two spellings can never drift apart.
#[test]
fn an_alarm_kind_is_serialized_as_its_table_key() {
    for kind in config::AlarmKind::ALL {
        let json = serde_json::to_value(kind).unwrap();
        assert_eq!(json, serde_json::json!(kind.key()));
        assert_eq!(
            serde_json::from_value::<config::AlarmKind>(json).unwrap(),
            kind
        );
    }
}

#[test]
fn execution_role_arn_must_be_a_role_of_the_envs_account() {
    let base = include_str!("../../envs/dev.toml");
    let with = |lines: &str| {
        base.replacen(
            "region = \"eu-west-1\"\n",
            &format!("region = \"eu-west-1\"\n{lines}\n"),
            1,
        )
    };
    let role = "arn:aws:iam::123456789012:role/upstack-ci/upstack-dev-ci-cfn-exec";

    let config = config::parse(
        "envs/dev.toml",
        &with(&format!(
            "account_id = \"123456789012\"\nexecution_role_arn = \"{role}\""
        )),
    )
    .unwrap();
    let assets = upstack_stack::pipeline::handlers()
        .iter()
        .map(|h| ((*h).to_owned(), format!("assets/{h}-arm64-00.zip")))
        .collect();
    let plan = upstack_stack::synthesize("dev", &config, &assets).unwrap();
    assert_eq!(plan.manifest.execution_role_arn.as_deref(), Some(role));

    let error = config::parse(
        "envs/dev.toml",
        &with(&format!("execution_role_arn = \"{role}\"")),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("envs/dev.toml:7: key `execution_role_arn`: "),
        "{error}"
    );
    assert!(error.contains("needs `account_id`"), "{error}");

    let error = config::parse(
        "envs/dev.toml",
        &with(&format!(
            "account_id = \"111111111111\"\nexecution_role_arn = \"{role}\""
        )),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(
            "is a role of account 123456789012, but the env deploys to account 111111111111"
        ),
        "{error}"
    );

    for bad in [
        "arn:aws:iam::123456789012:user/someone",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::12345:role/x",
        "arn:aws:iam:eu-west-1:123456789012:role/x",
        "arn:aws:iam::123456789012:role/*",
        "not-an-arn",
    ] {
        let error = config::parse(
            "envs/dev.toml",
            &with(&format!(
                "account_id = \"123456789012\"\nexecution_role_arn = \"{bad}\""
            )),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("is not an IAM role ARN"), "{bad}: {error}");
        assert!(error.contains("key `execution_role_arn`"), "{bad}: {error}");
    }
}
