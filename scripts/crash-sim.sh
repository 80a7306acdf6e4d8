#!/usr/bin/env bash
# Power-loss simulation campaign (tests/crash_sim.rs): power cuts at random
# operations of the writer's data path and of every file-system call under the
# WAL directory (data and metadata, see ARCHITECTURE.md "The crash model"),
# inside recoveries too; prints the cuts by phase and the acknowledged entries
# verified, then runs the negative controls.
#   scripts/crash-sim.sh --points N        run N crash points (default 20000)
#   scripts/crash-sim.sh --seed S [--bit-flips]   reproduce one seed
set -euo pipefail
cd "$(dirname "$0")/.."
points=20000 seed="" flips=""
while [ $# -gt 0 ]; do
  case "$1" in
    --points) points="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --bit-flips) flips=1; shift ;;
    --control) shift ;; # negative controls run in every invocation
    *) echo "usage: $0 [--points N] [--seed S] [--bit-flips]" >&2; exit 2 ;;
  esac
done
export XWAL_CRASH_POINTS="$points"
[ -n "$seed" ] && export XWAL_CRASH_SEED="$seed"
[ -n "$flips" ] && export XWAL_CRASH_BITFLIPS=1
exec cargo test --release -p xwal --features test-seams --test crash_sim -- --nocapture --test-threads=1
