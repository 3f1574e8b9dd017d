#!/usr/bin/env bash
# The one test command (README, and .ci/run): installs the toolchain and the
# test tools, then runs formatting, lints (inside the one build), the
# workflow lint, the synth staleness check and every test tier (unit,
# snapshot, cfn-lint/checkov, moto emulator, bundling).
set -euo pipefail
cd "$(dirname "$0")/.."
# The test tools' Python caches the bytecode of what it imports (see
# scripts/setup-test-tools.sh): without it each process compiles it again.
unset PYTHONDONTWRITEBYTECODE

# Each step says when it started (seconds into the run), so a slow CI run
# shows where its time went.
step() { printf '\n==> [%d s] %s\n' "$SECONDS" "$*"; }

# The Python tools are downloads and unpacking, not compiling: they install
# into .venv while rustup installs the toolchain and cargo builds, and the
# tests that need them wait below. Started first, the install (about 20 s of
# CPU) mostly overlaps the toolchain's download on a fresh machine instead of
# taking a core from the build.
venv_log=$(mktemp)
# The test binaries cargo built, for scripts/run-test-binaries.py below.
messages=$(mktemp)
# The doc tests' output, printed after the test binaries'.
doc_log=$(mktemp)
doc_pid=
bash scripts/setup-test-tools.sh --venv >"$venv_log" 2>&1 &
venv_pid=$!
# A failed step stops the install too (.venv's stamp is written last, so a
# cut-off install is redone next time), and the doc tests if they run.
trap 'kill "$venv_pid" $doc_pid 2>/dev/null || true; rm -f "$venv_log" "$messages" "$doc_log"' EXIT

step "Rust toolchain (pinned in rust-toolchain.toml)"
bash scripts/setup-test-tools.sh --toolchain

step "cargo fmt --check"
cargo fmt --all --check

# One build serves the lints, the synth check and the tests. `cargo clippy`
# is a check-only build of its own: on 2 cores it spent ~220 s checking the
# dependencies (the AWS SDKs above all) that the test build then compiled
# again. clippy-driver as the workspace's compiler wrapper is what `cargo
# clippy` runs too; here it lints the workspace's crates while compiling
# them for real, and the dependencies, which cargo never lints, are built by
# plain rustc once. `cargo clippy --workspace --all-targets -- -D warnings`
# finds exactly what this step finds.
clippy_driver=$(rustup which clippy-driver 2>/dev/null) || {
    echo "error: no clippy-driver in the pinned toolchain; run scripts/setup-test-tools.sh" >&2
    exit 1
}
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
# cargo-clippy's own encoding of `-- -D warnings` for clippy-driver.
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "build every target, with clippy's lints (warnings are errors)"
cargo build --workspace --all-targets --locked

step "test tools (.venv: moto, cfn-lint, checkov, zig, cargo-zigbuild, actionlint)"
if ! wait "$venv_pid"; then
    cat "$venv_log" >&2
    echo "error: installing the test tools into .venv failed (its output is above)" >&2
    exit 1
fi
cat "$venv_log"

step "GitHub workflows (actionlint, with ShellCheck on their run: scripts)"
PATH="$PWD/.venv/bin:$PATH" .venv/bin/actionlint

step "synth-out/ is up to date (generated code is checked by codegen's stale test)"
# The binary the step above built: `cargo run` would build it again, with
# the features of the dependencies alone instead of those of the tests.
"${CARGO_TARGET_DIR:-target}/debug/upstack" synth --check

step "tests"
# Four test threads per binary on two cores, and two binaries at a time: the
# slow tests wait on moto servers, cfn-lint and checkov, not the CPU. cargo
# test runs its binaries one after another (one binary at a time: 65 s with
# the default two threads, 47 s with four, 53 s with eight; two binaries at
# a time, four threads each: 43-50 s where one at a time took 69 s).
# scripts/run-test-binaries.py runs what `cargo test --no-run` built, the way
# cargo test would. The doc tests (rustdoc over every library, about 3 s)
# run beside them instead of after them, in the CPU the test binaries leave
# idle while they wait on moto, cfn-lint and checkov; their output follows.
cargo test --workspace --locked --no-run --message-format=json-render-diagnostics >"$messages"
tests_status=0
cargo test --workspace --locked --doc >"$doc_log" 2>&1 &
doc_pid=$!
# What cargo test gives its test processes: the pinned toolchain (tests that
# run cargo would otherwise build registry crates with rustup's default
# toolchain, whose crates the pinned one cannot read) and its cargo.
RUSTUP_TOOLCHAIN=$(rustup show active-toolchain | cut -d' ' -f1) CARGO=$(rustup which cargo) \
    RUST_TEST_THREADS=${RUST_TEST_THREADS:-4} \
    python3 scripts/run-test-binaries.py "${UPSTACK_TEST_JOBS:-2}" <"$messages" || tests_status=$?
step "doc tests (run beside the test binaries)"
wait "$doc_pid" || tests_status=$?
doc_pid=
cat "$doc_log"
if [ "$tests_status" != 0 ]; then
    echo "error: tests failed (the FAILED lines above name them)" >&2
    exit "$tests_status"
fi
step "done"
