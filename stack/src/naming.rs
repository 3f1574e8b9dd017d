//! Names and tags every resource shares: logical-ID words from handler,
//! topic and queue names, and the env's tags. A leaf module, so the model,
//! the template builder and the monitoring resources all use the same rules
//! without depending on each other.

use upstack_cfn::Value;

use crate::config::EnvConfig;

/// `photo-check` -> `PhotoCheck`.
pub fn pascal(name: &str) -> String {
    name.split(['-', '_', '.', '@'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<String>()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The env's tags as a typed tag list (`None` when the env sets none), for
/// types whose tag `new` takes just key and value.
pub(crate) fn tag_list<T>(
    config: &EnvConfig,
    make: impl Fn(&str, &str) -> T,
) -> Option<Value<Vec<Value<T>>>> {
    (!config.tags.is_empty()).then(|| {
        Value::Lit(
            config
                .tags
                .iter()
                .map(|(key, value)| Value::Lit(make(key.as_str(), value.as_str())))
                .collect(),
        )
    })
}
