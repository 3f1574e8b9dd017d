//! The one JSON representation upstack writes: every object's keys in byte
//! order (the order of a `BTreeMap<String, _>`), so a template, a stack
//! policy or a plan is byte-identical for equal content on any machine.
//!
//! serde_json's `preserve_order` is on in every build (root `Cargo.toml`): a
//! map keeps the order it was built or parsed in, and `==` between maps
//! ignores that order (IndexMap equality). So key order matters only where
//! JSON becomes text or where a reader reports things in map order, and it
//! is settled here, once:
//! - typed values are built in this order ([`to_canonical`]): generated
//!   structs declare their fields in schema-name order and maps are
//!   `BTreeMap`s, so only free-form `Json` inside them is ever reordered,
//!   in place, as the value is made;
//! - JSON made elsewhere (parsed, or a `json!` literal) is put in this order
//!   in place by its owner when it becomes part of what we write
//!   ([`canonicalize`]);
//! - a reader that reports in key order walks a map with [`entries`], and
//!   one that shows JSON it does not own writes it through [`Canonical`];
//!   neither copies it.
//!
//! Nothing re-sorts a clone of someone else's JSON.

use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Map;

use crate::value::Json;

/// `value` as JSON in the canonical key order.
pub fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Json {
    // Serializing our own model types cannot fail: every map key is a string.
    let mut json = serde_json::to_value(value).unwrap_or(Json::Null);
    canonicalize(&mut json);
    json
}

/// Puts every object in `json` in the canonical key order, in place. Cheap
/// on JSON that is already in order (the sort is adaptive).
pub fn canonicalize(json: &mut Json) {
    json.sort_all_objects();
}

/// The entries of `map` in the canonical key order, without copying it: as
/// they are when the map is already in order, sorted references otherwise.
pub fn entries(map: &Map<String, Json>) -> impl Iterator<Item = (&String, &Json)> {
    let in_order = map.keys().is_sorted();
    let sorted = (!in_order).then(|| {
        let mut sorted: Vec<(&String, &Json)> = map.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        sorted
    });
    let direct = in_order.then(|| map.iter());
    direct
        .into_iter()
        .flatten()
        .chain(sorted.into_iter().flatten())
}

/// JSON written in the canonical key order without copying it: serialize
/// it, or show it (`Display` is compact JSON).
#[derive(Clone, Copy, Debug)]
pub struct Canonical<'a>(pub &'a Json);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Json::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in entries(map) {
                    out.serialize_entry(key, &Canonical(value))?;
                }
                out.end()
            }
            Json::Array(items) => serializer.collect_seq(items.iter().map(Canonical)),
            other => other.serialize(serializer),
        }
    }
}

impl fmt::Display for Canonical<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entries_come_in_key_order_whatever_order_the_map_was_built_in() {
        let built = json!({"b": 1, "a": 2, "C": 3});
        let map = built.as_object().unwrap();
        let keys: Vec<&str> = entries(map).map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["C", "a", "b"]);
        // The map itself is untouched.
        let original: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(original, ["b", "a", "C"]);
    }

    #[test]
    fn canonical_json_is_sorted_at_every_depth_and_equal_to_the_original() {
        let built = json!({"z": [{"y": 1, "x": 2}], "a": {"d": 1, "c": 2}});
        let canonical = to_canonical(&built);
        assert_eq!(canonical, built, "map equality ignores key order");
        assert_eq!(
            canonical.to_string(),
            r#"{"a":{"c":2,"d":1},"z":[{"x":2,"y":1}]}"#
        );
        assert_eq!(Canonical(&built).to_string(), canonical.to_string());
        assert_eq!(
            serde_json::to_string_pretty(&Canonical(&built)).unwrap(),
            serde_json::to_string_pretty(&canonical).unwrap()
        );
    }
}
