//! Intrinsic functions in template JSON: recognising them, parsing
//! `Fn::Sub` strings, and resolving the pseudo parameters a caller knows
//! (region, account, partition, URL suffix, stack name and ID) so that values
//! which differ only in how they are written compare equal. With a deployed
//! stack's resources ([`ResourceNames`]), the one evaluator of a template's
//! values: drift's expected properties and `invoke`'s environment
//! ([`evaluate`], which says what it could not evaluate and why).
//!
//! Pure: the caller supplies what it knows; nothing is looked up here.

use serde_json::{Map, Value as Json};

/// CloudFormation reads a one-entry object as a function call only when the
/// key is `Ref` or `Fn::...`; anything else is plain data.
pub fn is_intrinsic_map(map: &Map<String, Json>) -> bool {
    map.len() == 1
        && map
            .keys()
            .next()
            .is_some_and(|key| key == "Ref" || key.starts_with("Fn::"))
}

/// Whether `value` is an intrinsic call (`Ref`, `Fn::*`).
pub fn is_intrinsic(value: &Json) -> bool {
    as_intrinsic(value).is_some()
}

/// The function name and argument of an intrinsic call
/// (`{"Fn::Sub": "x"}` is `("Fn::Sub", "x")`); `None` for plain data.
pub fn as_intrinsic(value: &Json) -> Option<(&str, &Json)> {
    let map = value.as_object().filter(|map| is_intrinsic_map(map))?;
    map.iter()
        .next()
        .map(|(function, argument)| (function.as_str(), argument))
}

/// Whether `value` contains an intrinsic call anywhere.
pub fn contains_intrinsic(value: &Json) -> bool {
    match value {
        Json::Object(map) => is_intrinsic_map(map) || map.values().any(contains_intrinsic),
        Json::Array(items) => items.iter().any(contains_intrinsic),
        _ => false,
    }
}

/// One piece of an `Fn::Sub` string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubPart<'a> {
    /// Text written as is (`${!Name}` already unescaped to `${Name}`).
    Literal(String),
    /// `${Name}` or `${Resource.Attribute}`, trimmed.
    Var(&'a str),
}

/// Splits an `Fn::Sub` string into literal text and `${...}` variables.
/// An unclosed `${` is literal text, as CloudFormation leaves it.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-sub.html>
pub fn sub_parts(text: &str) -> Vec<SubPart<'_>> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        literal.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            literal.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &after[..end];
        if let Some(escaped) = inner.strip_prefix('!') {
            literal.push_str("${");
            literal.push_str(escaped);
            literal.push('}');
        } else {
            if !literal.is_empty() {
                parts.push(SubPart::Literal(std::mem::take(&mut literal)));
            }
            parts.push(SubPart::Var(inner.trim()));
        }
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(SubPart::Literal(literal));
    }
    parts
}

/// The text and the variable map of an `Fn::Sub` argument: `"text"`,
/// `["text", {variables}]`, or `["text"]` (CloudFormation calls the map an
/// "optional second argument" when it rejects a malformed `Fn::Sub`).
/// `None` for any other shape.
pub fn sub_argument(argument: &Json) -> Option<(&str, Option<&Map<String, Json>>)> {
    match argument {
        Json::String(text) => Some((text, None)),
        Json::Array(items) => match items.as_slice() {
            [Json::String(text)] => Some((text, None)),
            [Json::String(text), Json::Object(variables)] => Some((text, Some(variables))),
            _ => None,
        },
        _ => None,
    }
}

/// The names inside `${...}` of an `Fn::Sub` string (escapes skipped).
pub fn sub_variables(text: &str) -> Vec<&str> {
    sub_parts(text)
        .into_iter()
        .filter_map(|part| match part {
            SubPart::Var(name) => Some(name),
            SubPart::Literal(_) => None,
        })
        .collect()
}

/// The pseudo parameters known when a template is compared or deployed.
/// Anything left `None` stays an unresolved `Ref`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PseudoValues {
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub partition: Option<String>,
    pub url_suffix: Option<String>,
    pub stack_name: Option<String>,
    pub stack_id: Option<String>,
}

impl PseudoValues {
    /// Region, with the partition and URL suffix it implies.
    pub fn for_region(region: &str) -> PseudoValues {
        let partition = partition_for_region(region);
        PseudoValues {
            region: Some(region.to_owned()),
            account_id: None,
            partition: Some(partition.to_owned()),
            url_suffix: Some(url_suffix_for_partition(partition).to_owned()),
            stack_name: None,
            stack_id: None,
        }
    }

    pub fn with_account_id(mut self, account_id: impl Into<String>) -> PseudoValues {
        self.account_id = Some(account_id.into());
        self
    }

    pub fn with_stack_name(mut self, stack_name: impl Into<String>) -> PseudoValues {
        self.stack_name = Some(stack_name.into());
        self
    }

    /// The value of `AWS::Region` and friends, when known.
    pub fn get(&self, name: &str) -> Option<&str> {
        match name {
            "AWS::Region" => self.region.as_deref(),
            "AWS::AccountId" => self.account_id.as_deref(),
            "AWS::Partition" => self.partition.as_deref(),
            "AWS::URLSuffix" => self.url_suffix.as_deref(),
            "AWS::StackName" => self.stack_name.as_deref(),
            "AWS::StackId" => self.stack_id.as_deref(),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self == &PseudoValues::default()
    }
}

/// The partition a region belongs to.
/// <https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html>
pub fn partition_for_region(region: &str) -> &'static str {
    if let Some(known) = crate::regions::lookup(region) {
        return known.partition;
    }
    // A region newer than the SDK's table: its code's prefix.
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// `AWS::URLSuffix` for a partition.
pub fn url_suffix_for_partition(partition: &str) -> &'static str {
    if let Some(known) = crate::regions::KNOWN_REGIONS
        .iter()
        .find(|region| region.partition == partition)
    {
        return known.dns_suffix;
    }
    match partition {
        "aws-cn" => "amazonaws.com.cn",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        "aws-eusc" => "amazonaws.eu",
        _ => "amazonaws.com",
    }
}

/// The names and attributes of a deployed stack's resources, for
/// [`resolve_with`]: `Ref` of a logical ID and `Fn::GetAtt`.
pub trait ResourceNames {
    /// What `Ref` of this resource returns (its physical ID).
    fn reference(&self, logical_id: &str) -> Option<String>;
    /// What `Fn::GetAtt [logical_id, attribute]` returns.
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String>;
}

/// No resource is known: only pseudo parameters resolve.
struct NoResources;

impl ResourceNames for NoResources {
    fn reference(&self, _: &str) -> Option<String> {
        None
    }
    fn attribute(&self, _: &str, _: &str) -> Option<String> {
        None
    }
}

/// `value` with every `Ref` to a known pseudo parameter, every `Fn::Sub`
/// whose variables are all known, and every `Fn::Join` of literal strings
/// replaced by the string it evaluates to. Anything that still depends on
/// a resource, a parameter or an unknown pseudo parameter is kept (with its
/// arguments resolved as far as they go).
pub fn resolve(value: &Json, known: &PseudoValues) -> Json {
    resolve_with(value, known, &NoResources)
}

/// [`resolve`], where `resources` also knows the stack's resources: `Ref`
/// of a logical ID, `Fn::GetAtt`, and `${Logical}` / `${Logical.Attribute}`
/// in `Fn::Sub` resolve too. What neither knows is kept.
pub fn resolve_with(value: &Json, known: &PseudoValues, resources: &dyn ResourceNames) -> Json {
    match value {
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|item| resolve_with(item, known, resources))
                .collect(),
        ),
        Json::Object(map) if is_intrinsic_map(map) => resolve_call(map, known, resources),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(key, child)| (key.clone(), resolve_with(child, known, resources)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The string `value` evaluates to where a string is expected (a Lambda
/// environment variable, a name): [`resolve_with`], then a number or a
/// boolean as its JSON text (CloudFormation passes them on as strings).
/// When something is left unevaluated, the error names the innermost call
/// that could not be, where it is and why.
pub fn evaluate(
    value: &Json,
    known: &PseudoValues,
    resources: &dyn ResourceNames,
) -> Result<String, Box<Unresolved>> {
    match resolve_with(value, known, resources) {
        Json::String(text) => Ok(text),
        Json::Number(number) => Ok(number.to_string()),
        Json::Bool(flag) => Ok(flag.to_string()),
        left => Err(Box::new(
            first_unresolved(&left, String::new(), known, resources).unwrap_or(Unresolved {
                path: String::new(),
                left,
                reason: Why::NotAString,
            }),
        )),
    }
}

/// What [`evaluate`] could not evaluate.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{reason}", at(path))]
pub struct Unresolved {
    /// Where, inside the value evaluated: empty for the value itself, else
    /// in validate's path syntax from the function name on
    /// (`Fn::Join[1][0]`, `Fn::Sub[1].Name`).
    pub path: String,
    /// What was left there, its arguments resolved as far as they go.
    pub left: Json,
    pub reason: Why,
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

/// Why a call was left unevaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Why {
    /// `Ref` or `${Name}` of neither a known pseudo parameter nor a known resource.
    #[error("{0} is not known")]
    UnknownName(String),
    /// `Fn::GetAtt` or `${Logical.Attribute}` the resources cannot answer.
    #[error("{logical_id}.{attribute} is not known")]
    UnknownAttribute {
        logical_id: String,
        attribute: String,
    },
    /// A function the evaluator does not evaluate (`Fn::ImportValue`,
    /// `Fn::If`, `Fn::Base64`, ...).
    #[error("{0} is not evaluated")]
    Unsupported(String),
    /// A call whose argument does not have the function's shape.
    #[error("{0}")]
    Malformed(&'static str),
    /// Data that is no string: an object that is not a call, a list, null.
    #[error("not a string or a supported intrinsic function")]
    NotAString,
}

/// The innermost call left in `value` (which [`resolve_with`] returned),
/// depth first: a call left because of a call in its argument is reported
/// as that call.
fn first_unresolved(
    value: &Json,
    path: String,
    known: &PseudoValues,
    resources: &dyn ResourceNames,
) -> Option<Unresolved> {
    if let Some((function, argument)) = as_intrinsic(value) {
        let inner = if path.is_empty() {
            function.to_owned()
        } else {
            format!("{path}.{function}")
        };
        if let Some(found) = first_unresolved(argument, inner, known, resources) {
            return Some(found);
        }
        return Some(Unresolved {
            reason: why_left(function, argument, known, resources),
            path,
            left: value.clone(),
        });
    }
    match value {
        Json::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            first_unresolved(item, format!("{path}[{index}]"), known, resources)
        }),
        Json::Object(map) => map.iter().find_map(|(key, child)| {
            first_unresolved(child, format!("{path}.{key}"), known, resources)
        }),
        _ => None,
    }
}

/// Why `function` with its (resolved) `argument` did not evaluate.
fn why_left(
    function: &str,
    argument: &Json,
    known: &PseudoValues,
    resources: &dyn ResourceNames,
) -> Why {
    let unknown = |name: &str| match name.split_once('.') {
        Some((logical_id, attribute)) => Why::UnknownAttribute {
            logical_id: logical_id.to_owned(),
            attribute: attribute.to_owned(),
        },
        None => Why::UnknownName(name.to_owned()),
    };
    match function {
        "Ref" => match argument {
            Json::String(name) => Why::UnknownName(name.clone()),
            _ => Why::Malformed("Ref takes a string"),
        },
        "Fn::GetAtt" => match get_att_argument(argument) {
            Some((logical_id, attribute)) => Why::UnknownAttribute {
                logical_id: logical_id.to_owned(),
                attribute: attribute.to_owned(),
            },
            None => {
                Why::Malformed("Fn::GetAtt takes [LogicalId, Attribute] or \"LogicalId.Attribute\"")
            }
        },
        "Fn::Sub" => {
            let Some((text, variables)) = sub_argument(argument) else {
                return Why::Malformed("Fn::Sub takes a string or [string, variables]");
            };
            sub_variables(text)
                .into_iter()
                .find_map(|name| match variables.and_then(|map| map.get(name)) {
                    Some(Json::String(_)) => None,
                    Some(_) => Some(Why::Malformed("Fn::Sub variables must be strings")),
                    None if known.get(name).is_some() => None,
                    None => {
                        let found = match name.split_once('.') {
                            Some((logical_id, attribute)) => {
                                resources.attribute(logical_id, attribute)
                            }
                            None => resources.reference(name),
                        };
                        found.is_none().then(|| unknown(name))
                    }
                })
                .unwrap_or(Why::Malformed(
                    "Fn::Sub takes a string or [string, variables]",
                ))
        }
        "Fn::Join" => Why::Malformed("Fn::Join takes [delimiter, [strings]]"),
        other => Why::Unsupported(other.to_owned()),
    }
}

fn resolve_call(
    map: &Map<String, Json>,
    known: &PseudoValues,
    resources: &dyn ResourceNames,
) -> Json {
    let Some((function, argument)) = map.iter().next() else {
        return Json::Object(map.clone());
    };
    let argument = resolve_with(argument, known, resources);
    let resolved = match (function.as_str(), &argument) {
        ("Ref", Json::String(name)) => known
            .get(name)
            .map(str::to_owned)
            .or_else(|| resources.reference(name)),
        ("Fn::GetAtt", _) => get_att_argument(&argument)
            .and_then(|(logical_id, attribute)| resources.attribute(logical_id, attribute)),
        ("Fn::Sub", _) => sub_argument(&argument).and_then(|(text, vars)| {
            substitute(text, vars.unwrap_or(&Map::new()), known, resources)
        }),
        ("Fn::Join", Json::Array(pair)) => match pair.as_slice() {
            [Json::String(delimiter), Json::Array(parts)] => parts
                .iter()
                .map(|part| part.as_str())
                .collect::<Option<Vec<&str>>>()
                .map(|parts| parts.join(delimiter)),
            _ => None,
        },
        _ => None,
    };
    match resolved {
        Some(text) => Json::String(text),
        None => {
            let mut call = Map::new();
            call.insert(function.clone(), argument);
            Json::Object(call)
        }
    }
}

/// `["Logical", "Attribute"]` or `"Logical.Attribute"`.
pub fn get_att_argument(argument: &Json) -> Option<(&str, &str)> {
    match argument {
        Json::Array(parts) => match parts.as_slice() {
            [Json::String(logical_id), Json::String(attribute)] => {
                Some((logical_id.as_str(), attribute.as_str()))
            }
            _ => None,
        },
        Json::String(dotted) => dotted.split_once('.'),
        _ => None,
    }
}

fn substitute(
    text: &str,
    vars: &Map<String, Json>,
    known: &PseudoValues,
    resources: &dyn ResourceNames,
) -> Option<String> {
    let mut out = String::new();
    for part in sub_parts(text) {
        match part {
            SubPart::Literal(literal) => out.push_str(&literal),
            SubPart::Var(name) => match vars.get(name) {
                Some(Json::String(value)) => out.push_str(value),
                Some(_) => return None,
                None => match known.get(name) {
                    Some(value) => out.push_str(value),
                    None => {
                        let value = match name.split_once('.') {
                            Some((logical_id, attribute)) => {
                                resources.attribute(logical_id, attribute)
                            }
                            None => resources.reference(name),
                        }?;
                        out.push_str(&value);
                    }
                },
            },
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn prod() -> PseudoValues {
        PseudoValues::for_region("eu-west-1")
            .with_account_id("123456789012")
            .with_stack_name("upstack-prod")
    }

    #[test]
    fn sub_parts_unescape_and_keep_an_unclosed_placeholder() {
        assert_eq!(
            sub_parts("a-${AWS::Region}-${!Literal}-${ B.Arn }${Unclosed"),
            vec![
                SubPart::Literal("a-".into()),
                SubPart::Var("AWS::Region"),
                SubPart::Literal("-${Literal}-".into()),
                SubPart::Var("B.Arn"),
                SubPart::Literal("${Unclosed".into()),
            ]
        );
        assert_eq!(sub_variables("${A}-${!B}-${C}"), vec!["A", "C"]);
    }

    #[test]
    fn only_ref_and_fn_keys_of_one_entry_objects_are_calls() {
        assert_eq!(
            as_intrinsic(&json!({"Fn::Sub": "x"})),
            Some(("Fn::Sub", &json!("x")))
        );
        assert_eq!(
            as_intrinsic(&json!({"Ref": "A"})),
            Some(("Ref", &json!("A")))
        );
        assert_eq!(as_intrinsic(&json!({"Name": "A"})), None);
        assert_eq!(as_intrinsic(&json!({"Ref": "A", "Other": 1})), None);
        assert_eq!(as_intrinsic(&json!("Ref")), None);
    }

    #[test]
    fn sub_argument_takes_a_string_or_a_string_with_an_optional_map() {
        let variables = json!({"A": "1"});
        assert_eq!(sub_argument(&json!("x")), Some(("x", None)));
        assert_eq!(sub_argument(&json!(["x"])), Some(("x", None)));
        assert_eq!(
            sub_argument(&json!(["x", {"A": "1"}])),
            Some(("x", variables.as_object()))
        );
        assert_eq!(sub_argument(&json!(["x", "not a map"])), None);
        assert_eq!(sub_argument(&json!([1, {}])), None);
        assert_eq!(sub_argument(&json!(["x", {}, "extra"])), None);
        assert_eq!(sub_argument(&json!({"x": 1})), None);
    }

    #[test]
    fn known_pseudo_parameters_resolve_and_others_stay() {
        let value = json!({
            "Name": {"Fn::Sub": "uploads-${AWS::AccountId}-${AWS::Region}"},
            "Arn": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"},
            "Host": {"Fn::Join": [".", ["s3", {"Ref": "AWS::Region"}, {"Ref": "AWS::URLSuffix"}]]},
            "Stack": {"Ref": "AWS::StackName"},
            "Other": {"Ref": "Bucket"},
            "WithVars": {"Fn::Sub": ["${Prefix}-${AWS::Region}", {"Prefix": {"Ref": "AWS::StackName"}}]},
        });
        assert_eq!(
            resolve(&value, &prod()),
            json!({
                "Name": "uploads-123456789012-eu-west-1",
                "Arn": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"},
                "Host": "s3.eu-west-1.amazonaws.com",
                "Stack": "upstack-prod",
                "Other": {"Ref": "Bucket"},
                "WithVars": "upstack-prod-eu-west-1",
            })
        );
        // Nothing known: nothing changes.
        assert_eq!(resolve(&value, &PseudoValues::default()), value);
    }

    #[test]
    fn partition_and_url_suffix_follow_the_region() {
        let china = PseudoValues::for_region("cn-north-1");
        assert_eq!(china.get("AWS::Partition"), Some("aws-cn"));
        assert_eq!(china.get("AWS::URLSuffix"), Some("amazonaws.com.cn"));
        assert_eq!(partition_for_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_for_region("eu-central-1"), "aws");
    }

    #[test]
    fn resources_resolve_refs_attributes_and_sub_variables() {
        struct Stack;
        impl ResourceNames for Stack {
            fn reference(&self, logical_id: &str) -> Option<String> {
                (logical_id == "Uploads").then(|| "uploads-1".to_owned())
            }
            fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
                (logical_id == "Uploads" && attribute == "Arn")
                    .then(|| "arn:aws:s3:::uploads-1".to_owned())
            }
        }
        let value = json!({
            "Bucket": {"Ref": "Uploads"},
            "Arn": {"Fn::GetAtt": ["Uploads", "Arn"]},
            "Dotted": {"Fn::GetAtt": "Uploads.Arn"},
            "Objects": {"Fn::Sub": "${Uploads.Arn}/*"},
            "Named": {"Fn::Sub": "${Uploads}-${AWS::Region}"},
            "Unknown": {"Fn::GetAtt": ["Other", "Arn"]},
            "Join": {"Fn::Join": ["", [{"Ref": "Uploads"}, "/x"]]}
        });
        assert_eq!(
            resolve_with(&value, &prod(), &Stack),
            json!({
                "Bucket": "uploads-1",
                "Arn": "arn:aws:s3:::uploads-1",
                "Dotted": "arn:aws:s3:::uploads-1",
                "Objects": "arn:aws:s3:::uploads-1/*",
                "Named": "uploads-1-eu-west-1",
                "Unknown": {"Fn::GetAtt": ["Other", "Arn"]},
                "Join": "uploads-1/x"
            })
        );
        // Without resources, only pseudo parameters resolve.
        assert_eq!(
            resolve(&json!({"Ref": "Uploads"}), &prod()),
            json!({"Ref": "Uploads"})
        );
    }

    /// A stack whose one resource is the table `Table` (`upstack-dev-table`).
    struct TableStack;
    impl ResourceNames for TableStack {
        fn reference(&self, logical_id: &str) -> Option<String> {
            (logical_id == "Table").then(|| "upstack-dev-table".to_owned())
        }
        fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
            (logical_id == "Table" && attribute == "Arn").then(|| {
                "arn:aws:dynamodb:eu-west-1:123456789012:table/upstack-dev-table".to_owned()
            })
        }
    }

    fn evaluated(value: Json) -> Result<String, Box<Unresolved>> {
        let known = PseudoValues {
            stack_id: Some(
                "arn:aws:cloudformation:eu-west-1:123456789012:stack/upstack-prod/1".into(),
            ),
            ..prod()
        };
        evaluate(&value, &known, &TableStack)
    }

    /// `Fn::Sub` as CloudFormation reads it: names are trimmed (cfn-lint's
    /// maintainers confirmed `${ Name.Attr}` deploys,
    /// aws-cloudformation/cfn-lint#236), `${!Literal}` is the text
    /// `${Literal}`, and an unclosed `${` is literal text (cfn-lint matches
    /// only closed `${...}`; the CDK's cfn-include keeps
    /// `DoesNotExist${DoesNotExist` as is).
    #[test]
    fn sub_trims_names_unescapes_and_keeps_an_unclosed_placeholder() {
        assert_eq!(
            evaluated(json!({"Fn::Sub": "${ AWS::Region }/${ Table.Arn }/${!Literal}/${Table"})),
            Ok("eu-west-1/arn:aws:dynamodb:eu-west-1:123456789012:table/upstack-dev-table/${Literal}/${Table".to_owned())
        );
        // The variables map wins over resources and pseudo parameters, its
        // values are evaluated too, and its names are trimmed in the text.
        assert_eq!(
            evaluated(json!({"Fn::Sub": [
                "${ Name }-${Table}-${AWS::Region}",
                {"Name": {"Ref": "AWS::Region"}, "AWS::Region": "override"}
            ]})),
            Ok("eu-west-1-upstack-dev-table-override".to_owned())
        );
        // The variables map is optional in the list form too.
        assert_eq!(
            evaluated(json!({"Fn::Sub": ["${AWS::StackId}"]})),
            Ok("arn:aws:cloudformation:eu-west-1:123456789012:stack/upstack-prod/1".to_owned())
        );
    }

    #[test]
    fn evaluate_gives_scalars_as_text_and_joins() {
        assert_eq!(evaluated(json!("0.5")), Ok("0.5".to_owned()));
        assert_eq!(evaluated(json!(30)), Ok("30".to_owned()));
        assert_eq!(evaluated(json!(true)), Ok("true".to_owned()));
        assert_eq!(
            evaluated(json!({"Fn::Join": [":", [{"Ref": "AWS::Partition"}, "x"]]})),
            Ok("aws:x".to_owned())
        );
    }

    /// What is left names the innermost call, where it is and why, so a
    /// caller can say which variable of which resource failed.
    #[test]
    fn what_cannot_be_evaluated_is_named_with_its_path_and_reason() {
        let error = evaluated(json!({"Fn::ImportValue": "shared-table"})).unwrap_err();
        assert_eq!(error.reason, Why::Unsupported("Fn::ImportValue".into()));
        assert_eq!(
            (error.path.as_str(), &error.left),
            ("", &json!({"Fn::ImportValue": "shared-table"}))
        );
        assert_eq!(error.to_string(), "Fn::ImportValue is not evaluated");

        let error = evaluated(json!({"Fn::Join": ["-", ["a", {"Ref": "Queue"}]]})).unwrap_err();
        assert_eq!(error.path, "Fn::Join[1][1]");
        assert_eq!(error.left, json!({"Ref": "Queue"}));
        assert_eq!(error.reason, Why::UnknownName("Queue".into()));
        assert_eq!(error.to_string(), "Fn::Join[1][1]: Queue is not known");

        let error = evaluated(json!({"Fn::Sub": "${Table.StreamArn}"})).unwrap_err();
        assert_eq!(
            error.reason,
            Why::UnknownAttribute {
                logical_id: "Table".into(),
                attribute: "StreamArn".into()
            }
        );
        let error =
            evaluated(json!({"Fn::Sub": ["${A}", {"A": {"Fn::Base64": "x"}}]})).unwrap_err();
        assert_eq!(error.path, "Fn::Sub[1].A");
        assert_eq!(error.reason, Why::Unsupported("Fn::Base64".into()));

        let error = evaluated(json!({"Fn::Sub": ["${A}", "not a map"]})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Fn::Sub takes a string or [string, variables]"
        );
        assert_eq!(
            evaluated(json!({"Fn::GetAtt": "Table"}))
                .unwrap_err()
                .reason,
            Why::Malformed("Fn::GetAtt takes [LogicalId, Attribute] or \"LogicalId.Attribute\"")
        );
        // A one-entry object is a call only when its key is `Ref` or `Fn::*`:
        // anything else is data, which is no string.
        let error = evaluated(json!({"Name": "x"})).unwrap_err();
        assert_eq!(
            (error.reason, error.left),
            (Why::NotAString, json!({"Name": "x"}))
        );
    }

    #[test]
    fn stack_id_is_known_only_when_given() {
        let arn = "arn:aws:cloudformation:eu-west-1:123456789012:stack/upstack-prod/1";
        let value = json!({"Ref": "AWS::StackId"});
        assert_eq!(resolve(&value, &prod()), value);
        let known = PseudoValues {
            stack_id: Some(arn.to_owned()),
            ..prod()
        };
        assert_eq!(resolve(&value, &known), json!(arn));
    }
}
