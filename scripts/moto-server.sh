#!/usr/bin/env bash
# Starts moto (local AWS) on 127.0.0.1 in the background for manual use, e.g.
# the walkthrough in CONTRIBUTING.md. 127.0.0.1, not localhost, so S3 uses path-style URLs.
#   scripts/moto-server.sh start [port]   # default 5000; prints the exports to use
#   scripts/moto-server.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile=target/moto-server.pid
case "${1:-start}" in
start)
    port=${2:-5000}
    [ -x .venv/bin/moto_server ] || { echo "error: .venv/bin/moto_server missing: run scripts/setup-test-tools.sh" >&2; exit 1; }
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "moto already running (pid $(cat "$pidfile"))" >&2
    else
        mkdir -p target
        .venv/bin/moto_server -H 127.0.0.1 -p "$port" >target/moto-server.log 2>&1 &
        echo $! >"$pidfile"
        for _ in $(seq 50); do
            curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
            sleep 0.1
        done
        curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 || { echo "error: moto did not start; see target/moto-server.log" >&2; exit 1; }
    fi
    cat <<EXPORTS
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1
EXPORTS
    ;;
stop)
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    ;;
*)
    echo "usage: $0 start [port] | stop" >&2; exit 2 ;;
esac
