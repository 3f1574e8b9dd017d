#!/usr/bin/env bash
# The one test command (README, and .ci/run): installs the test tools, then
# runs formatting, lints, the synth staleness check and every test tier
# (unit, snapshot, cfn-lint/checkov, moto emulator, bundling).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "test tools"
bash scripts/setup-test-tools.sh

step "GitHub workflows (actionlint, with ShellCheck on their run: scripts)"
PATH="$PWD/.venv/bin:$PATH" .venv/bin/actionlint

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "synth-out/ is up to date (generated code is checked by codegen's stale test)"
cargo run --quiet --locked -- synth --check

step "tests"
cargo test --workspace --locked --no-fail-fast
