#!/usr/bin/env bash
# Fuzzes every target with cargo-fuzz on the stable toolchain (libFuzzer without
# sanitizers: `--sanitizer none` needs no nightly -Z flags).
#   scripts/fuzz.sh --seconds N   per target (default 60)
# New corpus entries land in fuzz/corpus/<target>/; tests/fuzz_corpus.rs replays
# them in scripts/test.sh, so a crash found once stays fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "usage: $0 [--seconds N]" >&2; exit 2 ;;
  esac
done
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for t in record_decoder segment_header recovery anchor_index evidence_scan; do
  echo "== fuzz $t for $seconds s"
  cargo fuzz run --sanitizer none "$t" "fuzz/corpus/$t" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
    | grep -E "stat::number_of_executed_units|Done|ERROR|crash-|SUMMARY" || true
  if ls fuzz/artifacts/"$t"/crash-* >/dev/null 2>&1; then
    echo "fuzz: $t found a crash: fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
