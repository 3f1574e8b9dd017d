//! One reader per resource type: which of its properties drift compares,
//! and how to read them with the type's own service, in CloudFormation's
//! names and shapes.
//!
//! A property is compared when it is in `always` (a declared one against
//! the template, an undeclared one against `defaults`: set by hand to
//! anything else, it drifted), or in `when_declared` and the template
//! declares it (AWS's default for it is not stable enough to compare an
//! undeclared one against). A reader returns every covered property that is
//! set; a property it leaves out is "not set".

mod cloudwatch;
mod dynamodb;
mod iam;
mod kms;
mod lambda;
mod logs;
mod s3;
mod sns;
mod sqs;

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value as Json};
use upstack_diff::drift::Observed;

use super::{DriftClients, Target};
use crate::aws::CallError;

/// What one read found.
#[derive(Debug)]
pub enum Outcome {
    Found(Reading),
    /// The resource is gone from the account.
    Gone,
}

#[derive(Debug, Default)]
pub struct Reading {
    /// Every covered property that is set, as CloudFormation would write it.
    pub properties: Map<String, Json>,
    /// Fields the template implies without stating them, merged into its
    /// value of the property: a function's `Code` names an S3 object, and
    /// the object's SHA-256 is what the running code is compared with.
    pub implied: Map<String, Json>,
}

pub type ReadFuture<'a> = Pin<Box<dyn Future<Output = Result<Outcome, CallError>> + Send + 'a>>;

/// How one resource type is read.
pub struct Reader {
    pub resource_type: &'static str,
    /// Compared whether or not the template declares them.
    pub always: &'static [&'static str],
    /// Compared only when the template declares them.
    pub when_declared: &'static [&'static str],
    /// Covered properties whose lists AWS returns in an order of its own.
    pub unordered: &'static [&'static str],
    /// AWS's value for an `always` property nobody set, as JSON text.
    pub defaults: &'static [(&'static str, &'static str)],
    /// The IAM actions `read` calls (the plan role is granted them).
    pub actions: &'static [&'static str],
    pub read: for<'a> fn(&'a DriftClients, &'a Target<'a>) -> ReadFuture<'a>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("resource_type", &self.resource_type)
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// The comparison `properties` (what the read found) takes part in.
    pub fn observed(
        &self,
        expected: &Map<String, Json>,
        properties: Map<String, Json>,
    ) -> Observed {
        let covered = self
            .always
            .iter()
            .chain(
                self.when_declared
                    .iter()
                    .filter(|name| expected.contains_key(**name)),
            )
            .copied()
            .collect();
        Observed::Read {
            properties,
            covered,
            defaults: self.default_values(),
            unordered: self.unordered.to_vec(),
        }
    }

    fn default_values(&self) -> Map<String, Json> {
        self.defaults
            .iter()
            .filter_map(|(name, text)| Some(((*name).to_owned(), serde_json::from_str(text).ok()?)))
            .collect()
    }
}

/// Every reader, one per type.
pub fn readers() -> impl Iterator<Item = &'static Reader> {
    [
        cloudwatch::READERS,
        dynamodb::READERS,
        iam::READERS,
        kms::READERS,
        lambda::READERS,
        logs::READERS,
        s3::READERS,
        sns::READERS,
        sqs::READERS,
    ]
    .into_iter()
    .flatten()
}

pub fn reader_for(resource_type: &str) -> Option<&'static Reader> {
    readers().find(|reader| reader.resource_type == resource_type)
}

/// What drift reads, per type, as the Markdown table docs/drift.md holds
/// between its `<!-- readers -->` markers.
#[cfg(test)]
fn coverage_markdown() -> String {
    let mut readers: Vec<&Reader> = readers().collect();
    readers.sort_by_key(|reader| reader.resource_type);
    let code = |names: &[&str]| {
        if names.is_empty() {
            "-".to_owned()
        } else {
            names
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut out = String::from(
        "| Type | Compared always (undeclared: against AWS's default) | Compared when the template declares them | Read with |\n|---|---|---|---|\n",
    );
    for reader in readers {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            reader.resource_type,
            code(reader.always),
            code(reader.when_declared),
            code(reader.actions)
        ));
    }
    out
}

/// A property as its service reported it, kept only when it has a value:
/// what the service leaves out reads as unset, never as null.
pub(crate) fn set_some(
    properties: &mut serde_json::Map<String, Json>,
    name: &str,
    value: Option<Json>,
) {
    if let Some(value) = value {
        properties.insert(name.to_owned(), value);
    }
}

/// A JSON document AWS returns as text (a policy, a redrive policy); text
/// that is not JSON stays text, and compares as such.
pub(crate) fn json_text(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_owned()))
}

/// A policy document IAM returns URL-encoded (RFC 3986), as JSON.
pub(crate) fn url_encoded_json(text: &str) -> Json {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    json_text(&decoded)
}

/// A number AWS returns as text (SQS attributes), as a JSON number when it
/// is one.
pub(crate) fn number_text(text: &str) -> Json {
    text.parse::<i64>()
        .map(Json::from)
        .or_else(|_| text.parse::<f64>().map(Json::from))
        .unwrap_or_else(|_| Json::String(text.to_owned()))
}

/// `value` as `expected` spells the same key: a key ID where the template
/// gives an ID, its ARN where it gives an ARN, an alias where it gives one
/// that names it. Used for every property that names a KMS key, so the
/// spelling the template chose is not drift.
pub(crate) fn key_as_declared(expected: Option<&Json>, actual: &str) -> Json {
    let key_id = |text: &str| text.rsplit('/').next().unwrap_or(text).to_owned();
    match expected.and_then(Json::as_str) {
        Some(declared) if !declared.contains("alias/") && key_id(declared) == key_id(actual) => {
            Json::String(declared.to_owned())
        }
        _ => Json::String(actual.to_owned()),
    }
}

/// Boxes a reader's future: `read: boxed!(read_queue)`.
macro_rules! boxed {
    ($function:path) => {{
        fn read<'a>(
            clients: &'a $crate::drift::DriftClients,
            target: &'a $crate::drift::Target<'a>,
        ) -> $crate::drift::read::ReadFuture<'a> {
            Box::pin($function(clients, target))
        }
        read
    }};
}
pub(crate) use boxed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reader_is_one_type_with_parseable_defaults_on_covered_properties() {
        let mut types: Vec<&str> = readers().map(|reader| reader.resource_type).collect();
        let count = types.len();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), count, "a type has two readers");
        for reader in readers() {
            for (name, text) in reader.defaults {
                assert!(
                    serde_json::from_str::<Json>(text).is_ok(),
                    "{}: default of {name} is not JSON: {text}",
                    reader.resource_type
                );
                assert!(
                    reader.always.contains(name),
                    "{}: a default for {name}, which is not in `always`",
                    reader.resource_type
                );
            }
            for name in reader.unordered {
                assert!(
                    reader.always.contains(name) || reader.when_declared.contains(name),
                    "{}: {name} is unordered but not covered",
                    reader.resource_type
                );
            }
            assert!(
                !reader.actions.is_empty(),
                "{}: no actions",
                reader.resource_type
            );
        }
    }

    /// docs/drift.md lists what is read per type, rendered from the
    /// readers. Refresh it with `UPSTACK_BLESS=1 cargo test -p
    /// upstack-deploy --lib drift_doc`.
    #[test]
    fn drift_doc_lists_every_reader() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/drift.md");
        let doc = std::fs::read_to_string(&path).unwrap_or_default();
        let (start, end) = ("<!-- readers -->\n", "<!-- /readers -->");
        let (Some(from), Some(to)) = (doc.find(start), doc.find(end)) else {
            panic!("docs/drift.md has no {start:?} ... {end:?} section");
        };
        let current = &doc[from + start.len()..to];
        let rendered = coverage_markdown();
        if current == rendered {
            return;
        }
        if std::env::var_os("UPSTACK_BLESS").is_some() {
            let updated = format!("{}{rendered}{}", &doc[..from + start.len()], &doc[to..]);
            std::fs::write(&path, updated)
                .unwrap_or_else(|error| panic!("write docs/drift.md: {error}"));
            panic!("docs/drift.md was stale and has been rewritten: commit it, then run again");
        }
        panic!(
            "docs/drift.md is stale: run `UPSTACK_BLESS=1 cargo test -p upstack-deploy --lib drift_doc`"
        );
    }

    #[test]
    fn documents_aws_returns_as_text_read_as_json() {
        assert_eq!(
            url_encoded_json("%7B%22Version%22%3A%222012-10-17%22%7D"),
            serde_json::json!({"Version": "2012-10-17"})
        );
        assert_eq!(json_text("not json"), Json::String("not json".into()));
        assert_eq!(number_text("30"), serde_json::json!(30));
        assert_eq!(number_text("0.5"), serde_json::json!(0.5));
    }

    #[test]
    fn a_key_compares_in_the_spelling_the_template_chose() {
        let arn = "arn:aws:kms:eu-west-1:1:key/abc";
        assert_eq!(
            key_as_declared(Some(&Json::from("abc")), arn),
            Json::from("abc")
        );
        assert_eq!(
            key_as_declared(Some(&Json::from(arn)), arn),
            Json::from(arn)
        );
        assert_eq!(
            key_as_declared(Some(&Json::from("def")), arn),
            Json::from(arn)
        );
        assert_eq!(key_as_declared(None, arn), Json::from(arn));
    }
}
