//! Property values: a literal or an intrinsic function, typed by what it yields.
//!
//! `Value<String>` is what a string property takes; `Value<i64>` an integer
//! one, and so on. A literal converts with `.into()`; intrinsics are built with
//! the functions in this module (`sub`, `join`, `select`, ...) or with the typed
//! attribute methods that generated resource references expose.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{
    BorrowedStrDeserializer, MapAccessDeserializer, SeqAccessDeserializer, StrDeserializer,
    UnitDeserializer,
};
use serde::de::{self, Deserialize, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Map;

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
///
/// Two expressions are equal when they write the same JSON: a literal list
/// can be held as a `List` of literals or as one `Json` array, and both mean
/// the same to CloudFormation.
#[derive(Clone, Debug)]
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
    /// Any other intrinsic (`Fn::Base64`, `Fn::FindInMap`, `Fn::GetAZs`, ...),
    /// or one written in a form the variants above do not build (the short
    /// `Fn::GetAtt: "Resource.Attribute"`): its function and argument, as read.
    Other(String, Json),
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.to_json() == other.to_json()
    }
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
            Expr::Other(function, argument) => single(serializer, function, argument),
        }
    }
}

/// Whether `key`, alone in an object, makes it a function call:
/// CloudFormation reads `Ref` and `Fn::*` so, anything else as data.
fn is_function_name(key: &str) -> bool {
    key == "Ref" || key.starts_with("Fn::")
}

impl Expr {
    /// The expression `json` writes: an intrinsic call becomes its variant,
    /// anything else a literal. Never fails: a call this enum does not model
    /// is kept as [`Expr::Other`], so `Expr::from_json(j).to_json() == j`.
    pub fn from_json(json: Json) -> Expr {
        match json {
            Json::Object(map) if map.len() == 1 && map.keys().all(|key| is_function_name(key)) => {
                match map.into_iter().next() {
                    Some((function, argument)) => Expr::from_call(function, argument),
                    None => Expr::Json(Json::Object(Map::new())),
                }
            }
            Json::Array(items) if items.iter().any(is_call) => {
                Expr::List(items.into_iter().map(Expr::from_json).collect())
            }
            other => Expr::Json(other),
        }
    }

    /// `{function: argument}` as its variant, when it has the form that
    /// variant writes; [`Expr::Other`] otherwise.
    pub fn from_call(function: String, argument: Json) -> Expr {
        let boxed = |json: Json| Box::new(Expr::from_json(json));
        match (function.as_str(), argument) {
            ("Ref", Json::String(name)) => Expr::Ref(name),
            ("Fn::Sub", Json::String(text)) => Expr::Sub(text, BTreeMap::new()),
            ("Fn::ImportValue", name) => Expr::ImportValue(boxed(name)),
            (_, Json::Array(items)) => Expr::from_call_list(function, items),
            (_, argument) => Expr::Other(function, argument),
        }
    }

    /// [`Expr::from_call`] for a list argument.
    fn from_call_list(function: String, items: Vec<Json>) -> Expr {
        let boxed = |json: Json| Box::new(Expr::from_json(json));
        let mut parts = items.into_iter();
        let (first, second, third, rest) = (parts.next(), parts.next(), parts.next(), parts.next());
        let expr = match (function.as_str(), first, second, third, rest) {
            (
                "Fn::GetAtt",
                Some(Json::String(resource)),
                Some(Json::String(attribute)),
                None,
                None,
            ) => Ok(Expr::GetAtt(resource, attribute)),
            ("Fn::Sub", Some(Json::String(text)), Some(Json::Object(vars)), None, None)
                if !vars.is_empty() =>
            {
                let vars = vars
                    .into_iter()
                    .map(|(name, value)| (name, Expr::from_json(value)))
                    .collect();
                Ok(Expr::Sub(text, vars))
            }
            ("Fn::Join", Some(Json::String(delimiter)), Some(list), None, None) => {
                Ok(Expr::Join(delimiter, boxed(list)))
            }
            ("Fn::Select", Some(Json::Number(index)), Some(list), None, None)
                if index.as_u64().and_then(|i| u32::try_from(i).ok()).is_some() =>
            {
                let index = index
                    .as_u64()
                    .and_then(|i| u32::try_from(i).ok())
                    .unwrap_or(0);
                Ok(Expr::Select(index, boxed(list)))
            }
            ("Fn::Split", Some(Json::String(delimiter)), Some(source), None, None) => {
                Ok(Expr::Split(delimiter, boxed(source)))
            }
            ("Fn::If", Some(Json::String(condition)), Some(then), Some(otherwise), None) => {
                Ok(Expr::If(condition, boxed(then), boxed(otherwise)))
            }
            (_, first, second, third, rest) => Err([first, second, third, rest]),
        };
        expr.unwrap_or_else(|taken| {
            let items = taken.into_iter().flatten().chain(parts).collect();
            Expr::Other(function, Json::Array(items))
        })
    }
}

/// Whether `json` is an intrinsic call (a one-entry `Ref`/`Fn::*` object).
fn is_call(json: &Json) -> bool {
    json.as_object()
        .is_some_and(|map| map.len() == 1 && map.keys().all(|key| is_function_name(key)))
}

/// Any JSON: an intrinsic call as its variant, anything else as a literal.
impl<'de> Deserialize<'de> for Expr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Json::deserialize(deserializer).map(Expr::from_json)
    }
}

/// A literal `T`, or an intrinsic call (`{"Ref": ..}`, `{"Fn::..": ..}`) as
/// an [`Expr`]. A literal is handed to `T` as it streams in, so an error
/// deep inside it keeps its path (`serde_path_to_error`); only an object
/// whose first key names a function is looked at before `T` sees it.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor(PhantomData))
    }
}

struct ValueVisitor<T>(PhantomData<fn() -> T>);

fn literal<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Value<T>, D::Error> {
    T::deserialize(deserializer).map(Value::Lit)
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ValueVisitor<T> {
    type Value = Value<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a value or an intrinsic function")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        literal(value.into_deserializer())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        literal(value.into_deserializer())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        literal(value.into_deserializer())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        literal(value.into_deserializer())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        literal(StrDeserializer::new(value))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        literal(BorrowedStrDeserializer::new(value))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        literal(value.into_deserializer())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        literal(UnitDeserializer::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        literal(UnitDeserializer::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        literal(SeqAccessDeserializer::new(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return literal(MapAccessDeserializer::new(map));
        };
        if !is_function_name(&first) {
            return literal(MapAccessDeserializer::new(Replay {
                first: Some(first),
                map,
            }));
        }
        let argument: Json = map.next_value()?;
        let Some(second) = map.next_key::<String>()? else {
            return Ok(Value::from_expr(Expr::from_call(first, argument)));
        };
        // Data that only starts like a call (`{"Ref": .., "Other": ..}`): read whole.
        let mut object = Map::new();
        object.insert(first, argument);
        object.insert(second, map.next_value()?);
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            object.insert(key, value);
        }
        T::deserialize(Json::Object(object))
            .map(Value::Lit)
            .map_err(de::Error::custom)
    }
}

/// A map whose first key was already read, handing it back first.
struct Replay<A> {
    first: Option<String>,
    map: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.first.take() {
            Some(key) => seed.deserialize(key.into_deserializer()).map(Some),
            None => self.map.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map
            .size_hint()
            .map(|rest| rest + usize::from(self.first.is_some()))
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

    fn read<T: serde::de::DeserializeOwned>(json: Json) -> Value<T> {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_value_reads_as_a_literal_or_as_the_intrinsic_it_writes() {
        assert_eq!(read::<i64>(json!(5)), Value::Lit(5));
        assert_eq!(read::<f64>(json!(5)), Value::Lit(5.0));
        assert_eq!(read::<String>(json!("x")), Value::from("x"));
        assert_eq!(
            read::<Vec<Value<String>>>(json!(["a", {"Ref": "B"}])),
            Value::Lit(vec![Value::from("a"), reference("B")])
        );
        assert_eq!(read::<String>(json!({"Ref": "B"})), reference("B"));
        assert_eq!(
            read::<i64>(json!({"Fn::GetAtt": ["Q", "Arn"]})),
            get_att("Q", "Arn")
        );
        // An object that only starts like a call is data.
        assert_eq!(
            read::<Json>(json!({"Ref": "B", "Other": 1})),
            Value::Lit(json!({"Ref": "B", "Other": 1}))
        );
        assert_eq!(read::<Json>(json!({})), Value::Lit(json!({})));
    }

    #[test]
    fn every_intrinsic_form_writes_back_as_it_was_read() {
        for json in [
            json!({"Ref": "AWS::Region"}),
            json!({"Fn::GetAtt": ["Key", "Arn"]}),
            json!({"Fn::GetAtt": "Key.Arn"}),
            json!({"Fn::Sub": "a-${AWS::Region}"}),
            json!({"Fn::Sub": ["${A}", {"A": {"Ref": "B"}}]}),
            json!({"Fn::Sub": ["${A}", {}]}),
            json!({"Fn::Sub": ["x"]}),
            json!({"Fn::Join": [",", ["a", {"Ref": "B"}]]}),
            json!({"Fn::Join": [",", {"Fn::Split": ["/", {"Ref": "P"}]}]}),
            json!({"Fn::Select": [1, ["a", "b"]]}),
            json!({"Fn::Select": ["1", ["a", "b"]]}),
            json!({"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]}),
            json!({"Fn::If": ["C", 1]}),
            json!({"Fn::ImportValue": {"Fn::Sub": "${AWS::StackName}-x"}}),
            json!({"Fn::FindInMap": ["M", "a", "b"]}),
            json!({"Fn::Base64": "x"}),
            json!({"Ref": 5}),
        ] {
            let expr = Expr::from_json(json.clone());
            assert_eq!(expr.to_json(), json, "{expr:?}");
            let value: Value<String> = read(json.clone());
            assert_eq!(serde_json::to_value(&value).unwrap(), json);
            assert_eq!(value.as_expr(), Some(&expr));
        }
        assert!(matches!(
            Expr::from_json(json!({"Fn::GetAtt": "Key.Arn"})),
            Expr::Other(function, _) if function == "Fn::GetAtt"
        ));
    }

    #[test]
    fn expressions_are_equal_when_they_write_the_same_json() {
        let built = join(",", [Value::from("a"), Value::from("b")]);
        let read: Value<String> = read(json!({"Fn::Join": [",", ["a", "b"]]}));
        assert_eq!(built, read);
        assert_ne!(built, join(",", [Value::from("a")]));
    }

    #[test]
    fn an_error_inside_a_literal_keeps_its_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Item {
            #[serde(rename = "Size")]
            size: Value<i64>,
        }
        let json = json!([{"Size": 1}, {"Size": {"Ref": "P"}}, {"Size": "big"}]);
        let error =
            serde_path_to_error::deserialize::<_, Value<Vec<Value<Item>>>>(&json).unwrap_err();
        assert_eq!(error.path().to_string(), "[2].Size");
        assert_eq!(
            error.inner().to_string(),
            "invalid type: string \"big\", expected i64"
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
