#!/usr/bin/env bash
# Re-vendors the CloudFormation registry schemas listed in schemas/types.txt
# from the pinned cfn-lint wheel, and records where they came from in
# schemas/SOURCE.md. Run scripts/regenerate.sh afterwards.
#
# Why cfn-lint: it ships the us-east-1 registry schemas AWS publishes, in a
# versioned, hash-checkable artifact (the CloudFormation schema zip AWS serves
# is unversioned and changes under you). cfn-lint 1.x stores each schema once,
# content-addressed: `providers/us-east-1.json` maps a type name to a hash and
# `resources/<hash>.json` is the schema itself.
set -euo pipefail

CFN_LINT_VERSION="1.58.0"
REGION="us-east-1"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
schemas_dir="$repo_root/schemas"
types_file="$schemas_dir/types.txt"
python="${PYTHON:-python3}"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

# pip only needs to download; a throwaway venv keeps the user's pip untouched.
"$python" -m venv "$work_dir/venv"
"$work_dir/venv/bin/pip" download --quiet --no-deps --only-binary=:all: \
    "cfn-lint==$CFN_LINT_VERSION" -d "$work_dir/wheel"

wheel="$(find "$work_dir/wheel" -name "cfn_lint-$CFN_LINT_VERSION-*.whl" | head -n 1)"
if [[ -z "$wheel" ]]; then
    echo "error: pip did not produce a cfn_lint-$CFN_LINT_VERSION wheel in $work_dir/wheel" >&2
    exit 1
fi
wheel_sha256="$(sha256sum "$wheel" | cut -d' ' -f1)"

"$python" - "$wheel" "$types_file" "$schemas_dir" "$REGION" "$CFN_LINT_VERSION" "$wheel_sha256" <<'PY'
import datetime
import json
import os
import sys
import zipfile

wheel, types_file, schemas_dir, region, version, wheel_sha256 = sys.argv[1:]
prefix = "cfnlint/data/schemas"
provider_path = f"{prefix}/providers/{region}.json"

with open(types_file, encoding="utf-8") as f:
    types = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
if len(set(types)) != len(types):
    sys.exit(f"error: {types_file} lists a type twice")

def file_name(type_name):
    return type_name.lower().replace("::", "-") + ".json"

rows = []
with zipfile.ZipFile(wheel) as archive:
    try:
        provider = json.loads(archive.read(provider_path))
    except KeyError:
        sys.exit(f"error: {provider_path} is not in {os.path.basename(wheel)}; cfn-lint changed its layout")
    wanted = set()
    for type_name in types:
        schema_hash = provider.get(type_name)
        if schema_hash is None:
            sys.exit(f"error: {type_name} (from {types_file}) is not in {provider_path}")
        member = f"{prefix}/resources/{schema_hash}.json"
        data = archive.read(member)
        schema = json.loads(data)
        if schema.get("typeName") != type_name:
            sys.exit(f"error: {member} has typeName {schema.get('typeName')!r}, expected {type_name}")
        target = file_name(type_name)
        wanted.add(target)
        # Written byte for byte as published in the wheel.
        with open(os.path.join(schemas_dir, target), "wb") as out:
            out.write(data)
        rows.append((type_name, target, member))

# A type removed from types.txt must not leave its schema behind.
for existing in sorted(os.listdir(schemas_dir)):
    if existing.startswith("aws-") and existing.endswith(".json") and existing not in wanted:
        os.remove(os.path.join(schemas_dir, existing))

today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
lines = [
    "# Where the vendored schemas come from",
    "",
    "Written by `scripts/refresh-schemas.sh`; do not edit by hand.",
    "",
    f"- Package: `cfn-lint` {version} (PyPI), wheel `{os.path.basename(wheel)}`",
    f"- Wheel sha256: `{wheel_sha256}`",
    f"- Region: `{region}` (type -> schema map `{provider_path}`)",
    f"- Refreshed: {today}",
    "",
    "| Type | File | Path inside the wheel |",
    "| --- | --- | --- |",
]
lines += [f"| `{t}` | `{f}` | `{m}` |" for t, f, m in rows]
# This script owns SOURCE.md only up to the first later `## ` section: the
# "Update behaviour" section belongs to scripts/refresh-update-behaviour.sh
# (and any other section to whoever wrote it), so it is carried over as is.
source_md = os.path.join(schemas_dir, "SOURCE.md")
kept = ""
if os.path.exists(source_md):
    with open(source_md, encoding="utf-8") as f:
        previous = f.read()
    start = previous.find("\n## ")
    if start != -1:
        kept = "\n" + previous[start + 1:].rstrip("\n") + "\n"
with open(source_md, "w", encoding="utf-8") as out:
    out.write("\n".join(lines) + "\n" + kept)
print(f"vendored {len(rows)} schemas from cfn-lint {version}")
PY
