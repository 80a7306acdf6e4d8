#!/usr/bin/env bash
# The three-node openraft cluster on xwal (raft/tests/cluster.rs) at a chosen
# size: --keys N per phase (default 10000): write N keys through the leader
# from 16 concurrent clients (so proposals batch), SIGKILL a follower, write N
# more, restart it and wait for it to catch up, SIGKILL the leader, wait for a
# new one, write N more, check every acknowledged key on every node.
# Usage: scripts/raft-cluster.sh [--keys N]
set -euo pipefail
cd "$(dirname "$0")/.."
keys=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --keys) keys="$2"; shift 2 ;;
        *) echo "usage: $0 [--keys N]" >&2; exit 2 ;;
    esac
done
XWAL_RAFT_KEYS="$keys" cargo test --release -p xwal-openraft --test cluster -- --nocapture
