//! References inside values: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If`,
//! `Fn::FindInMap` and `{"Condition": name}`, each checked against the
//! declared names, and recorded as dependency edges between resources.

use super::check::{Checker, Context, is_intrinsic};
use super::{Problem, join_key, kind_of};
use crate::json;
use crate::resource::ResourceInfo;
use crate::value::{Json, is_pseudo};

impl<'a> Checker<'a> {
    /// Visits every intrinsic under `value`, checking what it names.
    pub(super) fn walk(&mut self, value: &'a Json, path: &str, owner: &'a str, context: Context) {
        match value {
            Json::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.walk(item, &format!("{path}[{index}]"), owner, context);
                }
            }
            Json::Object(map) if context == Context::Conditions && is_condition_reference(map) => {
                if let Some(name) = map.get("Condition") {
                    self.check_condition_name(
                        owner,
                        &join_key(path, "Condition"),
                        name,
                        "Condition",
                    );
                }
            }
            Json::Object(map) if is_intrinsic(map) => {
                // `is_intrinsic` guarantees exactly one entry.
                if let Some((function, argument)) = map.iter().next() {
                    let inner_path = join_key(path, function);
                    self.intrinsic(function, argument, &inner_path, owner, context);
                }
            }
            Json::Object(map) => {
                for (key, item) in json::entries(map) {
                    self.walk(item, &join_key(path, key), owner, context);
                }
            }
            _ => {}
        }
    }

    fn intrinsic(
        &mut self,
        function: &str,
        argument: &'a Json,
        path: &str,
        owner: &'a str,
        context: Context,
    ) {
        match function {
            "Ref" => match argument {
                Json::String(name) => self.check_ref(owner, path, name, "Ref", context),
                other => self.walk(other, path, owner, context),
            },
            "Fn::GetAtt" => self.get_att(argument, path, owner, context),
            "Fn::Sub" => self.sub(argument, path, owner, context),
            "Fn::If" => {
                if let Json::Array(items) = argument
                    && let Some(condition) = items.first()
                {
                    self.check_condition_name(owner, &format!("{path}[0]"), condition, "Fn::If");
                    for (index, branch) in items.iter().enumerate().skip(1) {
                        self.walk(branch, &format!("{path}[{index}]"), owner, context);
                    }
                } else {
                    let problem = Problem::WrongShape {
                        expected: "[condition, then, else]",
                        found: kind_of(argument),
                    };
                    self.error(owner, path.to_owned(), problem);
                }
            }
            "Fn::FindInMap" => {
                if let Json::Array(items) = argument
                    && let Some(Json::String(map_name)) = items.first()
                    && !self.names.mappings.contains(map_name.as_str())
                {
                    let problem = Problem::UnknownMapping {
                        name: map_name.clone(),
                    };
                    self.error(owner, format!("{path}[0]"), problem);
                }
                self.walk(argument, path, owner, context);
            }
            _ => self.walk(argument, path, owner, context),
        }
    }

    fn check_ref(
        &mut self,
        owner: &'a str,
        path: &str,
        name: &str,
        via: &'static str,
        context: Context,
    ) {
        if is_pseudo(name) || self.names.parameters.contains(name) {
            return;
        }
        if self.names.resources.contains_key(name) {
            if context == Context::Conditions {
                let problem = Problem::ResourceRefInCondition {
                    name: name.to_owned(),
                };
                self.error(owner, path.to_owned(), problem);
            } else if context == Context::Resource {
                self.edges.entry(owner).or_default().insert(name.to_owned());
            }
            return;
        }
        self.error(
            owner,
            path.to_owned(),
            Problem::DanglingRef {
                via,
                name: name.to_owned(),
            },
        );
    }

    fn get_att(&mut self, argument: &'a Json, path: &str, owner: &'a str, context: Context) {
        match argument {
            // The short form `"Resource.Attribute"`: logical IDs hold no dots,
            // so the first dot separates them.
            Json::String(target) => match target.split_once('.') {
                Some((resource, attribute)) => {
                    self.check_get_att(
                        owner,
                        path,
                        resource,
                        Some(attribute),
                        "Fn::GetAtt",
                        context,
                    );
                }
                None => {
                    let problem = Problem::WrongShape {
                        expected: "[resource, attribute]",
                        found: "a string without a dot",
                    };
                    self.error(owner, path.to_owned(), problem);
                }
            },
            Json::Array(items) if items.len() == 2 => {
                let Json::String(resource) = &items[0] else {
                    let problem = Problem::WrongShape {
                        expected: "a logical ID",
                        found: kind_of(&items[0]),
                    };
                    self.error(owner, format!("{path}[0]"), problem);
                    return;
                };
                match &items[1] {
                    Json::String(attribute) => {
                        self.check_get_att(
                            owner,
                            path,
                            resource,
                            Some(attribute),
                            "Fn::GetAtt",
                            context,
                        );
                    }
                    // An attribute chosen by `Ref` can only be checked at deploy time.
                    dynamic => {
                        self.check_get_att(owner, path, resource, None, "Fn::GetAtt", context);
                        self.walk(dynamic, &format!("{path}[1]"), owner, context);
                    }
                }
            }
            other => {
                let problem = Problem::WrongShape {
                    expected: "[resource, attribute]",
                    found: kind_of(other),
                };
                self.error(owner, path.to_owned(), problem);
            }
        }
    }

    fn check_get_att(
        &mut self,
        owner: &'a str,
        path: &str,
        resource: &str,
        attribute: Option<&str>,
        via: &'static str,
        context: Context,
    ) {
        let shown_attribute = attribute.unwrap_or("(computed)").to_owned();
        if !self.names.resources.contains_key(resource) {
            let reason = if self.names.parameters.contains(resource) {
                "which is a parameter; only resources have attributes"
            } else {
                "which is not a resource in this template"
            };
            let problem = Problem::GetAttMissingResource {
                via,
                resource: resource.to_owned(),
                attribute: shown_attribute,
                reason,
            };
            self.error(owner, path.to_owned(), problem);
            return;
        }
        match context {
            Context::Resource => {
                self.edges
                    .entry(owner)
                    .or_default()
                    .insert(resource.to_owned());
            }
            Context::Conditions => {
                let problem = Problem::ResourceRefInCondition {
                    name: resource.to_owned(),
                };
                self.error(owner, path.to_owned(), problem);
                return;
            }
            Context::Output => {}
        }
        let (Some(attribute), Some(info)) = (attribute, self.names.resource_info(resource)) else {
            return;
        };
        if !has_attribute(info, attribute) {
            let known = if info.attributes.is_empty() {
                "none".to_owned()
            } else {
                info.attributes.join(", ")
            };
            let problem = Problem::UnknownAttribute {
                via,
                resource: resource.to_owned(),
                type_name: info.type_name.to_owned(),
                attribute: attribute.to_owned(),
                known,
            };
            self.error(owner, path.to_owned(), problem);
        }
    }

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-sub.html
    fn sub(&mut self, argument: &'a Json, path: &str, owner: &'a str, context: Context) {
        let (text, variables) = match argument {
            Json::String(text) => (text.as_str(), None),
            Json::Array(items) if items.len() == 2 => {
                let Json::String(text) = &items[0] else {
                    let problem = Problem::WrongShape {
                        expected: "a string template",
                        found: kind_of(&items[0]),
                    };
                    self.error(owner, format!("{path}[0]"), problem);
                    return;
                };
                let Json::Object(variables) = &items[1] else {
                    let problem = Problem::WrongShape {
                        expected: "a variable map",
                        found: kind_of(&items[1]),
                    };
                    self.error(owner, format!("{path}[1]"), problem);
                    return;
                };
                for (name, value) in json::entries(variables) {
                    self.walk(
                        value,
                        &join_key(&format!("{path}[1]"), name),
                        owner,
                        context,
                    );
                }
                (text.as_str(), Some(variables))
            }
            other => {
                let problem = Problem::WrongShape {
                    expected: "a string or [string, {variables}]",
                    found: kind_of(other),
                };
                self.error(owner, path.to_owned(), problem);
                return;
            }
        };
        let text_path = if variables.is_some() {
            format!("{path}[0]")
        } else {
            path.to_owned()
        };
        for name in sub_placeholders(text) {
            if variables.is_some_and(|variables| variables.contains_key(name)) {
                continue;
            }
            match name.split_once('.') {
                Some((resource, attribute)) => {
                    self.check_get_att(
                        owner,
                        &text_path,
                        resource,
                        Some(attribute),
                        "Fn::Sub",
                        context,
                    );
                }
                None => self.check_ref(owner, &text_path, name, "Fn::Sub", context),
            }
        }
    }
}

fn has_attribute(info: &ResourceInfo, attribute: &str) -> bool {
    // Nested stacks expose each of the child template's outputs as
    // `Outputs.<Name>`, which no schema can list.
    info.has_attribute(attribute)
        || (info.type_name == "AWS::CloudFormation::Stack" && attribute.starts_with("Outputs."))
}

/// The names inside `${...}` of an `Fn::Sub` string (one parser, in
/// [`crate::intrinsic`]).
fn sub_placeholders(text: &str) -> Vec<&str> {
    crate::intrinsic::sub_variables(text)
}

/// `{"Condition": name}` names another condition, but only inside the
/// `Conditions` section: elsewhere a `Condition` key is ordinary data (an IAM
/// statement's `Condition` block, for one).
fn is_condition_reference(map: &serde_json::Map<String, Json>) -> bool {
    map.len() == 1 && map.contains_key("Condition")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_skip_literal_escapes() {
        assert_eq!(
            sub_placeholders("${A}-${!Literal}-${B.Arn}${AWS::Region}"),
            vec!["A", "B.Arn", "AWS::Region"]
        );
        assert_eq!(sub_placeholders("no placeholders"), Vec::<&str>::new());
        assert_eq!(sub_placeholders("${Unclosed"), Vec::<&str>::new());
    }
}
