#!/usr/bin/env bash
# Side-by-side benchmark: xwal against okaywal, raft-engine, nodedb-wal and
# walrus-rust on workloads a, b, c, e (see BENCHMARKS.md), all durable before ack, in a
# temp dir under the current directory (or --dir), removed afterwards.
# Usage: scripts/bench-peers.sh [--seconds N] [any other xwal-peers flag]
#        scripts/bench-peers.sh --help
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec cargo run --release --manifest-path "$root/Cargo.toml" -p xwal-peers -- "$@"
