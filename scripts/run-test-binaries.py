#!/usr/bin/env python3
"""Runs the workspace's test binaries a few at a time (scripts/test.sh).

`cargo test` runs its test binaries one after another, and most of their time
is spent waiting on moto servers, cfn-lint and checkov rather than on the CPU:
on 2 cores two binaries at once took 43-50 s where one at a time took 69 s.

Reads the JSON messages of `cargo test --no-run --message-format=json` on
stdin and runs every test executable they name the way cargo test would: from
its package's directory, with cargo's variables set (CARGO and
RUSTUP_TOOLCHAIN come from scripts/test.sh). Each binary's output is
printed whole once it ends, so outputs do not interleave. Every binary runs
(like --no-fail-fast); the exit status is 1 if any failed.

The moto tests' servers are forked from one scripts/moto/moto_fork_server.py
started here for the whole run ($UPSTACK_MOTO_FORK_SERVER names its socket):
otherwise each test binary that uses moto starts its own and pays moto's
import, about 1.8 s of CPU, again.

usage: run-test-binaries.py JOBS < messages.json
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time


def test_binaries(messages):
    """(package name, package directory, target, executable) of each test build."""
    found = []
    for number, line in enumerate(messages, 1):
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError as error:
            sys.exit(f"error: cargo message {number} is not JSON ({error}): {line[:200]}")
        if message.get("reason") != "compiler-artifact":
            continue
        if not message.get("executable") or not message["profile"]["test"]:
            continue
        package_dir = os.path.dirname(message["manifest_path"])
        # `path+file:///dir#name@version`, or `#version` when the name is the
        # directory's.
        spec = message["package_id"].rsplit("#", 1)[-1]
        package = spec.split("@")[0] if "@" in spec else os.path.basename(package_dir)
        target = message["target"]
        found.append((package, package_dir, target, message["executable"]))
    # Integration-test binaries first: they hold the slow, moto-backed tests,
    # and starting them first keeps the last minutes from running one alone.
    found.sort(key=lambda binary: binary[2]["kind"] != ["test"])
    return found


def run(binary, extra_env):
    package, package_dir, target, executable = binary
    env = dict(os.environ, **extra_env)
    env["CARGO_MANIFEST_DIR"] = package_dir
    env["CARGO_PKG_NAME"] = package
    started = time.monotonic()
    result = subprocess.run(
        [executable],
        cwd=package_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    return result.returncode, result.stdout, time.monotonic() - started


def start_moto_fork_server(workdir):
    """Starts the shared fork server; returns the test processes' environment
    for it and the process. Its import takes about 1.8 s: the binaries start
    meanwhile, and the first moto test waits for the socket to appear. With no
    .venv there is none, and each test process reports what is missing."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    python = os.path.join(root, ".venv", "bin", "python")
    if not os.path.exists(python):
        return {}, None
    socket_path = os.path.join(workdir, "moto.sock")
    log_path = os.path.join(workdir, "moto-fork-server.log")
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [python, os.path.join(root, "scripts", "moto", "moto_fork_server.py"), "--socket", socket_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    return {"UPSTACK_MOTO_FORK_SERVER": socket_path, "UPSTACK_MOTO_FORK_SERVER_LOG": log_path}, server


def stop_moto_fork_server(server):
    """EOF on its stdin: it kills the servers still running and exits."""
    if server is None:
        return
    server.stdin.close()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        sys.exit("usage: run-test-binaries.py JOBS < cargo-test-no-run-messages.json")
    # Tests that run cargo (compile_fail, bundling) need the cargo and the
    # toolchain cargo test would give them; scripts/test.sh sets both.
    missing = [name for name in ("CARGO", "RUSTUP_TOOLCHAIN") if not os.environ.get(name)]
    if missing:
        sys.exit(f"error: {' and '.join(missing)} not set: run the tests through scripts/test.sh")
    binaries = test_binaries(sys.stdin)
    if not binaries:
        sys.exit("error: cargo built no test binary (were the messages from `cargo test --no-run`?)")
    failed = []
    workdir = tempfile.TemporaryDirectory(prefix="upstack-tests-")
    moto_env, moto_server = start_moto_fork_server(workdir.name)
    try:
        run_all(binaries, int(sys.argv[1]), moto_env, failed)
    finally:
        stop_moto_fork_server(moto_server)
        workdir.cleanup()
    print(f"\n{len(binaries)} test binaries, {len(failed)} failed")
    for failure in failed:
        print(f"  FAILED {failure}")
    return 1 if failed else 0


def run_all(binaries, jobs, extra_env, failed):
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        running = {pool.submit(run, binary, extra_env): binary for binary in binaries}
        for done in concurrent.futures.as_completed(running):
            package, _, target, executable = running[done]
            status, output, seconds = done.result()
            name = f"{package} {target['kind'][0]} {target['name']}"
            sys.stdout.write(f"\n     Running {name} ({os.path.relpath(executable)}, {seconds:.1f} s)\n")
            sys.stdout.buffer.write(output)
            sys.stdout.flush()
            if status != 0:
                failed.append(f"{name}: exit status {status}")


if __name__ == "__main__":
    sys.exit(main())
