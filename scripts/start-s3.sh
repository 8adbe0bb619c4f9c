#!/usr/bin/env bash
# A real S3-compatible server for tests and local trials: the Versity S3 Gateway (versitygw, Apache-2.0) over a
# directory (its posix backend: a bucket is a subdirectory, an object a file). Built once from the Go module proxy
# into $INCTRL_S3_TOOLS_DIR (default build/tools; ~100 s of CPU on 2 cores), reused afterwards.
#
#   scripts/start-s3.sh --build-only                      install the pinned binary only (scripts/test.sh does this)
#   scripts/start-s3.sh [--dir DIR] [--port N] [--access KEY] [--secret SECRET]
#                                                         start (or find running) a server storing under DIR/data;
#                                                         prints the endpoint (http://127.0.0.1:PORT) as the last line
#   scripts/start-s3.sh --stop [--dir DIR]                stop the server started for DIR
#
# Defaults: DIR build/s3, a free port, credentials inctrl-test / inctrl-test-secret (region us-east-1). Idempotent:
# a second start for the same DIR prints the running server's endpoint. The server listens on 127.0.0.1 only.
# Use it with the model repository: INCTRL_MODELS_REPOSITORY=s3://models INCTRL_MODELS_S3_ENDPOINT=<endpoint>
# INCTRL_MODELS_S3_ACCESS_KEY=inctrl-test INCTRL_MODELS_S3_SECRET_KEY=inctrl-test-secret.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

VERSITYGW_VERSION=v1.8.0
PKG=github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION

tools=${INCTRL_S3_TOOLS_DIR:-$root/build/tools}
dir=$root/build/s3
port=""
access=inctrl-test
secret=inctrl-test-secret
action=start
while [ $# -gt 0 ]; do
    case "$1" in
        --build-only) action=build ;;
        --stop) action=stop ;;
        --dir) dir=$2; shift ;;
        --port) port=$2; shift ;;
        --access) access=$2; shift ;;
        --secret) secret=$2; shift ;;
        *) echo "start-s3: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
    shift
done

bin=$tools/bin/versitygw
build() {
    if [[ -x $bin && "$(cat "$tools/bin/.versitygw.version" 2> /dev/null)" == "$PKG" ]]; then
        return
    fi
    command -v go > /dev/null || { echo "start-s3: Go is needed to build versitygw" >&2; exit 1; }
    mkdir -p "$tools/bin"
    echo "start-s3: building $PKG (once)" >&2
    local t0=$SECONDS
    GOBIN=$tools/bin GOFLAGS=-buildvcs=false go install -ldflags="-s -w" "$PKG" >&2
    echo "$PKG" > "$tools/bin/.versitygw.version"
    echo "start-s3: built in $((SECONDS - t0)) s -> $bin" >&2
}

pidfile=$dir/versitygw.pid
running() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2> /dev/null; }

case $action in
    build)
        build
        exit 0
        ;;
    stop)
        if running; then
            pid=$(cat "$pidfile")
            kill "$pid"
            for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
            echo "start-s3: stopped $pid" >&2
        fi
        rm -f "$pidfile" "$dir/endpoint"
        exit 0
        ;;
esac

if running; then
    cat "$dir/endpoint"
    exit 0
fi
build
mkdir -p "$dir/data"
if [ -z "$port" ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
# Credentials through the environment, not argv: they would show in ps otherwise.
ROOT_ACCESS_KEY=$access ROOT_SECRET_KEY=$secret setsid "$bin" --port "127.0.0.1:$port" --quiet \
    posix "$dir/data" >> "$dir/versitygw.log" 2>&1 < /dev/null &
echo $! > "$pidfile"
endpoint=http://127.0.0.1:$port
# Ready when it answers S3 (an unsigned request is refused with an S3 error document: the server is up).
for _ in $(seq 1 100); do
    if curl -s -o /dev/null -w '%{http_code}' "$endpoint/" 2> /dev/null | grep -q '^[2-4]'; then
        echo "$endpoint" > "$dir/endpoint"
        echo "start-s3: versitygw $VERSITYGW_VERSION on $endpoint (data $dir/data, log $dir/versitygw.log)" >&2
        echo "$endpoint"
        exit 0
    fi
    if ! running; then break; fi
    sleep 0.1
done
echo "start-s3: versitygw did not answer on $endpoint; its log:" >&2
tail -n 20 "$dir/versitygw.log" >&2 || true
exit 1
