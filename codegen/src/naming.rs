//! Rust identifiers from schema names: property names become snake_case
//! fields, definitions and enum values PascalCase types and variants.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Strict and reserved keywords of Rust 2024. A field named after one is
/// written as a raw identifier (`r#type`).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers (the reference lists these four).
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super"];

/// Turns an arbitrary string into characters heck splits into words, so
/// `aws:kms:dsse` and `dotnetcore2.1` keep their word boundaries.
fn words(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect()
}

/// Escapes a keyword as `r#kw`, or `kw_` where a raw identifier is not allowed.
pub fn escape_keyword(ident: String) -> String {
    if NOT_RAW.contains(&ident.as_str()) {
        format!("{ident}_")
    } else if KEYWORDS.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else {
        ident
    }
}

/// `KMSMasterKeyID` -> `kms_master_key_id`, `Type` -> `r#type`.
pub fn field_name(property: &str) -> String {
    let mut snake = words(property).to_snake_case();
    if snake.is_empty() {
        snake = "field".to_owned();
    }
    if snake.starts_with(|c: char| c.is_ascii_digit()) {
        snake = format!("field_{snake}");
    }
    escape_keyword(snake)
}

/// A method name (attribute accessor). Attribute paths are `.`-joined.
pub fn method_name(attribute: &str) -> String {
    field_name(attribute)
}

/// `SSESpecification` -> `SseSpecification`; `iso8601UTC` -> `Iso8601Utc`.
pub fn type_name(name: &str) -> String {
    let mut pascal = words(name).to_upper_camel_case();
    if pascal.is_empty() {
        pascal = "Unnamed".to_owned();
    }
    if pascal.starts_with(|c: char| c.is_ascii_digit()) {
        pascal = format!("T{pascal}");
    }
    escape_keyword(pascal)
}

/// Variant names for an enum's values, in the order given. Values that map
/// to the same PascalCase name (`Enabled`, `ENABLED`) are told apart by a
/// numeric suffix assigned in sorted value order, so the result does not
/// depend on the order the schema lists them in.
pub fn variant_names(values: &[String]) -> Vec<String> {
    let base = |value: &str| {
        let pascal = words(value).to_upper_camel_case();
        if pascal.is_empty() {
            "Empty".to_owned()
        } else if pascal.starts_with(|c: char| c.is_ascii_digit()) {
            format!("V{pascal}")
        } else if pascal == "Self" {
            "Self_".to_owned()
        } else {
            pascal
        }
    };
    let mut sorted: Vec<&String> = values.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut taken = std::collections::BTreeSet::new();
    let mut assigned = std::collections::BTreeMap::new();
    for value in sorted {
        let candidate = base(value);
        let mut name = candidate.clone();
        let mut suffix = 2;
        while taken.contains(&name) {
            name = format!("{candidate}{suffix}");
            suffix += 1;
        }
        taken.insert(name.clone());
        assigned.insert(value.clone(), name);
    }
    values
        .iter()
        .map(|value| assigned.get(value).cloned().unwrap_or_default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_snake_case_and_keywords_are_escaped() {
        assert_eq!(field_name("KMSMasterKeyID"), "kms_master_key_id");
        assert_eq!(field_name("SSEAlgorithm"), "sse_algorithm");
        assert_eq!(field_name("Type"), "r#type");
        assert_eq!(field_name("Self"), "self_");
        assert_eq!(field_name("deadLetterTargetArn"), "dead_letter_target_arn");
        assert_eq!(field_name("3Prefix"), "field_3prefix");
    }

    #[test]
    fn types_are_pascal_case() {
        assert_eq!(type_name("SSESpecification"), "SseSpecification");
        assert_eq!(type_name("iso8601UTC"), "Iso8601Utc");
        assert_eq!(type_name("Self"), "Self_");
    }

    #[test]
    fn variants_keep_word_boundaries_and_never_collide() {
        let values: Vec<String> = [
            "aws:kms",
            "aws:kms:dsse",
            "AES256",
            "PAY_PER_REQUEST",
            "dotnetcore2.1",
            "1",
            "",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            variant_names(&values),
            [
                "AwsKms",
                "AwsKmsDsse",
                "Aes256",
                "PayPerRequest",
                "Dotnetcore21",
                "V1",
                "Empty"
            ]
        );
        // `ENABLED` sorts before `Enabled`, so it keeps the plain name
        // whichever order the schema lists them in.
        let forwards: Vec<String> = ["Enabled", "ENABLED"].map(String::from).to_vec();
        let backwards: Vec<String> = ["ENABLED", "Enabled"].map(String::from).to_vec();
        assert_eq!(variant_names(&forwards), ["Enabled2", "Enabled"]);
        assert_eq!(variant_names(&backwards), ["Enabled", "Enabled2"]);
    }
}
