#!/usr/bin/env bash
# Real power cuts on a loop-mounted ext4 (tests/power_cut_loop.rs). Needs root.
#   scripts/power-cut.sh --cycles N   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=20
while [ $# -gt 0 ]; do
  case "$1" in
    --cycles) cycles="$2"; shift 2 ;;
    *) echo "usage: $0 [--cycles N]" >&2; exit 2 ;;
  esac
done
XWAL_POWERCUT_CYCLES="$cycles" exec cargo test --release -p xwal --test recovery -- --nocapture power_cut_loop::power_cut_on_loop_ext4
