//! The CI identities of both envs (`bootstrap --github`): the template as a
//! snapshot, the trust policies exactly, least privilege by construction
//! (no `*` action, every execution-role action a handler permission of the
//! template's types, `*` only for actions without resource-level
//! permissions, every env resource covered), what the plan role must never
//! do, and the errors for bad input.

// A test crate: a panic with the value is the failure report we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};
use upstack_stack::ci_identity::{self, CiIdentities, CiIdentityError, Repository, RoleKind};
use upstack_stack::config::{self, EnvConfig};

const DEV: &str = include_str!("../../envs/dev.toml");
const PROD: &str = include_str!("../../envs/prod.toml");
const ACCOUNT: &str = "123456789012";

fn assets() -> BTreeMap<String, String> {
    upstack_contract::handler::ALL
        .iter()
        .map(|h| {
            (
                (*h).to_owned(),
                format!("assets/{h}-arm64-0000000000000000.zip"),
            )
        })
        .collect()
}

/// The env file with `account_id` pinned (bootstrap --github requires it).
fn pinned(env: &str, text: &str) -> EnvConfig {
    let text = text.replace(
        "# account_id = \"123456789012\"",
        &format!("account_id = \"{ACCOUNT}\""),
    );
    config::parse(&format!("envs/{env}.toml"), &text).unwrap()
}

fn identities(env: &str, text: &str) -> (CiIdentities, upstack_cfn::Template) {
    let config = pinned(env, text);
    let app = upstack_stack::synthesize(env, &config, &assets())
        .unwrap()
        .template;
    let repository = Repository::parse("octo-org/octo-repo").unwrap();
    (
        ci_identity::ci_identities(env, &config, &repository, &app).unwrap(),
        app,
    )
}

fn both() -> [(&'static str, CiIdentities, upstack_cfn::Template); 2] {
    let (dev, dev_app) = identities("dev", DEV);
    let (prod, prod_app) = identities("prod", PROD);
    [("dev", dev, dev_app), ("prod", prod, prod_app)]
}

/// Every statement of a role's permission policies, as JSON.
fn statements(identities: &CiIdentities, kind: RoleKind) -> Vec<Json> {
    identities
        .role(kind)
        .policies
        .iter()
        .flat_map(|policy| {
            serde_json::to_value(&policy.document).unwrap()["Statement"]
                .as_array()
                .cloned()
                .unwrap()
        })
        .collect()
}

fn strings(value: &Json) -> Vec<String> {
    match value {
        Json::String(text) => vec![text.clone()],
        Json::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Every action a role is allowed, with the resources it is allowed on.
fn allowed(identities: &CiIdentities, kind: RoleKind) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in statements(identities, kind) {
        assert_eq!(statement["Effect"], "Allow");
        for action in strings(&statement["Action"]) {
            out.entry(action)
                .or_default()
                .extend(strings(&statement["Resource"]));
        }
    }
    out
}

/// IAM's wildcard match (`*` any run of characters, `?` one).
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

#[test]
fn dump() {
    for (env, identities, _) in both() {
        println!("== {env}");
        println!("{}", identities.template.to_pretty_string());
        for role in &identities.roles {
            for policy in &role.policies {
                println!("{} {} {}", role.name, policy.name, serde_json::to_string(&policy.document).unwrap().len());
            }
        }
        for w in &identities.withheld {
            println!("withheld {:?} {} {}", w.role, w.action, w.reason);
        }
    }
}
