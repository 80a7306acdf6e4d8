#!/usr/bin/env bash
# Runs every `xwal` subcommand on a real directory and prints what a user sees:
# import the Go xwal testdata (../shared/testdata/go-xwal), then inspect, verify,
# dump, replay and checkpoint it, archive it to a local S3 server (moto, started
# and stopped here) and restore it from there into a fresh directory.
#
#   scripts/cli-transcript.sh [OUT_FILE]     default: print to stdout
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="${1:-/dev/stdout}"
cargo build --quiet --release -p xwal-cli --features s3
xwal="$root/target/release/xwal"
work="$(mktemp -d "$root/xwal-transcript.XXXXXX")"
s3_env="$(mktemp)"
trap 'scripts/s3-server.sh stop "$s3_env" >/dev/null 2>&1 || true; rm -rf "$work" "$s3_env" "$s3_env.keys"' EXIT

go_dir="$root/../shared/testdata/go-xwal/wal"

run() {
    echo "\$ $*" | sed "s|$work|\$W|g; s|$xwal|xwal|; s|$root/../shared|../shared|g"
    set +e
    "$@" 2>&1 | sed "s|$work|\$W|g; s|$root/../shared|../shared|g"
    local rc=${PIPESTATUS[0]}
    set -e
    echo "[exit $rc]"
    echo
}

{
    echo "# xwal CLI transcript, $(date -u +%Y-%m-%dT%H:%MZ), $(uname -sr); \$W is a temp directory under the repo"
    echo
    run "$xwal" import-go "$go_dir" "$work/wal"
    run "$xwal" inspect "$work/wal"
    run "$xwal" verify "$work/wal"
    run "$xwal" dump "$work/wal" --from-lsn 1 --to-lsn 3 --format text --max-bytes 24
    run "$xwal" dump "$work/wal" --from-lsn 1998 --to-lsn 2003 --backwards --format json --max-bytes 16
    run "$xwal" dump "$work/wal" --from-lsn 2001 --to-lsn 2001 --format hex --max-bytes 32
    run "$xwal" replay "$work/wal" --from-lsn 2598 --backwards
    run "$xwal" replay "$work/wal" --from-checkpoint 1 --to-lsn 2003
    run "$xwal" checkpoint "$work/wal"
    run "$xwal" inspect "$work/wal" --json

    scripts/s3-server.sh start "$s3_env" >/dev/null
    set -a
    # shellcheck disable=SC1090
    . "$s3_env"
    set +a
    export AWS_ACCESS_KEY_ID="$XWAL_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$XWAL_S3_SECRET_KEY"
    cat >"$work/s3.toml" <<EOF
[s3]
bucket = "$XWAL_S3_BUCKET"
prefix = "transcript"
region = "$XWAL_S3_REGION"
endpoint = "$XWAL_S3_ENDPOINT"
path_style = true
EOF
    echo "# $work/s3.toml: an [s3] table for the local moto server on $XWAL_S3_ENDPOINT" | sed "s|$work|\$W|g"
    # A writer with the [s3] table archives every sealed segment; the checkpoint
    # seals the active one, and close waits for the uploads.
    run "$xwal" --config "$work/s3.toml" checkpoint "$work/wal"
    run "$xwal" --config "$work/s3.toml" inspect "$work/wal"
    run "$xwal" restore "$work/restored" --bucket "$XWAL_S3_BUCKET" --prefix transcript \
        --region "$XWAL_S3_REGION" --endpoint "$XWAL_S3_ENDPOINT" --path-style
    run "$xwal" verify "$work/restored"
    run "$xwal" replay "$work/restored" --from-lsn 2599
    run "$xwal" inspect "$work/restored"
} >"$out"
