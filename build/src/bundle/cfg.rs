//! Evaluating `cfg(...)` keys of cargo config (`[target.'cfg(unix)']`)
//! against a target, as cargo does to decide which `rustflags` apply.

/// What `rustc --print cfg --target <triple>` reports: `name` or
/// `name="value"` per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetCfg {
    entries: Vec<(String, Option<String>)>,
}

impl TargetCfg {
    pub fn parse(print_cfg: &str) -> TargetCfg {
        let entries = print_cfg
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| match line.split_once('=') {
                Some((name, value)) => (
                    name.trim().to_owned(),
                    Some(value.trim().trim_matches('"').to_owned()),
                ),
                None => (line.to_owned(), None),
            })
            .collect();
        TargetCfg { entries }
    }

    fn has(&self, name: &str, value: Option<&str>) -> bool {
        self.entries
            .iter()
            .any(|(entry, entry_value)| entry == name && entry_value.as_deref() == value)
    }
}

/// Whether the config key `cfg(<expr>)` applies to `target`; `None` when
/// `key` is not a well-formed `cfg(...)` (cargo refuses those itself).
pub fn matches(key: &str, target: &TargetCfg) -> Option<bool> {
    let inner = key.trim().strip_prefix("cfg(")?.strip_suffix(')')?;
    let mut parser = Parser {
        rest: inner,
        target,
    };
    let value = parser.predicate()?;
    parser.skip_space();
    parser.rest.is_empty().then_some(value)
}

struct Parser<'a> {
    rest: &'a str,
    target: &'a TargetCfg,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn identifier(&mut self) -> Option<&str> {
        self.skip_space();
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (identifier, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(identifier)
    }

    fn string(&mut self) -> Option<String> {
        self.skip_space();
        let rest = self.rest.strip_prefix('"')?;
        let end = rest.find('"')?;
        self.rest = &rest[end + 1..];
        Some(rest[..end].to_owned())
    }

    /// `all(..)`, `any(..)`, `not(..)`, `name` or `name = "value"`.
    fn predicate(&mut self) -> Option<bool> {
        let name = self.identifier()?.to_owned();
        match name.as_str() {
            "all" | "any" => {
                let mut values = Vec::new();
                if !self.eat('(') {
                    return None;
                }
                while !self.eat(')') {
                    values.push(self.predicate()?);
                    if !self.eat(',') {
                        if !self.eat(')') {
                            return None;
                        }
                        break;
                    }
                }
                Some(if name == "all" {
                    values.iter().all(|value| *value)
                } else {
                    values.iter().any(|value| *value)
                })
            }
            "not" => {
                if !self.eat('(') {
                    return None;
                }
                let value = self.predicate()?;
                self.eat(',');
                self.eat(')').then_some(!value)
            }
            _ => {
                if self.eat('=') {
                    let value = self.string()?;
                    Some(self.target.has(&name, Some(&value)))
                } else {
                    Some(self.target.has(&name, None))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AARCH64_LINUX: &str = "debug_assertions\npanic=\"unwind\"\ntarget_arch=\"aarch64\"\ntarget_env=\"gnu\"\ntarget_family=\"unix\"\ntarget_os=\"linux\"\ntarget_pointer_width=\"64\"\nunix\n";

    #[test]
    fn evaluates_cargos_cfg_keys() {
        let target = TargetCfg::parse(AARCH64_LINUX);
        for (key, expected) in [
            ("cfg(unix)", Some(true)),
            ("cfg(windows)", Some(false)),
            ("cfg(target_arch = \"aarch64\")", Some(true)),
            ("cfg(target_arch=\"x86_64\")", Some(false)),
            ("cfg(all(unix, target_env = \"gnu\"))", Some(true)),
            ("cfg(all(unix, target_env = \"musl\",))", Some(false)),
            ("cfg(any(windows, target_os = \"linux\"))", Some(true)),
            ("cfg(not(target_os = \"linux\"))", Some(false)),
            ("cfg(all())", Some(true)),
            ("cfg(any())", Some(false)),
            ("cfg(unix", None),
            ("aarch64-unknown-linux-gnu", None),
            ("cfg(all(unix) extra)", None),
        ] {
            assert_eq!(matches(key, &target), expected, "{key}");
        }
    }
}
