#!/usr/bin/env bash
# The replication benchmark: a three-node openraft cluster on 127.0.0.1 per
# row, the xwal log store beside raft-engine 0.4 (one synced write per append)
# and the in-memory store, same nodes, network, proposal batching and state
# machine, in one run (raft/src/bin/bench.rs). Builds in release with the
# feature raft-engine first. Run it alone: a build beside it ruins it.
# Usage: scripts/bench-raft.sh [--seconds S] [--clients 1,64,1024]
#        [--stores xwal,raft-engine,mem] [--cpu-hog [N]] [--in-flight N]
#        [--batch-requests N] [--batch-bytes N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p xwal-openraft --features raft-engine --bins
exec target/release/xwal-raft-bench "$@"
