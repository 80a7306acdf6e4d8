#!/usr/bin/env bash
# A real S3 server for the archive tier's tests: moto_server (PyPI `moto[server]`)
# in a venv under the repo (.venv-s3, gitignored), on a free port of 127.0.0.1.
#
#   scripts/s3-server.sh install          create .venv-s3 and install moto[server] (once; ~40 s cold)
#   scripts/s3-server.sh start ENVFILE    start a server, create the test bucket and an IAM user with
#                                         S3 rights, then turn authentication on (wrong keys get 403);
#                                         write `export XWAL_S3_*=...` lines to ENVFILE
#   scripts/s3-server.sh stop ENVFILE     stop the server of ENVFILE by its PID
#
# Variables written: XWAL_S3_ENDPOINT, XWAL_S3_REGION, XWAL_S3_BUCKET, XWAL_S3_ACCESS_KEY,
# XWAL_S3_SECRET_KEY, XWAL_S3_SERVER_PID, XWAL_S3_SERVER_LOG, XWAL_S3_SERVER_SCRIPT.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${XWAL_S3_VENV:-$root/.venv-s3}"
moto_version="5.2.5"

install() {
    if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c 'import moto, boto3' 2>/dev/null; then
        return 0
    fi
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"
}

start() {
    local envfile="$1"
    install
    local port log pid
    port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    log="$(mktemp "${TMPDIR:-/tmp}/xwal-moto.XXXXXX.log")"
    # Its own session, so that a signal to the test's process group leaves it alone;
    # it is stopped by PID (stop, or the tests' own kill).
    setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 < /dev/null &
    pid=$!
    if ! "$venv/bin/python" "$root/scripts/moto_setup.py" "http://127.0.0.1:$port" "$envfile.keys"; then
        kill "$pid" 2>/dev/null || true
        echo "s3-server: moto did not come up; its log:" >&2
        cat "$log" >&2
        return 1
    fi
    {
        echo "export XWAL_S3_ENDPOINT=http://127.0.0.1:$port"
        echo "export XWAL_S3_REGION=us-east-1"
        echo "export XWAL_S3_BUCKET=xwal-test"
        cat "$envfile.keys"
        echo "export XWAL_S3_SERVER_PID=$pid"
        echo "export XWAL_S3_SERVER_LOG=$log"
        echo "export XWAL_S3_SERVER_SCRIPT=$root/scripts/s3-server.sh"
    } >"$envfile"
    rm -f "$envfile.keys"
    echo "s3-server: moto $moto_version on http://127.0.0.1:$port (pid $pid)" >&2
}

stop() {
    local envfile="$1" pid
    [ -f "$envfile" ] || return 0
    pid="$(sed -n 's/^export XWAL_S3_SERVER_PID=//p' "$envfile")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -CONT "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$envfile"
}

case "${1:-}" in
    install) install ;;
    start) start "${2:?usage: s3-server.sh start ENVFILE}" ;;
    stop) stop "${2:?usage: s3-server.sh stop ENVFILE}" ;;
    *) echo "usage: $0 install | start ENVFILE | stop ENVFILE" >&2; exit 2 ;;
esac
