#!/usr/bin/env bash
# Installs everything the test suite needs that cargo does not: a virtualenv in
# .venv/ (git-ignored) with moto, cfn-lint, checkov, zig and cargo-zigbuild,
# plus the Rust toolchain and targets pinned in rust-toolchain.toml.
# Idempotent: a second run only checks.
#   scripts/setup-test-tools.sh              # both
#   scripts/setup-test-tools.sh --toolchain  # only the Rust toolchain (what cargo needs)
#   scripts/setup-test-tools.sh --venv       # only .venv (scripts/test.sh installs it while cargo builds)
#   scripts/setup-test-tools.sh --aws-cli    # .venv, plus the aws CLI (no test uses it)
set -euo pipefail
cd "$(dirname "$0")/.."

# Python caches each module's bytecode on first import, unless this is set
# (it is on the machines this project is built on). Then every moto_server,
# cfn-lint and checkov process compiles its thousands of modules again: moto
# started in 1.2-1.6 s instead of 0.4 s, checkov in 5.3 s instead of 2.4 s,
# and a fresh clone's test step took 107 s instead of ~50 s. scripts/test.sh
# unsets it too. Byte-compiling the whole venv at install instead cost 30 s
# of CPU beside the cargo build, for twice the modules the tests import.
unset PYTHONDONTWRITEBYTECODE

want_toolchain=true
want_venv=true
want_aws_cli=false
case "${1:-}" in
--toolchain) want_venv=false ;;
--venv) want_toolchain=false ;;
--aws-cli) want_toolchain=false; want_aws_cli=true ;;
"") ;;
*) echo "usage: $0 [--toolchain | --venv | --aws-cli]" >&2; exit 64 ;;
esac

install_toolchain() {
    # The toolchain, components and targets pinned in rust-toolchain.toml.
    # rustup >= 1.28 no longer installs a pinned toolchain on first use, so ask
    # for it (a no-op when present); --no-self-update keeps rustup itself as is.
    if ! command -v rustup >/dev/null; then
        echo "error: rustup not found; install it from https://rustup.rs (the toolchain itself is pinned in rust-toolchain.toml)" >&2
        exit 1
    fi
    if ! rustup_log=$(rustup toolchain install --no-self-update 2>&1); then
        printf '%s\n' "$rustup_log" >&2
        echo "error: rustup could not install the toolchain pinned in rust-toolchain.toml (its output is above)" >&2
        exit 1
    fi
    # A toolchain that was already installed with a smaller profile does not
    # get rust-toolchain.toml's components on its own; ask for them explicitly.
    rustup component add rustfmt clippy >/dev/null 2>&1 || {
        echo "error: cannot add rustfmt and clippy to the pinned toolchain with rustup" >&2
        exit 1
    }
    rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu >/dev/null 2>&1 || {
        echo "error: cannot add the aarch64 and x86_64 Linux targets with rustup" >&2
        exit 1
    }
    for tool in cc python3; do
        command -v "$tool" >/dev/null || { echo "error: $tool not found; the build needs a C compiler (e.g. apt-get install gcc) and Python 3 (apt-get install python3 python3-venv)" >&2; exit 1; }
    done
}

site_packages() {
    .venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

# uv installs the locked packages: the same pins as pip would, in ~6 s of CPU
# where pip spent ~45 s resolving and unpacking them, on the cores the cargo
# build (which this runs beside) needs. It is a wheel from PyPI, pinned here
# and installed into .venv by the venv's own pip.
uv_version=0.13.9

install_uv() {
    if [ "$(.venv/bin/uv --version 2>/dev/null)" != "uv $uv_version" ]; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
    fi
}

# `uv pip install` into .venv, within the lock. uv does not read pip's
# configuration; a package mirror set for pip in the environment is passed on.
uv_install() {
    local mirror=()
    if [ -z "${UV_INDEX_URL:-}" ] && [ -n "${PIP_INDEX_URL:-}" ]; then
        mirror+=(--index-url "$PIP_INDEX_URL")
    fi
    if [ -z "${UV_EXTRA_INDEX_URL:-}" ] && [ -n "${PIP_EXTRA_INDEX_URL:-}" ]; then
        mirror+=(--extra-index-url "$PIP_EXTRA_INDEX_URL")
    fi
    .venv/bin/uv pip install --quiet --python .venv/bin/python "${mirror[@]}" "$@" \
        -c scripts/requirements-test.lock
}

install_venv() {
    python=${PYTHON:-python3}
    if ! command -v "$python" >/dev/null; then
        echo "error: $python not found; install Python 3.9+ (e.g. apt-get install python3 python3-venv)" >&2
        exit 1
    fi

    stamp=.venv/.installed
    # The layout tag redoes older installs (pip-installed).
    want=$( (echo "layout: uv $uv_version"; cat scripts/requirements-test.txt scripts/requirements-test.lock) | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        echo "test tools: up to date (.venv)"
    else
        echo "test tools: installing into .venv (moto, cfn-lint, checkov, parliament, zig, cargo-zigbuild)"
        [ -x .venv/bin/python ] || "$python" -m venv .venv
        install_uv
        uv_install -r scripts/requirements-test.txt
        echo "$want" > "$stamp"
    fi

    # Fixes for moto bugs that stop our real templates deploying on the emulator
    # (scripts/moto/upstack_moto_patches.py says which and why); a .pth file loads
    # them into every Python process of the venv, so each moto_server gets them.
    printf '%s\nimport upstack_moto_patches; upstack_moto_patches.install()\n' "$PWD/scripts/moto" \
        > "$(site_packages)/upstack_moto_patches.pth"
    .venv/bin/python -c 'import cbor2, moto.kms.models, moto.sns.models, moto.moto_server.werkzeug_app, upstack_moto_patches' \
        || { echo "error: the moto patches in scripts/moto do not load" >&2; exit 1; }
    # The tests' moto servers are forked from this script once it has imported
    # moto's backends: run it through its start-up here (it exits at the end
    # of its input), so a broken install fails now, and its modules' bytecode
    # is cached before the first test binary needs it.
    [ "$(.venv/bin/python scripts/moto/moto_fork_server.py </dev/null)" = ready ] \
        || { echo "error: scripts/moto/moto_fork_server.py does not start (its output is above)" >&2; exit 1; }

    for tool in moto_server cfn-lint checkov cargo-zigbuild actionlint shellcheck; do
        [ -x ".venv/bin/$tool" ] || { echo "error: .venv/bin/$tool missing after install" >&2; exit 1; }
    done
    .venv/bin/python -m ziglang version >/dev/null || { echo "error: zig (ziglang) does not run" >&2; exit 1; }
    .venv/bin/python -W ignore -c 'import parliament' || { echo "error: parliament does not import (it needs setuptools < 81 for pkg_resources)" >&2; exit 1; }
    echo "test tools: ready ($(.venv/bin/cfn-lint --version), checkov $(.venv/bin/checkov --version), zig $(.venv/bin/python -m ziglang version))"
}

install_aws_cli() {
    # Not in the test command's install: the aws CLI is 155 MB that no test
    # uses (the local walkthrough and the deploy benchmark do).
    install_uv
    uv_install -r scripts/requirements-aws-cli.txt
    [ -x .venv/bin/aws ] || { echo "error: .venv/bin/aws missing after install" >&2; exit 1; }
    echo "aws CLI: ready ($(.venv/bin/aws --version 2>&1))"
}

if $want_toolchain; then install_toolchain; fi
if $want_venv; then install_venv; fi
if $want_aws_cli; then install_aws_cli; fi
