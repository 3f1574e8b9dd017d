#!/usr/bin/env bash
# Checks that the README's two commands pass on a fresh machine: a fresh
# clone, a fresh RUSTUP_HOME (so the pinned toolchain is not installed) and a
# fresh CARGO_HOME (no downloaded crates). Runs each command exactly as the
# README's "Two commands" block spells it and prints its wall time.
#   scripts/check-fresh-machine.sh          # both commands (about 25 min on 2 cores)
#   scripts/check-fresh-machine.sh --synth  # only the first
# Needs rustup (>= 1.28) on PATH, a C compiler, Python 3 and the network.
# CI runs it only when asked: UPSTACK_FRESH_CHECK=1 bash .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

only_synth=false
case "${1:-}" in
--synth) only_synth=true ;;
"") ;;
*) echo "usage: $0 [--synth]" >&2; exit 64 ;;
esac

# The commands as the README has them: the lines following `# 1.` and `# 2.`
# in its first sh block, so the README and this check cannot drift apart.
readme_command() {
    awk -v n="$1" '
        /^```sh/ && !done { inblock = 1; next }
        /^```/ && inblock { inblock = 0; done = 1 }
        inblock && want { print; exit }
        inblock && $0 ~ "^# " n "\\." { want = 1 }
    ' README.md
}
synth_cmd=$(readme_command 1)
test_cmd=$(readme_command 2)
[ -n "$synth_cmd" ] && [ -n "$test_cmd" ] || { echo "error: README.md has no '# 1.' / '# 2.' commands in its first sh block" >&2; exit 1; }
command -v rustup >/dev/null || { echo "error: rustup not found on PATH" >&2; exit 1; }
echo "rustup: $(rustup --version 2>/dev/null | head -1)"

work=$(mktemp -d "${TMPDIR:-/tmp}/upstack-fresh.XXXXXX")
# Removed on success; kept on failure so the whole log can be read.
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/clone"
export RUSTUP_HOME="$work/rustup" CARGO_HOME="$work/cargo"
mkdir -p "$CARGO_HOME"
# rustup's proxies (cargo, rustc) live next to rustup; they read RUSTUP_HOME.
PATH="$(dirname "$(command -v rustup)"):$PATH"
unset RUSTUP_TOOLCHAIN CARGO_TARGET_DIR

run() {
    local label=$1 cmd=$2 start end
    echo "==> $label: $cmd"
    start=$(date +%s)
    (cd "$work/clone" && bash -c "$cmd") >"$work/$label.log" 2>&1 || {
        local kept="${TMPDIR:-/tmp}/upstack-fresh-$label.log"
        cp "$work/$label.log" "$kept"
        echo "FAILED: $label (whole output in $kept; its failures follow)" >&2
        grep -E "FAILED|panicked|^error" "$kept" | head -40 >&2 || true
        tail -20 "$kept" >&2
        exit 1
    }
    end=$(date +%s)
    echo "    passed in $((end - start)) s"
}
run synth "$synth_cmd"
[ -f "$work/clone/synth-out/prod/template.json" ] || { echo "error: synth wrote no synth-out/prod/template.json" >&2; exit 1; }
$only_synth || {
    run tests "$test_cmd"
    # Issue 13's budget for a full run: target/ at most 5 GB.
    echo "    target/ after the tests: $(du -sh "$work/clone/target" | cut -f1)"
}
echo "fresh machine: ok"
