//! Which template values the diff compares whole. Its own module because
//! the engine and the security analysis both ask, and the engine already
//! imports the security analysis: asking the engine made an import cycle.

use serde_json::Value as Json;

/// Compared as a whole, never descended into: an intrinsic call (`Ref`,
/// `Fn::...`, recognised by `upstack_cfn::intrinsic`, computed at deploy
/// time) or a `{"Condition": name}` reference.
pub(crate) fn is_opaque(value: &Json) -> bool {
    upstack_cfn::intrinsic::is_intrinsic(value)
        || value
            .as_object()
            .is_some_and(|map| map.len() == 1 && map.contains_key("Condition"))
}
