#!/usr/bin/env bash
# SIGKILL campaign with real processes (tests/crash_kill.rs).
#   scripts/crash-kill.sh --cycles N   (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=200
while [ $# -gt 0 ]; do
  case "$1" in
    --cycles) cycles="$2"; shift 2 ;;
    *) echo "usage: $0 [--cycles N]" >&2; exit 2 ;;
  esac
done
XWAL_KILL_CYCLES="$cycles" exec cargo test --release -p xwal --test recovery -- --nocapture crash_kill::sigkill_loses_nothing_acknowledged
