#!/usr/bin/env bash
# Regenerates cfn-resources/src from schemas/types.txt and the vendored
# schemas (run scripts/refresh-schemas.sh first to re-vendor them), then
# checks that the result builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo run --quiet -p upstack-codegen -- "$@"
cargo check --quiet -p upstack-cfn-resources
