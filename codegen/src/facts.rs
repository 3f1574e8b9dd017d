//! Registry facts that do not come from one schema alone: replacement
//! behaviour merged from two sources, the stateful types and the property
//! that carries each type's custom physical name.
//!
//! Replacement comes from the registry schema (`createOnlyProperties`,
//! `conditionalCreateOnlyProperties`) and from CloudFormation's documented
//! per-property update behaviour (`schemas/update-behaviour.json`, vendored
//! from `@aws-cdk/aws-service-spec` by scripts/refresh-update-behaviour.sh).
//! Where they disagree the stricter wins: a wrong "no replacement" is the
//! worst mistake a diff can make, a wrong "may be replaced" only costs a look.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value as Json;

/// What changing a property does to its resource, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Behaviour {
    /// Updated in place.
    None,
    /// Replaced in some cases (conditional create-only, documented "maybe").
    MayReplace,
    /// Always replaced (create-only, documented "yes").
    Replace,
}

impl Behaviour {
    pub fn word(self) -> &'static str {
        match self {
            Behaviour::None => "none",
            Behaviour::MayReplace => "may replace",
            Behaviour::Replace => "replace",
        }
    }
}

/// One property path's answer from each source and the merged one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyBehaviour {
    /// `/`-separated, `*` for list items, without `/properties/`.
    pub path: String,
    pub registry: Behaviour,
    pub documented: Behaviour,
}

impl PropertyBehaviour {
    pub fn merged(&self) -> Behaviour {
        self.registry.max(self.documented)
    }
}

/// Facts for every type, read once from `schemas/`.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Type -> property path -> `yes`/`maybe` (update-behaviour.json).
    documented: BTreeMap<String, BTreeMap<String, Behaviour>>,
    stateful: BTreeSet<String>,
    name_properties: BTreeMap<String, String>,
}

/// Non-comment, non-blank lines of a `schemas/*.txt` list.
fn list_lines(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

impl Facts {
    /// Reads update-behaviour.json, stateful.txt and name-properties.txt, and
    /// checks that they cover exactly the types in types.txt.
    pub fn read(schemas_dir: &Path, types: &[String]) -> Result<Facts> {
        let known: BTreeSet<&str> = types.iter().map(String::as_str).collect();

        let path = schemas_dir.join("update-behaviour.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (run scripts/refresh-update-behaviour.sh)",
                path.display()
            )
        })?;
        let json: BTreeMap<String, BTreeMap<String, String>> =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let mut documented = BTreeMap::new();
        for (type_name, properties) in json {
            let mut parsed = BTreeMap::new();
            for (property, word) in properties {
                let behaviour = match word.as_str() {
                    "yes" => Behaviour::Replace,
                    "maybe" => Behaviour::MayReplace,
                    other => bail!(
                        "{}: {type_name} {property}: unknown behaviour {other:?}",
                        path.display()
                    ),
                };
                parsed.insert(property, behaviour);
            }
            documented.insert(type_name, parsed);
        }
        let covered: BTreeSet<&str> = documented.keys().map(String::as_str).collect();
        if covered != known {
            bail!(
                "{} covers {:?} but types.txt lists {:?}: run scripts/refresh-update-behaviour.sh",
                path.display(),
                covered,
                known
            );
        }

        let path = schemas_dir.join("stateful.txt");
        let mut stateful = BTreeSet::new();
        for line in list_lines(&path)? {
            if !known.contains(line.as_str()) {
                bail!("{} lists {line}, which is not in types.txt", path.display());
            }
            if !stateful.insert(line.clone()) {
                bail!("{} lists {line} twice", path.display());
            }
        }

        let path = schemas_dir.join("name-properties.txt");
        let mut name_properties = BTreeMap::new();
        for line in list_lines(&path)? {
            let Some((type_name, property)) = line.split_once(char::is_whitespace) else {
                bail!("{}: {line:?} is not `<type> <property>`", path.display());
            };
            if !known.contains(type_name) {
                bail!(
                    "{} lists {type_name}, which is not in types.txt",
                    path.display()
                );
            }
            if name_properties
                .insert(type_name.to_owned(), property.trim().to_owned())
                .is_some()
            {
                bail!("{} lists {type_name} twice", path.display());
            }
        }
        Ok(Facts {
            documented,
            stateful,
            name_properties,
        })
    }

    pub fn stateful(&self, type_name: &str) -> bool {
        self.stateful.contains(type_name)
    }

    /// The custom-name property, checked against the schema's properties.
    pub fn name_property(&self, type_name: &str, schema: &Json) -> Result<Option<String>> {
        let Some(property) = self.name_properties.get(type_name) else {
            return Ok(None);
        };
        let exists = schema
            .get("properties")
            .and_then(|properties| properties.get(property))
            .is_some();
        if !exists {
            bail!("name-properties.txt: {type_name} has no property {property}");
        }
        Ok(Some(property.clone()))
    }

    /// Every property path either source says replaces (or may replace),
    /// sorted by path, with both answers.
    pub fn behaviours(&self, type_name: &str, schema: &Json) -> Result<Vec<PropertyBehaviour>> {
        let mut registry = BTreeMap::new();
        for (key, behaviour) in [
            ("conditionalCreateOnlyProperties", Behaviour::MayReplace),
            ("createOnlyProperties", Behaviour::Replace),
        ] {
            for path in schema_paths(schema, key)? {
                let entry = registry.entry(path).or_insert(behaviour);
                *entry = (*entry).max(behaviour);
            }
        }
        let empty = BTreeMap::new();
        let documented = self.documented.get(type_name).unwrap_or(&empty);
        let paths: BTreeSet<&String> = registry.keys().chain(documented.keys()).collect();
        Ok(paths
            .into_iter()
            .map(|path| PropertyBehaviour {
                path: path.clone(),
                registry: covering(&registry, path),
                documented: covering(documented, path),
            })
            .collect())
    }
}

/// The strongest behaviour listed for `path` or any of its ancestors.
fn covering(listed: &BTreeMap<String, Behaviour>, path: &str) -> Behaviour {
    listed
        .iter()
        .filter(|(listed, _)| {
            path == listed.as_str()
                || path
                    .strip_prefix(listed.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .map(|(_, behaviour)| *behaviour)
        .max()
        .unwrap_or(Behaviour::None)
}

/// `/properties/A/B` entries of a path list, as `A/B`.
fn schema_paths(schema: &Json, key: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for path in schema
        .get(key)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
    {
        let rest = path
            .strip_prefix("/properties/")
            .with_context(|| format!("{key} entry {path:?} does not start with /properties/"))?;
        out.push(rest.to_owned());
    }
    Ok(out)
}

/// The merged lists for `ResourceInfo`: (always replaces, may replace), each
/// sorted and without paths an ancestor at least as strong already covers.
pub fn merged_lists(behaviours: &[PropertyBehaviour]) -> (Vec<String>, Vec<String>) {
    let merged: BTreeMap<&str, Behaviour> = behaviours
        .iter()
        .map(|behaviour| (behaviour.path.as_str(), behaviour.merged()))
        .collect();
    let mut replace = Vec::new();
    let mut may_replace = Vec::new();
    for (path, behaviour) in &merged {
        let covered = merged.iter().any(|(other, other_behaviour)| {
            path.strip_prefix(other)
                .is_some_and(|rest| rest.starts_with('/'))
                && *other_behaviour >= *behaviour
        });
        if covered {
            continue;
        }
        match behaviour {
            Behaviour::Replace => replace.push((*path).to_owned()),
            Behaviour::MayReplace => may_replace.push((*path).to_owned()),
            Behaviour::None => {}
        }
    }
    (replace, may_replace)
}
