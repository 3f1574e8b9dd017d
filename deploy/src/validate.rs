//! AWS's own offline template validator, run in-process.
//!
//! [`cloudformation-validate`](https://crates.io/crates/cloudformation-validate)
//! bundles the CloudFormation resource schemas and AWS's rule set (the
//! cfn-lint rules, re-implemented), so it checks what `upstack_cfn::validate`
//! cannot: property types, enum values, required properties of nested
//! property types, IAM policy shape, and the like. It needs no network, no
//! credentials and no data files at run time: everything is compiled into
//! the binary (checked by running it inside a network namespace with no
//! interfaces, and under `strace`: no socket or file is opened).
//!
//! Costs, measured on the 2-core build machine (docs/stack.md, "AWS's offline validator"; figures in docs/benchmarks.md):
//! building the validator's engine compiles its rules and decompresses its
//! schemas, about 0.5 s in a release build and 4-6 s in a debug build, so it is
//! done once per process ([`AwsValidator::shared`]); validating our pipeline
//! template after that takes a few milliseconds.

use std::fmt;
use std::sync::OnceLock;

use cloudformation_validate::template_model::template_section::EntityType;
use cloudformation_validate::{
    CompositeEngine, CompositeEngineConfig, Diagnostic, ReportStatus, SchemaValidator, Severity,
    ValidateConfig, validate_bytes_with_path,
};

/// How much a finding matters, in our own terms so a validator upgrade that
/// adds levels cannot break callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingSeverity {
    /// Advice (tagging, explicit retention, ...). [`aws_validate`] leaves these out.
    Info,
    /// Likely a mistake, but CloudFormation would accept the template.
    Warning,
    /// CloudFormation would reject the template, or the stack would not work.
    Error,
}

impl fmt::Display for FindingSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FindingSeverity::Info => "info",
            FindingSeverity::Warning => "warning",
            FindingSeverity::Error => "error",
        })
    }
}

/// One finding of AWS's validator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: FindingSeverity,
    /// The validator's rule ID, e.g. `F3012` (a value of the wrong type). The
    /// IDs follow cfn-lint's numbering, with `F` for what AWS calls fatal.
    pub rule: String,
    /// Where: `Resources.<LogicalId>.Properties.<Name>`, `Outputs.<Name>`,
    /// ..., or `$` for the template as a whole.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}: {}",
            self.severity, self.rule, self.path, self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AwsValidateError {
    #[error("could not start AWS's template validator (cloudformation-validate): {0}")]
    Engine(String),
    #[error("AWS's template validator could not read the template: {0}")]
    Validation(#[from] cloudformation_validate::ValidationError),
    /// Some rules could not run (for example a rule hit its evaluation
    /// budget); the findings that were produced are kept, because reporting
    /// a partial check as a clean one would hide problems.
    #[error(
        "AWS's template validator could not finish its analysis ({} finding(s) before it stopped)",
        findings.len()
    )]
    Incomplete { findings: Vec<Finding> },
}

/// The validator's compiled rules and schemas, built once and reused.
pub struct AwsValidator {
    engine: CompositeEngine,
    schemas: SchemaValidator,
}

impl fmt::Debug for AwsValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsValidator")
            .field("version", &cloudformation_validate::version())
            .finish_non_exhaustive()
    }
}

static SHARED: OnceLock<Result<AwsValidator, String>> = OnceLock::new();

impl AwsValidator {
    /// Compiles the built-in rules and loads the bundled schemas (slow: do it once).
    pub fn new() -> Result<Self, AwsValidateError> {
        let engine = CompositeEngine::new(CompositeEngineConfig::default())
            .map_err(|error| AwsValidateError::Engine(format!("{error:#}")))?;
        Ok(AwsValidator {
            engine,
            schemas: SchemaValidator::default(),
        })
    }

    /// The process-wide validator, built on first use.
    pub fn shared() -> Result<&'static AwsValidator, AwsValidateError> {
        SHARED
            .get_or_init(|| AwsValidator::new().map_err(|error| error.to_string()))
            .as_ref()
            .map_err(|message| AwsValidateError::Engine(message.clone()))
    }

    /// The version of AWS's validator in use, for reports.
    pub fn version() -> &'static str {
        cloudformation_validate::version()
    }

    /// Findings at `minimum` severity or above, sorted by path, then rule.
    pub fn validate(
        &self,
        template_json: &str,
        minimum: FindingSeverity,
    ) -> Result<Vec<Finding>, AwsValidateError> {
        let config = ValidateConfig {
            severity_level: validator_severity(minimum),
            ..ValidateConfig::default()
        };
        let report = validate_bytes_with_path(
            &self.engine,
            &self.schemas,
            template_json.as_bytes(),
            config,
            "template.json".to_owned(),
        )?;
        let mut findings: Vec<Finding> = report
            .diagnostics
            .iter()
            .map(finding_of)
            .filter(|finding| finding.severity >= minimum)
            .collect();
        findings
            .sort_by(|a, b| (&a.path, &a.rule, &a.message).cmp(&(&b.path, &b.rule, &b.message)));
        findings.dedup();
        match report.status {
            ReportStatus::Ok => Ok(findings),
            // `Error` means the report carries errors: they are the findings.
            ReportStatus::Error => Ok(findings),
            ReportStatus::AnalysisIncomplete => Err(AwsValidateError::Incomplete { findings }),
        }
    }
}

/// Runs AWS's validator on a template's JSON text and returns its warnings
/// and errors (advice-level findings are left out: see [`FindingSeverity::Info`]).
/// An empty list means AWS's rules found nothing to object to.
pub fn aws_validate(template_json: &str) -> Result<Vec<Finding>, AwsValidateError> {
    AwsValidator::shared()?.validate(template_json, FindingSeverity::Warning)
}

/// Warnings of AWS's validator that were reviewed and accepted for our
/// templates, with why. Deploy's pre-flight stays quiet about them; the
/// test `aws_warnings_are_the_reviewed_ones` fails on any other.
pub const REVIEWED_WARNINGS: &[(&str, &str)] = &[(
    "W9002",
    // https://repost.aws/knowledge-center/unable-validate-circular-dependency-cloudformation
    "the upload bucket's Lambda permissions name the bucket's ARN with Fn::Sub from its deterministic name: the documented way out of the bucket -> notification -> permission cycle",
)];

/// AWS's validator refused a template deploy was about to send.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(
        "AWS's template validator (cloudformation-validate {version}) finds {} error(s) in the template; CloudFormation would reject it or the stack would not work:\n{}",
        errors.len(),
        errors.iter().map(|finding| format!("  {finding}")).collect::<Vec<_>>().join("\n")
    )]
    Rejected {
        version: &'static str,
        errors: Vec<Finding>,
    },
    #[error(transparent)]
    Validator(#[from] AwsValidateError),
}

/// Deploy's pre-flight: AWS's validator on the exact body deploy sends,
/// before any AWS call. Errors refuse the deploy; the warnings returned are
/// the ones nobody has reviewed yet (see [`REVIEWED_WARNINGS`]).
pub fn preflight(upload_body: &str) -> Result<Vec<Finding>, PreflightError> {
    let findings = aws_validate(upload_body)?;
    let (errors, warnings): (Vec<Finding>, Vec<Finding>) = findings
        .into_iter()
        .partition(|finding| finding.severity == FindingSeverity::Error);
    if !errors.is_empty() {
        return Err(PreflightError::Rejected {
            version: AwsValidator::version(),
            errors,
        });
    }
    Ok(warnings
        .into_iter()
        .filter(|finding| {
            !REVIEWED_WARNINGS
                .iter()
                .any(|(rule, _)| *rule == finding.rule)
        })
        .collect())
}

fn validator_severity(severity: FindingSeverity) -> Severity {
    match severity {
        FindingSeverity::Info => Severity::Info,
        FindingSeverity::Warning => Severity::Warn,
        FindingSeverity::Error => Severity::Error,
    }
}

fn finding_of(diagnostic: &Diagnostic) -> Finding {
    let severity = match diagnostic.severity {
        Severity::Debug | Severity::Info => FindingSeverity::Info,
        Severity::Warn => FindingSeverity::Warning,
        Severity::Error | Severity::Fatal => FindingSeverity::Error,
    };
    Finding {
        severity,
        rule: diagnostic.rule_id.clone(),
        path: path_of(diagnostic),
        message: diagnostic.message.clone(),
    }
}

/// The same dotted path `upstack_cfn::validate` uses, so both validators'
/// findings read alike.
fn path_of(diagnostic: &Diagnostic) -> String {
    let Some(entity) = &diagnostic.entity else {
        return "$".to_owned();
    };
    let section = match entity.entity_type {
        EntityType::Resource => "Resources",
        EntityType::Parameter => "Parameters",
        EntityType::Output => "Outputs",
        EntityType::Mapping => "Mappings",
        EntityType::Condition => "Conditions",
        EntityType::Rule => "Rules",
        EntityType::Metadata => "Metadata",
        EntityType::Transform => return "Transform".to_owned(),
        EntityType::FormatVersion => return "AWSTemplateFormatVersion".to_owned(),
        EntityType::Description => return "Description".to_owned(),
    };
    let mut path = format!("{section}.{}", entity.logical_id);
    let Some(property_path) = diagnostic
        .property_path
        .as_deref()
        .filter(|p| !p.is_empty())
    else {
        return path;
    };
    // Resource findings carry `Properties.Name`; output findings carry the
    // whole JSON-pointer-like path (`Outputs/Name/Value.Fn::GetAtt.1`).
    // Either way, report one dotted path from the section down.
    let property_path = property_path.replace('/', ".");
    let relative = property_path
        .strip_prefix(path.as_str())
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(&property_path);
    if !relative.is_empty() {
        path.push('.');
        path.push_str(relative);
    }
    path
}
