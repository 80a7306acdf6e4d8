#!/usr/bin/env bash
# Archive throughput of the S3 tier next to the raw PUT throughput of the same
# server, in the same run (tests/s3_throughput.rs, release build). Starts its own
# moto_server (scripts/s3-server.sh) and stops it by PID at the end.
#   scripts/s3-throughput.sh [MiB]      (default 256)
set -euo pipefail
cd "$(dirname "$0")/.."
mb="${1:-256}"
envfile="$(mktemp)"
trap 'scripts/s3-server.sh stop "$envfile"' EXIT
scripts/s3-server.sh start "$envfile"
set -a
# shellcheck disable=SC1090
. "$envfile"
set +a
XWAL_S3_THROUGHPUT_MB="$mb" cargo test --release -p xwal --features s3 --test s3 -- --nocapture s3_throughput:: 2>&1 \
    | grep -v '^running\|^test \|^$' || true
cat target/s3-throughput.txt
