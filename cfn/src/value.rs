//! Property values: a literal or an intrinsic function, typed by what it yields.
//!
//! `Value<String>` is what a string property takes; `Value<i64>` an integer
//! one, and so on. A literal converts with `.into()`; intrinsics are built with
//! the functions in this module (`sub`, `join`, `select`, ...) or with the typed
//! attribute methods that generated resource references expose.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// An untyped JSON value, for the few properties whose schema gives no shape
/// (for example `Metadata`-like free-form objects).
pub type Json = serde_json::Value;

/// A property value: either a literal `T` or an intrinsic that evaluates to a `T`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<T> {
    Lit(T),
    Expr(Expr, PhantomData<fn() -> T>),
}

/// An intrinsic function or pseudo parameter, untyped. [`Value`] carries the type.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `{"Ref": name}`: a resource, a parameter or a pseudo parameter.
    Ref(String),
    /// `{"Fn::GetAtt": [resource, attribute]}`.
    GetAtt(String, String),
    /// `{"Fn::Sub": template}` or `{"Fn::Sub": [template, {vars}]}`.
    Sub(String, BTreeMap<String, Expr>),
    /// `{"Fn::Join": [delimiter, list]}`.
    Join(String, Box<Expr>),
    /// `{"Fn::Select": [index, list]}`.
    Select(u32, Box<Expr>),
    /// `{"Fn::Split": [delimiter, source]}`.
    Split(String, Box<Expr>),
    /// `{"Fn::If": [condition, then, else]}`.
    If(String, Box<Expr>, Box<Expr>),
    /// `{"Fn::ImportValue": name}`.
    ImportValue(Box<Expr>),
    /// A literal list whose items may themselves be intrinsics.
    List(Vec<Expr>),
    /// A literal, already in JSON form.
    Json(Json),
}

/// The pseudo parameters CloudFormation defines in every template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pseudo {
    AccountId,
    Region,
    Partition,
    StackName,
    StackId,
    UrlSuffix,
    NotificationArns,
}

impl Pseudo {
    pub const ALL: [Pseudo; 7] = [
        Pseudo::AccountId,
        Pseudo::Region,
        Pseudo::Partition,
        Pseudo::StackName,
        Pseudo::StackId,
        Pseudo::UrlSuffix,
        Pseudo::NotificationArns,
    ];

    /// The name used in `Ref` and in `${...}` inside `Fn::Sub`.
    pub const fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::Region => "AWS::Region",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
        }
    }

    /// `{"Ref": "AWS::..."}`.
    pub fn value(self) -> Value<String> {
        Value::from_expr(Expr::Ref(self.name().to_owned()))
    }
}

/// `AWS::NoValue`: removes the property when used in `Fn::If`.
pub const NO_VALUE: &str = "AWS::NoValue";

/// Whether `name` is one of the `AWS::` pseudo parameters (including `AWS::NoValue`).
pub fn is_pseudo(name: &str) -> bool {
    name == NO_VALUE || Pseudo::ALL.iter().any(|p| p.name() == name)
}

impl<T> Value<T> {
    /// Wraps an intrinsic; the caller vouches that it yields a `T`.
    pub fn from_expr(expr: Expr) -> Self {
        Value::Expr(expr, PhantomData)
    }

    /// The intrinsic inside, if this is not a literal.
    pub fn as_expr(&self) -> Option<&Expr> {
        match self {
            Value::Lit(_) => None,
            Value::Expr(expr, _) => Some(expr),
        }
    }

    pub fn as_lit(&self) -> Option<&T> {
        match self {
            Value::Lit(value) => Some(value),
            Value::Expr(..) => None,
        }
    }
}

impl<T: Serialize> Value<T> {
    /// This value as an untyped expression, for nesting inside another intrinsic.
    pub fn to_expr(&self) -> Expr {
        match self {
            Value::Expr(expr, _) => expr.clone(),
            // Serializing our own model types cannot fail: every map key is a string.
            Value::Lit(value) => Expr::Json(serde_json::to_value(value).unwrap_or(Json::Null)),
        }
    }
}

impl<T> From<T> for Value<T> {
    fn from(value: T) -> Self {
        Value::Lit(value)
    }
}

impl From<&str> for Value<String> {
    fn from(value: &str) -> Self {
        Value::Lit(value.to_owned())
    }
}

impl From<&String> for Value<String> {
    fn from(value: &String) -> Self {
        Value::Lit(value.clone())
    }
}

impl From<i32> for Value<i64> {
    fn from(value: i32) -> Self {
        Value::Lit(i64::from(value))
    }
}

impl From<Vec<&str>> for Value<Vec<Value<String>>> {
    fn from(items: Vec<&str>) -> Self {
        Value::Lit(items.into_iter().map(Value::from).collect())
    }
}

impl From<Vec<String>> for Value<Vec<Value<String>>> {
    fn from(items: Vec<String>) -> Self {
        Value::Lit(items.into_iter().map(Value::Lit).collect())
    }
}

impl<T: Serialize> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Lit(value) => value.serialize(serializer),
            Value::Expr(expr, _) => expr.serialize(serializer),
        }
    }
}

impl Expr {
    /// The JSON form of this expression.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn single<S: Serializer, V: Serialize + ?Sized>(
            serializer: S,
            key: &str,
            value: &V,
        ) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(key, value)?;
            map.end()
        }
        match self {
            Expr::Ref(name) => single(serializer, "Ref", name),
            Expr::GetAtt(resource, attribute) => {
                single(serializer, "Fn::GetAtt", &[resource, attribute])
            }
            Expr::Sub(template, vars) if vars.is_empty() => single(serializer, "Fn::Sub", template),
            Expr::Sub(template, vars) => single(serializer, "Fn::Sub", &(template, vars)),
            Expr::Join(delimiter, list) => single(serializer, "Fn::Join", &(delimiter, list)),
            Expr::Select(index, list) => single(serializer, "Fn::Select", &(index, list)),
            Expr::Split(delimiter, source) => single(serializer, "Fn::Split", &(delimiter, source)),
            Expr::If(condition, then, otherwise) => {
                single(serializer, "Fn::If", &(condition, then, otherwise))
            }
            Expr::ImportValue(name) => single(serializer, "Fn::ImportValue", name),
            Expr::List(items) => items.serialize(serializer),
            Expr::Json(value) => value.serialize(serializer),
        }
    }
}

/// `{"Ref": logical_id}` for a resource or parameter. Generated resource
/// references call this; stack code normally uses those instead.
pub fn reference<T>(logical_id: &str) -> Value<T> {
    Value::from_expr(Expr::Ref(logical_id.to_owned()))
}

/// `{"Fn::GetAtt": [logical_id, attribute]}`. Generated resource references
/// expose one typed method per attribute, so stack code rarely calls this.
pub fn get_att<T>(logical_id: &str, attribute: &str) -> Value<T> {
    Value::from_expr(Expr::GetAtt(logical_id.to_owned(), attribute.to_owned()))
}

/// `{"Fn::Sub": template}`: `${Name}` refers to resources, parameters and
/// pseudo parameters; `${Name.Attr}` to attributes.
pub fn sub(template: impl Into<String>) -> Value<String> {
    Value::from_expr(Expr::Sub(template.into(), BTreeMap::new()))
}

/// `{"Fn::Sub": [template, {name: value}]}`.
pub fn sub_with<'a>(
    template: impl Into<String>,
    vars: impl IntoIterator<Item = (&'a str, Value<String>)>,
) -> Value<String> {
    let vars = vars
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_expr()))
        .collect();
    Value::from_expr(Expr::Sub(template.into(), vars))
}

/// `{"Fn::Join": [delimiter, [items...]]}`.
pub fn join(
    delimiter: impl Into<String>,
    items: impl IntoIterator<Item = Value<String>>,
) -> Value<String> {
    let items = items.into_iter().map(|item| item.to_expr()).collect();
    Value::from_expr(Expr::Join(delimiter.into(), Box::new(Expr::List(items))))
}

/// `{"Fn::Join": [delimiter, list]}` where the list is itself an intrinsic.
pub fn join_list(delimiter: impl Into<String>, list: Value<Vec<Value<String>>>) -> Value<String> {
    Value::from_expr(Expr::Join(delimiter.into(), Box::new(list.to_expr())))
}

/// `{"Fn::Select": [index, list]}`.
pub fn select<T: Serialize>(index: u32, list: Value<Vec<Value<T>>>) -> Value<T> {
    Value::from_expr(Expr::Select(index, Box::new(list.to_expr())))
}

/// `{"Fn::Split": [delimiter, source]}`.
pub fn split(delimiter: impl Into<String>, source: Value<String>) -> Value<Vec<Value<String>>> {
    Value::from_expr(Expr::Split(delimiter.into(), Box::new(source.to_expr())))
}

/// `{"Fn::If": [condition, then, else]}`.
pub fn if_<T: Serialize>(
    condition: &ConditionName,
    then: Value<T>,
    otherwise: Value<T>,
) -> Value<T> {
    Value::from_expr(Expr::If(
        condition.0.clone(),
        Box::new(then.to_expr()),
        Box::new(otherwise.to_expr()),
    ))
}

/// `{"Ref": "AWS::NoValue"}`: with [`if_`], leaves a property out.
pub fn no_value<T>() -> Value<T> {
    Value::from_expr(Expr::Ref(NO_VALUE.to_owned()))
}

/// `{"Fn::ImportValue": name}`: a value another stack exported.
pub fn import_value<T>(name: Value<String>) -> Value<T> {
    Value::from_expr(Expr::ImportValue(Box::new(name.to_expr())))
}

/// The name of a condition declared in a template's `Conditions` section.
/// Only [`crate::Template::add_condition`] makes one, so `Fn::If` cannot name
/// a condition that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionName(pub(crate) String);

impl ConditionName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_of<T: Serialize>(value: &Value<T>) -> Json {
        serde_json::to_value(value).unwrap_or_default()
    }

    #[test]
    fn literals_serialize_as_themselves() {
        assert_eq!(json_of(&Value::<String>::from("x")), json!("x"));
        assert_eq!(json_of(&Value::<i64>::from(3)), json!(3));
        assert_eq!(json_of(&Value::from(true)), json!(true));
    }

    #[test]
    fn intrinsics_serialize_in_cloudformation_form() {
        assert_eq!(
            json_of(&Pseudo::AccountId.value()),
            json!({"Ref": "AWS::AccountId"})
        );
        assert_eq!(
            json_of(&get_att::<String>("Key", "Arn")),
            json!({"Fn::GetAtt": ["Key", "Arn"]})
        );
        assert_eq!(
            json_of(&sub("arn:${AWS::Partition}:s3:::b")),
            json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::b"})
        );
        assert_eq!(
            json_of(&sub_with("${A}-x", [("A", Value::from("a"))])),
            json!({"Fn::Sub": ["${A}-x", {"A": "a"}]})
        );
        assert_eq!(
            json_of(&join(",", [Value::from("a"), Pseudo::Region.value()])),
            json!({"Fn::Join": [",", ["a", {"Ref": "AWS::Region"}]]})
        );
        let parts = split("/", reference("Param"));
        assert_eq!(
            json_of(&select(1, parts)),
            json!({"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "Param"}]}]})
        );
        let cond = ConditionName("IsProd".into());
        assert_eq!(
            json_of(&if_(&cond, Value::<i64>::Lit(7), no_value())),
            json!({"Fn::If": ["IsProd", 7, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(
            json_of(&import_value::<String>(Value::from("shared-vpc"))),
            json!({"Fn::ImportValue": "shared-vpc"})
        );
    }

    #[test]
    fn every_pseudo_parameter_is_recognised() {
        for pseudo in Pseudo::ALL {
            assert!(is_pseudo(pseudo.name()));
        }
        assert!(is_pseudo("AWS::NoValue"));
        assert!(!is_pseudo("AWS::Nope"));
    }
}
