#!/usr/bin/env bash
# Re-vendors CloudFormation's documented update behaviour ("Update requires:
# Replacement") for the types in schemas/types.txt into
# schemas/update-behaviour.json, from the pinned npm package
# @aws-cdk/aws-service-spec, and records the package in schemas/SOURCE.md.
# Run scripts/regenerate.sh afterwards.
#
# Why a second source: the registry schemas' createOnlyProperties are not
# always complete (e.g. AWS::DynamoDB::Table KeySchema is only
# "conditionally" create-only there, yet changing it always replaces the
# table). aws-service-spec merges the registry with the documentation's
# per-property update behaviour as `causesReplacement` ("yes" / "maybe");
# cdk diff uses it the same way (cdklabs/awscdk-service-spec). Where the two
# sources disagree, codegen keeps the stricter answer.
#
# Usage: scripts/refresh-update-behaviour.sh [VERSION]   (default: the pin below)
set -euo pipefail

SPEC_PACKAGE="@aws-cdk/aws-service-spec"
SPEC_VERSION="${1:-0.1.216}"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
schemas_dir="$repo_root/schemas"
python="${PYTHON:-python3}"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

(cd "$work_dir" && npm pack --silent "$SPEC_PACKAGE@$SPEC_VERSION" >/dev/null)
tarball="$(find "$work_dir" -maxdepth 1 -name '*.tgz' | head -n 1)"
if [[ -z "$tarball" ]]; then
    echo "error: npm pack did not produce a tarball for $SPEC_PACKAGE@$SPEC_VERSION" >&2
    exit 1
fi
tarball_sha256="$(sha256sum "$tarball" | cut -d' ' -f1)"
tar -xzf "$tarball" -C "$work_dir" package/db.json.gz

"$python" - "$work_dir/package/db.json.gz" "$schemas_dir" "$SPEC_PACKAGE" "$SPEC_VERSION" \
    "$(basename "$tarball")" "$tarball_sha256" <<'PY'
import datetime
import gzip
import json
import os
import sys

db_path, schemas_dir, package, version, tarball, tarball_sha256 = sys.argv[1:]

with open(os.path.join(schemas_dir, "types.txt"), encoding="utf-8") as f:
    types = sorted(line.strip() for line in f if line.strip() and not line.lstrip().startswith("#"))

with gzip.open(db_path, "rt", encoding="utf-8") as f:
    schema = json.load(f)["schema"]
try:
    resources = schema["resource"]["entities"]
    type_defs = {t["$id"]: t for t in schema["typeDefinition"]["entities"]}
except KeyError as error:
    sys.exit(f"error: db.json has no {error}; {package} changed its layout")

def walk(properties, prefix, out, seen):
    """Every property path (nested types too, `*` for list and map items)
    with a causesReplacement value."""
    for name, prop in sorted(properties.items()):
        path = prefix + [name]
        behaviour = prop.get("causesReplacement")
        if behaviour is not None:
            if behaviour not in ("yes", "maybe", "no"):
                sys.exit(f"error: unknown causesReplacement {behaviour!r} at {'/'.join(path)}")
            if behaviour != "no":
                out["/".join(path)] = behaviour
        kind = prop.get("type", {})
        items = []
        while kind.get("type") in ("array", "map"):
            items.append("*")
            kind = kind.get("element", {})
        if kind.get("type") == "ref":
            target = kind["reference"]["$ref"]
            if target not in seen and target in type_defs:
                walk(type_defs[target].get("properties", {}), path + items, out, seen | {target})

facts = {}
by_type = {}
for resource in resources:
    name = resource.get("cloudFormationType")
    if name in types:
        if name in by_type:
            sys.exit(f"error: {name} appears twice in {package}")
        by_type[name] = resource
for type_name in types:
    resource = by_type.get(type_name)
    if resource is None:
        sys.exit(f"error: {type_name} (from types.txt) is not in {package} {version}")
    paths = {}
    walk(resource.get("properties", {}), [], paths, frozenset())
    # A path below one that already replaces adds nothing.
    kept = {}
    for path, behaviour in sorted(paths.items()):
        parent = next((p for p in kept if path.startswith(p + "/")), None)
        if parent is not None and (kept[parent] == "yes" or behaviour == kept[parent]):
            continue
        kept[path] = behaviour
    facts[type_name] = kept

out_path = os.path.join(schemas_dir, "update-behaviour.json")
with open(out_path, "w", encoding="utf-8") as out:
    json.dump(facts, out, indent=2, sort_keys=True)
    out.write("\n")

# The section below the marker belongs to this script; scripts/refresh-schemas.sh owns the rest.
source_md = os.path.join(schemas_dir, "SOURCE.md")
marker = "## Update behaviour (`update-behaviour.json`)"
with open(source_md, encoding="utf-8") as f:
    text = f.read()
head = text.split(marker)[0].rstrip("\n")
today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
section = [
    marker,
    "",
    "Written by `scripts/refresh-update-behaviour.sh`; do not edit by hand.",
    "",
    f"- Package: `{package}` {version} (npm), tarball `{tarball}`",
    f"- Tarball sha256: `{tarball_sha256}`",
    "- Taken from: `package/db.json.gz`, each property's `causesReplacement`"
    " (`yes`: changing it replaces the resource; `maybe`: it may), nested types included",
    f"- Refreshed: {today}",
]
with open(source_md, "w", encoding="utf-8") as out:
    out.write(head + "\n\n" + "\n".join(section) + "\n")
print(f"vendored update behaviour for {len(facts)} types from {package} {version}")
PY
