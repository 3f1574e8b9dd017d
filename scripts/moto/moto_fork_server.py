"""Fresh moto servers for the tests, forked from one process that imported moto once.

A new `moto_server` spends most of its CPU importing moto: its CloudFormation
backend alone imports EC2 and autoscaling, which load botocore's endpoint and
service models. With 28 servers in a test run that was the largest single
cost of the tests, on a 2-core machine whose tests are CPU-bound. This
process imports moto and the backends the tests use once, then forks a server
per request: each child starts with moto's modules loaded and no backend
state (backends are created on first use, after the fork), so every test
still gets a server of its own, isolated from every other.

Two ways to run it, with the same protocol, one line each way:

    start        -> started <pid> <port>   (or: error <message>)
    stop <pid>   -> stopped

- `moto_fork_server.py`: started by `upstack_test_support::MotoServer` in a
  test process that found no shared server, driven over stdin and stdout.
- `moto_fork_server.py --socket PATH`: started once per test run by
  scripts/run-test-binaries.py, which passes PATH to the test processes
  ($UPSTACK_MOTO_FORK_SERVER); each connects and is served on its own
  connection. The import is then paid once per run instead of once per
  test binary (about 1.8 s of CPU each). A connection's servers are killed
  when it closes (its test process ended, however it ended).

It prints `ready` on stdout once moto is imported. On EOF on stdin (whoever
started it is gone) it kills every server and exits; each server also dies
with it (PR_SET_PDEATHSIG), so no server outlives the tests.
"""

import ctypes
import os
import selectors
import signal
import socket
import sys

# What `moto_server -p 0` sets: the servers below listen on a port the kernel
# picks, exactly as `moto_server -H 127.0.0.1 -p 0` does.
os.environ.setdefault("MOTO_PORT", "0")


def _own_checkouts_patches():
    """Several checkouts (git worktrees) may share one .venv, whose .pth file
    loads the moto patches of the checkout that ran setup-test-tools.sh. The
    servers this script forks serve its own checkout's tests, so they get
    its own checkout's patches (this directory's), before moto is imported."""
    here = os.path.dirname(os.path.abspath(__file__))
    loaded = sys.modules.get("upstack_moto_patches")
    if loaded is not None and os.path.dirname(os.path.abspath(loaded.__file__)) == here:
        return
    sys.meta_path[:] = [
        finder for finder in sys.meta_path if type(finder).__name__ != "_PatchOnImport"
    ]
    sys.modules.pop("upstack_moto_patches", None)
    if here not in sys.path:
        sys.path.insert(0, here)
    import upstack_moto_patches

    upstack_moto_patches.install()


_own_checkouts_patches()

from moto.moto_api._internal import mock_random  # noqa: E402
from moto.moto_server.threaded_moto_server import MotoRequestHandler  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402

# Every service a test or a deployed template reaches. Creating each one's
# app imports its backend, responses and URL modules; the apps themselves
# are dropped, each server builds its own.
SERVICES = [
    "cloudformation",
    "cloudwatch",
    "dynamodb",
    "iam",
    "kms",
    "lambda",
    "logs",
    "rekognition",
    "s3",
    "sns",
    "sqs",
    "sts",
]

PR_SET_PDEATHSIG = 1


def serve(report_fd, inherited):
    """The child: listen on 127.0.0.1, port 0, report the port, serve until killed."""
    # The parent's sockets: a connection held open here would outlive it.
    for fd in inherited:
        os.close(fd)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        os._exit(1)
    # stdout is the protocol channel: moto must never write to it.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: os._exit(0))
    # Every child would otherwise draw the same stack ids, request ids and
    # names from moto's random generator, whose state it copied in the fork.
    mock_random.seed()
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
    )
    os.write(report_fd, f"{server.server_port}\n".encode())
    os.close(report_fd)
    server.serve_forever()


def start(children, inherited):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            serve(write_fd, inherited)
        except BaseException as error:  # the child never returns into the loop
            sys.stderr.write(f"moto server {os.getpid()} failed: {error!r}\n")
        finally:
            os._exit(1)
    os.close(write_fd)
    with os.fdopen(read_fd) as report:
        port = report.readline().strip()
    if not port.isdigit():
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return "error the forked moto server exited before it listened (see its stderr)"
    children.add(pid)
    return f"started {pid} {port}"


def stop(children, pid):
    if pid not in children:
        return f"error {pid} is not a moto server of this process"
    children.discard(pid)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    return "stopped"


def answer(line, children, inherited):
    command = line.split()
    if command == ["start"]:
        return start(children, inherited)
    if len(command) == 2 and command[0] == "stop" and command[1].isdigit():
        return stop(children, int(command[1]))
    return f"error unknown command {line.strip()!r}"


def kill_all(children):
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    children.clear()


def serve_stdin():
    children = set()
    print("ready", flush=True)
    for line in sys.stdin:
        print(answer(line, children, []), flush=True)
    kill_all(children)


def serve_socket(path):
    """One connection per test process, each with servers of its own."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    # connection -> (bytes read but not yet a whole line, its servers)
    sessions = {}
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                connection, _ = listener.accept()
                sessions[connection] = [b"", set()]
                selector.register(connection, selectors.EVENT_READ)
            elif key.fileobj is sys.stdin:
                if not sys.stdin.buffer.raw.read(4096):
                    for _, children in sessions.values():
                        kill_all(children)
                    return
            else:
                serve_connection(key.fileobj, sessions, selector, listener)


def serve_connection(connection, sessions, selector, listener):
    """Answers the whole lines a connection sent; closes it (and kills its
    servers) at its end, or when its test process died mid-exchange."""
    session = sessions[connection]
    try:
        data = connection.recv(4096)
        session[0] += data
        while data and b"\n" in session[0]:
            line, session[0] = session[0].split(b"\n", 1)
            inherited = [listener.fileno(), *(c.fileno() for c in sessions)]
            reply = answer(line.decode(errors="replace"), session[1], inherited)
            connection.sendall(f"{reply}\n".encode())
    except OSError:
        data = b""
    if not data:
        selector.unregister(connection)
        kill_all(session[1])
        del sessions[connection]
        connection.close()


def main():
    for service in SERVICES:
        create_backend_app(service)
    if len(sys.argv) == 3 and sys.argv[1] == "--socket":
        serve_socket(sys.argv[2])
    elif len(sys.argv) == 1:
        serve_stdin()
    else:
        sys.exit("usage: moto_fork_server.py [--socket PATH]")


if __name__ == "__main__":
    main()
